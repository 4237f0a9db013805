#!/usr/bin/env bash
# Builds the libbpf dedup oracle (dedup-oracle.c) inside the sid chroot
# (scripts/sid-chroot.sh), linked statically against sid's libbpf so that it
# runs on the host. Idempotent: the binary is rebuilt only when the source,
# this script or the chroot's libbpf changed. Prints the binary's path.
#
# Usage: scripts/dedup-oracle/build.sh
# Output: ${BTFFILTER_CACHE:-/var/cache/btffilter}/bin/dedup-oracle
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
scripts=$(dirname "$here")
# shellcheck source=../lib.sh
. "$scripts/lib.sh"

out=$BF_CACHE/bin/dedup-oracle
stamp=$out.stamp
root=$("$scripts/sid-chroot.sh" path)

# The chroot is created on first use; its libbpf version is part of the key.
"$scripts/sid-chroot.sh" setup >/dev/null
libbpf=$(chroot "$root" dpkg-query -W -f='${Version}' libbpf-dev)
key=$(cat "$here/dedup-oracle.c" "${BASH_SOURCE[0]}" | sha256sum | cut -d' ' -f1)-$libbpf
if [[ -x $out && -f $stamp && $(cat "$stamp") == "$key" ]]; then
	printf '%s\n' "$out"
	exit 0
fi

mkdir -p "$BF_CACHE/bin"
exec 9>"$BF_CACHE/.dedup-oracle.lock"
flock 9
tmp=$(mktemp -d /tmp/dedup-oracle.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cp "$here/dedup-oracle.c" "$tmp/"
# The chroot binds /tmp and the cache directory at the same paths.
(cd "$tmp" && "$scripts/sid-chroot.sh" run gcc -O2 -Wall -Werror -static \
	-o "$tmp/dedup-oracle" "$tmp/dedup-oracle.c" -lbpf -lelf -lz -lzstd) >&2
mv "$tmp/dedup-oracle" "$out"
printf '%s\n' "$key" >"$stamp"
bf_step "built $out against libbpf-dev $libbpf" >&2
printf '%s\n' "$out"
