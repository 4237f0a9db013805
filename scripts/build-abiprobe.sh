#!/usr/bin/env bash
# Builds the ABI probe module (testdata/abiprobe) for one cached kernel, with
# that kernel's kbuild (the Debian linux-headers of scripts/fetch-headers.sh)
# and its own compiler: gcc-12 on this machine for 6.1 (aarch64-linux-gnu-gcc-12
# for arm64), gcc-16 in the sid chroot for 7.2 (aarch64-linux-gnu-gcc-16 for
# arm64, riscv64-linux-gnu-gcc-16 for riscv64). kbuild adds the module's BTF
# (pahole, resolve_btfids) against the vmlinux in the headers directory.
#
# The result is cached in $CACHE/abiprobe/<tag>-<key>/abiprobe.ko, the key
# being a hash of the module source, this script, the headers packages and
# the compiler's and pahole's versions; BUILD records them. The path of the
# .ko is the only line printed on stdout; progress goes to stderr.
#
# Usage: scripts/build-abiprobe.sh TAG    TAG: 6.1-amd64 6.1-arm64 7.2-amd64 7.2-arm64 7.2-riscv64
# Environment: BTFFILTER_CACHE (default /var/cache/btffilter)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

(($# == 1)) || bf_die "usage: scripts/build-abiprobe.sh TAG"
tag=$1
series=${tag%-*}
arch=${tag#*-}
case $tag in
6.1-amd64 | 6.1-arm64 | 7.2-amd64 | 7.2-arm64 | 7.2-riscv64) ;;
*) bf_die "unknown tag $tag" ;;
esac
src=$root/testdata/abiprobe
hdir=$BF_CACHE/headers/$tag
[[ -f $hdir/.complete ]] || bash "$here/fetch-headers.sh" "$tag" >&2
kdir=$(cd "$hdir/kdir" && pwd -P)
release=$(<"$hdir/release")
common=$(sed -n 's/^include \(.*\)\/Makefile$/\1/p' "$kdir/Makefile" | head -n1)
[[ -n $common ]] || bf_die "$kdir/Makefile includes no common Makefile"
common=$hdir/root$common
[[ -f $common/Makefile ]] || bf_die "$common/Makefile missing"

# in_env CMD... runs CMD where this series' kbuild and compiler live.
case $series/$arch in
6.1/amd64)
	make_args=()
	in_env() { "$@"; }
	cc=gcc-12
	;;
6.1/arm64)
	make_args=(CROSS_COMPILE=aarch64-linux-gnu-)
	in_env() { "$@"; }
	cc=aarch64-linux-gnu-gcc-12
	;;
7.2/*)
	# The headers' .kernelvariables set CROSS_COMPILE for a foreign
	# architecture; the cross gcc and binutils must be there.
	case $arch in
	amd64) triplet= ;;
	arm64) triplet=aarch64-linux-gnu ;;
	riscv64) triplet=riscv64-linux-gnu ;;
	esac
	pkgs=(make libelf1t64 libssl3t64 zlib1g pahole gcc-16)
	[[ -z $triplet ]] || pkgs+=("gcc-16-$triplet" "binutils-$triplet")
	bash "$here/sid-chroot.sh" ensure "${pkgs[@]}" >&2
	make_args=()
	in_env() { bash "$here/sid-chroot.sh" run "$@"; }
	cc=${triplet:+$triplet-}gcc-16
	;;
esac
if [[ $series == 6.1 ]]; then
	# Debian's 6.1 kbuild has no resolve_btfids (its headers have no
	# vmlinux, so kbuild never makes module BTF). The module has no
	# .BTF_ids for it to patch (checked below), so it is not needed.
	make_args+=(RESOLVE_BTFIDS=true)
else
	# The headers' Makefile names KBUILD_OUTPUT by its installed path;
	# point it at the unpacked copy instead.
	make_args+=("KBUILD_OUTPUT=$kdir")
	# resolve_btfids runs, so the module gets its .BTF_ids sets.
	make_args+=(ABIPROBE_BTF_IDS=y)
fi
[[ -f $kdir/vmlinux ]] || bf_die "$kdir/vmlinux missing (module BTF needs it): remove $hdir and run scripts/fetch-headers.sh $tag"

cc_version=$(in_env "$cc" --version | head -n1)
pahole_version=$(in_env pahole --version)
key=$(
	{
		cat "$src/abiprobe.c" "$src/Kbuild" "${BASH_SOURCE[0]}" "$hdir/packages"
		printf '%s\n%s\n' "$cc_version" "$pahole_version"
	} | sha256sum | cut -c1-16
)
out=$BF_CACHE/abiprobe/$tag-$key
if [[ -f $out/abiprobe.ko ]]; then
	printf '%s\n' "$out/abiprobe.ko"
	exit 0
fi
mkdir -p "$BF_CACHE/abiprobe"
build=$(mktemp -d "$BF_CACHE/abiprobe/.build-$tag.XXXXXX")
trap 'rm -rf "$build"' EXIT
cp "$src/abiprobe.c" "$src/Kbuild" "$build/"
bf_step "abiprobe $tag: make -C $kdir M=$build ($cc_version; $pahole_version)" >&2
if ! in_env make -C "$kdir" -f "$common/Makefile" "${make_args[@]}" M="$build" modules >"$build/build.log" 2>&1; then
	tail -n 30 "$build/build.log" >&2
	bf_die "abiprobe $tag: build failed"
fi
ko=$build/abiprobe.ko
[[ -f $ko ]] || bf_die "abiprobe $tag: no abiprobe.ko ($build/build.log)"
readelf -S -W "$ko" | grep -q ' \.BTF ' || {
	tail -n 30 "$build/build.log" >&2
	bf_die "abiprobe $tag: abiprobe.ko has no .BTF section"
}
if [[ $series == 6.1 ]] && readelf -S -W "$ko" | grep -q ' \.BTF_ids '; then
	bf_die "abiprobe $tag: abiprobe.ko has .BTF_ids, which resolve_btfids would have to patch"
fi
if [[ $series != 6.1 ]]; then
	readelf -S -W "$ko" | grep -q ' \.BTF_ids ' || bf_die "abiprobe $tag: abiprobe.ko has no .BTF_ids"
	# "WARN: resolve_btfids: unresolved symbol NAME" when a BTF_ID names
	# nothing in the module's BTF.
	if grep 'resolve_btfids' "$build/build.log" | grep -i 'warn' >&2; then
		bf_die "abiprobe $tag: resolve_btfids warned"
	fi
fi
tmp=$out.tmp
rm -rf "$tmp"
mkdir -p "$tmp"
cp "$ko" "$tmp/abiprobe.ko"
cp "$build/build.log" "$tmp/build.log"
{
	printf 'kernel %s\n' "$release"
	printf 'compiler %s\n' "$cc_version"
	printf '%s\n' "$pahole_version"
	sed 's/^/headers /' "$hdir/packages"
	printf 'source sha256 %s\n' "$(cat "$src/abiprobe.c" "$src/Kbuild" | sha256sum | cut -d' ' -f1)"
} >"$tmp/BUILD"
rm -rf "$out"
mv "$tmp" "$out"
# Builds of older sources or toolchains for this tag are of no more use.
for old in "$BF_CACHE/abiprobe/$tag"-*; do
	[[ $old == "$out" || ! -d $old ]] || rm -rf "$old"
done
printf '%s\n' "$out/abiprobe.ko"
