package rules

import "github.com/btffilter/btffilter/filter/internal/abi"

// ruleABI: the kernel's trampoline, which places arguments from their BTF
// sizes alone, would read some argument from another place than the real
// calling convention puts it (docs/facts.md §1-3). The decision and its reason
// are filter/internal/abi's Judge, on the DWARF prototype that agrees with the BTF
// one (or the first one), with the ELF's architecture and the kernel
// version of the file (all versions' models when unknown).
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
