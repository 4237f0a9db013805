package filter

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/btffilter/btffilter/elfio"
	"github.com/btffilter/btffilter/filter/btf"
	"github.com/btffilter/btffilter/filter/internal/btfids"
	"github.com/btffilter/btffilter/filter/internal/dwarf"
	"github.com/btffilter/btffilter/filter/internal/gcpace"
	"github.com/btffilter/btffilter/filter/internal/rules"
)

// The load stage: everything the later stages read of one file, each read
// once: the container (elfio), its BTF decoded on the right base and checked
// to fit it, its .BTF_ids, its kernel release, and the file whose DWARF
// describes it. Nothing after this stage opens a file for reading.

// loaded is one file, read.
type loaded struct {
	file    *elfio.File
	format  string // "vmlinux", "module" or "raw"
	release string // the kernel release, "" when the file does not say
	raw     []byte // the .BTF blob as stored
	spec    *btf.Spec
	// base is what spec extends: the run's base, the running kernel's
	// BTF, or the module's own distilled base (.BTF.base); nil for base
	// BTF. baseNote says in the report which base was used for what.
	base     *Base
	baseNote string
	ids      *btfids.Section // nil when the file has no .BTF_ids
	// debugIDs is the .BTF_ids of a raw blob's debug file: the ELF the
	// blob was made from (a kernel build's detached BTF, before
	// resolve_btfids), whose BTF_ID names protect its FUNCs too.
	debugIDs *btfids.Section
	// facts are what the judge reads of the file and its debug file
	// besides DWARF: read here, with the other questions the symbol table
	// answers, so that the table can go before the DWARF is scanned.
	facts *objectFacts
	// padTo is the exact size a rewritten .BTF must have (a vmlinux's
	// SHF_ALLOC .BTF, fixed at link time); 0 when it may change.
	padTo int
	// debug is the file whose DWARF describes the BTF (file itself, or a
	// separate debug file), when a rule that needs DWARF runs; noDWARF
	// says why there is none.
	debug   *elfio.File
	noDWARF error
	// warnings are what the load found worth saying (debug files passed
	// over).
	warnings []string
	// validate is spec's validation when it is left to the rewrite
	// stage (see load), nil when spec is validated.
	validate func() error
}

// load reads the file at path. base is the run's base for split files, nil
// for base files; running, when a module comes with no base at all, gives
// the running kernel's BTF if the module is for the running kernel.
func load(path string, base *Base, running func(release string) *Base, opts *Options, j *judging) (_ *loaded, err error) {
	f, err := elfio.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	raw, err := f.BTF()
	if err != nil {
		return nil, err
	}
	in := &loaded{file: f, raw: raw, release: f.KernelRelease(), format: "vmlinux"}
	distilled := f.Section(".BTF.base") != nil
	switch {
	case base != nil && f.Format == elfio.FormatELF && !f.IsModule():
		// A compressed relocatable object that is no module (Probe
		// could not tell): base BTF of its own, which no file of the
		// run extends.
		base = nil
	case base == nil && f.IsModule() && !distilled:
		if base = running(in.release); base == nil {
			return nil, errNeedsBase
		}
	}
	switch {
	case f.Format == elfio.FormatRaw:
		in.format = "raw"
	case base != nil || distilled:
		in.format = "module"
	}
	if base != nil || distilled {
		if in.base, err = moduleBase(in, base); err != nil {
			return nil, err
		}
		in.baseNote = describeBases(in.base, base)
	}
	// The spec holds copies: the blob's pages of a mapped file are not
	// read again, and go before the spec is validated. A run that only
	// deduplicates base BTF validates it beside the deduplication's first
	// pass, which only reads it (dedup.Options.Beside): the validation's
	// error is the file's then.
	later := j.dedupOnly && in.base == nil
	if in.spec, in.validate, err = decodeOn(raw, in.base, func() { f.Evict(raw) }, later); err != nil {
		var misfit *baseFitError
		if errors.As(err, &misfit) {
			expects := "built against another kernel?"
			if in.release != "" {
				expects = "the module is for kernel " + in.release
			}
			return nil, &contradiction{fmt.Errorf("module BTF does not fit the base %s (%s): %w", in.base.describe(), expects, misfit.err)}
		}
		return nil, elfio.InSection(path, ".BTF", err)
	}
	if in.ids, err = readBTFIDs(f); err != nil {
		return nil, err
	}
	if v := in.validate; v != nil {
		in.validate = func() error {
			if err := v(); err != nil {
				return elfio.InSection(path, ".BTF", err)
			}
			return nil
		}
	}
	if sec := f.Section(".BTF"); sec != nil && sec.Flags&elf.SHF_ALLOC != 0 {
		in.padTo = len(raw)
	}
	if !j.dedupOnly && needsDWARF(j.rules) {
		in.debug, in.warnings, in.noDWARF = findDWARF(f, in.release, opts.DebugInfo)
	}
	if f.Format == elfio.FormatRaw && in.debug != nil {
		if in.debugIDs, err = readBTFIDs(in.debug); err != nil {
			return nil, err
		}
	}
	if in.facts, err = readObjectFacts(f, in.debug, j); err != nil {
		return nil, err
	}
	f.ReleaseSymbols()
	return in, nil
}

// errNeedsBase is the error of a module given without its base.
var errNeedsBase = errors.New("module BTF needs its base: give -B/--base-btf or the vmlinux in the same run")

// baseFitError is a split blob that decodes but does not fit its base.
type baseFitError struct{ err error }

func (e *baseFitError) Error() string { return e.err.Error() }
func (e *baseFitError) Unwrap() error { return e.err }

// pauseGC is the size of a blob from which its decoding and validation run
// with the garbage collector off (gcpace.Pause): the decoding allocates
// only the spec it returns, about twice the blob, and the validation little
// besides, so a collection meanwhile finds nothing to free; for a vmlinux's
// BTF (4 MB and more) those collections cost about as much as the decoding
// itself. A module's BTF is decoded as it comes, beside the other workers.
const pauseGC = 1 << 20

// decodeOn decodes raw, split on base when base is not nil, checks that it
// fits the base (CheckBaseFit: a *baseFitError) and validates it. decoded,
// when not nil, is called once raw is decoded and no longer read. With
// later, base BTF is not validated but returned with its validation, which
// reads a copy of the spec's header (so that an in-place rewrite may take
// the spec's slices meanwhile) and only reads the types and strings.
func decodeOn(raw []byte, base *Base, decoded func(), later bool) (*btf.Spec, func() error, error) {
	var old *btf.Spec
	if base != nil {
		old = base.old
	}
	if len(raw) >= pauseGC {
		defer gcpace.Pause()()
	}
	spec, err := btf.Decode(raw, old)
	if decoded != nil {
		decoded()
	}
	if err != nil {
		return nil, nil, err
	}
	if base != nil {
		if err := spec.CheckBaseFit(); err != nil {
			return nil, nil, &baseFitError{err}
		}
	} else if later {
		v := *spec
		return spec, v.Validate, nil
	}
	if err := spec.Validate(); err != nil {
		return nil, nil, err
	}
	return spec, nil, nil
}

// describeBases says which base a module's BTF was judged and written
// against (used), and what the given base (the run's, -B, the running
// kernel's) was for, for the report.
func describeBases(used, given *Base) string {
	switch {
	case given == nil:
		return "its own distilled base (.BTF.base)"
	case used != given:
		return "its own distilled base (.BTF.base); " + given.describe() + " is the kernel it relocates onto"
	}
	return given.describe()
}

// moduleBase returns the base a module's BTF extends: its distilled base
// when it carries one (.BTF.base, relocated by name at load time, so the
// module is judged against it alone), else base (the run's, -B, or the
// running kernel's), which must be the kernel the module was built for.
func moduleBase(in *loaded, base *Base) (*Base, error) {
	f := in.file
	if f.Section(".BTF.base") != nil {
		raw, err := f.SectionData(".BTF.base")
		if err != nil {
			return nil, err
		}
		b, err := NewBase(raw)
		if err != nil {
			return nil, elfio.InSection(f.Path, ".BTF.base", err)
		}
		b.name = f.Path + " (.BTF.base)"
		return b, nil
	}
	if in.release != "" && base.release != "" && in.release != base.release {
		return nil, &contradiction{fmt.Errorf("module is for kernel %s but the base %s is kernel %s", in.release, base.describe(), base.release)}
	}
	return base, nil
}

// readBTFIDs parses the .BTF_ids section of an ELF file; nil when it has
// none.
func readBTFIDs(f *elfio.File) (*btfids.Section, error) {
	sec := f.Section(".BTF_ids")
	if sec == nil || sec.Type == elf.SHT_NOBITS {
		return nil, nil
	}
	data, err := f.SectionData(".BTF_ids")
	if err != nil {
		return nil, err
	}
	located, err := f.SectionSymbols(".BTF_ids")
	if err != nil {
		return nil, err
	}
	syms := make([]btfids.Symbol, len(located))
	for i, s := range located {
		syms[i] = btfids.Symbol{Name: s.Name, Offset: s.Offset}
	}
	ids, err := btfids.Parse(data, f.ByteOrder(), syms)
	if err != nil {
		return nil, elfio.InSection(f.Path, ".BTF_ids", err)
	}
	return ids, nil
}

// needsDWARF reports whether any judging rule of set reads DWARF.
func needsDWARF(set rules.Set) bool {
	for _, name := range set.Names() {
		if rules.NeedsDWARF(name) {
			return true
		}
	}
	return false
}

// findDWARF returns the file whose DWARF describes f: f itself when it has
// .debug_info, else the separate debug file debugInfo (a file, or a root
// searched by build-id and module path) leads to, with warnings about the
// candidates passed over. The error says why there is none; it does not
// name f, which the caller does once.
func findDWARF(f *elfio.File, release, debugInfo string) (*elfio.File, []string, error) {
	if hasDWARF(f) {
		return f, nil, nil
	}
	if debugInfo == "" {
		return nil, nil, errors.New("no DWARF (.debug_info; give --debuginfo)")
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
			return nil, nil, err
		}
		q.BuildID = id
	}
	file, roots := debugInfo, []string(nil)
	if st, err := os.Stat(file); err == nil && st.IsDir() {
		file, roots = "", []string{debugInfo}
	}
	p, warnings, err := dwarf.FindDebugInfo(q, file, roots)
	if err != nil {
		return nil, warnings, err
	}
	dbg, err := elfio.Open(p)
	if err != nil {
		return nil, warnings, err
	}
	if !hasDWARF(dbg) {
		dbg.Close()
		return nil, warnings, fmt.Errorf("debug file %s has no .debug_info", p)
	}
	return dbg, warnings, nil
}

func hasDWARF(f *elfio.File) bool {
	if f.ELF == nil {
		return false
	}
	s := f.ELF.Section(".debug_info")
	return s != nil && s.Type != elf.SHT_NOBITS && s.Size > 0
}

// rulesNotApplied is the warning for a file whose DWARF rules are skipped.
func rulesNotApplied(why error, set rules.Set) string {
	var names []string
	for _, n := range set.Names() {
		if rules.NeedsDWARF(n) {
			names = append(names, n)
		}
	}
	return fmt.Sprintf("%v: rules %s not applied", why, strings.Join(names, ", "))
}
