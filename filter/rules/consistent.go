package rules

import "fmt"

// ruleConsistent: the name has code in several places whose declared
// prototypes differ (static functions of the same name in different units).
// BTF keeps one prototype for the name, so a tracer of the other reads its
// arguments with the wrong types (pahole: inconsistent_proto). Prototypes
// are compared as pahole compares them (types.go), pointers by what they
// point to (pointee.go); typedef names are peeled, so size_t and
// __kernel_size_t are the same type (pahole 1.32 tells them apart).
var ruleConsistent = &rule{name: RuleConsistent, needsDWARF: true, check: func(c *judge, s *subject) (string, bool) {
	if len(s.defs) < 2 {
		return "", false
	}
	first := s.defs[0]
	want := c.dwarfProtoDeep(first)
	for _, f := range s.defs[1:] {
		if c.root(f) == c.root(first) {
			continue
		}
		if d := want.diff(c.dwarfProtoDeep(f), c.unitName(first), c.unitName(f)); d != "" {
			return fmt.Sprintf("inconsistent prototype: %s", d), true
		}
	}
	return "", false
}}
