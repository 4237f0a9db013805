#!/bin/bash
# Fetches one module and the vmlinux of a Debian -dbg package without
# unpacking the rest (a generic flavour's -dbg package is over 1 GB
# unpacked; the memory measurement of docs/architecture.md "Memory and
# time" needs only its largest module):
#
#   scripts/fetch-big-module.sh [PACKAGE VERSION ARCH MODULE-PATH]
#
# Defaults: linux-image-7.2.13+deb14-amd64-dbg 7.2.13-1 amd64 and
# drivers/gpu/drm/amd/amdgpu/amdgpu.ko, the generic amd64 build of the
# 7.2-amd64 tag's version (whose cloud flavour has no amdgpu). The package
# comes from sid, on the archive URI this machine's apt configuration uses
# for bookworm (scripts/lib.sh); it lands in $BF_CACHE/debs. Output:
#
#   $BF_CACHE/big-modules/PACKAGE/vmlinux       the package's vmlinux
#   $BF_CACHE/big-modules/PACKAGE/MODULE-PATH   the module
#
# then, for instance:
#   btffilter -n -B $d/vmlinux $d/drivers/gpu/drm/amd/amdgpu/amdgpu.ko
# Not part of the suite.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pkg=${1:-linux-image-7.2.13+deb14-amd64-dbg}
version=${2:-7.2.13-1}
arch=${3:-amd64}
module=${4:-drivers/gpu/drm/amd/amdgpu/amdgpu.ko}
bf_need_tools dpkg-deb tar apt-get
release=${pkg#linux-image-}
release=${release%-dbg}
out=$BF_CACHE/big-modules/$pkg
if [[ -f $out/vmlinux && -f $out/$module ]]; then
	bf_step "$out: complete, skipped"
	exit 0
fi
bf_apt_sid "$arch"
bf_apt_ensure_lists
bf_download "$pkg" "$version" "$arch" "$BF_CACHE/debs"
deb=$BF_CACHE/debs/$(bf_deb_file "$pkg" "$version" "$arch")
tmp=$(mktemp -d "$BF_CACHE/.big-module.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
want=(
	"./usr/lib/debug/lib/modules/$release/vmlinux"
	"./usr/lib/debug/lib/modules/$release/kernel/$module"
)
bf_step "extracting ${want[*]} from $deb"
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" "${want[@]}"
mkdir -p "$out/$(dirname "$module")"
mv "$tmp/${want[0]#./}" "$out/vmlinux"
mv "$tmp/${want[1]#./}" "$out/$module"
bf_note "$out: vmlinux $(du -h "$out/vmlinux" | cut -f1), $module $(du -h "$out/$module" | cut -f1)"
