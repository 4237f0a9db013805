package rules

import (
	"fmt"

	"github.com/btffilter/btffilter/filter/internal/dwarf"
)

// ruleConsistent: the name has several declared prototypes in different
// units (static functions of the same name). BTF keeps one prototype for
// the name, so a tracer of the other reads its arguments with the wrong
// types (pahole: inconsistent_proto). Prototypes are compared as pahole
// compares them (types.go), pointers by what they point to (pointee.go),
// and, when they agree as types, by the typedef names they are spelled with
// (size_t and __kernel_size_t: pahole tells them apart, so the reason says
// that only the spelling differs).
//
// The first function with code is compared with every other definition:
// other functions with code, and namesakes inlined everywhere (an abstract
// root, no code of its own). The latter have nothing to attach to, and the
// BTF may well describe the code; but pahole compares every definition of
// the name and leaves it out, and the default rules keep at least what
// pahole removes, so the reason says which namesake it was, and whether
// the BTF prototype is the code's (when it is not, the BTF was made from
// the namesake: signature would say so, but consistent comes first).
var ruleConsistent = &rule{name: RuleConsistent, needsDWARF: true, check: func(c *judge, s *subject) (string, bool) {
	if len(s.defs) == 0 {
		return "", false
	}
	first := s.defs[0]
	var want protoKey
	compared := false
	seen := map[*dwarf.Func]bool{c.root(first): true}
	for _, list := range [][]*dwarf.Func{s.defs[1:], s.decls} {
		for _, f := range list {
			r := c.root(f)
			if f.Declaration || r.Declaration || seen[r] {
				continue
			}
			seen[r] = true
			if !compared {
				want, compared = c.dwarfProtoDeep(first), true
			}
			d := want.diff(c.dwarfProtoDeep(f), c.unitName(first), c.unitName(f))
			if d == "" {
				d = c.typedefDiff(first, f, c.unitName(first), c.unitName(f))
			}
			switch {
			case d == "":
			case f.HasPC:
				return fmt.Sprintf("inconsistent prototype: %s", d), true
			default:
				what := "inlined everywhere"
				if r.Inline == 0 {
					what = "without code"
				}
				if s.proto != nil && btfProto(c.in.Spec, s.proto).diff(c.dwarfProto(first), "BTF", "DWARF") != "" {
					return fmt.Sprintf("inconsistent prototype: a namesake %s in %s differs, and the BTF prototype is not the code's: %s",
						what, c.unitName(f), d), true
				}
				return fmt.Sprintf("inconsistent prototype: differs from a namesake %s in %s (it has no code to attach to, but pahole compares it too): %s",
					what, c.unitName(f), d), true
			}
		}
	}
	return "", false
}}
