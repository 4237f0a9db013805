package filter

import (
	"debug/elf"
	"fmt"
	"sort"
	"strings"

	"github.com/btffilter/btffilter/elfio"
	"github.com/btffilter/btffilter/filter/btf"
	"github.com/btffilter/btffilter/filter/internal/abi"
	"github.com/btffilter/btffilter/filter/internal/dwarf"
	"github.com/btffilter/btffilter/filter/internal/rules"
)

// The judge stage: the rules (filter/internal/rules, docs/rules.md) over the
// BTF, the function symbols and the DWARF, which it scans here, decide which
// FUNCs go and why. It reads no file: what it needs came from the load stage
// or from the caller of Blob.

// judge decides which FUNCs of spec go. noDWARF says why o.DWARF is nil,
// for the warning (or the error, when a rule that needs DWARF was named
// explicitly). workers is the number of goroutines scanning the DWARF.
func judge(spec *btf.Spec, o *BlobOptions, j *judging, noDWARF error, workers int) (*rules.Decision, error) {
	in := rules.Input{Spec: spec, Drop: j.drop, Keep: j.keep, Rules: j.rules,
		BTFIDs: o.ProtectedIDs, BTFIDFuncs: o.ProtectedFuncs, Workers: workers}
	var warnings []string
	if len(j.rules.Names()) > 0 {
		var err error
		if warnings, err = judgeInputs(&in, o, j, noDWARF, workers); err != nil {
			return nil, err
		}
	}
	d, err := rules.Decide(in)
	if err != nil {
		return nil, err
	}
	d.Warnings = append(warnings, d.Warnings...)
	return d, nil
}

// judgeInputs fills what the judging rules read besides the BTF: the ELF
// function symbols, the architecture, the kernel version and the DWARF. It
// returns the warnings about what is missing.
func judgeInputs(in *rules.Input, o *BlobOptions, j *judging, noDWARF error, workers int) ([]string, error) {
	var warnings []string
	obj, dbg := o.Object, o.DWARF
	in.Symbols = o.facts.symbols
	release := o.facts.release
	// The architecture: the file's, else the debug file's, else --arch;
	// none of them may contradict another.
	arch, from := j.arch, "--arch"
	for _, f := range []*elfio.File{obj, dbg} {
		if f == nil || f.ELF == nil {
			continue
		}
		switch a := f.Arch(); {
		case arch == "":
			arch, from = a, f.Path
		case a != arch && from == "--arch" && f == obj:
			return nil, &contradiction{fmt.Errorf("--arch %s, but the file is %s", j.arch, a)}
		case a != arch && from == "--arch":
			return nil, &contradiction{fmt.Errorf("--arch %s, but the debug file %s is %s", j.arch, f.Path, a)}
		case a != arch:
			return nil, &contradiction{fmt.Errorf("the debug file %s is %s, but the file is %s", f.Path, a, arch)}
		}
	}
	in.Arch, _ = abi.ParseArch(arch)
	in.ArchName = arch
	var needDWARF, explicit []string
	for _, name := range in.Rules.Names() {
		if rules.NeedsDWARF(name) {
			needDWARF = append(needDWARF, name)
			if in.Rules.Explicit[name] {
				explicit = append(explicit, name)
			}
		}
	}
	if len(needDWARF) > 0 {
		if dbg == nil && noDWARF == nil {
			noDWARF = fmt.Errorf("no DWARF was given")
		}
		if dbg != nil && dbg != obj && release == "" {
			release = o.facts.debugRelease
		}
		if dbg != nil {
			var err error
			in.DWARF, err = dwarf.Scan(dbg.ELF, dbg.Data, dwarf.Options{
				Workers: workers, Want: rules.WantedDWARF(in.Spec), Evict: dbg.Evict})
			if err != nil {
				return nil, fmt.Errorf("DWARF of %s: %w", dbg.Path, err)
			}
		}
		switch {
		case in.DWARF != nil:
		case len(explicit) > 0:
			return nil, fmt.Errorf("rule(s) %s need DWARF: %w", strings.Join(explicit, ", "), noDWARF)
		default:
			warnings = append(warnings, rulesNotApplied(noDWARF, in.Rules))
		}
	}
	if release == "" {
		release = j.kernel
	}
	if release != "" {
		if v, err := abi.ParseVersion(release); err == nil {
			in.Version = v
		}
	}
	if in.Version.IsZero() && in.Rules.On[rules.RuleABI] && in.DWARF != nil && in.Arch != abi.UnknownArch {
		warnings = append(warnings, "kernel version unknown: the abi rule judges with every trampoline model of the architecture")
	}
	if in.DWARF == nil && len(in.Symbols) == 0 && len(in.Drop) == 0 {
		warnings = append(warnings, "nothing was judged: no DWARF and no function symbols (for a raw blob, give --debuginfo with the ELF it was made from)")
	}
	return warnings, nil
}

// objectFacts are what the judge reads of a blob's ELF files besides their
// DWARF, read once, together, so that the symbol tables they come from can
// go before the DWARF is scanned.
type objectFacts struct {
	release      string         // the object's kernel release ("" unknown)
	debugRelease string         // the separate debug file's
	symbols      []rules.Symbol // the function symbols the rules read
}

// readObjectFacts reads the facts of obj (nil for a raw blob) and dbg (the
// file its DWARF comes from, nil when there is none). Symbols are read only
// when a judging rule runs: the object's, or when it has none the debug
// file's.
func readObjectFacts(obj, dbg *elfio.File, j *judging) (*objectFacts, error) {
	f := &objectFacts{}
	if obj != nil {
		f.release = obj.KernelRelease()
	}
	if dbg != nil && dbg != obj {
		f.debugRelease = dbg.KernelRelease()
	}
	if !j.dedupOnly && len(j.rules.Names()) > 0 {
		var err error
		if f.symbols, err = functionSymbols(obj); err != nil {
			return nil, err
		}
		if len(f.symbols) == 0 && dbg != nil && dbg != obj {
			if f.symbols, err = functionSymbols(dbg); err != nil {
				return nil, err
			}
		}
	}
	return f, nil
}

// functionSymbols lists the defined STT_FUNC symbols of f (none for nil),
// sorted by name then address so that reasons are stable.
func functionSymbols(f *elfio.File) ([]rules.Symbol, error) {
	if f == nil {
		return nil, nil
	}
	syms, err := f.SymbolsWhere(func(info byte, sec elf.SectionIndex) bool {
		return elf.ST_TYPE(info) == elf.STT_FUNC && sec != elf.SHN_UNDEF && sec < elf.SHN_LORESERVE
	})
	if err != nil {
		return nil, err
	}
	var out []rules.Symbol
	for _, s := range syms {
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
