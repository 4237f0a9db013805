package rules

import (
	"github.com/btffilter/btffilter/filter/internal/abi"
	"github.com/btffilter/btffilter/filter/internal/dwarf"
)

// ruleABI: the kernel's trampoline, which places arguments from their BTF
// sizes alone, would read some argument from another place than the real
// calling convention puts it (docs/facts.md §1-3). The decision and its reason
// are filter/internal/abi's Judge, on the DWARF prototype that agrees with the BTF
// one (or the first one), with the ELF's architecture and the kernel
// version of the file (all versions' models when unknown). An aggregate's
// 16-byte alignment that the DWARF types do not show but the code's entry
// locations do (gcc for riscv64) counts (abi.AlignFromStack).
var ruleABI = &rule{name: RuleABI, needsDWARF: true, check: func(c *judge, s *subject) (string, bool) {
	if c.in.Arch == abi.UnknownArch {
		if c.in.ArchName == "" {
			c.cannot(RuleABI, "the architecture is unknown (a raw blob: give --arch, or --debuginfo with the ELF it was made from)")
		} else {
			c.cannot(RuleABI, "there is no calling-convention model for "+c.in.ArchName+", so the rule does not judge this file")
		}
		return "", false
	}
	protos := c.prototypes(s)
	if len(protos) == 0 {
		c.cannot(RuleABI, "no DWARF subprogram of that name")
		return "", false
	}
	f := protos[0]
	if s.proto != nil {
		want := btfProto(c.in.Spec, s.proto)
		for _, g := range protos {
			if want.diff(c.dwarfProto(g), "BTF", "DWARF") == "" {
				f = g
				break
			}
		}
	}
	fn, err := c.abiFunc(f)
	if err != nil {
		c.cannot(RuleABI, err.Error())
		return "", false
	}
	fn.Params = abi.AlignFromStack(c.in.Arch, fn.Params, c.stackEntry(s, f))
	vd, err := abi.Judge(c.in.Arch, c.in.Version, fn)
	if err != nil {
		c.cannot(RuleABI, err.Error())
		return "", false
	}
	if vd.Outcome != abi.Remove {
		return "", false
	}
	return vd.Reason, true
}}

// stackEntry gives abi.AlignFromStack the stack address at entry of each
// parameter of f's prototype, as an offset from the CFA, in the code the
// kernel attaches to (the first such instance of f's function; f itself
// when none is found and f has code). A parameter counts when its entry
// location is DW_OP_fbreg and the instance's frame base is
// DW_OP_call_frame_cfa.
func (c *judge) stackEntry(s *subject, f *dwarf.Func) func(int) (int, bool) {
	none := func(int) (int, bool) { return 0, false }
	var code *dwarf.Func
	for _, g := range c.attached(s) {
		if c.root(g) == c.root(f) {
			code = g
			break
		}
	}
	if code == nil && f.HasPC && !f.Declaration {
		code = f
	}
	if code == nil || code.FrameBase.Kind != dwarf.LocCFA {
		return none
	}
	_, inst, _ := c.entryParams(code)
	return func(i int) (int, bool) {
		if i >= len(inst) || inst[i] == nil || inst[i].Loc.Kind != dwarf.LocFrame {
			return 0, false
		}
		return int(inst[i].Loc.Offset), true
	}
}
