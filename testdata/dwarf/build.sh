#!/bin/bash
# Builds the DWARF layout fixtures of testdata/dwarf from layout.c: one
# relocatable object per compiler, target and DWARF flavour, for
# filter/internal/dwarf's tests. Deterministic (paths mapped, fixed locale).
# Needs gcc, clang and the cross compilers gcc-aarch64-linux-gnu,
# gcc-s390x-linux-gnu, gcc-powerpc64le-linux-gnu and gcc-riscv64-linux-gnu
# (scripts/setup.sh installs them); the loongarch64 object is built with
# gcc-loongarch64-linux-gnu inside the sid chroot (scripts/sid-chroot.sh,
# bookworm has no LoongArch compiler). VERSIONS records the tools.
set -euo pipefail
export LC_ALL=C TZ=UTC SOURCE_DATE_EPOCH=1672531200
cd "$(dirname "$0")"
here=$(pwd)
root=$(cd ../.. && pwd)
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
# The other 64-bit architectures Debian builds with BTF: their relocatable
# objects carry R_390_*, R_PPC64_*, R_RISCV_* and R_LARCH_* relocations in
# .rela.debug_* (s390x big-endian).
build layout-s390x-gcc.o s390x-linux-gnu-gcc
build layout-s390x-clang.o clang --target=s390x-linux-gnu
build layout-ppc64le-gcc.o powerpc64le-linux-gnu-gcc
build layout-ppc64le-clang.o clang --target=powerpc64le-linux-gnu
build layout-riscv64-gcc.o riscv64-linux-gnu-gcc
bash "$root/scripts/sid-chroot.sh" ensure gcc-loongarch64-linux-gnu
# shellcheck disable=SC2016 # expanded inside the chroot
bash "$root/scripts/sid-chroot.sh" run env LC_ALL=C TZ=UTC SOURCE_DATE_EPOCH=1672531200 \
	loongarch64-linux-gnu-gcc "${common[@]}" -o layout-loongarch64-gcc.o layout.c
echo "built layout-loongarch64-gcc.o"

{
	echo "# Tools that built testdata/dwarf (testdata/dwarf/build.sh)."
	echo "SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH"
	echo
	dpkg-query -W -f='${Package} ${Version}\n' gcc-12 clang-14 gcc-12-aarch64-linux-gnu \
		gcc-12-s390x-linux-gnu gcc-12-powerpc64le-linux-gnu gcc-12-riscv64-linux-gnu 2>/dev/null | sort
	chroot "$(bash "$root/scripts/sid-chroot.sh" path)" dpkg-query -W -f='${Package} ${Version} (sid chroot)\n' \
		gcc-loongarch64-linux-gnu "gcc-$(bash "$root/scripts/sid-chroot.sh" run loongarch64-linux-gnu-gcc -dumpversion | cut -d. -f1)-loongarch64-linux-gnu"
	echo
	for cc in gcc aarch64-linux-gnu-gcc s390x-linux-gnu-gcc powerpc64le-linux-gnu-gcc riscv64-linux-gnu-gcc clang; do
		echo "$cc: $("$cc" --version | head -n1)"
	done
	echo "loongarch64-linux-gnu-gcc: $(bash "$root/scripts/sid-chroot.sh" run loongarch64-linux-gnu-gcc --version | head -n1)"
} >VERSIONS
echo "wrote VERSIONS"
