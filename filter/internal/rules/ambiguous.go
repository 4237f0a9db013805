package rules

import "fmt"

// ruleAmbiguous: the FUNC's name belongs to several ELF functions at
// different addresses (static functions of the same name in several units,
// or a function and a clone of another). The kernel attaches by name to one
// of them, and BTF describes one prototype: which one is a guess
// (pahole: ambiguous_addr). Needs only the symbol table.
var ruleAmbiguous = &rule{name: RuleAmbiguous, check: func(c *judge, s *subject) (string, bool) {
	type place struct {
		section int
		value   uint64
	}
	seen := map[place]bool{}
	var where []string
	for _, sym := range s.syms {
		p := place{sym.Section, sym.Value}
		if !seen[p] {
			seen[p] = true
			where = append(where, fmt.Sprintf("%s at %#x", sym.Name, sym.Value))
		}
	}
	if len(seen) < 2 {
		return "", false
	}
	return fmt.Sprintf("ambiguous address: %d ELF functions named %s at different addresses (%s)",
		len(seen), s.name, joinMax(where, 3)), true
}}
