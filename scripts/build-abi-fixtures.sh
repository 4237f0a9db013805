#!/bin/bash
# Rebuilds the calling-convention fixtures of testdata/abi from
# testdata/abi/abi.c: one object per architecture and compiler, with DWARF 5
# and a .BTF section from pahole -J, for the tests of package filter/internal/abi.
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
bf_need_tools build-abi-fixtures.sh gcc clang aarch64-linux-gnu-gcc pahole dpkg-query cmp
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

if grep -l --binary-files=text -e "$scratch" -e "$dir" "$out"/*.o >/dev/null; then
	echo "build-abi-fixtures.sh: build paths leaked into the objects" >&2
	exit 1
fi

{
	echo "# Tools that built testdata/abi (scripts/build-abi-fixtures.sh)."
	echo "SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH"
	echo
	dpkg-query -W -f='${Package} ${Version}\n' gcc-12 clang-14 gcc-12-aarch64-linux-gnu dwarves 2>/dev/null | sort
	echo
	echo "gcc: $(gcc --version | head -n1)"
	echo "aarch64-linux-gnu-gcc: $(aarch64-linux-gnu-gcc --version | head -n1)"
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
