#!/usr/bin/env bash
# Fetches the Debian kernels used as real test inputs (docs/testing.md,
# "Real inputs") and unpacks each into $CACHE/kernels/<tag>: the cloud
# flavours of amd64 and arm64, and the 7.2 kernels of the other 64-bit
# architectures Debian builds with BTF (flavours s390x, powerpc64le and
# riscv64; Debian's loong64 kernel has no BTF):
#
#   release      kernel release, e.g. 6.1.0-53-cloud-amd64, 7.2.13+deb14-s390x
#   arch         the Debian architecture: amd64 | arm64 | s390x | ppc64el |
#                riscv64
#   packages     "name version arch sha256" of each .deb used
#   image/       dpkg -x of linux-image-<release>
#   dbg/         dpkg -x of linux-image-<release>-dbg
#   vmlinux      -> the unstripped vmlinux in dbg/
#   modules      -> the image's (signed, stripped) module tree
#   dbg-modules  -> the unstripped module tree in dbg/
#   .complete    stamp, written last: a summary of what was unpacked
#
# A tag is unpacked into a temporary directory that is renamed into place
# after the stamp is written, so a tag directory without the stamp can only
# be left over from an interrupted older run; it is removed and redone.
# The .debs are kept in $CACHE/debs and reused when their SHA256 matches the
# package index.
#
# Usage: scripts/fetch-kernels.sh [TAG...]
#   TAG: 6.1-amd64 6.1-arm64 7.2-amd64 7.2-arm64 7.2-s390x 7.2-ppc64el
#        7.2-riscv64 (all of them when none is given)
# Environment: BTFFILTER_CACHE (default /var/cache/btffilter)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

all_tags=(6.1-amd64 6.1-arm64 7.2-amd64 7.2-arm64 7.2-s390x 7.2-ppc64el 7.2-riscv64)
stamp=.complete
kdir=$BF_CACHE/kernels
debs=$BF_CACHE/debs

# pin TAG sets flavour, release and version: the kernel each tag stands for
# (keep in step with the pinned map in scripts/kernels/kernels.go). amd64
# and arm64 use the cloud flavour; the other architectures have one
# flavour each, named by Debian (powerpc64le for ppc64el; its 64k-page
# variant is not used).
pin() {
	local series=${1%-*} arch=${1#*-}
	case $arch in
	amd64 | arm64) flavour=cloud-$arch ;;
	s390x | riscv64) flavour=$arch ;;
	ppc64el) flavour=powerpc64le ;;
	*) bf_die "unknown tag $1 (known: ${all_tags[*]})" ;;
	esac
	case $series/$arch in
	6.1/amd64 | 6.1/arm64)
		release=6.1.0-53-$flavour
		version=6.1.187-1
		;;
	7.2/*)
		release=7.2.13+deb14-$flavour
		version=7.2.13-1
		;;
	*) bf_die "unknown tag $1 (known: ${all_tags[*]})" ;;
	esac
}

# select_apt TAG sets BF_APT to the apt configuration that has the tag's
# kernel. The host's own configuration serves bookworm amd64; arm64 and sid
# get private ones, so dpkg's architectures and the host's lists stay as
# they are.
select_apt() {
	local series=${1%-*} arch=${1#*-}
	case $series/$arch in
	6.1/amd64)
		BF_APT=()
		BF_APT_DIR=/var/lib/apt
		;;
	6.1/*) bf_apt_bookworm "$arch" ;;
	7.2/*) bf_apt_sid "$arch" ;;
	esac
}

# apt_update_once refreshes the indexes of the selected configuration, at
# most once per tag.
apt_update_once() {
	((updated)) && return 1
	updated=1
	if ((${#BF_APT[@]} == 0)); then
		bf_note "apt-get update (host configuration)"
		apt-get -qq -o DPkg::Lock::Timeout=600 update >/dev/null || bf_die "apt-get update failed"
	else
		bf_note "apt-get update of $BF_APT_DIR"
		bf_apt_update
	fi
}

# available PKG VER tells whether the selected indexes have PKG=VER.
available() {
	[[ -n $(bf_apt_field "$1=$2" Version) ]]
}

# resolve TAG checks that the pinned packages exist; when they are gone it
# reads the current release from the meta package's Depends and prints the
# substitution. Sets release and version.
resolve() {
	local tag=$1 series=${1%-*} meta dep name
	img=linux-image-$release
	dbg=linux-image-$release-dbg
	if ((${#BF_APT[@]} > 0)) && ! bf_apt_has_lists; then
		apt_update_once || true
	fi
	if available "$img" "$version" && available "$dbg" "$version"; then
		return 0
	fi
	if apt_update_once && available "$img" "$version" && available "$dbg" "$version"; then
		return 0
	fi
	meta=linux-image-$flavour-dbg
	dep=$(bf_apt_field "$meta" Depends | tr ',' '\n' | sed -n 's/^ *\(linux-image-[^ ]*-dbg\) *(= *\([^)]*\)).*/\1 \2/p' | head -n1)
	[[ -n $dep ]] || bf_die "$tag: $dbg=$version is not available and $meta names no linux-image-*-dbg"
	name=${dep% *}
	printf '!!! SUBSTITUTION for %s: pinned %s=%s is no longer available;\n' "$tag" "$dbg" "$version"
	release=${name#linux-image-}
	release=${release%-dbg}
	version=${dep#* }
	printf '!!! using %s=%s (from the Depends of %s)\n' "$name" "$version" "$meta"
	if [[ $release != "$series".* ]]; then
		printf '!!! WARNING: %s is not a %s kernel; tag %s now holds %s\n' "$release" "$series" "$tag" "$release"
	fi
	img=linux-image-$release
	dbg=linux-image-$release-dbg
	available "$img" "$version" || bf_die "$tag: $img=$version (matching $name) is not available"
}

# image_set PKG VER sets img_pkgs to PKG and, transitively, the packages of
# the same release that it depends on with "= VER". Up to 6.x
# linux-image-<release> holds the kernel and its modules; later kernels split
# them into linux-binary-, linux-modules- and linux-base-<release>, and the
# linux-image package only depends on them.
image_set() {
	local queue=("$1") p d seen=" "
	img_pkgs=()
	while ((${#queue[@]} > 0)); do
		p=${queue[0]}
		queue=("${queue[@]:1}")
		[[ $seen == *" $p "* ]] && continue
		seen+="$p "
		img_pkgs+=("$p")
		while read -r d; do
			[[ -n $d ]] && queue+=("$d")
		done < <(bf_apt_field "$p=$2" Depends | tr ',|' '\n' | awk -v rel="-$release" -v ver="$2" '
			# Keep "linux-...-<release> (= <version>)" clauses only.
			{ gsub(/[ ()]/, "") }
			substr($0, 1, 6) == "linux-" && substr($0, length($0) - length(rel "=" ver) + 1) == rel "=" ver {
				print substr($0, 1, length($0) - length("=" ver))
			}')
	done
}

# first_path PATH... prints the first argument that exists.
first_path() {
	local p
	for p; do
		if [[ -e $p ]]; then
			printf '%s\n' "$p"
			return 0
		fi
	done
	return 1
}

# module_summary DIR prints "N modules (EXT...), S signed" for a module tree.
# A module is signed when its (decompressed) content ends with the module
# signature marker.
module_summary() {
	local dir=$1 n=0 signed=0 f exts marker
	marker=$(mktemp)
	printf '~Module signature appended~\n' >"$marker"
	exts=$(find "$dir" -type f -name '*.ko*' | sed -n 's/.*\(\.ko\(\.[a-z]*\)\{0,1\}\)$/\1/p' | sort | uniq -c | awk '{ printf "%s%s x%s", (NR > 1 ? ", " : ""), $2, $1 }')
	while IFS= read -r -d '' f; do
		n=$((n + 1))
		case $f in
		*.ko) tail -c 28 "$f" ;;
		*.ko.xz) xz -dc "$f" | tail -c 28 ;;
		*.ko.zst) zstd -qdc "$f" | tail -c 28 ;;
		*.ko.gz) gzip -dc "$f" | tail -c 28 ;;
		esac | cmp -s - "$marker" && signed=$((signed + 1))
	done < <(find "$dir" -type f \( -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst' -o -name '*.ko.gz' \) -print0)
	rm -f "$marker"
	printf '%d modules (%s), %d signed\n' "$n" "${exts:-none}" "$signed"
}

# elapsed T0 T1 prints T1-T0 (seconds, from date +%s.%N) with one decimal.
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# fetch TAG makes $kdir/TAG complete.
fetch() {
	local tag=$1 arch=${1#*-} dir=$kdir/$1 t0 t1 t2 img dbg tmp vml mods dmods
	local release version flavour updated=0 p img_pkgs=()
	pin "$tag"
	if [[ -f $dir/$stamp ]]; then
		bf_step "$tag: complete ($(<"$dir/release")), skipped"
		return 0
	fi
	t0=$(date +%s.%N)
	bf_step "$tag: fetching"
	select_apt "$tag"
	resolve "$tag"
	image_set "$img" "$version"
	bf_note "release $release, version $version; image packages: ${img_pkgs[*]}"
	for p in "${img_pkgs[@]}" "$dbg"; do
		bf_download "$p" "$version" "$arch" "$debs"
	done
	t1=$(date +%s.%N)

	if [[ -e $dir ]]; then
		bf_note "$dir has no $stamp (interrupted run): removing it"
		rm -rf "$dir"
	fi
	tmp=$(mktemp -d "$kdir/.$tag.XXXXXX")
	cleanup_dir=$tmp
	chmod 0755 "$tmp" # mktemp makes it private; the cache is for every user
	bf_note "unpacking into $tmp"
	for p in "${img_pkgs[@]}"; do
		dpkg-deb -x "$debs/$(bf_deb_file "$p" "$version" "$arch")" "$tmp/image"
	done
	dpkg-deb -x "$debs/$(bf_deb_file "$dbg" "$version" "$arch")" "$tmp/dbg"

	# Debian moved files from /lib to /usr/lib at some point; accept both.
	vml=$(cd "$tmp" && first_path "dbg/usr/lib/debug/boot/vmlinux-$release" "dbg/usr/lib/debug/lib/modules/$release/vmlinux") ||
		bf_die "$tag: no unstripped vmlinux-$release in $dbg"
	# Later packages make boot/vmlinux-<release> a symlink into lib/modules;
	# point at the file itself, relative, so the tag directory can move.
	vml=$(cd "$tmp" && realpath --relative-to=. -e "$vml") || bf_die "$tag: $vml is a dangling symlink in $dbg"
	[[ $vml == dbg/* ]] || bf_die "$tag: $dbg: vmlinux-$release points outside the package ($vml)"
	local sec sections
	# Captured first: "readelf | grep -q" fails under pipefail when grep
	# exits before readelf has written everything.
	sections=$(readelf -S -W "$tmp/$vml")
	for sec in .BTF .debug_info; do
		[[ $sections == *" $sec "* ]] || bf_die "$tag: $tmp/$vml has no $sec section"
	done
	mods=$(cd "$tmp" && first_path "image/lib/modules/$release/kernel" "image/usr/lib/modules/$release/kernel") ||
		bf_die "$tag: no lib/modules/$release/kernel in $img"
	dmods=$(cd "$tmp" && first_path "dbg/usr/lib/debug/lib/modules/$release/kernel" "dbg/usr/lib/debug/usr/lib/modules/$release/kernel") ||
		bf_die "$tag: no usr/lib/debug/lib/modules/$release/kernel in $dbg"
	ln -s "$vml" "$tmp/vmlinux"
	ln -s "$mods" "$tmp/modules"
	ln -s "$dmods" "$tmp/dbg-modules"
	printf '%s\n' "$release" >"$tmp/release"
	printf '%s\n' "$arch" >"$tmp/arch"
	{
		for p in "${img_pkgs[@]}" "$dbg"; do
			printf '%s %s %s %s\n' "$p" "$version" "$arch" "$(bf_apt_field "$p=$version" SHA256)"
		done
	} >"$tmp/packages"

	local s_img s_dbg size
	s_img=$(module_summary "$tmp/$mods")
	s_dbg=$(module_summary "$tmp/$dmods")
	size=$(du -sh "$tmp" | cut -f1)
	t2=$(date +%s.%N)
	{
		printf 'release %s\n' "$release"
		printf 'image modules: %s\n' "$s_img"
		printf 'dbg modules: %s\n' "$s_dbg"
		printf 'vmlinux: %s\n' "$(file -b "$tmp/$vml" | cut -d, -f1-2)"
		printf 'unpacked size: %s\n' "$size"
		printf 'download %ss, unpack and check %ss\n' "$(elapsed "$t0" "$t1")" "$(elapsed "$t1" "$t2")"
	} >"$tmp/$stamp"
	mv "$tmp" "$dir"
	cleanup_dir=
	sed 's/^/    /' "$dir/$stamp"
	bf_step "$tag: done"
}

cleanup_dir=
trap '[[ -z $cleanup_dir ]] || rm -rf "$cleanup_dir"' EXIT

tags=("$@")
((${#tags[@]} > 0)) || tags=("${all_tags[@]}")
for tag in "${tags[@]}"; do
	pin "$tag" # rejects unknown tags before any work
done

start=$(date +%s.%N)
mkdir -p "$kdir" "$debs"
todo=()
for tag in "${tags[@]}"; do
	if [[ -f $kdir/$tag/$stamp ]]; then
		fetch "$tag"
	else
		todo+=("$tag")
	fi
done
if ((${#todo[@]} > 0)); then
	[[ $(id -u) == 0 ]] || bf_die "run as root (apt-get is needed for ${todo[*]})"
	# One fetch at a time: a second run waits, then finds the tags complete.
	exec 9>"$kdir/.lock"
	flock 9
	# Leftovers of interrupted runs (temporary names only) go first.
	find "$kdir" -maxdepth 1 -name '.*.??????' -type d -exec rm -rf {} +
	find "$debs" -maxdepth 1 -name '.download.??????' -type d -exec rm -rf {} +
	for tag in "${todo[@]}"; do
		fetch "$tag"
	done
fi
if ((${#todo[@]} > 0)); then
	bf_step "fetched ${todo[*]} in $(elapsed "$start" "$(date +%s.%N)")s; disk: kernels $(du -sh "$kdir" | cut -f1), debs $(du -sh "$debs" | cut -f1) under $BF_CACHE"
else
	bf_step "all complete ($(elapsed "$start" "$(date +%s.%N)")s)"
fi
