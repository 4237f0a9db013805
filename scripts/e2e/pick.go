package e2e

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/cilium/ebpf/btf"
)

// ModuleInfo is what the choice of modules for the default-rules boots
// looks at (PickRich).
type ModuleInfo struct {
	Path    string
	Name    string
	Depends []string // module names from .modinfo depends=
	// Loadable is false for the modules unloadable() rules out.
	Loadable bool
	// BTFIDs: the module has a .BTF_ids section.
	BTFIDs bool
	// Funcs counts the module's own BTF FUNCs; StructFuncs those with a
	// struct or union parameter passed by value (typedefs and qualifiers
	// peeled). Only set when Scanned.
	Funcs, StructFuncs int
	Scanned            bool
}

// ScanModules reads the .modinfo and section headers of every file, and the
// BTF (split on base) of the loadable ones.
func ScanModules(files []string, base *btf.Spec) ([]ModuleInfo, error) {
	out := make([]ModuleInfo, 0, len(files))
	for _, p := range files {
		ko, err := readModule(p)
		if err != nil {
			return nil, err
		}
		info, err := modinfo(p, ko)
		if err != nil {
			return nil, err
		}
		m := ModuleInfo{Path: p, Name: info["name"]}
		if m.Name == "" {
			m.Name = moduleNameFromFile(p)
		}
		if d := info["depends"]; d != "" {
			m.Depends = strings.Split(d, ",")
		}
		m.Loadable = !unloadable(p, aliases(ko))
		f, err := elf.NewFile(bytes.NewReader(ko))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		m.BTFIDs = f.Section(".BTF_ids") != nil
		if m.Loadable {
			if err := countFuncs(&m, f, base); err != nil {
				return nil, err
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// countFuncs fills Funcs and StructFuncs from the module's .BTF.
func countFuncs(m *ModuleInfo, f *elf.File, base *btf.Spec) error {
	sec := f.Section(".BTF")
	if sec == nil {
		return nil
	}
	raw, err := sec.Data()
	if err != nil {
		return fmt.Errorf("%s: .BTF at offset %#x: %w", m.Path, sec.Offset, err)
	}
	spec, err := btf.LoadSplitSpecFromReader(bytes.NewReader(raw), base)
	if err != nil {
		return fmt.Errorf("%s: .BTF at offset %#x: %w", m.Path, sec.Offset, err)
	}
	for typ, err := range spec.All() {
		if err != nil {
			return fmt.Errorf("%s: module BTF: %w", m.Path, err)
		}
		fn, ok := typ.(*btf.Func)
		if !ok {
			continue
		}
		m.Funcs++
		if proto, ok := fn.Type.(*btf.FuncProto); ok && slices.ContainsFunc(proto.Params, byValueAggregate) {
			m.StructFuncs++
		}
	}
	m.Scanned = true
	return nil
}

func byValueAggregate(p btf.FuncParam) bool {
	switch btf.UnderlyingType(p.Type).(type) {
	case *btf.Struct, *btf.Union:
		return true
	}
	return false
}

// PickRich chooses n modules for the default-rules boots, deterministically,
// in three rounds over the loadable modules whose dependencies are loadable
// too:
//  1. every module with a .BTF_ids section (by path);
//  2. the nStruct modules with the most FUNCs that take a struct or union by
//     value (ties: more FUNCs, then path);
//  3. the modules with the most FUNCs (ties by path), until there are n.
//
// It returns the chosen modules and the modules to insmod, in dependency
// order: every dependency before the modules that need it, each once.
func PickRich(mods []ModuleInfo, n, nStruct int) (chosen, load []ModuleInfo, err error) {
	if n <= 0 {
		return nil, nil, fmt.Errorf("pick modules: n is %d, want > 0", n)
	}
	byName := map[string]int{}
	for i, m := range mods {
		if _, dup := byName[m.Name]; dup {
			return nil, nil, fmt.Errorf("pick modules: two files are module %s", m.Name)
		}
		byName[m.Name] = i
	}
	var cand []int
	for i, m := range mods {
		if m.Loadable && m.Scanned {
			cand = append(cand, i)
		}
	}
	byPath := func(a, b int) int { return strings.Compare(mods[a].Path, mods[b].Path) }
	byFuncs := func(a, b int) int {
		if c := mods[b].Funcs - mods[a].Funcs; c != 0 {
			return c
		}
		return byPath(a, b)
	}
	byStruct := func(a, b int) int {
		if c := mods[b].StructFuncs - mods[a].StructFuncs; c != 0 {
			return c
		}
		return byFuncs(a, b)
	}
	picked := map[int]bool{}
	placed := map[int]bool{}
	take := func(i int) bool {
		if picked[i] || len(chosen) == n {
			return false
		}
		order, err := depOrder(mods, byName, i)
		if err != nil {
			return false
		}
		picked[i] = true
		chosen = append(chosen, mods[i])
		for _, j := range order {
			if !placed[j] {
				placed[j] = true
				load = append(load, mods[j])
			}
		}
		return true
	}
	round := slices.Clone(cand)
	slices.SortFunc(round, byPath)
	for _, i := range round {
		if mods[i].BTFIDs {
			take(i)
		}
	}
	slices.SortFunc(round, byStruct)
	for k, i := 0, 0; k < nStruct && i < len(round) && mods[round[i]].StructFuncs > 0; i++ {
		if take(round[i]) {
			k++
		}
	}
	slices.SortFunc(round, byFuncs)
	for _, i := range round {
		take(i)
	}
	if len(chosen) < n {
		return nil, nil, fmt.Errorf("pick modules: %d of %d modules qualify, want %d", len(chosen), len(mods), n)
	}
	return chosen, load, nil
}

var errUnloadableDep = errors.New("a dependency cannot be loaded")

// depOrder returns module i and its dependencies, dependencies first
// (depth first, in depends= order).
func depOrder(mods []ModuleInfo, byName map[string]int, i int) ([]int, error) {
	var order []int
	state := map[int]int{} // 1 visiting, 2 done
	var visit func(j int) error
	visit = func(j int) error {
		switch state[j] {
		case 1:
			return fmt.Errorf("module %s: dependency loop", mods[j].Name)
		case 2:
			return nil
		}
		if !mods[j].Loadable {
			return errUnloadableDep
		}
		state[j] = 1
		for _, d := range mods[j].Depends {
			// depends= may spell a name with dashes (dm-mod); the
			// kernel knows the module as dm_mod.
			k, ok := byName[strings.ReplaceAll(d, "-", "_")]
			if !ok {
				return fmt.Errorf("module %s: dependency %s not found: %w", mods[j].Name, d, errUnloadableDep)
			}
			if err := visit(k); err != nil {
				return err
			}
		}
		state[j] = 2
		order = append(order, j)
		return nil
	}
	if err := visit(i); err != nil {
		return nil, err
	}
	return order, nil
}

// Sample returns n of names, deterministically: the names sorted and
// deduplicated, then every k-th from the first, k = len/n (all of them when
// there are at most n).
func Sample(names []string, n int) []string {
	s := slices.Clone(names)
	slices.Sort(s)
	s = slices.Compact(s)
	if n <= 0 {
		return nil
	}
	if len(s) <= n {
		return s
	}
	k := len(s) / n
	out := make([]string, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, s[i*k])
	}
	return out
}

// textFuncs returns the names of the function symbols of an ELF file that
// lie in its .text section (not .init.text, .noinstr.text and the like:
// code that is freed, or that ftrace never patches).
func textFuncs(path string) (map[string]bool, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		return nil, fmt.Errorf("%s: symbol table: %w", path, err)
	}
	out := map[string]bool{}
	for _, s := range syms {
		if elf.ST_TYPE(s.Info) != elf.STT_FUNC || int(s.Section) >= len(f.Sections) || s.Section == elf.SHN_UNDEF {
			continue
		}
		if f.Sections[s.Section].Name == ".text" {
			out[s.Name] = true
		}
	}
	return out, nil
}
