package rules

import (
	"fmt"
	"strings"

	"btffilter/filter/abi"
	"btffilter/filter/dwarf"
)

// ruleSignature: the BTF prototype does not describe the code the kernel
// attaches to. Four conditions, tried in order, each with its reason:
//
//  1. The BTF FUNC_PROTO disagrees with every DWARF prototype of the name
//     (parameter count, variadic, return type, a parameter's type; compared
//     as in types.go). BTF made by an older pahole, or edited.
//  2. No code has the plain name, only gcc clones NAME.isra.N or
//     NAME.constprop.N, and a clone dropped or folded a declared parameter:
//     its ABI is not the prototype's (pahole: optimized_parms on a clone).
//  3. The attached code is a clang clone marked DW_CC_nocall that dropped a
//     parameter (pahole: signature_changed with optimized_parms), or lists
//     its parameters in another order than declared (pahole:
//     reordered_parm).
//  4. A scalar parameter arrives, by DWARF's entry location, in another
//     register than the calling convention (abi.Locate) assigns it (pahole:
//     unexpected_reg). Waived, as in pahole, when any parameter is a struct
//     or union: their placement is the abi rule's business.
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
		return "", false
	}
	for _, f := range attached {
		if f.CallingConvention == dwarf.CCNocall {
			if p := c.optimizedParam(f); p != "" {
				return fmt.Sprintf("optimized parameters: DW_CC_nocall, the compiler changed the ABI and dropped parameter %s", p), true
			}
		}
		if reason := c.reordered(f); reason != "" {
			return reason, true
		}
		if reason := c.unexpectedReg(f); reason != "" {
			return reason, true
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

// reordered reports an out-of-line instance whose parameter DIEs are not in
// the declared order.
func (c *judge) reordered(f *dwarf.Func) string {
	if c.root(f) == f {
		return ""
	}
	decl := c.declared(f)
	pos := map[uint64]int{}
	for i, p := range decl {
		pos[p.Offset] = i
	}
	last := -1
	for _, p := range f.Params {
		j, ok := pos[p.Origin]
		if !ok || p.Origin == 0 {
			continue
		}
		if j < last {
			return fmt.Sprintf("reordered parameters: the code lists parameter %d (%s) after parameter %d (%s)",
				j, decl[j].Name, last, decl[last].Name)
		}
		last = j
	}
	return ""
}

// unexpectedReg compares the entry register of each scalar parameter with
// the calling convention's.
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
	args := fn.Params
	hidden := 0
	if ret := c.root(f).Return; isAggregate(ret) && c.in.Arch != abi.ARM64 &&
		(ret.Size > 16 || c.in.Arch == abi.X86_64 && ret.UnalignedField) {
		// A returned aggregate in memory: the caller passes its address
		// as a hidden first argument (x86-64 rdi, riscv64 a0; arm64 uses
		// x8, which shifts nothing).
		args = append([]abi.Arg{{Class: abi.Pointer, Size: 8, Align: 8}}, args...)
		hidden = 1
	}
	locs, err := abi.Locate(c.in.Arch, args)
	if err != nil {
		return ""
	}
	locs = locs[hidden:]
	for i, p := range inst {
		if p == nil || p.Loc.Kind != dwarf.LocReg || i >= len(locs) {
			continue
		}
		l := locs[i]
		if l.ByRef || len(l.Slots) == 0 || l.Slots[0].Reg < 0 {
			continue
		}
		if want := l.Slots[0].Reg; p.Loc.Reg != want {
			return fmt.Sprintf("unexpected register usage for parameter %d (%s): it arrives in %s, the ABI passes it in %s",
				i, decl[i].Name, abi.RegName(c.in.Arch, p.Loc.Reg), abi.RegName(c.in.Arch, want))
		}
	}
	return ""
}
