package abi

import (
	"strings"
	"testing"
)

var (
	v61 = Version{6, 1}
	v72 = Version{7, 2}
)

// TestTrampoline checks where each kernel's trampoline reads arguments.
func TestTrampoline(t *testing.T) {
	tests := []struct {
		name    string
		arch    Arch
		v       Version
		fn      Func
		want    string // locs(), when not refused
		refusal string // substring of the refusal
	}{
		{"x86 6.1 int128 one register", X86_64, v61, Func{Params: []Arg{tLong, tI128, tLong}}, "rdi rsi rdx", ""},
		{"x86 6.1 struct two registers", X86_64, v61, Func{Params: []Arg{tLong, tS16, tLong}}, "rdi rsi-rdx rcx", ""},
		{"x86 6.1 7 args refused", X86_64, v61, Func{Params: longs(7)}, "", "7 arguments"},
		{"x86 6.1 6 args but 7 registers refused", X86_64, v61, Func{Params: longs(5, tS16)}, "", "need 7 registers"},
		{"x86 6.1 union refused", X86_64, v61, Func{Params: []Arg{tUnion}}, "", "union"},
		{"x86 7.2 union accepted", X86_64, v72, Func{Params: []Arg{tUnion}}, "rdi", ""},
		{"x86 7.2 struct to stack, later in r9", X86_64, v72, Func{Params: longs(5, tS16, tLong)}, "rdi rsi rdx rcx r8 sp0-sp8 r9", ""},
		{"x86 7.2 stack slots consecutive", X86_64, v72, Func{Params: longs(7, tI128, tLong)}, "rdi rsi rdx rcx r8 r9 sp0 sp8-sp16 sp24", ""},
		{"x86 7.2 12 args", X86_64, v72, Func{Params: longs(12)}, "rdi rsi rdx rcx r8 r9 sp0 sp8 sp16 sp24 sp32 sp40", ""},
		{"x86 7.2 13 args refused", X86_64, v72, Func{Params: longs(13)}, "", "MAX_BPF_FUNC_ARGS"},
		{"x86 7.2 struct slots over 12 refused", X86_64, v72, Func{Params: longs(10, tS16, tS16)}, "", "14 slots"},
		{"arm64 6.1 no fentry", ARM64, v61, Func{Params: []Arg{tLong}}, "", "no fentry"},
		{"arm64 6.8 one register each", ARM64, Version{6, 8}, Func{Params: []Arg{tLong, tI128, tLong}}, "x0 x1 x2", ""},
		{"arm64 6.8 9 args refused", ARM64, Version{6, 8}, Func{Params: longs(9)}, "", "9 arguments"},
		{"arm64 7.2 calc_arg_aux", ARM64, v72, Func{Params: []Arg{tLong, tI128, tLong}}, "x0 x1-x2 x3", ""},
		{"arm64 7.2 first misfit ends registers", ARM64, v72, Func{Params: longs(7, tS16, tLong)}, "x0 x1 x2 x3 x4 x5 x6 sp0-sp8 sp16", ""},
		{"riscv 6.1 none", RISCV64, v61, Func{Params: []Arg{tLong}}, "", "no BPF trampoline"},
		{"riscv 6.6 one register each", RISCV64, Version{6, 6}, Func{Params: []Arg{tI128, tS16}}, "a0 a1-a2", ""},
		{"riscv 7.2 straddles a7", RISCV64, v72, Func{Params: longs(7, tS16, tLong)}, "a0 a1 a2 a3 a4 a5 a6 a7-sp0 sp8", ""},
		{"s390x 6.2 none", S390X, Version{6, 2}, Func{Params: []Arg{tLong}}, "", "no BPF trampoline"},
		{"s390x 7.2 one slot each, over 8 bytes by reference", S390X, v72, Func{Params: longs(5, tPkSmall, tI128, tS16)},
			"r2 r3 r4 r5 r6 sp160 &sp168 &sp176", ""},
		{"ppc64le 6.12 none", PPC64LE, Version{6, 12}, Func{Params: []Arg{tLong}}, "", "no BPF trampoline"},
		{"ppc64le 7.2 slots in a row, no alignment", PPC64LE, v72, Func{Params: []Arg{tLong, tAl16, tLong}}, "r3 r4-r5 r6", ""},
		{"ppc64le 7.2 straddles r10", PPC64LE, v72, Func{Params: longs(7, tS16, tLong)}, "r3 r4 r5 r6 r7 r8 r9 r10-sp96 sp104", ""},
		{"ppc64le 7.2 13 slots refused", PPC64LE, v72, Func{Params: longs(11, tS16)}, "", "13 slots"},
		{"loongarch 6.16 none", LOONGARCH64, Version{6, 16}, Func{Params: []Arg{tLong}}, "", "no BPF trampoline"},
		{"loongarch 6.17 one register each", LOONGARCH64, Version{6, 17}, Func{Params: []Arg{tLong, tI128, tLong}}, "a0 a1 a2", ""},
		{"loongarch 6.17 struct refused", LOONGARCH64, Version{6, 17}, Func{Params: []Arg{tS8}}, "", "struct or union"},
		{"loongarch 6.17 9 args refused", LOONGARCH64, Version{6, 17}, Func{Params: longs(9)}, "", "9 arguments"},
		{"loongarch 7.2 straddles a7", LOONGARCH64, v72, Func{Params: longs(7, tS16, tLong)}, "a0 a1 a2 a3 a4 a5 a6 a7-sp0 sp8", ""},
		{"struct return refused", X86_64, v72, Func{Params: []Arg{tLong}, Return: tS8}, "", "returns struct s8"},
		{"variadic refused", ARM64, v72, Func{Params: []Arg{tLong}, Variadic: true}, "", "variadic"},
		{"over 16 bytes refused", ARM64, v72, Func{Params: []Arg{tS24}}, "", "larger than 16"},
		{"float refused", X86_64, v72, Func{Params: []Arg{tDbl}}, "", "floating point"},
		{"empty struct refused", X86_64, v72, Func{Params: []Arg{{Class: Struct}}}, "", "void or empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, refusal, err := Trampoline(tc.arch, tc.v, tc.fn)
			if err != nil {
				t.Fatal(err)
			}
			if tc.refusal != "" {
				if !strings.Contains(refusal, tc.refusal) {
					t.Errorf("refusal %q, want one containing %q", refusal, tc.refusal)
				}
				return
			}
			if refusal != "" {
				t.Fatalf("refused: %s", refusal)
			}
			if s := locs(tc.arch, got); s != tc.want {
				t.Errorf("Trampoline = %q, want %q", s, tc.want)
			}
		})
	}
	if _, _, err := Trampoline(X86_64, Version{}, Func{}); err == nil {
		t.Error("Trampoline without a version: no error")
	}
}

// TestJudge checks the rule's verdicts and reasons, among them the cases of
// docs/facts.md §4 observed on Debian kernels.
func TestJudge(t *testing.T) {
	tests := []struct {
		name    string
		arch    Arch
		v       Version
		fn      Func
		outcome Outcome
		arg     int
		reason  []string // substrings of the reason
	}{
		{"x86 packed misaligned in a register position", X86_64, v72, Func{Params: []Arg{tPkMis, tLong}}, Remove, 0,
			[]string{"arg 0 (struct pk, 13 bytes, packed)", "on the stack at [sp+0]", "trampoline reads rdi-rsi", "1 later argument"}},
		{"x86 6.1 same", X86_64, v61, Func{Params: []Arg{tLong, tPkMis, tLong}}, Remove, 1, []string{"arg 1"}},
		{"x86 packed, aligned members", X86_64, v72, Func{Params: []Arg{tPkOK, tLong}}, Keep, -1, nil},
		{"x86 7.2 packed on the stack anyway", X86_64, v72, Func{Params: longs(6, tPkMis, tLong)}, Keep, -1, nil},
		{"x86 7.2 one-slot packed at position 6", X86_64, v72, Func{Params: longs(5, tPkSmall, tLong)}, Remove, 5,
			[]string{"trampoline reads r9"}},
		{"x86 6.1 int128 in registers", X86_64, v61, Func{Params: []Arg{tI128}}, Remove, 0,
			[]string{"in rdi-rsi", "trampoline reads rdi"}},
		{"x86 7.2 int128 in registers", X86_64, v72, Func{Params: []Arg{tLong, tI128, tLong}}, Keep, -1, nil},
		{"x86 7.2 int128 on the stack", X86_64, v72, Func{Params: longs(7, tI128)}, Remove, 7,
			[]string{"on the stack at [sp+16]", "trampoline reads [sp+8]"}},
		{"x86 7.2 aligned(16) struct on the stack", X86_64, v72, Func{Params: longs(7, tAl16)}, Remove, 7,
			[]string{"aligned(16)"}},
		{"arm64 FACTS f", ARM64, v72, Func{Params: []Arg{tLong, tI128, tLong}}, Remove, 1,
			[]string{"in x2-x3", "trampoline reads x1-x2"}},
		{"arm64 member aligned(16) at odd register", ARM64, v72, Func{Params: []Arg{tLong, tAl16m}}, Remove, 1,
			[]string{"member aligned(16)"}},
		{"arm64 struct aligned(16) reads correctly", ARM64, v72, Func{Params: []Arg{tLong, tAl16, tLong}}, Keep, -1, nil},
		{"arm64 struct with int128", ARM64, v72, Func{Params: []Arg{tLong, tI128s}}, Remove, 1, nil},
		{"arm64 packed reads correctly", ARM64, v72, Func{Params: []Arg{tPkMis, tPkSmall, tLong}}, Keep, -1, nil},
		{"arm64 6.1 refuses everything", ARM64, v61, Func{Params: []Arg{tLong, tI128}}, Refused, -1,
			[]string{"no fentry"}},
		{"arm64 7.2 int128 after a stack slot", ARM64, v72, Func{Params: longs(9, tI128)}, Remove, 9,
			[]string{"[sp+16]", "[sp+8]"}},
		{"riscv 7.2 int128 at odd register reads correctly", RISCV64, v72, Func{Params: []Arg{tLong, tI128, tLong}}, Keep, -1, nil},
		{"riscv 7.2 int128 on the stack", RISCV64, v72, Func{Params: longs(9, tI128)}, Remove, 9, nil},
		{"riscv 7.2 split a7/stack reads correctly", RISCV64, v72, Func{Params: longs(7, tS16, tLong)}, Keep, -1, nil},
		{"riscv 6.6 int128 one register", RISCV64, Version{6, 6}, Func{Params: []Arg{tI128, tLong}}, Remove, 0, nil},
		{"s390x 7.2 5-byte struct passed by reference, read as a value", S390X, v72, Func{Params: []Arg{tLong, tPkSmall}}, Remove, 1,
			[]string{"by reference, its address in r3", "trampoline reads r3"}},
		{"s390x 7.2 int128 by reference in both", S390X, v72, Func{Params: []Arg{tLong, tI128, tS12}}, Keep, -1, nil},
		{"s390x 7.2 small struct on the stack", S390X, v72, Func{Params: longs(5, tPkSmall)}, Remove, 5,
			[]string{"[sp+160]"}},
		{"s390x 6.1 refused", S390X, v61, Func{Params: []Arg{tPkSmall}}, Refused, -1, []string{"no BPF trampoline"}},
		{"ppc64le 7.2 aligned(16) struct at an odd doubleword", PPC64LE, v72, Func{Params: []Arg{tLong, tAl16, tLong}}, Remove, 1,
			[]string{"in r5-r6", "trampoline reads r4-r5", "1 later argument"}},
		{"ppc64le 7.2 int128 reads correctly", PPC64LE, v72, Func{Params: []Arg{tLong, tI128, tLong}}, Keep, -1, nil},
		{"ppc64le 7.2 aligned struct on the stack", PPC64LE, v72, Func{Params: longs(9, tAl16m, tLong)}, Remove, 9,
			[]string{"[sp+112]", "[sp+104]"}},
		{"loongarch 7.2 int128 on the stack", LOONGARCH64, v72, Func{Params: longs(9, tI128)}, Remove, 9, []string{"[sp+16]", "[sp+8]"}},
		{"loongarch 6.17 int128 in one register", LOONGARCH64, Version{6, 17}, Func{Params: []Arg{tI128, tLong}}, Remove, 0,
			[]string{"in a0-a1", "trampoline reads a0"}},
		{"loongarch unknown version: strictest", LOONGARCH64, Version{}, Func{Params: []Arg{tI128, tLong}}, Remove, 0, []string{"kernel 6.17"}},
		{"refused is not removed", X86_64, v72, Func{Params: []Arg{tPkMis}, Variadic: true}, Refused, -1,
			[]string{"refuses it (variadic)"}},
		{"unknown version: strictest (x86 6.1 misreads int128)", X86_64, Version{}, Func{Params: []Arg{tI128}}, Remove, 0,
			[]string{"kernel 6.1"}},
		{"unknown version: strictest (x86 7.2 misreads stack int128)", X86_64, Version{}, Func{Params: longs(7, tI128)}, Remove, 7,
			[]string{"kernel 6.6"}},
		{"unknown version: keep when every model reads it", ARM64, Version{}, Func{Params: []Arg{tLong}}, Keep, -1, nil},
		{"unknown version: refused when every model refuses", ARM64, Version{}, Func{Params: longs(13)}, Refused, -1, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := Judge(tc.arch, tc.v, tc.fn)
			if err != nil {
				t.Fatal(err)
			}
			if v.Outcome != tc.outcome || v.Arg != tc.arg || v.Rule != RuleName {
				t.Fatalf("Judge = %s arg %d rule %q (%s), want %s arg %d", v.Outcome, v.Arg, v.Rule, v.Reason, tc.outcome, tc.arg)
			}
			for _, s := range tc.reason {
				if !strings.Contains(v.Reason, s) {
					t.Errorf("reason %q lacks %q", v.Reason, s)
				}
			}
			if v.Outcome != Keep && v.Reason == "" {
				t.Error("no reason")
			}
		})
	}
	if _, err := Judge(UnknownArch, v72, Func{}); err == nil {
		t.Error("Judge(unknown arch): no error")
	}
	if _, err := Judge(X86_64, v72, Func{Params: []Arg{{Class: Int, Size: 99}}}); err == nil {
		t.Error("Judge(bad arg): no error")
	}
}

func TestParse(t *testing.T) {
	for s, want := range map[string]Version{
		"6.1.0-53-cloud-amd64": {6, 1},
		"Linux version 7.2.13+deb14-cloud-arm64 (debian-kernel@lists.debian.org) (gcc-16 (Debian 16.1.0-1) 16.1.0)": {7, 2},
		"6.1.0-fixture-amd64 SMP mod_unload modversions ":                                                           {6, 1},
		"6.10": {6, 10},
	} {
		got, err := ParseVersion(s)
		if err != nil || got != want {
			t.Errorf("ParseVersion(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "linux", "version x.y"} {
		if _, err := ParseVersion(s); err == nil {
			t.Errorf("ParseVersion(%q): no error", s)
		}
	}
	for s, want := range map[string]Arch{"amd64": X86_64, "x86_64": X86_64, "aarch64": ARM64, "arm64": ARM64, "riscv64": RISCV64,
		"s390x": S390X, "ppc64le": PPC64LE, "ppc64el": PPC64LE, "ppc64": PPC64LE, "powerpc": PPC64LE,
		"loongarch64": LOONGARCH64, "loong64": LOONGARCH64} {
		if got, err := ParseArch(s); err != nil || got != want {
			t.Errorf("ParseArch(%q) = %v, %v", s, got, err)
		}
	}
	for _, bad := range []string{"mips", "s390", "ppc", "loongarch32", "riscv32"} {
		if _, err := ParseArch(bad); err == nil {
			t.Errorf("ParseArch(%s): no error", bad)
		}
	}
	for _, tc := range []struct {
		arch Arch
		reg  int
		want string
	}{
		{S390X, 2, "r2"}, {S390X, 16, "f0"}, {S390X, 17, "f2"}, {S390X, 20, "f1"}, {S390X, 31, "f15"},
		{PPC64LE, 3, "r3"}, {PPC64LE, 33, "f1"},
		{LOONGARCH64, 4, "a0"}, {LOONGARCH64, 11, "a7"}, {LOONGARCH64, 3, "r3"}, {LOONGARCH64, 32, "f0"},
		{RISCV64, 10, "a0"},
	} {
		if got := RegName(tc.arch, tc.reg); got != tc.want {
			t.Errorf("RegName(%s, %d) = %q, want %q", tc.arch, tc.reg, got, tc.want)
		}
	}
}

// TestAlignFromStack: a struct-level aligned(16) that the DWARF types do
// not show (gcc for riscv64) is found from the argument's entry location,
// as in the ABI probe's abp_al16s_p9 on the Debian riscv64 7.2 kernel: nine
// longs, the struct at [sp+16], not [sp+8], and a long after it.
func TestAlignFromStack(t *testing.T) {
	noAlign := tAl16
	noAlign.ExplicitAlign = 0
	fn := longs(9, noAlign, tLong)
	at := func(want map[int]int) func(int) (int, bool) {
		return func(i int) (int, bool) {
			off, ok := want[i]
			return off, ok
		}
	}
	if vd, err := Judge(RISCV64, v72, Func{Params: fn}); err != nil || vd.Outcome != Keep {
		t.Fatalf("without the alignment: %v %v, want keep (the layout alone hides it)", vd, err)
	}
	for _, tc := range []struct {
		name    string
		arch    Arch
		params  []Arg
		entry   map[int]int
		raised  int // index raised to 16, -1 none
		outcome Outcome
		arg     int
	}{
		{"riscv64 abp_al16s_p9", RISCV64, fn, map[int]int{8: 0, 9: 16, 10: 32}, 9, Remove, 9},
		{"loongarch64 same", LOONGARCH64, fn, map[int]int{9: 16}, 9, Remove, 9},
		{"riscv64 where the model already has it", RISCV64, fn, map[int]int{9: 8}, -1, Keep, -1},
		{"riscv64 no entry location", RISCV64, fn, nil, -1, Keep, -1},
		{"riscv64 an offset 16-alignment does not explain", RISCV64, fn, map[int]int{9: 24}, -1, Keep, -1},
		{"riscv64 at an even slot already", RISCV64, longs(10, noAlign), map[int]int{10: 16}, -1, Keep, -1},
		{"riscv64 in registers", RISCV64, longs(1, noAlign, tLong), map[int]int{1: 16}, -1, Keep, -1},
		{"riscv64 a scalar", RISCV64, longs(10), map[int]int{9: 16}, -1, Keep, -1},
		{"x86_64 on the stack", X86_64, longs(7, noAlign), map[int]int{6: 0, 7: 16}, 7, Remove, 7},
		{"arm64 ignores the attribute on the type", ARM64, longs(9, noAlign), map[int]int{9: 16}, -1, Keep, -1},
		{"s390x counts from another origin", S390X, longs(6, noAlign), map[int]int{6: 16}, -1, Keep, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := append([]Arg(nil), tc.params...)
			got := AlignFromStack(tc.arch, tc.params, at(tc.entry))
			for i := range got {
				want := tc.params[i].ExplicitAlign
				if i == tc.raised {
					want = 16
				}
				if got[i].ExplicitAlign != want {
					t.Errorf("arg %d: ExplicitAlign %d, want %d", i, got[i].ExplicitAlign, want)
				}
			}
			for i := range before {
				if before[i].ExplicitAlign != tc.params[i].ExplicitAlign {
					t.Errorf("arg %d of the input was changed", i)
				}
			}
			vd, err := Judge(tc.arch, v72, Func{Params: got})
			if err != nil {
				t.Fatal(err)
			}
			if vd.Outcome != tc.outcome || vd.Arg != tc.arg {
				t.Errorf("judged %s arg %d (%s), want %s arg %d", vd.Outcome, vd.Arg, vd.Reason, tc.outcome, tc.arg)
			}
		})
	}
}
