#!/bin/bash
# Rebuilds the calling-convention fixtures of testdata/abi from
# testdata/abi/abi.c: one object per architecture and compiler, with DWARF 5
# and a .BTF section from pahole -J, for the tests of package filter/internal/abi.
# The s390x, ppc64le, riscv64 and loongarch64 objects are built with the
# kernel's ABI flags for those architectures (-msoft-float; riscv64
# rv64imac/lp64; loongarch64 -mabi=lp64s), so that their entry locations are
# the kernel's. bookworm has no LoongArch compiler: that object is compiled
# in the sid chroot (scripts/sid-chroot.sh) with gcc-loongarch64-linux-gnu,
# and since bookworm's pahole cannot relocate LoongArch DWARF and sid's
# pahole skips every packed-struct function on LoongArch ("uncertain
# parameter location", docs/facts.md §5), its .BTF is bookworm's pahole's
# reading of the object linked as a shared library (relocations applied),
# added with the cross objcopy.
#
#   scripts/build-abi-fixtures.sh          rebuild; unchanged files are left alone
#   scripts/build-abi-fixtures.sh --check  rebuild in a scratch directory and
#                                          compare (exit 1 on a difference)
#
# Deterministic: fixed SOURCE_DATE_EPOCH, LC_ALL=C, TZ=UTC, the source and
# build directories mapped to /fixture/abi and /fixture/build. The expected
# verdict tables (expected-*.tsv) are written by hand and never touched here.
# testdata/abi/VERSIONS records the tools.
set -euo pipefail

mode=build
case "${1:-}" in
'') ;;
--check) mode=check ;;
-h | --help)
	sed -n '2,13p' "$0"
	exit 0
	;;
*)
	echo "build-abi-fixtures.sh: unknown argument: $1" >&2
	exit 2
	;;
esac

root=$(cd "$(dirname "$0")/.." && pwd)
dir=$root/testdata/abi

# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"
bf_need_tools build-abi-fixtures.sh gcc clang aarch64-linux-gnu-gcc s390x-linux-gnu-gcc \
	powerpc64le-linux-gnu-gcc riscv64-linux-gnu-gcc pahole dpkg-query cmp
bf_reproducible

scratch=$(mktemp -d "${TMPDIR:-/tmp}/btffilter-abi.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
out=$scratch/out
mkdir -p "$out"

# -O2 as the kernel builds; no PIE, no stack protector, no unwind tables;
# -w: the anonymous struct in a parameter list is one of the cases, and the
# compilers' warning about it is expected.
cflags=(-O2 -g -fno-pie -fno-stack-protector -fno-asynchronous-unwind-tables
	-w -ffile-prefix-map="$dir"=/fixture/abi -ffile-prefix-map="$scratch"=/fixture/build)

# object NAME CC-WORDS...: compile abi.c to NAME.o and add .BTF.
object() {
	local name=$1
	shift
	(cd "$dir" && "$@" "${cflags[@]}" -c abi.c -o "$out/$name.o")
	pahole -J "$out/$name.o"
	printf '  %-8s %s\n' OBJECT "testdata/abi/$name.o"
}

object x86_64-gcc gcc
object x86_64-clang clang --target=x86_64-linux-gnu
object aarch64-gcc aarch64-linux-gnu-gcc
object aarch64-clang clang --target=aarch64-linux-gnu
object s390x-gcc s390x-linux-gnu-gcc -msoft-float
# DWARF 4: Go's debug/dwarf, which the fixture test reads the objects with,
# misreads big-endian DWARF 5 from clang (filter/internal/dwarf, compare_test.go).
object s390x-clang clang --target=s390x-linux-gnu -msoft-float -gdwarf-4
object ppc64le-gcc powerpc64le-linux-gnu-gcc -msoft-float
object ppc64le-clang clang --target=powerpc64le-linux-gnu -msoft-float
object riscv64-gcc riscv64-linux-gnu-gcc -march=rv64imac -mabi=lp64
object riscv64-clang clang --target=riscv64-linux-gnu -march=rv64imac -mabi=lp64

# loongarch64, in the sid chroot (see the top of this file).
chroot=(bash "$root/scripts/sid-chroot.sh")
"${chroot[@]}" ensure gcc-loongarch64-linux-gnu
(cd "$dir" && "${chroot[@]}" run env LC_ALL=C TZ=UTC SOURCE_DATE_EPOCH="$SOURCE_DATE_EPOCH" \
	loongarch64-linux-gnu-gcc -mabi=lp64s -msoft-float "${cflags[@]}" -c abi.c -o "$out/loongarch64-gcc.o")
(cd "$out" && "${chroot[@]}" run loongarch64-linux-gnu-ld -shared -o "$scratch/loongarch64.so" loongarch64-gcc.o)
pahole --btf_encode_detached="$scratch/loongarch64.btf" "$scratch/loongarch64.so"
(cd "$out" && "${chroot[@]}" run loongarch64-linux-gnu-objcopy --add-section .BTF="$scratch/loongarch64.btf" \
	--set-section-flags .BTF=readonly loongarch64-gcc.o)
printf '  %-8s %s\n' OBJECT testdata/abi/loongarch64-gcc.o

if grep -l --binary-files=text -e "$scratch" -e "$dir" "$out"/*.o >/dev/null; then
	echo "build-abi-fixtures.sh: build paths leaked into the objects" >&2
	exit 1
fi

{
	echo "# Tools that built testdata/abi (scripts/build-abi-fixtures.sh)."
	echo "SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH"
	echo
	dpkg-query -W -f='${Package} ${Version}\n' gcc-12 clang-14 gcc-12-aarch64-linux-gnu dwarves \
		gcc-12-s390x-linux-gnu gcc-12-powerpc64le-linux-gnu gcc-12-riscv64-linux-gnu 2>/dev/null | sort
	chroot "$("${chroot[@]}" path)" dpkg-query -W -f='${Package} ${Version} (sid chroot)\n' \
		gcc-loongarch64-linux-gnu binutils-loongarch64-linux-gnu
	echo
	echo "gcc: $(gcc --version | head -n1)"
	for cc in aarch64-linux-gnu-gcc s390x-linux-gnu-gcc powerpc64le-linux-gnu-gcc riscv64-linux-gnu-gcc; do
		echo "$cc: $("$cc" --version | head -n1)"
	done
	echo "loongarch64-linux-gnu-gcc: $("${chroot[@]}" run loongarch64-linux-gnu-gcc --version | head -n1) (sid chroot)"
	echo "clang: $(clang --version | head -n1)"
	echo "pahole: $(pahole --version)"
} >"$out/VERSIONS"

status=0
for f in "$out"/*; do
	b=$(basename "$f")
	if cmp -s "$f" "$dir/$b"; then
		continue
	fi
	if [[ $mode == check ]]; then
		echo "differs: testdata/abi/$b"
		status=1
	else
		cp "$f" "$dir/$b"
		echo "  UPDATE   testdata/abi/$b"
	fi
done
[[ $mode == check && $status == 0 ]] && echo "all abi fixtures reproduce byte for byte"
exit $status
