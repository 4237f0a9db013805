#!/usr/bin/env bash
# Rebuilds the per-object BTF of a.c, b.c and c.c (clang -g -target bpf) as
# raw blobs a.btf, b.btf, c.btf. The dedup tests concatenate them, as a
# linker would, and compare the dedup of the result with libbpf's.
# Needs clang and llvm-objcopy (scripts/setup.sh installs them).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
tmp=$(mktemp -d /tmp/dedup-testdata.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
for unit in a b c; do
	clang -g -O2 -target bpf -fdebug-prefix-map="$PWD"=/dedup -c "$unit.c" -o "$tmp/$unit.o"
	llvm-objcopy --dump-section .BTF="$unit.btf" "$tmp/$unit.o" "$tmp/$unit.stripped.o"
done
clang --version | head -n 1 >VERSION
