#!/bin/bash
# Builds the DWARF layout fixtures of testdata/dwarf from layout.c: one
# relocatable object per compiler, target and DWARF flavour, for
# filter/internal/dwarf's tests. Deterministic (paths mapped, fixed locale); needs
# gcc, clang and gcc-aarch64-linux-gnu (scripts/setup.sh installs them).
set -euo pipefail
export LC_ALL=C TZ=UTC SOURCE_DATE_EPOCH=1672531200
cd "$(dirname "$0")"
here=$(pwd)
common=(-O2 -g -c -fno-pie -fno-stack-protector -fno-asynchronous-unwind-tables
	"-ffile-prefix-map=$here=/fixture/dwarf")
build() { # output compiler flags...
	local out=$1
	shift
	"$@" "${common[@]}" -o "$out" layout.c
	echo "built $out"
}
build layout-x86_64-gcc.o gcc
build layout-x86_64-clang.o clang
build layout-aarch64-gcc.o aarch64-linux-gnu-gcc
build layout-aarch64-clang.o clang --target=aarch64-linux-gnu
build layout-riscv64-clang.o clang --target=riscv64-linux-gnu -march=rv64gc
build layout-x86_64-gcc-dwarf4.o gcc -gdwarf-4
build layout-x86_64-clang-dwarf4.o clang -gdwarf-4
build layout-x86_64-gcc-gz.o gcc -gz=zlib
