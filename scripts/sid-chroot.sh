#!/usr/bin/env bash
# A minimal Debian sid chroot with current pahole, bpftool and libbpf, used as
# reference tools (the host's bookworm versions are too old to compare with).
#
# Usage:
#   scripts/sid-chroot.sh [setup]        create it if needed, print tool versions
#   scripts/sid-chroot.sh run CMD...     run CMD inside (creates it if needed)
#   scripts/sid-chroot.sh ensure PKG...  install packages inside, if missing
#   scripts/sid-chroot.sh path           print the chroot's directory
#
# "run" binds /tmp, the cache directory and the current directory at their own
# paths inside, and starts in the current directory. The mounts live in a
# private mount namespace, so they disappear when CMD exits, however it exits.
# Environment: BTFFILTER_CACHE (default /var/cache/btffilter)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

root=$BF_CACHE/sid-chroot
stamp=$root/.complete
include=pahole,bpftool,libbpf-dev,gcc,make,libc6-dev

usage() {
	sed -n '5,9s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
	exit 2
}

versions() {
	# shellcheck disable=SC2016 # expanded by the shell inside the chroot
	chroot "$root" sh -c '
		echo "pahole $(pahole --version)"
		bpftool version | head -n 2 | tr "\n" " " | sed "s/ *$//"; echo
		dpkg-query -W -f="libbpf-dev \${Version}\n" libbpf-dev
		gcc --version | head -n 1
		make --version | head -n 1'
}

setup() {
	if [[ -f $stamp ]]; then
		return 0
	fi
	[[ $(id -u) == 0 ]] || bf_die "run as root (debootstrap and chroot need it)"
	command -v debootstrap >/dev/null || bf_die "debootstrap is not installed: run scripts/setup.sh"
	local mirror tmp t0
	mirror=$(bf_suite_uri bookworm)
	mkdir -p "$BF_CACHE"
	exec 9>"$BF_CACHE/.sid-chroot.lock"
	flock 9
	[[ -f $stamp ]] && return 0
	t0=$SECONDS
	# A chroot without the stamp is left over from an interrupted run.
	rm -rf "$root" "$root.tmp"
	bf_step "debootstrap sid into $root (mirror from $BF_APT_SOURCES)"
	tmp=$root.tmp
	if ! debootstrap --variant=minbase --keyring="$BF_KEYRING" --include="$include" \
		sid "$tmp" "$mirror" >"$BF_CACHE/sid-chroot.log" 2>&1; then
		tail -n 20 "$BF_CACHE/sid-chroot.log" >&2
		bf_die "debootstrap failed (log: $BF_CACHE/sid-chroot.log)"
	fi
	# The package cache is not needed once installed.
	rm -f "$tmp"/var/cache/apt/archives/*.deb
	mv "$tmp" "$root"
	versions >"$root/versions.tmp"
	mv "$root/versions.tmp" "$root/versions"
	printf 'built in %ds\n' $((SECONDS - t0)) >"$stamp"
	bf_step "sid chroot ready in $((SECONDS - t0))s ($(du -sh "$root" | cut -f1))"
}

# ensure PKG... installs the packages a caller needs beyond the base set
# (compilers, kernel build tools), under the setup lock, so that callers
# asking for different packages at once do not collide. A package already
# installed costs a dpkg-query.
ensure() {
	(($# > 0)) || usage
	setup >&2
	local p missing=()
	for p in "$@"; do
		if [[ $(chroot "$root" dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null) != "ii " ]]; then
			missing+=("$p")
		fi
	done
	((${#missing[@]})) || return 0
	exec 9>"$BF_CACHE/.sid-chroot.lock"
	flock 9
	bf_step "sid chroot: installing ${missing[*]}" >&2
	# The chroot's own sources list (debootstrap wrote it) names the
	# mirror; its lists may be stale: update once and retry on failure.
	if ! chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get -qq -y --no-install-recommends install "${missing[@]}" >"$BF_CACHE/sid-chroot-ensure.log" 2>&1; then
		chroot "$root" apt-get -qq update >>"$BF_CACHE/sid-chroot-ensure.log" 2>&1 || true
		chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get -qq -y --no-install-recommends install "${missing[@]}" >>"$BF_CACHE/sid-chroot-ensure.log" 2>&1 ||
			{
				tail -n 20 "$BF_CACHE/sid-chroot-ensure.log" >&2
				bf_die "apt-get install ${missing[*]} failed in the sid chroot (log: $BF_CACHE/sid-chroot-ensure.log)"
			}
	fi
	rm -f "$root"/var/cache/apt/archives/*.deb
	versions >"$root/versions.tmp"
	mv "$root/versions.tmp" "$root/versions"
}

run() {
	(($# > 0)) || usage
	setup >&2
	local cwd binds=(/tmp "$BF_CACHE")
	cwd=$(pwd -P)
	case $cwd in
	/ | /tmp | /tmp/* | "$BF_CACHE" | "$BF_CACHE"/*) ;;
	*) binds+=("$cwd") ;;
	esac
	# Mount inside a new mount namespace: nothing leaks to the host, and the
	# kernel drops every mount when the last process in it exits.
	# shellcheck disable=SC2016 # expanded by the inner shell
	exec unshare --mount --propagation private -- /bin/sh -ec '
		root=$1; cwd=$2; n=$3; shift 3
		i=0
		while [ "$i" -lt "$n" ]; do
			mkdir -p "$root$1"
			mount --bind "$1" "$root$1"
			shift; i=$((i + 1))
		done
		mount -t proc proc "$root/proc"
		mount --rbind /dev "$root/dev"
		mount --rbind /sys "$root/sys"
		exec chroot "$root" /bin/sh -c "cd \"\$0\" && exec \"\$@\"" "$cwd" "$@"
	' sh "$root" "$cwd" "${#binds[@]}" "${binds[@]}" "$@"
}

case ${1:-setup} in
setup)
	setup >&2
	bf_step "sid chroot at $root"
	sed 's/^/    /' "$root/versions"
	;;
run)
	shift
	run "$@"
	;;
ensure)
	shift
	ensure "$@"
	;;
path)
	printf '%s\n' "$root"
	;;
*) usage ;;
esac
