#!/usr/bin/env bash
# Gives shipped Debian 7.2 modules a distilled base, as pahole 1.32 makes
# one, for TestBootAcceptance (docs/testing.md, "What the kernel accepts").
# For each module (a path under the tag's module tree, one a line on
# stdin):
#
#   1. pahole -J --btf_features=default,distilled_base --btf_base VMLINUX on
#      a copy of its -dbg module (the DWARF), in the sid chroot: pahole
#      writes the new .BTF and a .BTF.base into that copy;
#   2. the shipped module, decompressed and its signature stripped (the
#      kernel refuses a module whose signature no longer matches), gets
#      them the way 7.2 kbuild attaches module BTF (scripts/gen-btf.sh,
#      embed_btf_data): objcopy --add-section .BTF and .BTF.base, its old
#      .BTF removed first.
#
# Modules with .BTF_ids are refused: their IDs would have to be resolved
# again (resolve_btfids), which this script does not do.
#
# The results are cached in $CACHE/distilled/<tag>-<key>/<path without
# .xz>, the key being a hash of the list, this script, the kernel's
# packages and pahole's version. The directory is the only line printed on
# stdout; progress goes to stderr.
#
# Usage: scripts/build-distilled.sh TAG < LIST    TAG: 7.2-amd64 7.2-arm64
# Environment: BTFFILTER_CACHE (default /var/cache/btffilter)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

(($# == 1)) || bf_die "usage: scripts/build-distilled.sh TAG < LIST"
tag=$1
case $tag in
7.2-amd64) objcopy=objcopy ;;
7.2-arm64) objcopy=aarch64-linux-gnu-objcopy ;;
*) bf_die "unknown tag $tag (7.2-amd64 or 7.2-arm64)" ;;
esac
kdir=$BF_CACHE/kernels/$tag
[[ -f $kdir/.complete ]] || bf_die "$kdir is not complete: run scripts/fetch-kernels.sh $tag"
mapfile -t list
((${#list[@]} > 0)) || bf_die "no modules on stdin"
pkgs=(pahole binutils)
[[ $tag == 7.2-arm64 ]] && pkgs+=(binutils-aarch64-linux-gnu)
bash "$here/sid-chroot.sh" ensure "${pkgs[@]}" >&2
pahole_version=$(bash "$here/sid-chroot.sh" run pahole --version)
key=$(
	{
		printf '%s\n' "${list[@]}"
		cat "${BASH_SOURCE[0]}" "$kdir/packages"
		printf '%s\n' "$pahole_version"
	} | sha256sum | cut -c1-16
)
out=$BF_CACHE/distilled/$tag-$key
if [[ -f $out/.complete ]]; then
	printf '%s\n' "$out"
	exit 0
fi
mkdir -p "$BF_CACHE/distilled"
tmp=$(mktemp -d "$BF_CACHE/distilled/.build-$tag.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
vmlinux=$(readlink -f "$kdir/vmlinux")
marker='~Module signature appended~'
for rel in "${list[@]}"; do
	[[ $rel != */../* && $rel != /* ]] || bf_die "$rel: not a path under the module tree"
	ko=${rel%.xz}
	src=$kdir/modules/$rel
	dbg=$kdir/dbg-modules/$ko
	[[ -f $src && -f $dbg ]] || bf_die "$tag: $rel or its -dbg module missing"
	mkdir -p "$tmp/$(dirname "$ko")"
	case $rel in
	*.xz) xz -dc "$src" >"$tmp/$ko" ;;
	*) cp "$src" "$tmp/$ko" ;;
	esac
	# struct module_signature (12 bytes, sig_len big-endian at its end)
	# and the marker follow the PKCS#7 blob.
	size=$(stat -c %s "$tmp/$ko")
	if [[ $(tail -c 28 "$tmp/$ko" | head -c 27) == "$marker" ]]; then
		siglen=$(od -An -t x1 -j $((size - 32)) -N 4 "$tmp/$ko" | tr -d ' ')
		truncate -s $((size - 28 - 12 - 16#$siglen)) "$tmp/$ko"
	fi
	readelf -S -W "$tmp/$ko" | grep -q ' \.BTF_ids ' && bf_die "$rel has .BTF_ids (not handled)"
	cp "$dbg" "$tmp/$ko.dbg"
done
bf_step "distilled bases for ${#list[@]} $tag modules ($pahole_version)" >&2
# One chroot for all: pahole on each -dbg copy, then the sections into the
# shipped module.
bash "$here/sid-chroot.sh" run bash -euo pipefail -c '
	vmlinux=$1 objcopy=$2 dir=$3
	shift 3
	# pahole adds .BTF.base with the objcopy on PATH: the cross one for
	# another architecture.
	if [[ $objcopy != objcopy ]]; then
		mkdir -p "$dir/.bin"
		ln -s "$(command -v "$objcopy")" "$dir/.bin/objcopy"
		PATH=$dir/.bin:$PATH
	fi
	for rel; do
		ko=$dir/${rel%.xz}
		pahole -J --btf_features=default,distilled_base --btf_base "$vmlinux" "$ko.dbg"
		"$objcopy" --dump-section .BTF="$ko.BTF" --dump-section .BTF.base="$ko.BTF.base" "$ko.dbg"
		"$objcopy" --remove-section .BTF "$ko"
		"$objcopy" --add-section .BTF="$ko.BTF" --add-section .BTF.base="$ko.BTF.base" "$ko"
		rm -f "$ko.dbg" "$ko.BTF" "$ko.BTF.base"
	done
' - "$vmlinux" "$objcopy" "$tmp" "${list[@]}" >&2
{
	printf 'kernel %s\n%s\n' "$(<"$kdir/release")" "$pahole_version"
	printf '%s\n' "${list[@]}"
} >"$tmp/.complete"
rm -rf "$tmp/.bin" "$out"
mv "$tmp" "$out"
trap - EXIT
# Builds for older lists or toolchains of this tag are of no more use.
for old in "$BF_CACHE/distilled/$tag"-*; do
	[[ $old == "$out" || ! -d $old ]] || rm -rf "$old"
done
printf '%s\n' "$out"
