package rules

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"btffilter/filter/btf"
)

// Rule names, stable: scripts match on them.
const (
	RuleDrop = "drop"
)

// Verdict is one decision on one FUNC.
type Verdict struct {
	ID     btf.TypeID
	Name   string
	Rule   string
	Reason string
}

// Input is what the rules look at for one spec.
type Input struct {
	Spec *btf.Spec
	// Drop and Keep are shell globs (path.Match) over FUNC names.
	Drop, Keep []string
	// BTFIDs holds the type IDs that .BTF_ids slots hold; BTFIDFuncs the
	// names of its __BTF_ID__func__ symbols.
	BTFIDs     map[uint32]bool
	BTFIDFuncs map[string]bool
}

// Decision lists the FUNCs to remove and the ones a rule fired on but that
// are protected, both in ID order.
type Decision struct {
	Remove    []Verdict
	Protected []Verdict
}

// CheckGlobs reports the first malformed glob.
func CheckGlobs(globs []string) error {
	for _, g := range globs {
		if _, err := path.Match(g, ""); err != nil {
			return fmt.Errorf("bad glob %q: %w", g, err)
		}
	}
	return nil
}

func match(globs []string, name string) (string, bool) {
	for _, g := range globs {
		if ok, _ := path.Match(g, name); ok {
			return g, true
		}
	}
	return "", false
}

// Decide applies the rules to every FUNC of in.Spec (its own types, not its
// base's).
func Decide(in Input) (*Decision, error) {
	s := in.Spec
	first := s.FirstID()
	kfuncs := map[string]bool{}
	for i := range s.Types {
		t := &s.Types[i]
		if t.Kind() != btf.KindDeclTag || t.ComponentIdx() != -1 || s.Name(t) != "bpf_kfunc" {
			continue
		}
		if target, err := s.Type(btf.TypeID(t.SizeType)); err == nil && target != nil && target.Kind() == btf.KindFunc {
			kfuncs[s.Name(target)] = true
		}
	}
	protectedBy := func(id btf.TypeID, name string) string {
		twin := name + "_impl"
		if base, ok := strings.CutSuffix(name, "_impl"); ok {
			twin = base
		}
		switch {
		case in.BTFIDs[uint32(id)]:
			return "its type ID is held by .BTF_ids"
		case in.BTFIDFuncs[name]:
			return "named by a __BTF_ID__func__ symbol in .BTF_ids"
		case kfuncs[name]:
			return "tagged bpf_kfunc"
		case in.BTFIDFuncs[twin] || kfuncs[twin]:
			return "_impl twin of the kfunc " + twin
		}
		if g, ok := match(in.Keep, name); ok {
			return "matches --keep " + g
		}
		return ""
	}
	d := &Decision{}
	for i := range s.Types {
		t := &s.Types[i]
		if t.Kind() != btf.KindFunc {
			continue
		}
		id := first + btf.TypeID(i)
		name := s.Name(t)
		g, ok := match(in.Drop, name)
		if !ok {
			continue
		}
		v := Verdict{ID: id, Name: name, Rule: RuleDrop, Reason: "matches --drop " + g}
		if why := protectedBy(id, name); why != "" {
			v.Reason += "; kept: " + why
			d.Protected = append(d.Protected, v)
			continue
		}
		d.Remove = append(d.Remove, v)
	}
	sort.Slice(d.Remove, func(i, j int) bool { return d.Remove[i].ID < d.Remove[j].ID })
	return d, nil
}
