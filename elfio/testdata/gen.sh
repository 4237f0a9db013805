#!/bin/sh
# Regenerates the ELF fixtures of package elfio from fixture.c and exec.c.
# Needs clang, ld.lld and llvm-objcopy (Debian: apt-get install clang lld llvm);
# the committed files were made with Debian 12 clang/lld/llvm 14.0.6.
# Run from anywhere: sh elfio/testdata/gen.sh
set -eu
cd "$(dirname "$0")"
# Map the build directory so that the bytes do not depend on where the
# checkout lives (DWARF comp_dir, BTF line info).
CFLAGS="-O2 -fno-asynchronous-unwind-tables -fno-ident -ffile-prefix-map=$(pwd)=/elfio-testdata"

# ELF64 relocatable objects with a non-ALLOC .BTF, little and big endian.
clang --target=bpfel $CFLAGS -g -c fixture.c -o rel-bpfel.o
clang --target=bpfeb $CFLAGS -g -c fixture.c -o rel-bpfeb.o
# Raw BTF blobs in both byte orders (what pahole --btf_encode_detached writes).
llvm-objcopy --dump-section .BTF=btf-le.bin rel-bpfel.o
llvm-objcopy --dump-section .BTF=btf-be.bin rel-bpfeb.o

# ELF32 relocatable objects, little (i686) and big (mips) endian, given a .BTF.
clang --target=i686-linux-gnu $CFLAGS -c fixture.c -o rel-i686.o
llvm-objcopy --add-section .BTF=btf-le.bin rel-i686.o
clang --target=mips-linux-gnu $CFLAGS -fno-pic -mno-abicalls -c fixture.c -o rel-mips.o
llvm-objcopy --add-section .BTF=btf-be.bin rel-mips.o

# x86-64 object with zlib-compressed DWARF (SHF_COMPRESSED sections) and a .BTF.
clang --target=x86_64-linux-gnu $CFLAGS -g -c fixture.c -o rel-zdebug.o
llvm-objcopy --compress-debug-sections=zlib --add-section .BTF=btf-le.bin rel-zdebug.o

# Linked executables (ET_EXEC) with SHF_ALLOC .BTF and .BTF_ids, like a vmlinux.
clang --target=x86_64-linux-gnu $CFLAGS -fno-pic -DBTF_BLOB='"btf-le.bin"' -c exec.c -o exec-x86_64.tmp.o
ld.lld -static -e _start --build-id=none -o exec-x86_64 exec-x86_64.tmp.o
clang --target=mips-linux-gnu $CFLAGS -fno-pic -mno-abicalls -DBTF_BLOB='"btf-be.bin"' -c exec.c -o exec-mips.tmp.o
ld.lld -static -e _start --build-id=none -o exec-mips exec-mips.tmp.o
rm -f exec-x86_64.tmp.o exec-mips.tmp.o
