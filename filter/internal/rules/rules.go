package rules

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/btffilter/btffilter/filter/btf"
	"github.com/btffilter/btffilter/filter/internal/abi"
	"github.com/btffilter/btffilter/filter/internal/dwarf"
)

// Verdict is one decision on one FUNC.
type Verdict struct {
	ID     btf.TypeID
	Name   string
	Rule   string
	Reason string
}

// Symbol is an ELF function symbol (STT_FUNC). Section is the index of the
// section defining it: in a relocatable object Value is relative to it.
type Symbol struct {
	Name    string
	Section int
	Value   uint64
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
	// Rules are the judging rules to apply (drop runs whenever Drop is
	// set). Rules that need DWARF are skipped when DWARF is nil.
	Rules Set
	// DWARF of the file (nil when it has none); Symbols its ELF function
	// symbols (nil when unknown: the rules that need them do not fire).
	DWARF   *dwarf.Data
	Symbols []Symbol
	// Arch and Version select the calling convention and the trampoline
	// model of the abi rule; a zero Version judges with every model of
	// Arch (the strictest).
	Arch    abi.Arch
	Version abi.Version
	// ArchName names the architecture in messages, "" when unknown.
	ArchName string
	// Workers is how many FUNCs are judged at once (at least 1); the
	// decision is the same for any number.
	Workers int
}

// Decision lists the FUNCs to remove and the ones a rule fired on but that
// are protected, both in ID order, and what the rules could not judge.
type Decision struct {
	Remove    []Verdict
	Protected []Verdict
	// Warnings are sentences about the run as a whole, such as how many
	// FUNCs a rule could not judge and why.
	Warnings []string
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

// rule is one judging rule: its stable name and its condition, which
// returns the reason when it fires. Each lives in its own file.
type rule struct {
	name       string
	needsDWARF bool
	check      func(c *judge, s *subject) (reason string, fired bool)
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
	var active []*rule
	for _, r := range judgeRules {
		if in.Rules.On[r.name] && (!r.needsDWARF || in.DWARF != nil) {
			active = append(active, r)
		}
	}
	var funcs []int // indexes in s.Types
	for i := range s.Types {
		if s.Types[i].Kind() == btf.KindFunc {
			funcs = append(funcs, i)
		}
	}
	verdict := func(c *judge, i int) (v Verdict, protected bool) {
		t := &s.Types[i]
		id := first + btf.TypeID(i)
		name := s.Name(t)
		if g, ok := match(in.Drop, name); ok {
			v = Verdict{ID: id, Name: name, Rule: RuleDrop, Reason: "matches --drop " + g}
		} else if len(active) > 0 {
			sub := c.subject(id, name, t)
			for _, r := range active {
				if reason, fired := r.check(c, sub); fired {
					v = Verdict{ID: id, Name: name, Rule: r.name, Reason: reason}
					break
				}
			}
		}
		if v.Rule != "" {
			if why := protectedBy(id, name); why != "" {
				v.Reason += "; kept: " + why
				return v, true
			}
		}
		return v, false
	}
	c := newJudge(in)
	blocks := judgeBlocks(c, len(funcs), max(in.Workers, 1), func(c *judge, k int, b *block) {
		v, protected := verdict(c, funcs[k])
		switch {
		case v.Rule == "":
		case protected:
			b.protected = append(b.protected, v)
		default:
			b.remove = append(b.remove, v)
		}
	})
	d := &Decision{}
	for _, b := range blocks {
		d.Remove = append(d.Remove, b.remove...)
		d.Protected = append(d.Protected, b.protected...)
	}
	d.Warnings = c.warnings()
	sort.Slice(d.Remove, func(i, j int) bool { return d.Remove[i].ID < d.Remove[j].ID })
	return d, nil
}

// WantedDWARF says which DWARF subprograms Decide reads for spec: those
// named like one of spec's own FUNCs (the others match nothing). It is the
// scanner's dwarf.Options.Want.
func WantedDWARF(s *btf.Spec) func(name string) bool {
	names := map[string]struct{}{}
	for i := range s.Types {
		if t := &s.Types[i]; t.Kind() == btf.KindFunc {
			names[s.Name(t)] = struct{}{}
		}
	}
	return func(name string) bool {
		_, ok := names[name]
		return ok
	}
}
