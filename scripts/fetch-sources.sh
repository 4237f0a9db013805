#!/usr/bin/env bash
# Fetches Debian's kernel source packages that scripts/build-kernel.sh builds
# (docs/kbuild.md, "Proof") and unpacks each into $CACHE/src/<series>:
#
#   version      the Debian package version, e.g. 6.1.192-3
#   package      "name version sha256" of the .deb
#   linux/       the unpacked source tree (Debian's patches applied)
#   .complete    stamp, written last
#
# The tree is unpacked into a temporary directory that is renamed into place
# after the stamp is written; a series directory without the stamp is left
# over from an interrupted run and is redone. A pinned version the archive
# no longer has is replaced by the current candidate, with a printed
# substitution. The .deb is kept in $CACHE/debs and reused when its SHA256
# matches the package index.
#
# Usage: scripts/fetch-sources.sh [SERIES...]   SERIES: 6.1 7.2
# Environment: BTFFILTER_CACHE (default /var/cache/btffilter)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

all_series=(6.1 7.2)
stamp=.complete
sdir=$BF_CACHE/src
debs=$BF_CACHE/debs

# pin SERIES sets pkg and version (keep in step with scripts/kbuild/kbuild.go)
# and selects the apt configuration that has the package.
pin() {
	case $1 in
	6.1)
		pkg=linux-source-6.1
		version=6.1.192-3
		bf_apt_bookworm amd64
		;;
	7.2)
		pkg=linux-source-7.2
		version=7.2.13-1
		bf_apt_sid amd64
		;;
	*) bf_die "unknown series $1 (known: ${all_series[*]})" ;;
	esac
}

fetch() {
	local series=$1 dir=$sdir/$1 pkg version tmp deb t0 cand tarball
	pin "$series"
	if [[ -f $dir/$stamp ]]; then
		bf_step "$series: $(<"$dir/version") unpacked, skipped"
		return 0
	fi
	t0=$SECONDS
	bf_step "$series: fetching $pkg"
	bf_apt_ensure_lists
	if [[ -z $(bf_apt_field "$pkg=$version" Version) ]]; then
		bf_apt_update
	fi
	if [[ -z $(bf_apt_field "$pkg=$version" Version) ]]; then
		cand=$(bf_apt_field "$pkg" Version)
		[[ -n $cand ]] || bf_die "$pkg: not in $BF_APT_DIR/sources.list"
		printf '!!! SUBSTITUTION for %s: pinned %s=%s is no longer available; using %s\n' "$series" "$pkg" "$version" "$cand"
		version=$cand
	fi
	bf_download "$pkg" "$version" all "$debs"
	deb=$debs/$(bf_deb_file "$pkg" "$version" all)
	if [[ -e $dir ]]; then
		bf_note "$dir has no $stamp (interrupted run): removing it"
		rm -rf "$dir"
	fi
	tmp=$(mktemp -d "$sdir/.$series.XXXXXX")
	cleanup_dir=$tmp
	chmod 0755 "$tmp"
	dpkg-deb -x "$deb" "$tmp/deb"
	tarball=$(find "$tmp/deb" -name 'linux-source-*.tar.*' -type f | head -n1)
	[[ -n $tarball ]] || bf_die "$deb: no linux-source-*.tar.* inside"
	bf_note "unpacking ${tarball##*/}"
	mkdir "$tmp/linux"
	tar -xf "$tarball" -C "$tmp/linux" --strip-components=1
	rm -rf "$tmp/deb"
	[[ -f $tmp/linux/Makefile && -f $tmp/linux/scripts/link-vmlinux.sh ]] || bf_die "$deb: the tarball holds no kernel tree"
	printf '%s\n' "$version" >"$tmp/version"
	printf '%s %s %s\n' "$pkg" "$version" "$(bf_apt_field "$pkg=$version" SHA256)" >"$tmp/package"
	printf 'fetched and unpacked in %ds\n' $((SECONDS - t0)) >"$tmp/$stamp"
	mv "$tmp" "$dir"
	cleanup_dir=
	bf_step "$series: $pkg $version unpacked in $((SECONDS - t0))s ($(du -sh "$dir" | cut -f1))"
}

cleanup_dir=
trap '[[ -z $cleanup_dir ]] || rm -rf "$cleanup_dir"' EXIT

series_list=("$@")
((${#series_list[@]} > 0)) || series_list=("${all_series[@]}")
for s in "${series_list[@]}"; do
	case $s in
	6.1 | 7.2) ;;
	*)
		echo "fetch-sources.sh: unknown series $s (known: ${all_series[*]})" >&2
		exit 2
		;;
	esac
done
mkdir -p "$sdir" "$debs"
todo=()
for s in "${series_list[@]}"; do
	if [[ -f $sdir/$s/$stamp ]]; then
		fetch "$s"
	else
		todo+=("$s")
	fi
done
if ((${#todo[@]} > 0)); then
	[[ $(id -u) == 0 ]] || bf_die "run as root (apt-get is needed for ${todo[*]})"
	exec 9>"$sdir/.lock"
	flock 9
	find "$sdir" -maxdepth 1 -name '.*.??????' -type d -exec rm -rf {} +
	for s in "${todo[@]}"; do
		fetch "$s"
	done
fi
