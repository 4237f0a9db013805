#!/bin/bash
# Rebuilds the small ELF and raw BTF fixtures of testdata/ from testdata/src.
#
#   scripts/build-fixtures.sh            rebuild; files whose bytes did not
#                                        change are left untouched
#   scripts/build-fixtures.sh --check    rebuild into a scratch directory and
#                                        compare with testdata/ (exit 1 if any
#                                        fixture differs); writes nothing
#   scripts/build-fixtures.sh --resign   also make a new module signature
#
# The build is deterministic (fixed SOURCE_DATE_EPOCH, locale and time zone,
# source and build paths mapped away, gzip -n), with one exception: the
# module signature uses a key made at build time and never stored, so it
# cannot be reproduced. module-signed.ko is therefore kept as it is while its
# payload still equals modules/module.ko, and re-signed otherwise or on
# --resign.
#
# Tools (installed by scripts/setup.sh): gcc, clang, llvm, lld,
# gcc-aarch64-linux-gnu, gcc-arm-linux-gnueabihf, binutils, dwarves
# (pahole), bpftool, openssl, gzip, xz-utils, zstd. testdata/VERSIONS
# records the exact versions used.
set -euo pipefail

mode=build
resign=0
for arg in "$@"; do
	case "$arg" in
	--check) mode=check ;;
	--resign) resign=1 ;;
	-h | --help)
		sed -n '2,20p' "$0"
		exit 0
		;;
	*)
		echo "build-fixtures.sh: unknown argument: $arg" >&2
		exit 2
		;;
	esac
done

root=$(cd "$(dirname "$0")/.." && pwd)
testdata=$root/testdata
src=$testdata/src

# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"
bf_need_tools build-fixtures.sh gcc clang llvm-objcopy aarch64-linux-gnu-gcc arm-linux-gnueabihf-gcc \
	objcopy readelf pahole bpftool openssl gzip xz zstd sha256sum dpkg-query
# Everything that could leak the time, the locale or the build directory
# (the latter through the prefix maps below).
bf_reproducible

scratch=$(mktemp -d "${TMPDIR:-/tmp}/btffilter-fixtures.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
out=$scratch/out # the tree that mirrors testdata/
build=$scratch/build
mkdir -p "$out" "$build"

# DWARF names the sources /fixture/src/... and the build directory /fixture/build,
# whatever the checkout and the scratch directory are.
prefix_map=(-ffile-prefix-map="$src"=/fixture/src -ffile-prefix-map="$build"=/fixture/build)
# Kernel-like code generation: no PIE, no unwind tables, no stack protector.
cflags=(-O2 -g -fno-pie -fno-stack-protector -fno-asynchronous-unwind-tables "${prefix_map[@]}")
# The pahole flags the kernel's scripts/pahole-flags.sh gives pahole 1.24,
# minus -j (threads) and --skip_encoding_btf_enum64 (ENUM64 is wanted here).
pahole_flags=(--btf_gen_floats)

log() { printf '  %-8s %s\n' "$1" "$2"; }

# compile CC-WORDS -- SRC OBJ: compiles from the source directory so that the
# recorded paths are the mapped ones.
compile() {
	local -a cc=()
	while [[ $1 != -- ]]; do
		cc+=("$1")
		shift
	done
	shift
	(cd "$src" && "${cc[@]}" "${cflags[@]}" -c "$1" -o "$2")
}

# variant DIR CC-WORDS: base.o, module.o with .BTF (module split on base),
# and the same BTF as raw blobs base.btf, module.btf.
variant() {
	local dir=$1
	shift
	local b=$build/$dir
	mkdir -p "$b" "$out/$dir"
	compile "$@" -- base.c "$b/base.o"
	compile "$@" -- module.c "$b/module.o"
	pahole "${pahole_flags[@]}" --btf_encode_detached="$b/base.btf" "$b/base.o"
	pahole "${pahole_flags[@]}" -J "$b/base.o"
	pahole "${pahole_flags[@]}" --btf_base "$b/base.btf" --btf_encode_detached="$b/module.btf" "$b/module.o"
	pahole "${pahole_flags[@]}" -J --btf_base "$b/base.o" "$b/module.o"
	cp "$b/base.o" "$b/module.o" "$b/base.btf" "$b/module.btf" "$out/$dir/"
	log VARIANT "$dir"
}

echo "building fixtures in $scratch"
variant x86_64/gcc gcc
variant x86_64/clang clang --target=x86_64-linux-gnu
variant aarch64/gcc aarch64-linux-gnu-gcc
variant aarch64/clang clang --target=aarch64-linux-gnu
# ELF32, little endian: pahole 1.24 encodes these too.
variant i686/clang clang --target=i686-linux-gnu
variant arm/gcc arm-linux-gnueabihf-gcc

# vmlinux-like: a static ET_EXEC whose .BTF is SHF_ALLOC and linked in, made
# the way the kernel's link-vmlinux.sh makes it (<= 6.18): pahole -J on a
# first link, .BTF extracted into an object, relinked.
v=$build/vmlinux
mkdir -p "$v"
compile gcc -- base.c "$v/base.o"
compile gcc -- start.c "$v/start.o"
# btf_ids.c holds only assembler data: no -g, so it adds no DWARF or BTF.
(cd "$src" && gcc -O2 -fno-pie "${prefix_map[@]}" -c btf_ids.c -o "$v/btf_ids.o")
link_vmlinux() {
	gcc -nostdlib -static -no-pie -Wl,--build-id=sha1 -Wl,-z,noexecstack -Wl,-T,"$src/vmlinux.lds" \
		-o "$1" "$v/start.o" "$v/base.o" "$v/btf_ids.o" "${@:2}"
}
link_vmlinux "$v/vmlinux1"
pahole "${pahole_flags[@]}" -J "$v/vmlinux1"
objcopy --only-section=.BTF --set-section-flags .BTF=alloc,readonly --strip-all \
	"$v/vmlinux1" "$v/btf.o" 2>/dev/null
# objcopy keeps the input's e_type (ET_EXEC), which ld refuses as an input:
# e_type is the little-endian half-word at offset 16; make it ET_REL (1).
printf '\001\000' | dd of="$v/btf.o" bs=1 seek=16 conv=notrunc status=none
link_vmlinux "$v/vmlinux" "$v/btf.o"
cp "$v/vmlinux" "$out/x86_64/vmlinux-like"
log LINK x86_64/vmlinux-like

# BPF targets: clang writes .BTF itself. The raw blobs are the .BTF sections.
mkdir -p "$out/bpf"
for t in bpfeb bpfel; do
	(cd "$src" && clang --target=$t -O2 -g "${prefix_map[@]}" -c bpf.c -o "$build/$t.o")
	llvm-objcopy --dump-section .BTF="$build/$t.btf" "$build/$t.o"
	cp "$build/$t.o" "$build/$t.btf" "$out/bpf/"
	log BPF "bpf/$t.o"
done

# Modules: the x86_64 gcc module, its BTF split on vmlinux-like (as kbuild's
# Makefile.modfinal does with the real vmlinux), then compressed the way
# kbuild's modules_install does it, and signed.
m=$build/modules
mkdir -p "$m" "$out/modules"
compile gcc -- module.c "$m/module.ko"
pahole "${pahole_flags[@]}" -J --btf_base "$v/vmlinux" "$m/module.ko"
gzip -n -9 -c "$m/module.ko" >"$m/module.ko.gz"
xz --check=crc32 --lzma2=dict=1MiB -c "$m/module.ko" >"$m/module.ko.xz"
zstd -q -c "$m/module.ko" >"$m/module.ko.zst"
cp "$m/module.ko" "$m/module.ko.gz" "$m/module.ko.xz" "$m/module.ko.zst" "$out/modules/"
log MODULES "modules/module.ko{,.gz,.xz,.zst}"

# The module as a build outside the kernel tree makes it: its BTF encoded
# with a distilled base (.BTF.base) by pahole >= 1.28 (sid's, in the
# chroot: bookworm's cannot), so that it relocates onto any kernel that
# has its base types.
cp "$m/module.ko" "$m/module-distilled.ko"
(cd "$m" && "$root/scripts/sid-chroot.sh" run pahole -J -j1 --btf_features=default,distilled_base --btf_base "$v/vmlinux" module-distilled.ko)
cp "$m/module-distilled.ko" "$out/modules/"
log DISTILL modules/module-distilled.ko

# has_signature FILE PAYLOAD: FILE is PAYLOAD followed by a well-formed
# PKCS#7 module signature trailer.
has_signature() {
	local f=$1 p=$2 magic='~Module signature appended~'
	[[ -f $f ]] || return 1
	local fsize psize siglen
	fsize=$(stat -c %s "$f")
	psize=$(stat -c %s "$p")
	((fsize > psize + 40)) || return 1
	cmp -s -n "$psize" "$f" "$p" || return 1
	[[ $(tail -c 28 "$f" | head -c 27) == "$magic" ]] || return 1
	siglen=$(tail -c 32 "$f" | head -c 4 | od -An -tu1 | awk '{print $1*16777216 + $2*65536 + $3*256 + $4}')
	((fsize == psize + siglen + 12 + 28))
}

# sign PAYLOAD OUT: a CMS signature like the kernel's sign-file makes
# (detached, DER, no signed attributes, no certificates) with a throwaway
# key, then struct module_signature {algo 0, hash 0, id_type 2 (PKCS#7),
# signer_len 0, key_id_len 0, pad[3], __be32 sig_len} and the magic string.
sign() {
	local k=$build/sign
	mkdir -p "$k"
	openssl req -new -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=btffilter fixture throwaway key" \
		-keyout "$k/key.pem" -out "$k/cert.pem" 2>/dev/null
	openssl cms -sign -in "$1" -signer "$k/cert.pem" -inkey "$k/key.pem" -md sha256 \
		-binary -noattr -nocerts -nosmimecap -outform DER -out "$k/sig.der"
	local n
	n=$(stat -c %s "$k/sig.der")
	{
		cat "$1" "$k/sig.der"
		printf '\000\000\002\000\000\000\000\000'
		printf "$(printf '\\%03o\\%03o\\%03o\\%03o' $((n >> 24 & 255)) $((n >> 16 & 255)) $((n >> 8 & 255)) $((n & 255)))"
		printf '~Module signature appended~\n'
	} >"$2"
	rm -rf "$k"
}

committed_signed=$testdata/modules/module-signed.ko
if ((resign == 0)) && has_signature "$committed_signed" "$m/module.ko"; then
	cp "$committed_signed" "$out/modules/module-signed.ko"
	log KEEP modules/module-signed.ko
else
	sign "$m/module.ko" "$out/modules/module-signed.ko"
	has_signature "$out/modules/module-signed.ko" "$m/module.ko" || {
		echo "build-fixtures.sh: signed module trailer is malformed" >&2
		exit 1
	}
	log SIGN modules/module-signed.ko
fi

# Nothing of the scratch directory may be left in any fixture.
if grep -rl --binary-files=text -e "$scratch" -e "$src" "$out" >/dev/null; then
	echo "build-fixtures.sh: build paths leaked into:" >&2
	grep -rl --binary-files=text -e "$scratch" -e "$src" "$out" >&2
	exit 1
fi

# VERSIONS: the exact tools (Debian package versions and what they print).
{
	echo "# Tools that built these fixtures (scripts/build-fixtures.sh)."
	echo "SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH"
	echo
	echo "## Debian packages"
	dpkg-query -W -f='${Package} ${Version}\n' \
		gcc-12 clang-14 llvm-14 lld-14 gcc-12-aarch64-linux-gnu gcc-12-arm-linux-gnueabihf \
		binutils binutils-aarch64-linux-gnu binutils-arm-linux-gnueabihf dwarves bpftool openssl gzip xz-utils zstd 2>/dev/null |
		sort
	echo
	echo "## --version"
	echo "gcc: $(gcc --version | head -n1)"
	echo "aarch64-linux-gnu-gcc: $(aarch64-linux-gnu-gcc --version | head -n1)"
	echo "arm-linux-gnueabihf-gcc: $(arm-linux-gnueabihf-gcc --version | head -n1)"
	echo "clang: $(clang --version | head -n1)"
	echo "ld: $(ld --version | head -n1)"
	echo "objcopy: $(objcopy --version | head -n1)"
	echo "llvm-objcopy: $(llvm-objcopy --version | grep -m1 -i version | sed 's/^ *//')"
	echo "pahole: $(pahole --version)"
	echo "pahole (sid chroot, modules/module-distilled.ko): $("$root/scripts/sid-chroot.sh" run pahole --version)"
	echo "bpftool: $(bpftool version | head -n1)"
	echo "libbpf (bpftool): $(bpftool version | sed -n 's/^using //p')"
	echo "openssl: $(openssl version)"
	echo "gzip: $(gzip --version | head -n1)"
	echo "xz: $(xz --version | head -n1)"
	echo "zstd: $(zstd --version)"
} >"$out/VERSIONS"

# SHA256SUMS of every built file, so a rebuild can be compared byte for byte.
(cd "$out" && find . -type f ! -name SHA256SUMS ! -name VERSIONS | LC_ALL=C sort |
	sed 's|^\./||' | xargs sha256sum) >"$scratch/SHA256SUMS"
mv "$scratch/SHA256SUMS" "$out/SHA256SUMS"

if [[ $mode == check ]]; then
	status=0
	while read -r f; do
		if ! cmp -s "$out/$f" "$testdata/$f"; then
			echo "differs: testdata/$f"
			status=1
		fi
	done < <(cd "$out" && find . -type f ! -name VERSIONS | sed 's|^\./||' | LC_ALL=C sort)
	if ! cmp -s "$out/VERSIONS" "$testdata/VERSIONS"; then
		echo "note: tool versions differ from testdata/VERSIONS:"
		diff "$testdata/VERSIONS" "$out/VERSIONS" || true
	fi
	((status == 0)) && echo "all fixtures reproduce byte for byte"
	exit $status
fi

# Install: only files whose bytes changed are written, so a rebuild with the
# same tools leaves testdata/ (and its mtimes) as it was.
changed=0
while read -r f; do
	if ! cmp -s "$out/$f" "$testdata/$f"; then
		mkdir -p "$(dirname "$testdata/$f")"
		cp "$out/$f" "$testdata/$f"
		echo "  UPDATE   testdata/$f"
		changed=$((changed + 1))
	fi
done < <(cd "$out" && find . -type f | sed 's|^\./||' | LC_ALL=C sort)
echo "done: $changed file(s) updated"
