package filter

import (
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/btffilter/btffilter/elfio"
	"github.com/btffilter/btffilter/filter/internal/abi"
	"github.com/btffilter/btffilter/filter/internal/dwarf"
	"github.com/btffilter/btffilter/filter/internal/rules"
)

// judgeInputs fills what the judging rules read besides the BTF: the ELF
// function symbols, the architecture, the kernel version and the DWARF
// (the file's own, or separate debug information found through
// --debuginfo). A file without DWARF runs only the rules that need none,
// with a warning; when a rule that needs DWARF was named in --rules, that
// is an error instead. release is f's kernel release, "" when unknown.
func (r *runner) judgeInputs(f *elfio.File, release string, fr *FileReport, in *rules.Input) error {
	var needDWARF, explicit []string
	for _, name := range in.Rules.Names() {
		if rules.NeedsDWARF(name) {
			needDWARF = append(needDWARF, name)
			if in.Rules.Explicit[name] {
				explicit = append(explicit, name)
			}
		}
	}
	if len(in.Rules.Names()) == 0 {
		return nil
	}
	var err error
	if in.Symbols, err = functionSymbols(f); err != nil {
		return err
	}
	if f.ELF != nil {
		a, err := abi.ArchFromMachine(f.ELF.Machine, f.ELF.Class)
		switch {
		case err == nil && r.opts.arch != abi.UnknownArch && r.opts.arch != a:
			return fmt.Errorf("%s: --arch %s, but the file is %s", f.Path, r.opts.arch, a)
		case err == nil:
			in.Arch = a
		}
	} else {
		in.Arch = r.opts.arch
	}
	if len(needDWARF) > 0 {
		dbg, err := r.dwarfSource(f, release)
		if err == nil && dbg != f {
			if release == "" {
				release = kernelRelease(dbg)
			}
			if in.Arch == abi.UnknownArch && dbg.ELF != nil {
				in.Arch, _ = abi.ArchFromMachine(dbg.ELF.Machine, dbg.ELF.Class)
			}
			if len(in.Symbols) == 0 {
				if in.Symbols, err = functionSymbols(dbg); err != nil {
					return err
				}
			}
		}
		if err == nil {
			in.DWARF, err = dwarf.Scan(dbg.ELF, dbg.Data, dwarf.Options{Workers: r.opts.Jobs})
			if err != nil {
				return fmt.Errorf("%s: DWARF of %s: %w", f.Path, dbg.Path, err)
			}
		}
		switch {
		case err == nil:
		case len(explicit) > 0:
			return fmt.Errorf("%s: rule(s) %s need DWARF: %v", f.Path, strings.Join(explicit, ", "), err)
		default:
			fr.Warnings = append(fr.Warnings, fmt.Sprintf("%v: rules %s not applied", err, strings.Join(needDWARF, ", ")))
		}
	}
	if release == "" {
		release = r.opts.Kernel
	}
	if release != "" {
		if v, err := abi.ParseVersion(release); err == nil {
			in.Version = v
		}
	}
	if in.Version.IsZero() && in.Rules.On[rules.RuleABI] && in.DWARF != nil {
		fr.Warnings = append(fr.Warnings, "kernel version unknown: the abi rule judges with every trampoline model of the architecture")
	}
	return nil
}

// dwarfSource returns the file whose DWARF describes f: f itself when it
// has .debug_info, else the separate debug file --debuginfo leads to.
func (r *runner) dwarfSource(f *elfio.File, release string) (*elfio.File, error) {
	if hasDWARF(f) {
		return f, nil
	}
	if r.opts.DebugInfo == "" {
		return nil, fmt.Errorf("%s has no DWARF (.debug_info; give --debuginfo)", f.Path)
	}
	// The path under lib/modules/REL/ is the key into a debug tree: see
	// through symlinks to it.
	q := dwarf.DebugQuery{Path: f.Path, Release: release}
	if p, err := filepath.EvalSymlinks(f.Path); err == nil {
		q.Path = p
	}
	if f.ELF != nil {
		id, err := dwarf.BuildID(f.ELF)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Path, err)
		}
		q.BuildID = id
	}
	file, roots := r.opts.DebugInfo, []string(nil)
	if st, err := os.Stat(file); err == nil && st.IsDir() {
		file, roots = "", []string{r.opts.DebugInfo}
	}
	p, err := dwarf.FindDebugInfo(q, file, roots)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Path, err)
	}
	dbg, err := elfio.Open(p)
	if err != nil {
		return nil, err
	}
	if !hasDWARF(dbg) {
		return nil, fmt.Errorf("%s: debug file %s has no .debug_info", f.Path, p)
	}
	return dbg, nil
}

func hasDWARF(f *elfio.File) bool {
	if f.ELF == nil {
		return false
	}
	s := f.ELF.Section(".debug_info")
	return s != nil && s.Type != elf.SHT_NOBITS && s.Size > 0
}

// functionSymbols lists the defined STT_FUNC symbols of f, sorted by name
// then address so that reasons are stable.
func functionSymbols(f *elfio.File) ([]rules.Symbol, error) {
	syms, err := f.Symbols()
	if err != nil {
		return nil, err
	}
	var out []rules.Symbol
	for _, s := range syms {
		if elf.ST_TYPE(s.Info) != elf.STT_FUNC || s.Section == elf.SHN_UNDEF || s.Section >= elf.SHN_LORESERVE {
			continue
		}
		out = append(out, rules.Symbol{Name: s.Name, Section: int(s.Section), Value: s.Value})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Value < out[j].Value
	})
	return out, nil
}
