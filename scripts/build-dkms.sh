#!/usr/bin/env bash
# Builds real Debian DKMS packages with dkms against the Debian 7.2 amd64
# headers (scripts/fetch-headers.sh), in the sid chroot, as a user gets them:
# kbuild gives each module its BTF with a distilled .BTF.base (7.2's
# external-module build), dkms strips it (strip -g) and signs it with its own
# generated key (/var/lib/dkms/mok.key). For TestBootDKMS in scripts/e2e
# (docs/testing.md, "What the kernel accepts").
#
#   1. dkms and the packages are installed into the sid chroot with dkms's
#      automatic builds off (/etc/dkms/no-autoinstall), then the cached
#      headers .debs of the tag (their install would otherwise build every
#      module at once, beyond this script's control);
#   2. dkms build -m NAME -v VERSION -k RELEASE --force for each package,
#      with a strip on PATH that first keeps the unstripped module in a debug
#      tree by build-id (.build-id/xx/rest.debug), as a packager's debug
#      package holds it.
#
# The results are cached in $CACHE/dkms/<tag>-<key>/:
#
#   modules/PACKAGE/NAME.ko   what dkms built (stripped, signed)
#   debug/.build-id/...       the same modules before strip
#   BUILD                     kernel, dkms, compiler, pahole, package versions
#   .complete                 stamp, written last
#
# the key being a hash of this script, the headers packages, the package
# versions and the compiler's and pahole's. The directory is the only line
# printed on stdout; progress goes to stderr.
#
# Usage: scripts/build-dkms.sh [TAG]    TAG: 7.2-amd64 (the default)
# Environment: BTFFILTER_CACHE (default /var/cache/btffilter)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

tag=${1:-7.2-amd64}
[[ $tag == 7.2-amd64 ]] || bf_die "unknown tag $tag (7.2-amd64)"
# Debian's DKMS packages that build against the 7.2 cloud kernel's headers.
# Left out: jool-dkms 4.1.15 (modpost: snmp_fold_field is not exported to
# modules in 7.2), v4l2loopback-dkms (BUILD_EXCLUSIVE_CONFIG wants
# CONFIG_MEDIA_SUPPORT, which the cloud kernel lacks) and
# openafs-modules-dkms (builds, but its configure step takes over 20
# minutes on two cores).
packages=(acpi-call-dkms lttng-modules-dkms xtables-addons-dkms)

hdir=$BF_CACHE/headers/$tag
[[ -f $hdir/.complete ]] || bash "$here/fetch-headers.sh" "$tag" >&2
release=$(<"$hdir/release")
chroot_root=$(bash "$here/sid-chroot.sh" path)
bash "$here/sid-chroot.sh" setup >&2
# Before dkms is installed: its packages' postinst would build them for
# every kernel with headers.
mkdir -p "$chroot_root/etc/dkms"
touch "$chroot_root/etc/dkms/no-autoinstall"
bash "$here/sid-chroot.sh" ensure dkms openssl kmod xz-utils "${packages[@]}" >&2

# The headers, from the .debs fetch-headers.sh checked, installed as the
# packages they are (dkms finds /lib/modules/RELEASE/build).
if [[ $(chroot "$chroot_root" dpkg-query -W -f='${db:Status-Abbrev}' "linux-headers-$release" 2>/dev/null) != "ii " ]]; then
	debs=()
	while read -r name version arch _; do
		debs+=("$BF_CACHE/debs/$(bf_deb_file "$name" "$version" "$arch")")
	done <"$hdir/packages"
	exec 9>"$BF_CACHE/.sid-chroot.lock"
	flock 9
	bf_step "sid chroot: installing the $release headers" >&2
	bash "$here/sid-chroot.sh" run env DEBIAN_FRONTEND=noninteractive \
		apt-get -qq -y --no-install-recommends install "${debs[@]}" >"$BF_CACHE/dkms-headers.log" 2>&1 || {
		tail -n 20 "$BF_CACHE/dkms-headers.log" >&2
		bf_die "installing the $release headers failed (log: $BF_CACHE/dkms-headers.log)"
	}
	flock -u 9
fi

# NAME VERSION of each package's DKMS module, from its installed source.
modules=()
for p in "${packages[@]}"; do
	# awk reads the whole list: a grep -m1 would stop early, and dpkg's
	# SIGPIPE fail the pipeline.
	conf=$(chroot "$chroot_root" dpkg -L "$p" | awk '/^\/usr\/src\/[^\/]*\/dkms\.conf$/ && !found { print; found = 1 }')
	[[ -n $conf ]] || bf_die "$p installs no /usr/src/*/dkms.conf"
	dir=${conf%/dkms.conf}
	dir=${dir#/usr/src/}
	modules+=("$p ${dir%-*} ${dir##*-}")
done
versions=$(
	printf 'kernel %s\n' "$release"
	chroot "$chroot_root" dpkg-query -W -f='${Package} ${Version}\n' dkms "${packages[@]}"
	printf 'compiler %s\n' "$(chroot "$chroot_root" gcc-16 --version | head -n1)"
	printf 'pahole %s\n' "$(chroot "$chroot_root" pahole --version)"
)
key=$(
	{
		cat "${BASH_SOURCE[0]}" "$hdir/packages"
		printf '%s\n' "$versions"
	} | sha256sum | cut -c1-16
)
out=$BF_CACHE/dkms/$tag-$key
if [[ -f $out/.complete ]]; then
	printf '%s\n' "$out"
	exit 0
fi
mkdir -p "$BF_CACHE/dkms"
exec 8>"$BF_CACHE/dkms/.lock"
flock 8
if [[ -f $out/.complete ]]; then
	printf '%s\n' "$out"
	exit 0
fi
tmp=$(mktemp -d "$BF_CACHE/dkms/.build-$tag.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin" "$tmp/debug" "$tmp/modules"
# dkms runs "strip -g MODULE" (or llvm-strip for clang builds) from PATH.
cat >"$tmp/bin/strip" <<'EOF'
#!/bin/sh
for f; do :; done
id=$(readelf -n "$f" | sed -n 's/^ *Build ID: *//p')
[ -n "$id" ] || { echo "strip: $f has no build-id" >&2; exit 1; }
mkdir -p "$DKMS_DEBUG/.build-id/$(echo "$id" | cut -c1-2)"
cp "$f" "$DKMS_DEBUG/.build-id/$(echo "$id" | cut -c1-2)/$(echo "$id" | cut -c3-).debug"
exec /usr/bin/strip "$@"
EOF
chmod +x "$tmp/bin/strip"
t0=$SECONDS
for m in "${modules[@]}"; do
	read -r pkg name version <<<"$m"
	bf_step "dkms build -m $name -v $version -k $release" >&2
	t1=$SECONDS
	if ! bash "$here/sid-chroot.sh" run env PATH="$tmp/bin:/usr/sbin:/usr/bin:/sbin:/bin" DKMS_DEBUG="$tmp/debug" \
		dkms build -m "$name" -v "$version" -k "$release" --force >"$tmp/$pkg.log" 2>&1; then
		tail -n 30 "$tmp/$pkg.log" >&2
		log=$chroot_root/var/lib/dkms/$name/$version/build/make.log
		[[ ! -f $log ]] || tail -n 30 "$log" >&2
		bf_die "dkms build of $pkg failed"
	fi
	built=$chroot_root/var/lib/dkms/$name/$version/$release/x86_64/module
	mkdir -p "$tmp/modules/$pkg"
	cp "$built"/*.ko* "$tmp/modules/$pkg/"
	printf '%s %s %s: %d modules in %ds\n' "$pkg" "$name" "$version" "$(find "$tmp/modules/$pkg" -name '*.ko*' | wc -l)" $((SECONDS - t1)) >>"$tmp/built"
done
bf_note "built $(find "$tmp/modules" -name '*.ko*' | wc -l) modules in $((SECONDS - t0))s" >&2
{
	printf '%s\n' "$versions"
	cat "$tmp/built"
} >"$tmp/BUILD"
rm -rf "$tmp/bin" "$tmp/built" "$tmp"/*.log "$out"
touch "$tmp/.complete"
mv "$tmp" "$out"
trap - EXIT
# Builds for older packages or toolchains are of no more use.
for old in "$BF_CACHE/dkms/$tag"-*; do
	[[ $old == "$out" || ! -d $old ]] || rm -rf "$old"
done
printf '%s\n' "$out"
