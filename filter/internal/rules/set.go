package rules

import (
	"fmt"
	"sort"
	"strings"
)

// Rule names, stable: scripts and --rules match on them.
const (
	RuleDrop       = "drop"
	RuleAmbiguous  = "ambiguous"
	RuleConsistent = "consistent"
	RuleSignature  = "signature"
	RuleABI        = "abi"
)

// judgeRules are the rules --rules switches, in the order they are tried
// on each FUNC: the first that fires decides. drop is not among them: it
// runs whenever --drop is given.
var judgeRules = []*rule{ruleAmbiguous, ruleConsistent, ruleSignature, ruleABI}

// defaultRules is the set "default" names: all of them.
var defaultRules = []string{RuleABI, RuleSignature, RuleConsistent, RuleAmbiguous}

// Set is the rules switched on, and which of them the user named himself
// (a rule named explicitly that cannot run is an error, a default one a
// warning).
type Set struct {
	On       map[string]bool
	Explicit map[string]bool
}

// DefaultSet returns the default rules, none of them explicit.
func DefaultSet() Set {
	s := Set{On: map[string]bool{}, Explicit: map[string]bool{}}
	for _, r := range defaultRules {
		s.On[r] = true
	}
	return s
}

// Names lists the rules switched on, sorted.
func (s Set) Names() []string {
	var out []string
	for r, on := range s.On {
		if on {
			out = append(out, r)
		}
	}
	sort.Strings(out)
	return out
}

// NeedsDWARF reports whether rule reads DWARF.
func NeedsDWARF(name string) bool {
	for _, r := range judgeRules {
		if r.name == name {
			return r.needsDWARF
		}
	}
	return false
}

// ParseSet reads a --rules value: "default", "none", or a comma-separated
// list. Items are rule names (the list starts from nothing), "default"
// (adds the default rules), "+rule" and "-rule" (adjust; a list that starts
// with one of these starts from the default set).
func ParseSet(spec string) (Set, error) {
	s := Set{On: map[string]bool{}, Explicit: map[string]bool{}}
	items := strings.Split(spec, ",")
	for i, it := range items {
		items[i] = strings.TrimSpace(it)
	}
	if len(items) > 0 && (strings.HasPrefix(items[0], "+") || strings.HasPrefix(items[0], "-")) {
		s = DefaultSet()
	}
	for _, it := range items {
		op := byte(0)
		name := it
		if it != "" && (it[0] == '+' || it[0] == '-') {
			op, name = it[0], it[1:]
		}
		switch {
		case name == "" && op == 0:
			continue
		case name == "default" && op != '-':
			for _, r := range defaultRules {
				s.On[r] = true
			}
			continue
		case name == "none" && op == 0:
			s.On = map[string]bool{}
			s.Explicit = map[string]bool{}
			continue
		}
		if !known(name) {
			return Set{}, fmt.Errorf("--rules: unknown rule %q (rules: %s, or default, none)", name, strings.Join(defaultRules, ", "))
		}
		if op == '-' {
			delete(s.On, name)
			delete(s.Explicit, name)
			continue
		}
		s.On[name] = true
		s.Explicit[name] = true
	}
	return s, nil
}

func known(name string) bool {
	for _, r := range judgeRules {
		if r.name == name {
			return true
		}
	}
	return false
}
