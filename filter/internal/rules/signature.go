package rules

import (
	"fmt"
	"slices"
	"strings"

	"github.com/btffilter/btffilter/filter/internal/abi"
	"github.com/btffilter/btffilter/filter/internal/dwarf"
)

// ruleSignature: the BTF prototype does not describe the code the kernel
// attaches to, or pahole would leave the name out. Five conditions, tried
// in order, each with its reason:
//
//  1. The BTF FUNC_PROTO disagrees with every DWARF prototype of the name
//     (parameter count, variadic, return type, a parameter's type; compared
//     as in types.go). BTF made by an older pahole, or edited.
//  2. No code has the plain name, only gcc clones NAME.isra.N or
//     NAME.constprop.N, and a clone dropped or folded a declared parameter:
//     its ABI is not the prototype's (pahole: optimized_parms on a clone).
//  3. The attached code is a clang clone marked DW_CC_nocall that dropped a
//     parameter (pahole: signature_changed with optimized_parms), or lists
//     its parameters in another order or at other positions than declared
//     (pahole: reordered_parm).
//  4. A scalar parameter arrives, by DWARF's entry location, in another
//     register than the calling convention (abi.Locate) assigns it (pahole:
//     unexpected_reg). Waived, as in pahole, when any parameter is a struct
//     or union: their placement is the abi rule's business. A function
//     returning an aggregate in memory receives its address as a hidden
//     first argument, which shifts the others: pahole does not model it and
//     flags the shift, so the rule fires too, saying so (the kernel refuses
//     to attach to such functions anyway).
//  5. Another code instance of the name, a clone or a NAME.part.N
//     fragment, lists its parameters in another order or at other
//     positions than declared.
//     The attached code may be fine, but pahole merges what it finds over
//     every instance of the name and leaves it out (reordered_parm); the
//     default rules keep at least what pahole removes.
var ruleSignature = &rule{name: RuleSignature, needsDWARF: true, check: func(c *judge, s *subject) (string, bool) {
	protos := c.prototypes(s)
	if len(protos) == 0 {
		c.cannot(RuleSignature, "no DWARF subprogram of that name")
		return "", false
	}
	if s.proto != nil {
		want := btfProto(c.in.Spec, s.proto)
		diff := ""
		for i, f := range protos {
			d := want.diff(c.dwarfProto(f), "BTF", "DWARF")
			if d == "" {
				diff = ""
				break
			}
			if i == 0 {
				diff = d
			}
		}
		if diff != "" {
			return "BTF prototype disagrees with DWARF: " + diff, true
		}
	}
	attached := c.attached(s)
	if len(attached) == 0 && c.in.Symbols != nil {
		for _, f := range s.defs {
			sym := symbolAt(s, f)
			if !strings.Contains(sym, ".isra") && !strings.Contains(sym, ".constprop") {
				continue
			}
			if p := c.optimizedParam(f); p != "" {
				return fmt.Sprintf("optimized parameters: only the clone %s has code, and it dropped parameter %s", sym, p), true
			}
		}
	}
	for _, f := range attached {
		if f.CallingConvention == dwarf.CCNocall {
			if p := c.optimizedParam(f); p != "" {
				return fmt.Sprintf("optimized parameters: DW_CC_nocall, the compiler changed the ABI and dropped parameter %s", p), true
			}
		}
		if order := c.reordered(f); order != "" {
			return "reordered parameters: " + order, true
		}
		if reason := c.unexpectedReg(f); reason != "" {
			return reason, true
		}
	}
	for _, f := range s.defs {
		if slices.Contains(attached, f) {
			continue
		}
		if order := c.reordered(f); order != "" {
			return fmt.Sprintf("reordered parameters in the clone %s (pahole leaves the name out): %s", placeOf(s, f), order), true
		}
	}
	return "", false
}}

// optimizedParam names the first declared parameter a code instance has no
// value for at entry (no DIE, no location, or a constant), "" if none.
func (c *judge) optimizedParam(f *dwarf.Func) string {
	decl, inst, _ := c.entryParams(f)
	for i, p := range inst {
		if p == nil {
			return fmt.Sprintf("%d (%s)", i, decl[i].Name)
		}
		switch p.Loc.Kind {
		case dwarf.LocNone, dwarf.LocConst, dwarf.LocEmpty:
			return fmt.Sprintf("%d (%s)", i, decl[i].Name)
		}
	}
	return ""
}

// reordered reports an out-of-line instance whose parameter DIEs are not
// where the declared ones are: one listed after a later one, or at another
// position (an earlier one has no DIE, or a DIE of its own comes first).
// pahole compares positions (reordered_parm), which covers both. It says
// which parameter is where, "" when every DIE is at its declared position.
func (c *judge) reordered(f *dwarf.Func) string {
	r := c.root(f)
	if r == f {
		return ""
	}
	pos := map[uint64]int{}
	for i, p := range r.Params {
		pos[p.Offset] = i
	}
	last := -1
	shifted := ""
	for k, p := range f.Params {
		j, ok := pos[p.Origin]
		if !ok || p.Origin == 0 {
			continue
		}
		if j < last {
			return fmt.Sprintf("the code lists parameter %d (%s) after parameter %d (%s)",
				j, r.Params[j].Name, last, r.Params[last].Name)
		}
		if j != k && shifted == "" {
			shifted = fmt.Sprintf("the code lists parameter %d (%s) as its parameter %d", j, r.Params[j].Name, k)
		}
		last = j
	}
	return shifted
}

// unexpectedReg compares the entry register of each scalar parameter with
// the calling convention's. When the function returns its result in memory
// (abi.ReturnsInMemory: x86-64 rdi, riscv64 and loongarch64 a0, ppc64le r3,
// s390x r2; arm64 uses x8, which shifts nothing), the convention passes the
// result's address first: a parameter found where that shifted convention
// puts it, not where the plain one does, is the hidden pointer's doing, and
// gets its own reason.
func (c *judge) unexpectedReg(f *dwarf.Func) string {
	if c.in.Arch == abi.UnknownArch {
		return ""
	}
	decl, inst, _ := c.entryParams(f)
	for _, p := range decl {
		if isAggregate(p.Type) {
			return ""
		}
	}
	fn, err := c.abiFunc(f)
	if err != nil {
		return ""
	}
	plain, err := abi.Locate(c.in.Arch, fn.Params)
	if err != nil {
		return ""
	}
	want := plain
	ret := c.root(f).Return
	hidden := abi.ReturnsInMemory(c.in.Arch, fn.Return)
	if hidden {
		shifted, err := abi.Locate(c.in.Arch, append([]abi.Arg{{Class: abi.Pointer, Size: 8, Align: 8}}, fn.Params...))
		if err != nil {
			return ""
		}
		want = shifted[1:]
	}
	reg := func(locs []abi.Location, i int) int {
		if i >= len(locs) || locs[i].ByRef || len(locs[i].Slots) == 0 {
			return -1
		}
		return locs[i].Slots[0].Reg
	}
	for i, p := range inst {
		if p == nil || p.Loc.Kind != dwarf.LocReg {
			continue
		}
		w := reg(want, i)
		switch {
		case w < 0:
			// On the stack by the convention (or by reference): the
			// register holding it at entry says nothing.
		case p.Loc.Reg != w:
			return fmt.Sprintf("unexpected register usage for parameter %d (%s): it arrives in %s, the ABI passes it in %s",
				i, decl[i].Name, abi.RegName(c.in.Arch, p.Loc.Reg), abi.RegName(c.in.Arch, w))
		case hidden && reg(plain, i) >= 0 && p.Loc.Reg != reg(plain, i) && isAggregate(ret):
			return fmt.Sprintf("unexpected register usage for parameter %d (%s): the function returns %s through a hidden pointer, so parameters arrive shifted (it arrives in %s, not %s; the kernel cannot attach to %s-returning functions anyway)",
				i, decl[i].Name, typeWord(ret), abi.RegName(c.in.Arch, p.Loc.Reg), abi.RegName(c.in.Arch, reg(plain, i)), typeWord(ret)[2:])
		case hidden && reg(plain, i) >= 0 && p.Loc.Reg != reg(plain, i):
			return fmt.Sprintf("unexpected register usage for parameter %d (%s): the function returns a %d-byte %s through a hidden pointer, so parameters arrive shifted (it arrives in %s, not %s)",
				i, decl[i].Name, fn.Return.Size, fn.Return.Class, abi.RegName(c.in.Arch, p.Loc.Reg), abi.RegName(c.in.Arch, reg(plain, i)))
		}
	}
	return ""
}

// typeWord says what kind of aggregate t is.
func typeWord(t *dwarf.Type) string {
	if t.Kind == dwarf.KindUnion {
		return "a union"
	}
	return "a struct"
}
