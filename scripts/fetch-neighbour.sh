#!/usr/bin/env bash
# Fetches a second Debian 6.1 amd64 kernel, of another ABI than the 6.1-amd64
# tag's (scripts/fetch-kernels.sh), for the --check proof of
# TestBootAcceptance (docs/testing.md, "What the kernel accepts"): a module
# of the tag's kernel is checked against, and loaded into, this one. Only
# its image package is fetched (no -dbg): the kernel boots from its vmlinuz,
# and the vmlinux ELF inside the vmlinuz (no symbols, but its .BTF and
# linux_banner) is what btffilter is given as the base.
#
# Unpacked into $CACHE/neighbour/6.1-amd64:
#   release   the kernel release, e.g. 6.1.0-54-cloud-amd64
#   packages  "name version arch sha256" of the .deb
#   image/    dpkg -x of linux-image-<release>
#   vmlinuz   -> the image's boot/vmlinuz-<release>
#   vmlinux   the ELF decompressed from the vmlinuz's payload
#   modules   -> the image's module tree
#   .complete stamp, written last
#
# Usage: scripts/fetch-neighbour.sh
# Environment: BTFFILTER_CACHE (default /var/cache/btffilter)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

# The tag's kernel is 6.1.0-53 (6.1.187-1); this is the next ABI.
release=6.1.0-54-cloud-amd64
version=6.1.190-1
arch=amd64
dir=$BF_CACHE/neighbour/6.1-amd64
if [[ -f $dir/.complete ]]; then
	bf_step "neighbour 6.1-amd64: complete ($(<"$dir/release")), skipped"
	exit 0
fi
[[ $(id -u) == 0 ]] || bf_die "run as root (apt-get download)"
bf_need_tools fetch-neighbour.sh dpkg-deb lz4 xz zstd gzip
bf_step "neighbour 6.1-amd64: fetching linux-image-$release=$version"
bf_apt_bookworm "$arch"
bf_apt_ensure_lists
img=linux-image-$release
if [[ -z $(bf_apt_field "$img=$version" Version) ]]; then
	bf_apt_update
	[[ -n $(bf_apt_field "$img=$version" Version) ]] || bf_die "$img=$version is not in bookworm or bookworm-security"
fi
debs=$BF_CACHE/debs
bf_download "$img" "$version" "$arch" "$debs"

mkdir -p "$BF_CACHE/neighbour"
rm -rf "$dir"
tmp=$(mktemp -d "$BF_CACHE/neighbour/.6.1-amd64.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
chmod 0755 "$tmp"
dpkg-deb -x "$debs/$(bf_deb_file "$img" "$version" "$arch")" "$tmp/image"
vmlinuz=image/boot/vmlinuz-$release
[[ -f $tmp/$vmlinuz ]] || bf_die "$img has no boot/vmlinuz-$release"
mods=image/lib/modules/$release/kernel
[[ -d $tmp/$mods ]] || mods=image/usr/lib/modules/$release/kernel
[[ -d $tmp/$mods ]] || bf_die "$img has no lib/modules/$release/kernel"

# The bzImage setup header (Documentation/arch/x86/boot.rst): setup_sects
# at 0x1f1 (0 means 4), payload_offset and payload_length at 0x248 and
# 0x24c, the offset counted from the protected-mode code, which follows the
# (setup_sects + 1) sectors of the real-mode part.
u8() { od -An -t u1 -j "$2" -N 1 "$1" | tr -d ' '; }
u32() { od -An -t u4 -j "$2" -N 4 --endian=little "$1" | tr -d ' '; }
sects=$(u8 "$tmp/$vmlinuz" $((0x1f1)))
((sects == 0)) && sects=4
poff=$(u32 "$tmp/$vmlinuz" $((0x248)))
plen=$(u32 "$tmp/$vmlinuz" $((0x24c)))
start=$(((sects + 1) * 512 + poff))
payload() { tail -c +$((start + 1)) "$tmp/$vmlinuz" | head -c "$plen"; }
magic=$(od -An -t x1 -j "$start" -N 4 "$tmp/$vmlinuz" | tr -d ' ')
case $magic in
02214c18) decompress=(lz4 -dc) ;; # the legacy frame the kernel's lz4 -l writes
fd377a58) decompress=(xz -dc --single-stream) ;;
28b52ffd) decompress=(zstd -dc) ;;
1f8b*) decompress=(gzip -dc) ;;
*) bf_die "$vmlinuz: payload magic $magic is none of lz4, xz, zstd, gzip" ;;
esac
# The payload's last 4 bytes are the decompressed size, not part of lz4's
# or zstd's frames; the decompressors stop at their frame's end.
payload | "${decompress[@]}" >"$tmp/vmlinux" 2>/dev/null || [[ -s $tmp/vmlinux ]] ||
	bf_die "$vmlinuz: the payload does not decompress with ${decompress[*]}"
readelf -S -W "$tmp/vmlinux" | grep -q ' \.BTF ' || bf_die "the vmlinux in $vmlinuz has no .BTF"
grep -a -q "Linux version $release " "$tmp/vmlinux" || bf_die "the vmlinux in $vmlinuz has no linux_banner for $release"
ln -s "$vmlinuz" "$tmp/vmlinuz"
ln -s "$mods" "$tmp/modules"
printf '%s\n' "$release" >"$tmp/release"
printf '%s %s %s %s\n' "$img" "$version" "$arch" "$(bf_apt_field "$img=$version" SHA256)" >"$tmp/packages"
printf 'release %s\nvmlinux %s bytes, from %s (%s)\n' "$release" "$(stat -c %s "$tmp/vmlinux")" "$vmlinuz" "${decompress[0]}" >"$tmp/.complete"
mv "$tmp" "$dir"
trap - EXIT
bf_step "neighbour 6.1-amd64: done ($dir)"
