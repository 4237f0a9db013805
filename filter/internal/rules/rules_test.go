package rules

import (
	godwarf "debug/dwarf"
	"debug/elf"
	"reflect"
	"strings"
	"testing"

	"github.com/btffilter/btffilter/filter/btf"
	"github.com/btffilter/btffilter/filter/btf/btftest"
	"github.com/btffilter/btffilter/filter/internal/abi"
	"github.com/btffilter/btffilter/filter/internal/dwarf"
)

func TestParseSet(t *testing.T) {
	all := []string{"abi", "ambiguous", "consistent", "signature"}
	for _, tc := range []struct {
		spec     string
		on       []string
		explicit []string
		err      string
	}{
		{spec: "default", on: all},
		{spec: "none"},
		{spec: "abi", on: []string{"abi"}, explicit: []string{"abi"}},
		{spec: "abi,ambiguous", on: []string{"abi", "ambiguous"}, explicit: []string{"abi", "ambiguous"}},
		{spec: "-ambiguous", on: []string{"abi", "consistent", "signature"}},
		{spec: "+abi", on: all, explicit: []string{"abi"}},
		{spec: "default,-abi", on: []string{"ambiguous", "consistent", "signature"}},
		{spec: "none,+signature", on: []string{"signature"}, explicit: []string{"signature"}},
		{spec: "abi,nosuch", err: `unknown rule "nosuch"`},
		{spec: "drop", err: `unknown rule "drop"`},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			s, err := ParseSet(tc.spec)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Names(); !reflect.DeepEqual(got, tc.on) {
				t.Errorf("on %v, want %v", got, tc.on)
			}
			var ex []string
			for _, r := range s.Names() {
				if s.Explicit[r] {
					ex = append(ex, r)
				}
			}
			if !reflect.DeepEqual(ex, tc.explicit) {
				t.Errorf("explicit %v, want %v", ex, tc.explicit)
			}
		})
	}
}

// fixtureSpec is the BTF of the x86-64 gcc fixture of testdata/abi, whose
// FUNC i128_p1 is long i128_p1(long a, __int128 x, long b).
func fixtureSpec(t *testing.T) *btf.Spec {
	return btftest.Load(t, "../../../testdata/abi/x86_64-gcc.o", nil)
}

var (
	tLong = &dwarf.Type{Kind: dwarf.KindInt, Name: "long int", Size: 8, Align: 8, Natural: 8}
	tI128 = &dwarf.Type{Kind: dwarf.KindInt, Name: "__int128", Size: 16, Align: 16, Natural: 16}
	tInt  = &dwarf.Type{Kind: dwarf.KindInt, Name: "int", Size: 4, Align: 4, Natural: 4}
)

// x86-64 DWARF registers: rdi 5, rsi 4, rdx 1, rcx 2.
func reg(r int) dwarf.Location { return dwarf.Location{Kind: dwarf.LocReg, Reg: r} }

// i128 builds a definition of i128_p1 at DIE offset off, entry pc, with the
// given parameter types and locations.
func i128(off, unit int, pc uint64, ret *dwarf.Type, types []*dwarf.Type, locs []dwarf.Location) dwarf.Func {
	f := dwarf.Func{Offset: uint64(off), Unit: unit, Name: "i128_p1", HasPC: true, LowPC: pc, Return: ret}
	for i, ty := range types {
		f.Params = append(f.Params, dwarf.Param{Offset: uint64(off + 1 + i), Name: string(rune('a' + i)), Type: ty, Loc: locs[i]})
	}
	return f
}

// abstractI128 is an abstract root at off and a concrete instance at off+10
// whose parameter DIEs point at the root's in the order given (-1: a DIE of
// its own, not a declared parameter), with the given locations.
func abstractI128(off int, pc uint64, order []int, locs []dwarf.Location, cc uint8) []dwarf.Func {
	root := dwarf.Func{Offset: uint64(off), Name: "i128_p1", Inline: 1, Return: tLong, CallingConvention: cc}
	for i, ty := range []*dwarf.Type{tLong, tI128, tLong} {
		root.Params = append(root.Params, dwarf.Param{Offset: uint64(off + 1 + i), Name: string(rune('a' + i)), Type: ty})
	}
	return []dwarf.Func{root, instance(root, off+10, pc, order, locs)}
}

// instance is a concrete out-of-line instance of root at DIE offset off and
// entry pc, its parameter DIEs pointing at root's in the order given (-1: a
// DIE of its own), with the given locations.
func instance(root dwarf.Func, off int, pc uint64, order []int, locs []dwarf.Location) dwarf.Func {
	inst := dwarf.Func{Offset: uint64(off), Unit: root.Unit, Name: root.Name, HasPC: true, LowPC: pc, Origin: root.Offset,
		Return: root.Return, CallingConvention: root.CallingConvention}
	for i, j := range order {
		p := dwarf.Param{Offset: uint64(off + 1 + i), Loc: locs[i]}
		if j >= 0 {
			p.Origin, p.Name, p.Type = root.Params[j].Offset, root.Params[j].Name, root.Params[j].Type
		}
		inst.Params = append(inst.Params, p)
	}
	return inst
}

// withFragment is abstractI128's root and in-order instance at 0x100, plus
// a second instance of the root at 0x300 (a NAME.part.N fragment or a
// clone) whose parameter DIEs come in the order given, with locs.
func withFragment(all, locs []dwarf.Location, order []int) []dwarf.Func {
	fs := abstractI128(10, 0x100, []int{0, 1, 2}, all, 0)
	return append(fs, instance(fs[0], 30, 0x300, order, locs))
}

// inlinedI128 is a definition of i128_p1 in unit b.c inlined everywhere:
// an abstract root with no code, with the given parameter types.
func inlinedI128(off int, ret *dwarf.Type, types []*dwarf.Type) dwarf.Func {
	f := i128(off, 1, 0, ret, types, make([]dwarf.Location, len(types)))
	f.HasPC, f.Inline = false, 3
	return f
}

// returning makes the fixture's i128_p1 return the fixture's BTF struct
// name, so that a DWARF prototype returning it agrees with the BTF one.
func returning(t *testing.T, spec *btf.Spec, name string) {
	t.Helper()
	var sid, pid btf.TypeID
	for i := range spec.Types {
		ty := &spec.Types[i]
		switch {
		case ty.Kind() == btf.KindStruct && spec.Name(ty) == name:
			sid = spec.FirstID() + btf.TypeID(i)
		case ty.Kind() == btf.KindFunc && spec.Name(ty) == "i128_p1":
			pid = btf.TypeID(ty.SizeType)
		}
	}
	proto, err := spec.Type(pid)
	if sid == 0 || err != nil || proto == nil {
		t.Fatalf("fixture lacks struct %s or i128_p1's prototype (%v)", name, err)
	}
	proto.SizeType = uint32(sid)
}

func TestRules(t *testing.T) {
	spec := fixtureSpec(t)
	units := []dwarf.Unit{{Name: "a.c"}, {Name: "b.c"}}
	good := []dwarf.Location{reg(5), {Kind: dwarf.LocPieces, Pieces: []dwarf.Piece{{Kind: dwarf.LocReg, Reg: 4, Size: 8}, {Kind: dwarf.LocReg, Reg: 1, Size: 8}}}, reg(2)}
	plain := []Symbol{{Name: "i128_p1", Section: 1, Value: 0x100}}
	part := append([]Symbol{{Name: "i128_p1.part.0", Section: 1, Value: 0x300}}, plain...)
	// Returning a struct in memory, the hidden pointer takes rdi: a in rsi,
	// x in rdx:rcx, b in r8.
	shifted := []dwarf.Location{reg(4), {Kind: dwarf.LocPieces, Pieces: []dwarf.Piece{{Kind: dwarf.LocReg, Reg: 1, Size: 8}, {Kind: dwarf.LocReg, Reg: 2, Size: 8}}}, reg(8)}
	tS24 := &dwarf.Type{Kind: dwarf.KindStruct, Name: "s24", Size: 24, Align: 8, Natural: 8}
	tS16 := &dwarf.Type{Kind: dwarf.KindStruct, Name: "s16", Size: 16, Align: 8, Natural: 8}
	sizeT := &dwarf.Type{Kind: dwarf.KindInt, Name: "long int", Typedef: "size_t", Size: 8, Align: 8, Natural: 8}
	kSizeT := &dwarf.Type{Kind: dwarf.KindInt, Name: "long int", Typedef: "__kernel_size_t", Size: 8, Align: 8, Natural: 8}
	args := []*dwarf.Type{tLong, tI128, tLong}
	set := Set{On: map[string]bool{RuleSignature: true, RuleConsistent: true, RuleAmbiguous: true}}
	for _, tc := range []struct {
		name    string
		funcs   []dwarf.Func
		syms    []Symbol
		keep    []string
		ret     string // the BTF struct i128_p1 returns instead of long
		rule    string // "" when i128_p1 stays
		reason  string
		protect bool
	}{
		{name: "agrees", funcs: []dwarf.Func{i128(10, 0, 0x100, tLong, []*dwarf.Type{tLong, tI128, tLong}, good)}, syms: plain},
		{name: "count differs", funcs: []dwarf.Func{i128(10, 0, 0x100, tLong, []*dwarf.Type{tLong, tI128}, good[:2])}, syms: plain,
			rule: RuleSignature, reason: "BTF prototype disagrees with DWARF: 3 parameters in BTF, 2 in DWARF"},
		{name: "return differs", funcs: []dwarf.Func{i128(10, 0, 0x100, tInt, []*dwarf.Type{tLong, tI128, tLong}, good)}, syms: plain,
			rule: RuleSignature, reason: "return type long int (8 bytes) in BTF, int (4 bytes) in DWARF"},
		{name: "type differs", funcs: []dwarf.Func{i128(10, 0, 0x100, tLong, []*dwarf.Type{tLong, tLong, tLong}, good)}, syms: plain,
			rule: RuleSignature, reason: "parameter 1 (x/b) is __int128 (16 bytes) in BTF, long int (8 bytes) in DWARF"},
		{name: "two units disagree", funcs: []dwarf.Func{
			i128(10, 0, 0x100, tLong, []*dwarf.Type{tLong, tI128, tLong}, good),
			i128(20, 1, 0x100, tLong, []*dwarf.Type{tLong, tInt, tLong}, good)}, syms: plain,
			rule: RuleConsistent, reason: "inconsistent prototype: parameter 1 (b) is __int128 (16 bytes) in a.c, int (4 bytes) in b.c"},
		{name: "unexpected register", funcs: []dwarf.Func{i128(10, 0, 0x100, tLong, []*dwarf.Type{tLong, tI128, tLong},
			[]dwarf.Location{reg(4), good[1], reg(2)})}, syms: plain,
			rule: RuleSignature, reason: "unexpected register usage for parameter 0 (a): it arrives in rsi, the ABI passes it in rdi"},
		{name: "entry value is the register", funcs: []dwarf.Func{i128(10, 0, 0x100, tLong, []*dwarf.Type{tLong, tI128, tLong},
			[]dwarf.Location{{Kind: dwarf.LocReg, Reg: 5, EntryValue: true}, good[1], reg(2)})}, syms: plain},
		{name: "only a clone, parameter dropped", funcs: abstractI128(10, 0x200, []int{0, 1}, good[:2], 0),
			syms:   []Symbol{{Name: "i128_p1.constprop.0", Section: 1, Value: 0x200}},
			rule:   RuleSignature,
			reason: "optimized parameters: only the clone i128_p1.constprop.0 has code, and it dropped parameter 2 (c)"},
		{name: "only a clone, all parameters there", funcs: abstractI128(10, 0x200, []int{0, 1, 2}, good, 0),
			syms: []Symbol{{Name: "i128_p1.isra.0", Section: 1, Value: 0x200}}},
		{name: "reordered", funcs: abstractI128(10, 0x100, []int{1, 0, 2}, []dwarf.Location{good[1], reg(5), reg(2)}, 0), syms: plain,
			rule: RuleSignature, reason: "reordered parameters: the code lists parameter 0 (a) after parameter 1 (b)"},
		{name: "nocall, parameter dropped", funcs: abstractI128(10, 0x100, []int{0, 1, 2}, []dwarf.Location{reg(5), good[1], {}}, dwarf.CCNocall), syms: plain,
			rule: RuleSignature, reason: "optimized parameters: DW_CC_nocall, the compiler changed the ABI and dropped parameter 2 (c)"},
		{name: "nocall, nothing dropped", funcs: abstractI128(10, 0x100, []int{0, 1, 2}, good, dwarf.CCNocall), syms: plain},
		{name: "reordered in a fragment", funcs: withFragment(good, good, []int{1, 0, 2}), syms: part,
			rule: RuleSignature, reason: "reordered parameters in the clone i128_p1.part.0 (pahole leaves the name out): the code lists parameter 0 (a) after parameter 1 (b)"},
		{name: "fragment in order", funcs: withFragment(good, good, []int{0, 1, 2}), syms: part},
		{name: "fragment without a declared parameter", funcs: withFragment(good, good[1:], []int{1, 2}), syms: part,
			rule: RuleSignature, reason: "reordered parameters in the clone i128_p1.part.0 (pahole leaves the name out): the code lists parameter 1 (b) as its parameter 0"},
		{name: "fragment without the last parameter", funcs: withFragment(good, good[:2], []int{0, 1}), syms: part},
		{name: "struct return shifts parameters", ret: "s24", funcs: []dwarf.Func{i128(10, 0, 0x100, tS24, args, shifted)}, syms: plain,
			rule: RuleSignature, reason: "unexpected register usage for parameter 0 (a): the function returns a struct through a hidden pointer, so parameters arrive shifted (it arrives in rsi, not rdi; the kernel cannot attach to struct-returning functions anyway)"},
		{name: "struct return, register off even with the hidden pointer", ret: "s24", funcs: []dwarf.Func{i128(10, 0, 0x100, tS24, args, good)}, syms: plain,
			rule: RuleSignature, reason: "unexpected register usage for parameter 0 (a): it arrives in rdi, the ABI passes it in rsi"},
		{name: "struct returned in registers", ret: "s16", funcs: []dwarf.Func{i128(10, 0, 0x100, tS16, args, good)}, syms: plain},
		{name: "inlined namesake differs", funcs: []dwarf.Func{i128(10, 0, 0x100, tLong, args, good), inlinedI128(20, tLong, []*dwarf.Type{tLong, tInt, tLong})},
			syms: plain, rule: RuleConsistent,
			reason: "inconsistent prototype: differs from a namesake inlined everywhere in b.c (it has no code to attach to, but pahole compares it too): parameter 1 (b) is __int128 (16 bytes) in a.c, int (4 bytes) in b.c"},
		{name: "BTF is the inlined namesake's", funcs: []dwarf.Func{i128(10, 0, 0x100, tLong, []*dwarf.Type{tLong, tInt, tLong}, good), inlinedI128(20, tLong, args)},
			syms: plain, rule: RuleConsistent,
			reason: "inconsistent prototype: a namesake inlined everywhere in b.c differs, and the BTF prototype is not the code's: parameter 1 (b) is int (4 bytes) in a.c, __int128 (16 bytes) in b.c"},
		{name: "inlined namesake agrees", funcs: []dwarf.Func{i128(10, 0, 0x100, tLong, args, good), inlinedI128(20, tLong, args)}, syms: plain},
		{name: "declaration differs", funcs: func() []dwarf.Func {
			d := inlinedI128(20, tLong, []*dwarf.Type{tLong, tInt, tLong})
			d.Inline, d.Declaration = 0, true
			return []dwarf.Func{i128(10, 0, 0x100, tLong, args, good), d}
		}(), syms: plain},
		{name: "typedef spelled differently", funcs: []dwarf.Func{i128(10, 0, 0x100, tLong, []*dwarf.Type{tLong, tI128, sizeT}, good),
			inlinedI128(20, tLong, []*dwarf.Type{tLong, tI128, kSizeT})}, syms: plain, rule: RuleConsistent,
			reason: "parameter 2 (c) is spelled size_t in a.c, __kernel_size_t in b.c (the same type under another name; pahole compares typedef names)"},
		{name: "same typedef", funcs: []dwarf.Func{i128(10, 0, 0x100, tLong, []*dwarf.Type{tLong, tI128, sizeT}, good),
			i128(20, 1, 0x100, tLong, []*dwarf.Type{tLong, tI128, sizeT}, good)}, syms: plain},
		{name: "ambiguous", funcs: []dwarf.Func{i128(10, 0, 0x100, tLong, []*dwarf.Type{tLong, tI128, tLong}, good)},
			syms: []Symbol{{Name: "i128_p1", Section: 1, Value: 0x100}, {Name: "i128_p1", Section: 1, Value: 0x300}},
			rule: RuleAmbiguous, reason: "ambiguous address: 2 ELF functions named i128_p1 at different addresses (i128_p1 at 0x100, i128_p1 at 0x300)"},
		{name: "cold fragment is not a function", funcs: []dwarf.Func{i128(10, 0, 0x100, tLong, []*dwarf.Type{tLong, tI128, tLong}, good)},
			syms: []Symbol{{Name: "i128_p1", Section: 1, Value: 0x100}, {Name: "i128_p1.cold", Section: 1, Value: 0x900}}},
		{name: "protected by --keep", funcs: []dwarf.Func{i128(10, 0, 0x100, tLong, []*dwarf.Type{tLong, tI128}, good[:2])}, syms: plain,
			keep: []string{"i128_*"}, rule: RuleSignature, reason: "; kept: matches --keep i128_*", protect: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := spec
			if tc.ret != "" {
				spec = fixtureSpec(t)
				returning(t, spec, tc.ret)
			}
			d := &dwarf.Data{Units: units, Funcs: tc.funcs}
			dec, err := Decide(Input{Spec: spec, Rules: set, DWARF: d, Symbols: tc.syms, Keep: tc.keep, Arch: abi.X86_64, Version: abi.Version{Major: 7, Minor: 2}})
			if err != nil {
				t.Fatal(err)
			}
			var got *Verdict
			list := dec.Remove
			if tc.protect {
				list = dec.Protected
			}
			for i := range list {
				if list[i].Name == "i128_p1" {
					got = &list[i]
				}
			}
			switch {
			case tc.rule == "" && got != nil:
				t.Errorf("removed by %s: %s", got.Rule, got.Reason)
			case tc.rule != "" && got == nil:
				t.Errorf("kept, want rule %s (%s); removed: %v", tc.rule, tc.reason, dec.Remove)
			case got != nil && (got.Rule != tc.rule || !strings.Contains(got.Reason, tc.reason)):
				t.Errorf("rule %s reason %q, want %s and %q", got.Rule, got.Reason, tc.rule, tc.reason)
			}
		})
	}
}

// TestNoDWARF: rules that need DWARF do not run without it; ambiguous does.
func TestNoDWARF(t *testing.T) {
	spec := fixtureSpec(t)
	dec, err := Decide(Input{Spec: spec, Rules: DefaultSet(), Arch: abi.X86_64,
		Symbols: []Symbol{{Name: "i128_p1", Value: 1}, {Name: "i128_p1.isra.0", Value: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(dec.Remove) != 1 || dec.Remove[0].Rule != RuleAmbiguous {
		t.Errorf("removed %v, want i128_p1 by ambiguous only", dec.Remove)
	}
}

// TestConsistentPointees: two units' prototypes that differ only in what a
// pointer points to are different prototypes; the same target is not. The
// pointer targets are real DIEs of the fixture, named through its DWARF.
func TestConsistentPointees(t *testing.T) {
	spec := fixtureSpec(t)
	const fixture = "../../../testdata/abi/x86_64-gcc.o"
	ef, err := elf.Open(fixture)
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	gd, err := ef.DWARF()
	if err != nil {
		t.Fatal(err)
	}
	scanned, err := dwarf.Open(fixture, dwarf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	structs := map[string]uint64{}
	r := gd.Reader()
	for {
		e, err := r.Next()
		if err != nil || e == nil {
			break
		}
		if n, _ := e.Val(godwarf.AttrName).(string); e.Tag == godwarf.TagStructType && n != "" {
			structs[n] = uint64(e.Offset)
		}
	}
	if structs["pk_mis"] == 0 || structs["pk_ok"] == 0 {
		t.Fatalf("fixture lacks struct pk_mis or pk_ok: %v", structs)
	}
	ptr := func(name string) *dwarf.Type {
		target := structs[name]
		if name == "unreadable" {
			target = 1 << 30 // past the end of .debug_info
		}
		return &dwarf.Type{Kind: dwarf.KindPointer, Size: 8, Align: 8, Natural: 8, Target: target}
	}
	locs := []dwarf.Location{reg(5), reg(4), reg(1)}
	set := Set{On: map[string]bool{RuleConsistent: true}}
	for _, tc := range []struct {
		name    string
		a, b    string
		reason  string
		warning string
	}{
		{"different targets", "pk_mis", "pk_ok", "parameter 1 (b) is pointer to struct pk_mis in a.c, pointer to struct pk_ok in b.c", ""},
		{"same target", "pk_ok", "pk_ok", "", ""},
		// An unknown target compares as a plain pointer (unlike a
		// pointer to a named type), and the warnings say so.
		{"unreadable target", "unreadable", "pk_ok", "parameter 1 (b) is pointer in a.c, pointer to struct pk_ok in b.c", "1 pointer target(s) could not be read, so their pointers were compared as plain pointers (first: dwarf: .debug_info: DIE at 0x40000000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The fixture's DWARF with made-up units and functions:
			// the names of the targets come from the real DIEs.
			d := *scanned
			d.Units = []dwarf.Unit{{Name: "a.c"}, {Name: "b.c"}}
			d.Funcs = []dwarf.Func{
				i128(10, 0, 0x100, tLong, []*dwarf.Type{tLong, ptr(tc.a), tLong}, locs),
				i128(20, 1, 0x200, tLong, []*dwarf.Type{tLong, ptr(tc.b), tLong}, locs),
			}
			dec, err := Decide(Input{Spec: spec, Rules: set, DWARF: &d, Arch: abi.X86_64})
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.warning == "" && len(dec.Warnings) != 0,
				tc.warning != "" && (len(dec.Warnings) != 1 || !strings.HasPrefix(dec.Warnings[0], tc.warning)):
				t.Errorf("warnings %q, want %q", dec.Warnings, tc.warning)
			}
			got := ""
			for _, v := range dec.Remove {
				if v.Name == "i128_p1" {
					got = v.Reason
				}
			}
			if tc.reason == "" && got != "" || !strings.Contains(got, tc.reason) {
				t.Errorf("reason %q, want %q", got, tc.reason)
			}
		})
	}
}
