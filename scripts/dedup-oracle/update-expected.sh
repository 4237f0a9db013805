#!/usr/bin/env bash
# Regenerates the libbpf btf__dedup outputs that the unit tests of
# filter/internal/dedup compare with (testdata/libbpf there: one .btf per
# hand-made or clang-built case, inputs.sha256 with the hash of each input,
# VERSION with the libbpf that made them), by running the oracle
# (build.sh beside this file, which needs the sid chroot: root and network).
#
# Usage: scripts/dedup-oracle/update-expected.sh
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
scripts=$(dirname "$here")
# shellcheck source=../lib.sh
. "$scripts/lib.sh"

"$here/build.sh" >/dev/null
root=$("$scripts/sid-chroot.sh" path)
dir=$scripts/../filter/internal/dedup
rm -rf "$dir/testdata/libbpf"
(cd "$dir" && go test -count=1 -run 'TestHandCases|TestClangObjects' . -args -update)
chroot "$root" dpkg-query -W -f='libbpf-dev ${Version} (Debian sid), through scripts/dedup-oracle/dedup-oracle.c\n' libbpf-dev >"$dir/testdata/libbpf/VERSION"
bf_step "rewrote $(ls "$dir/testdata/libbpf" | wc -l) files in filter/internal/dedup/testdata/libbpf"
