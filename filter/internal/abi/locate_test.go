package abi

import "testing"

// TestLocate checks the real calling conventions on hand-built argument
// lists, among them the examples of docs/facts.md §3.
func TestLocate(t *testing.T) {
	tests := []struct {
		name string
		arch Arch
		args []Arg
		want string // locs() of the result
	}{
		// x86-64 psABI 3.2.3.
		{"x86 FACTS g: packed x MEMORY, y in rdi", X86_64, []Arg{tPkMis, tLong}, "sp0-sp8 rdi"},
		{"x86 packed, aligned members: INTEGER", X86_64, []Arg{tPkOK, tLong}, "rdi-rsi rdx"},
		{"x86 one-slot packed struct in memory", X86_64, []Arg{tLong, tPkSmall, tLong}, "rdi sp0 rsi"},
		{"x86 scalars", X86_64, []Arg{tChar, tInt, tPtr, tLong, tLong, tLong, tLong}, "rdi rsi rdx rcx r8 r9 sp0"},
		{"x86 int128 in a pair, no even rule", X86_64, []Arg{tLong, tI128, tLong}, "rdi rsi-rdx rcx"},
		{"x86 int128 does not fit r9: whole to stack, next gets r9", X86_64, longs(5, tI128, tLong), "rdi rsi rdx rcx r8 sp0-sp8 r9"},
		{"x86 int128 on the stack after one slot: padding", X86_64, longs(7, tI128, tLong), "rdi rsi rdx rcx r8 r9 sp0 sp16-sp24 sp32"},
		{"x86 aligned(16) struct on the stack: padding", X86_64, longs(7, tAl16, tLong), "rdi rsi rdx rcx r8 r9 sp0 sp16-sp24 sp32"},
		{"x86 aligned(16) struct in registers", X86_64, []Arg{tLong, tAl16, tLong}, "rdi rsi-rdx rcx"},
		{"x86 16-byte struct, 1 register left", X86_64, longs(5, tS16, tLong), "rdi rsi rdx rcx r8 sp0-sp8 r9"},
		{"x86 12-byte struct", X86_64, []Arg{tS12}, "rdi-rsi"},
		{"x86 24-byte struct in memory", X86_64, []Arg{tS24, tLong}, "sp0-sp8-sp16 rdi"},
		{"x86 union", X86_64, []Arg{tUnion}, "rdi"},
		{"x86 doubles go to xmm", X86_64, []Arg{tDbl, tLong, tDbl}, "xmm0 rdi xmm1"},
		{"x86 SSE+INTEGER struct", X86_64, []Arg{tDL, tDD}, "xmm0-rdi xmm1-xmm2"},
		{"x86 float and int in one eightbyte: INTEGER", X86_64, []Arg{tFI}, "rdi"},
		{"x86 padding eightbyte takes no register", X86_64, []Arg{tPad, tLong}, "rdi rsi"},
		{"x86 no SSE register left: struct to the stack", X86_64,
			[]Arg{tDbl, tDbl, tDbl, tDbl, tDbl, tDbl, tDbl, tDL, tLong}, "xmm0 xmm1 xmm2 xmm3 xmm4 xmm5 xmm6 xmm7-rdi rsi"},

		// AAPCS64.
		{"arm64 FACTS f: int128 at x2-x3, y in x4", ARM64, []Arg{tLong, tI128, tLong}, "x0 x2-x3 x4"},
		{"arm64 member aligned(16): even pair", ARM64, []Arg{tLong, tAl16m, tLong}, "x0 x2-x3 x4"},
		{"arm64 struct aligned(16): natural 8, no pair", ARM64, []Arg{tLong, tAl16, tLong}, "x0 x1-x2 x3"},
		{"arm64 struct with int128: even pair", ARM64, []Arg{tLong, tI128s, tLong}, "x0 x2-x3 x4"},
		{"arm64 packed structs in registers", ARM64, []Arg{tPkMis, tPkSmall, tLong}, "x0-x1 x2 x3"},
		{"arm64 FACTS: int128 after one 8-byte stack argument at sp16", ARM64, longs(9, tI128, tLong),
			"x0 x1 x2 x3 x4 x5 x6 x7 sp0 sp16-sp24 sp32"},
		{"arm64 int128 at NGRN 7: stack, later args on the stack too", ARM64, longs(7, tI128, tLong),
			"x0 x1 x2 x3 x4 x5 x6 sp0-sp8 sp16"},
		{"arm64 composite that does not fit: C.13 ends register use", ARM64, longs(7, tS16, tLong),
			"x0 x1 x2 x3 x4 x5 x6 sp0-sp8 sp16"},
		{"arm64 int128 at NGRN 5 rounds to 6", ARM64, longs(5, tI128, tLong), "x0 x1 x2 x3 x4 x6-x7 sp0"},
		{"arm64 >16-byte composite by reference", ARM64, []Arg{tLong, tS24, tLong}, "x0 &x1 x2"},
		{"arm64 >16-byte composite by reference on the stack", ARM64, longs(8, tS24), "x0 x1 x2 x3 x4 x5 x6 x7 &sp0"},
		{"arm64 HFA in v registers", ARM64, []Arg{tDD, tLong, tDbl}, "v0-v1 x0 v2"},
		{"arm64 aligned(16) struct on the stack: natural 8", ARM64, longs(9, tAl16, tLong),
			"x0 x1 x2 x3 x4 x5 x6 x7 sp0 sp8-sp16 sp24"},
		{"arm64 member aligned(16) on the stack: 16", ARM64, longs(9, tAl16m, tLong),
			"x0 x1 x2 x3 x4 x5 x6 x7 sp0 sp16-sp24 sp32"},

		// RISC-V LP64 integer convention.
		{"riscv int128 at odd register: no even rule", RISCV64, []Arg{tLong, tI128, tLong}, "a0 a1-a2 a3"},
		{"riscv struct split between a7 and the stack", RISCV64, longs(7, tS16, tLong), "a0 a1 a2 a3 a4 a5 a6 a7-sp0 sp8"},
		{"riscv int128 on the stack, 16-aligned", RISCV64, longs(9, tI128), "a0 a1 a2 a3 a4 a5 a6 a7 sp0 sp16-sp24"},
		{"riscv >16 bytes by reference", RISCV64, []Arg{tS24, tLong}, "&a0 a1"},
		{"riscv packed struct: memory image in registers", RISCV64, []Arg{tPkMis, tLong}, "a0-a1 a2"},
		{"riscv doubles in integer registers (lp64)", RISCV64, []Arg{tDbl, tLong}, "a0 a1"},

		// s390x ELF ABI: one register or slot per argument, r2-r6 then
		// [sp+160]; aggregates of 1, 2, 4, 8 bytes by value, the rest and
		// scalars over 8 bytes by reference.
		{"s390x scalars, sixth on the stack", S390X, []Arg{tChar, tInt, tPtr, tLong, tLong, tLong}, "r2 r3 r4 r5 r6 sp160"},
		{"s390x 8-byte struct by value", S390X, []Arg{tS8, tLong}, "r2 r3"},
		{"s390x 5-byte packed struct by reference", S390X, []Arg{tPkSmall, tLong}, "&r2 r3"},
		{"s390x 12- and 16-byte structs by reference", S390X, []Arg{tS12, tS16, tLong}, "&r2 &r3 r4"},
		{"s390x int128 by reference, one register", S390X, []Arg{tLong, tI128, tLong}, "r2 &r3 r4"},
		{"s390x by reference on the stack", S390X, longs(5, tI128, tLong), "r2 r3 r4 r5 r6 &sp160 sp168"},
		{"s390x 8-byte union by value", S390X, []Arg{tUnion}, "r2"},
		{"s390x doubles in integer registers (soft-float)", S390X, []Arg{tDbl, tLong}, "r2 r3"},

		// ppc64le ELF V2: doublewords r3-r10, then [sp+32+8k]; aggregates
		// aligned to 16 start at an even doubleword, __int128 does not.
		{"ppc64le scalars, ninth on the stack", PPC64LE, longs(9), "r3 r4 r5 r6 r7 r8 r9 r10 sp96"},
		{"ppc64le int128 at an odd doubleword: no even rule", PPC64LE, []Arg{tLong, tI128, tLong}, "r3 r4-r5 r6"},
		{"ppc64le struct aligned(16) at an even doubleword", PPC64LE, []Arg{tLong, tAl16, tLong}, "r3 r5-r6 r7"},
		{"ppc64le member aligned(16) at an even doubleword", PPC64LE, []Arg{tLong, tAl16m, tLong}, "r3 r5-r6 r7"},
		{"ppc64le struct split between r10 and memory", PPC64LE, longs(7, tS16, tLong), "r3 r4 r5 r6 r7 r8 r9 r10-sp96 sp104"},
		{"ppc64le 24-byte struct by value", PPC64LE, []Arg{tS24, tLong}, "r3-r4-r5 r6"},
		{"ppc64le aligned struct in memory skips a doubleword", PPC64LE, longs(9, tAl16, tLong), "r3 r4 r5 r6 r7 r8 r9 r10 sp96 sp112-sp120 sp128"},
		{"ppc64le packed struct: its bytes in registers", PPC64LE, []Arg{tPkMis, tLong}, "r3-r4 r5"},

		// LoongArch LP64S: RISC-V's integer rules on a0-a7 (r4-r11).
		{"loongarch int128 at odd register: no even rule", LOONGARCH64, []Arg{tLong, tI128, tLong}, "a0 a1-a2 a3"},
		{"loongarch struct split between a7 and the stack", LOONGARCH64, longs(7, tS16, tLong), "a0 a1 a2 a3 a4 a5 a6 a7-sp0 sp8"},
		{"loongarch int128 on the stack, 16-aligned", LOONGARCH64, longs(9, tI128), "a0 a1 a2 a3 a4 a5 a6 a7 sp0 sp16-sp24"},
		{"loongarch >16 bytes by reference", LOONGARCH64, []Arg{tS24, tLong}, "&a0 a1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Locate(tc.arch, tc.args)
			if err != nil {
				t.Fatal(err)
			}
			if s := locs(tc.arch, got); s != tc.want {
				t.Errorf("Locate(%s) = %q, want %q", tc.arch, s, tc.want)
			}
		})
	}
}

// TestLocateRejects checks that impossible layouts are errors, not panics.
func TestLocateRejects(t *testing.T) {
	bad := []Arg{
		{Class: Int, Size: 0},
		{Class: Int, Size: 16},
		{Class: Int128, Size: 8},
		{Class: Pointer, Size: 4},
		{Class: Float, Size: 3},
		{Class: Struct, Size: -1},
		{Class: Struct, Size: 4, Members: []Member{{Offset: 2, Type: tInt}}},
		{Class: Void},
		{Class: Class(99), Size: 8},
	}
	for _, a := range bad {
		for _, arch := range []Arch{X86_64, ARM64, RISCV64, S390X, PPC64LE, LOONGARCH64} {
			if _, err := Locate(arch, []Arg{a}); err == nil {
				t.Errorf("Locate(%s, %+v): no error", arch, a)
			}
		}
	}
	if _, err := Locate(UnknownArch, []Arg{tLong}); err == nil {
		t.Error("Locate(unknown arch): no error")
	}
}

// TestReturnsInMemory checks which results come back through a hidden
// first argument, per architecture.
func TestReturnsInMemory(t *testing.T) {
	tests := []struct {
		arch Arch
		ret  Arg
		want bool
	}{
		{X86_64, tS16, false}, {X86_64, tS24, true}, {X86_64, tPkSmall, true}, {X86_64, tI128, false},
		{ARM64, tS24, false},
		{RISCV64, tS16, false}, {RISCV64, tS24, true},
		{LOONGARCH64, tS16, false}, {LOONGARCH64, tS24, true},
		{PPC64LE, tS16, false}, {PPC64LE, tS24, true},
		{S390X, tS8, true}, {S390X, tUnion, true}, {S390X, tI128, true}, {S390X, tLong, false},
		{S390X, Arg{Class: Void}, false},
	}
	for _, tc := range tests {
		if got := ReturnsInMemory(tc.arch, tc.ret); got != tc.want {
			t.Errorf("ReturnsInMemory(%s, %s) = %v, want %v", tc.arch, tc.ret.describe(), got, tc.want)
		}
	}
}
