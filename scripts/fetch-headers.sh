#!/usr/bin/env bash
# Fetches the Debian linux-headers packages that match the cached kernels
# (scripts/fetch-kernels.sh) and unpacks each set into $CACHE/headers/<tag>,
# for building external modules against them (testdata/abiprobe):
#
#   release      kernel release, e.g. 6.1.0-53-cloud-amd64
#   packages     "name version arch sha256" of each .deb used
#   root/        dpkg -x of every package of the set
#   kdir         -> root/usr/src/linux-headers-<release> (make -C kdir M=...);
#                   kdir/vmlinux, which kbuild needs for module BTF, is
#                   linked to the kernel's vmlinux where the headers ship none
#   .complete    stamp, written last
#
# A set is linux-headers-<release>, the -common package it depends on, the
# linux-kbuild package of the series (host tools, always amd64: they run on
# this machine, also when the modules are for arm64 or riscv64) and, since 7.x,
# linux-base-<release>. Kernel 6.1 comes from bookworm(-security), 7.2 from
# sid. The .debs are kept in $CACHE/debs. Idempotent: a complete set is
# skipped; an incomplete one (no stamp) is redone.
#
# Usage: scripts/fetch-headers.sh [TAG...]   TAG: 6.1-amd64 6.1-arm64 7.2-amd64 7.2-arm64 7.2-riscv64
# Environment: BTFFILTER_CACHE (default /var/cache/btffilter)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

all_tags=(6.1-amd64 6.1-arm64 7.2-amd64 7.2-arm64 7.2-riscv64)
stamp=.complete
hdir=$BF_CACHE/headers
debs=$BF_CACHE/debs

# select_suite ARCH SERIES sets BF_APT to the configuration that has the
# series' packages for ARCH (the host's own for bookworm amd64).
select_suite() {
	case $2/$1 in
	6.1/amd64)
		BF_APT=()
		BF_APT_DIR=/var/lib/apt
		;;
	6.1/*) bf_apt_bookworm "$1" ;;
	7.2/*) bf_apt_sid "$1" ;;
	esac
	if ((${#BF_APT[@]} > 0)); then
		bf_apt_ensure_lists
	fi
}

# want PKG CONSTRAINT prints the version of PKG the selected indexes have
# that satisfies CONSTRAINT ("= V" or ">= V"), newest first; fails if none.
want() {
	local pkg=$1 op=$2 ver=$3 v
	while read -r v; do
		if dpkg --compare-versions "$v" "$op" "$ver"; then
			printf '%s\n' "$v"
			return 0
		fi
	done < <(apt-cache "${BF_APT[@]}" show "$pkg" 2>/dev/null | awk '$1 == "Version:" { print $2 }' | sort -V -r)
	return 1
}

# depends_of PKG VER NAME prints "OP VERSION" of PKG=VER's dependency on NAME.
depends_of() {
	bf_apt_field "$1=$2" Depends | tr ',' '\n' | sed -n "s/^ *$3 *(\([<>=]*\) *\([^)]*\)).*/\1 \2/p" | head -n1
}

# get PKG VER: download into $debs and remember it for the stamp.
get() {
	local arch
	arch=$(bf_apt_field "$1=$2" Architecture)
	[[ -n $arch ]] || bf_die "$1=$2: not in $BF_APT_DIR"
	bf_download "$1" "$2" "$arch" "$debs"
	set_debs+=("$debs/$(bf_deb_file "$1" "$2" "$arch")")
	set_lines+=("$1 $2 $arch $(bf_apt_field "$1=$2" SHA256)")
}

fetch() {
	local tag=$1 series=${1%-*} arch=${1#*-} dir=$hdir/$1 release version kbuild common dep op ver tmp d
	local set_debs=() set_lines=()
	if [[ -f $dir/$stamp ]]; then
		bf_step "headers $tag: complete ($(<"$dir/release")), skipped"
		return 0
	fi
	[[ -f $BF_CACHE/kernels/$tag/.complete ]] || bf_die "kernel $tag not fetched: run scripts/fetch-kernels.sh $tag first"
	release=$(<"$BF_CACHE/kernels/$tag/release")
	version=$(awk -v p="linux-image-$release-dbg" '$1 == p { print $2 }' "$BF_CACHE/kernels/$tag/packages")
	[[ -n $version ]] || bf_die "$BF_CACHE/kernels/$tag/packages names no linux-image-$release-dbg"
	bf_step "headers $tag: linux-headers-$release=$version"

	select_suite "$arch" "$series"
	get "linux-headers-$release" "$version"
	common=$(bf_apt_field "linux-headers-$release=$version" Depends | tr ',' '\n' | sed -n 's/^ *\(linux-headers-[^ ]*-common\) .*/\1/p' | head -n1)
	kbuild=$(bf_apt_field "linux-headers-$release=$version" Depends | tr ',' '\n' | sed -n 's/^ *\(linux-kbuild-[^ ]*\).*/\1/p' | head -n1)
	[[ -n $common && -n $kbuild ]] || bf_die "linux-headers-$release=$version: no -common or linux-kbuild dependency"
	dep=$(depends_of "linux-headers-$release" "$version" "$kbuild")
	if [[ $series != 6.1 ]]; then
		get "linux-base-$release" "$version"
	fi
	# -common is arch: all, and kbuild runs on this machine.
	[[ $arch == amd64 ]] || select_suite amd64 "$series"
	get "$common" "$version"
	if [[ -n $dep ]]; then
		op=${dep% *}
		ver=${dep#* }
	else
		op='>='
		ver=$version
	fi
	ver=$(want "$kbuild" "$op" "$ver") || bf_die "$kbuild ($op $ver) not in $BF_APT_DIR"
	[[ $ver == "$version" ]] || bf_note "$kbuild $ver (the headers ask for $op ${dep#* }; $version is gone)"
	get "$kbuild" "$ver"

	rm -rf "$dir"
	mkdir -p "$hdir"
	tmp=$(mktemp -d "$hdir/.$tag.XXXXXX")
	cleanup_dir=$tmp
	chmod 0755 "$tmp"
	for d in "${set_debs[@]}"; do
		dpkg-deb -x "$d" "$tmp/root"
	done
	[[ -f $tmp/root/usr/src/linux-headers-$release/Makefile ]] ||
		bf_die "$tag: no usr/src/linux-headers-$release/Makefile in the unpacked headers"
	ln -s "root/usr/src/linux-headers-$release" "$tmp/kdir"
	# kbuild makes a module's BTF against kdir/vmlinux. The 7.x headers
	# ship one (BTF only); for 6.1 the kernel's own vmlinux stands in.
	if [[ ! -e $tmp/kdir/vmlinux ]]; then
		ln -s "../../../../../../kernels/$tag/vmlinux" "$tmp/kdir/vmlinux"
		[[ -f $tmp/kdir/vmlinux ]] || bf_die "$tag: $tmp/kdir/vmlinux does not reach the kernel's vmlinux"
	fi
	printf '%s\n' "$release" >"$tmp/release"
	printf '%s\n' "${set_lines[@]}" >"$tmp/packages"
	printf 'linux-headers-%s %s, %d packages, %s\n' "$release" "$version" "${#set_lines[@]}" "$(du -sh "$tmp" | cut -f1)" >"$tmp/$stamp"
	mv "$tmp" "$dir"
	cleanup_dir=
	sed 's/^/    /' "$dir/packages"
}

cleanup_dir=
trap '[[ -z $cleanup_dir ]] || rm -rf "$cleanup_dir"' EXIT

tags=("$@")
((${#tags[@]} > 0)) || tags=("${all_tags[@]}")
for tag in "${tags[@]}"; do
	case $tag in
	6.1-amd64 | 6.1-arm64 | 7.2-amd64 | 7.2-arm64 | 7.2-riscv64) ;;
	*) bf_die "unknown tag $tag (known: ${all_tags[*]})" ;;
	esac
done
mkdir -p "$hdir" "$debs"
todo=()
for tag in "${tags[@]}"; do
	if [[ -f $hdir/$tag/$stamp ]]; then
		fetch "$tag"
	else
		todo+=("$tag")
	fi
done
if ((${#todo[@]} > 0)); then
	[[ $(id -u) == 0 ]] || bf_die "run as root (apt-get is needed for ${todo[*]})"
	exec 9>"$hdir/.lock"
	flock 9
	find "$hdir" -maxdepth 1 -name '.*.??????' -type d -exec rm -rf {} +
	for tag in "${todo[@]}"; do
		fetch "$tag"
	done
fi
