package filter

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/btffilter/btffilter/elfio"
	"github.com/btffilter/btffilter/filter/btf"
	"github.com/btffilter/btffilter/filter/internal/btfids"
	"github.com/btffilter/btffilter/filter/internal/check"
	"github.com/btffilter/btffilter/filter/internal/dedup"
	"github.com/btffilter/btffilter/filter/internal/rules"
)

// Run processes every path and reports on each. It returns an error only when
// the run cannot start (bad options, an unreadable --base-btf); a file that
// fails is reported with its error and left as it was. When ctx is done
// (an interrupt), files already being written are finished, no new file is
// started, and the files not reached are reported as such, untouched.
func Run(ctx context.Context, paths []string, opts Options) (*Report, error) {
	if err := opts.check(len(paths)); err != nil {
		return nil, err
	}
	r := &runner{ctx: ctx, opts: opts, rep: &Report{Files: make([]*FileReport, len(paths))}}
	for i, p := range paths {
		r.rep.Files[i] = &FileReport{Path: p, Removed: []Removed{}, Protected: []Protected{}, Warnings: []string{}}
	}
	defer r.markUnreached()
	kinds := make([]inputKind, len(paths))
	r.each(len(paths), func(i int) {
		k, err := classify(paths[i], opts.BaseBTF != "")
		if err != nil {
			r.rep.Files[i].Error = err.Error()
		}
		kinds[i] = k
	})
	var bases, splits []int
	for i, k := range kinds {
		switch {
		case r.rep.Files[i].Error != "":
		case k == kindSplit:
			splits = append(splits, i)
		default:
			bases = append(bases, i)
		}
	}
	baseOut := make([]*baseState, len(paths))
	r.each(len(bases), func(n int) {
		i := bases[n]
		baseOut[i] = r.process(paths[i], r.rep.Files[i], nil)
	})
	if len(splits) == 0 {
		return r.rep, nil
	}
	var base *baseState
	switch {
	case len(bases) == 1:
		base = baseOut[bases[0]]
	case len(bases) > 1:
		for _, i := range splits {
			r.rep.Files[i].Error = fmt.Sprintf("%s: several base BTF files are in this run; give modules with one vmlinux", paths[i])
		}
		return r.rep, nil
	case opts.BaseBTF != "":
		var err error
		if base, err = loadBase(opts.BaseBTF); err != nil {
			return nil, err
		}
	}
	r.each(len(splits), func(n int) {
		i := splits[n]
		fr := r.rep.Files[i]
		switch {
		case len(bases) == 0 && base == nil:
			fr.Error = paths[i] + ": module BTF needs its base: give -B/--base-btf or the vmlinux in the same run"
		case base == nil:
			fr.Error = fmt.Sprintf("%s: its base %s failed, so it was not rewritten", paths[i], paths[bases[0]])
		default:
			r.process(paths[i], fr, base)
		}
	})
	return r.rep, nil
}

type runner struct {
	ctx  context.Context
	opts Options
	rep  *Report
	// reached marks the files process was called on.
	mu      sync.Mutex
	reached map[*FileReport]bool
}

// each calls fn(0..n-1) on at most opts.Jobs goroutines, and stops handing
// out indexes once the run's context is done.
func (r *runner) each(n int, fn func(int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(r.opts.Jobs, n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := 0; i < n && r.ctx.Err() == nil; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}

// markUnreached reports the files an interrupt kept the run from.
func (r *runner) markUnreached() {
	if r.ctx.Err() == nil {
		return
	}
	for _, fr := range r.rep.Files {
		if fr.Error == "" && !r.reached[fr] {
			fr.Error = fr.Path + ": interrupted before it was processed; left as it was"
		}
	}
}

type inputKind int

const (
	kindBase inputKind = iota
	kindSplit
)

// classify tells base BTF (vmlinux, raw blobs) from split BTF (modules, and
// raw blobs when --base-btf is given). An uncompressed ELF is classified from
// its headers alone: a vmlinux is too big to read twice.
func classify(path string, haveBase bool) (inputKind, error) {
	if ef, err := elf.Open(path); err == nil {
		defer ef.Close()
		if isModuleELF(ef) {
			return kindSplit, nil
		}
		return kindBase, nil
	}
	f, err := elfio.Open(path)
	if err != nil {
		return 0, err
	}
	if f.Format == elfio.FormatRaw {
		if haveBase {
			return kindSplit, nil
		}
		return kindBase, nil
	}
	if isModule(f) {
		return kindSplit, nil
	}
	return kindBase, nil
}

func isModule(f *elfio.File) bool { return f.ELF != nil && isModuleELF(f.ELF) }

// isModuleELF: a kernel module is a relocatable object with module info.
func isModuleELF(ef *elf.File) bool {
	return ef.Type == elf.ET_REL && (ef.Section(".modinfo") != nil || ef.Section(".gnu.linkonce.this_module") != nil)
}

// baseState is a base file before and after its rewrite, for the split
// files of the run.
type baseState struct {
	path    string
	release string // kernel release, "" when unknown
	old     *btf.Spec
	// When the base changed: the new spec, its ID map and its string index.
	new     *btf.Spec
	idMap   *btf.IDMap
	newRaw  []byte

	once    sync.Once
	checked *check.Base
	err     error

	dedupOnce sync.Once
	dedup     *dedup.Base
	dedupErr  error
}

// dedupBase returns the base prepared for deduplicating split files: the
// new base when it changed, else the old one.
func (b *baseState) dedupBase() (*dedup.Base, error) {
	b.dedupOnce.Do(func() {
		s := b.new
		if s == nil {
			s = b.old
		}
		b.dedup, b.dedupErr = dedup.NewBase(s)
	})
	return b.dedup, b.dedupErr
}

// checker returns the checked form of the base split outputs are verified
// against: the new base when it changed, else the old one.
func (b *baseState) checker() (*check.Base, error) {
	b.once.Do(func() {
		raw := b.newRaw
		if raw == nil {
			raw = b.old.Encode()
		}
		b.checked, b.err = check.Blob(raw)
		if b.err != nil {
			b.err = fmt.Errorf("base %s: %w", b.path, b.err)
		}
	})
	return b.checked, b.err
}

func loadBase(path string) (*baseState, error) {
	f, err := elfio.Open(path)
	if err != nil {
		return nil, fmt.Errorf("base BTF: %w", err)
	}
	raw, err := f.BTF()
	if err != nil {
		return nil, fmt.Errorf("base BTF: %w", err)
	}
	s, err := btf.Decode(raw, nil)
	if err != nil {
		return nil, fmt.Errorf("base BTF %s: %w", path, err)
	}
	return &baseState{path: path, release: kernelRelease(f), old: s}, nil
}

// process runs the pipeline on one file. For base files (base == nil) it
// returns the state split files need; it never returns nil for them.
func (r *runner) process(path string, fr *FileReport, base *baseState) *baseState {
	r.mu.Lock()
	if r.reached == nil {
		r.reached = map[*FileReport]bool{}
	}
	r.reached[fr] = true
	r.mu.Unlock()
	st, err := r.processFile(path, fr, base)
	if err != nil {
		fr.Error = err.Error()
		fr.Written = false
	}
	return st
}

func (r *runner) processFile(path string, fr *FileReport, base *baseState) (*baseState, error) {
	f, err := elfio.Open(path)
	if err != nil {
		return nil, err
	}
	fr.Arch = archName(f)
	release := kernelRelease(f)
	raw, err := f.BTF()
	if err != nil {
		return nil, err
	}
	fr.BytesBefore, fr.BytesAfter = len(raw), len(raw)
	switch {
	case f.Format == elfio.FormatRaw:
		fr.Format = "raw"
	case base != nil:
		fr.Format = "module"
	default:
		fr.Format = "vmlinux"
	}
	var oldBase *btf.Spec
	distilled := false
	if base != nil {
		oldBase = base.old
		if f.Section(".BTF.base") != nil {
			// A distilled base travels with the module and is relocated
			// by name at load: the module is judged against it alone.
			db, err := f.SectionData(".BTF.base")
			if err != nil {
				return nil, err
			}
			if oldBase, err = btf.Decode(db, nil); err != nil {
				return nil, fmt.Errorf("%s: .BTF.base: %w", path, err)
			}
			distilled = true
		}
	}
	if base != nil && !distilled {
		if release != "" && base.release != "" && release != base.release {
			return nil, fmt.Errorf("%s: module is for kernel %s but the base %s is kernel %s", path, release, base.path, base.release)
		}
	}
	spec, err := btf.Decode(raw, oldBase)
	if err != nil {
		return nil, fmt.Errorf("%s: .BTF: %w", path, err)
	}
	if base != nil {
		if err := spec.CheckBaseFit(); err != nil {
			expects := "built against another kernel?"
			if release != "" {
				expects = "the module is for kernel " + release
			}
			return nil, fmt.Errorf("%s: module BTF does not fit the base %s (%s): %w", path, base.path, expects, err)
		}
	}
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("%s: .BTF is invalid: %w", path, err)
	}
	fr.TypesBefore, fr.TypesAfter = len(spec.Types), len(spec.Types)
	ids, err := readBTFIDs(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	in := rules.Input{Spec: spec, Drop: r.opts.Drop, Keep: r.opts.Keep, Rules: r.opts.rules}
	if ids != nil {
		in.BTFIDs = ids.IDs()
		in.BTFIDFuncs = map[string]bool{}
		for _, n := range ids.FuncNames() {
			in.BTFIDFuncs[n] = true
		}
	}
	// The judging rules' inputs: symbols, architecture, kernel version and
	// DWARF (judge.go).
	d := &rules.Decision{}
	if !r.opts.DedupOnly {
		if err := r.judgeInputs(f, release, fr, &in); err != nil {
			return nil, err
		}
		if d, err = rules.Decide(in); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	in.DWARF = nil // the largest structures of the run: let them go
	fr.Warnings = append(fr.Warnings, d.Warnings...)
	for _, v := range d.Protected {
		fr.Protected = append(fr.Protected, Protected{Name: v.Name, Rule: v.Rule, Reason: v.Reason})
		fr.Warnings = append(fr.Warnings, fmt.Sprintf("%s: rule %s fired but the function is protected (%s)", v.Name, v.Rule, v.Reason))
	}
	rebase := base != nil && !distilled && base.new != nil
	st := &baseState{path: path, release: release, old: spec}
	if len(d.Remove) == 0 && !rebase && !r.opts.DedupOnly {
		return st, r.writeUnchanged(f, fr)
	}
	referenced := map[btf.TypeID]bool{}
	for id := range in.BTFIDs {
		referenced[btf.TypeID(id)] = true
	}
	var baseMap *btf.IDMap
	if rebase {
		baseMap = base.idMap
	}
	var remove []btf.TypeID
	for _, v := range d.Remove {
		remove = append(remove, v.ID)
		fr.Removed = append(fr.Removed, Removed{Name: v.Name, BTFID: uint32(v.ID), Rule: v.Rule, Reason: v.Reason})
	}
	// Removal, then deduplication of what is left (split files against
	// their, possibly new, base), as one map from old IDs to final ones.
	var dbase *dedup.Base
	if base != nil && !distilled {
		if dbase, err = base.dedupBase(); err != nil {
			return nil, fmt.Errorf("%s: base %s: %w", path, base.path, err)
		}
	}
	res, err := rewriteTypes(spec, remove, referenced, dbase, baseMap)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	fr.Merged = res.merged
	if len(remove) == 0 && !rebase && res.merged == 0 {
		return st, r.writeUnchanged(f, fr)
	}
	newSpec := res.spec
	if sec := f.Section(".BTF"); sec != nil && sec.Flags&elf.SHF_ALLOC != 0 {
		// The kernel reads vmlinux BTF between linker symbols fixed at
		// link time: keep the exact size, padding the string section.
		n := newSpec.EncodedLen()
		if n > len(raw) {
			return nil, fmt.Errorf("%s: rewritten .BTF (%d bytes) is larger than the allocated section (%d bytes)", path, n, len(raw))
		}
		newSpec.Strings = append(newSpec.Strings, make([]byte, len(raw)-n)...)
	}
	newRaw := newSpec.Encode()
	if base == nil {
		cb, err := check.Blob(newRaw)
		if err != nil {
			return nil, fmt.Errorf("%s: output check failed: %w", path, err)
		}
		st.new, st.idMap, st.newRaw = newSpec, res.idMap, newRaw
		st.checked = cb
		st.once.Do(func() {})
	} else {
		var cb *check.Base
		if distilled {
			cb, err = check.Blob(newSpec.Base.Encode())
		} else {
			cb, err = base.checker()
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if _, err := check.Split(newRaw, cb); err != nil {
			return nil, fmt.Errorf("%s: output check failed: %w", path, err)
		}
	}
	fr.TypesAfter, fr.BytesAfter = len(newSpec.Types), len(newRaw)
	sections := map[string][]byte{".BTF": newRaw}
	if ids != nil {
		out, err := ids.Remap(func(old uint32) (uint32, bool) {
			n, ok := res.idMap.Lookup(btf.TypeID(old))
			return uint32(n), ok
		})
		if err != nil {
			return nil, fmt.Errorf("%s: .BTF_ids: %w", path, err)
		}
		sections[".BTF_ids"] = out
	}
	switch {
	case f.Signature != nil && r.opts.DryRun && !r.opts.StripSignature:
		fr.Warnings = append(fr.Warnings, "module is signed: rewriting it needs --strip-signature")
	case f.Signature != nil && !r.opts.StripSignature:
		return nil, fmt.Errorf("%s: module is signed and rewriting it would break the signature (use --strip-signature to drop it)", path)
	case f.Signature != nil:
		fr.Warnings = append(fr.Warnings, "module signature stripped")
	}
	if r.opts.DryRun {
		return st, nil
	}
	image, err := f.RewriteInPlace(sections)
	if err != nil {
		return nil, err
	}
	if err := checkImage(f, image, sections); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out, err := f.Encode(image)
	if err != nil {
		return nil, err
	}
	if err := f.CheckUnchanged(); err != nil {
		return nil, err
	}
	if err := r.write(path, out); err != nil {
		return nil, err
	}
	fr.Written = true
	return st, nil
}

// writeUnchanged handles a file nothing changes: it is not rewritten, but
// -o still receives a copy.
func (r *runner) writeUnchanged(f *elfio.File, fr *FileReport) error {
	if r.opts.Output == "" || r.opts.DryRun {
		return nil
	}
	data, err := os.ReadFile(f.Path)
	if err != nil {
		return err
	}
	if err := r.write(f.Path, data); err != nil {
		return err
	}
	fr.Written = true
	return nil
}

func (r *runner) write(path string, data []byte) error {
	if r.opts.Output != "" {
		return elfio.WriteAtomic(r.opts.Output, data)
	}
	// Root may write anything; a file without write permission is still
	// a file its owner meant to keep as it is.
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o222 == 0 {
		return fmt.Errorf("%s: file is read-only", path)
	}
	return elfio.WriteAtomic(path, data)
}

// checkImage re-reads the rewritten image and compares the replaced
// sections with what was meant to be written.
func checkImage(f *elfio.File, image []byte, sections map[string][]byte) error {
	if f.Format == elfio.FormatRaw {
		if !bytes.Equal(image, sections[".BTF"]) {
			return errors.New("rewritten raw BTF differs from the encoded blob")
		}
		return nil
	}
	ef, err := elf.NewFile(bytes.NewReader(image))
	if err != nil {
		return fmt.Errorf("rewritten ELF does not parse: %w", err)
	}
	for name, want := range sections {
		sec := ef.Section(name)
		if sec == nil {
			return fmt.Errorf("rewritten ELF lost section %s", name)
		}
		got, err := sec.Data()
		if err != nil || !bytes.Equal(got, want) {
			return fmt.Errorf("rewritten ELF section %s does not read back", name)
		}
	}
	return nil
}

// readBTFIDs parses the .BTF_ids section of an ELF file; nil when it has none.
func readBTFIDs(f *elfio.File) (*btfids.Section, error) {
	sec := f.Section(".BTF_ids")
	if sec == nil || sec.Type == elf.SHT_NOBITS {
		return nil, nil
	}
	data, err := f.SectionData(".BTF_ids")
	if err != nil {
		return nil, err
	}
	syms, err := f.Symbols()
	if err != nil {
		return nil, err
	}
	idx := -1
	for i, s := range f.ELF.Sections {
		if s == sec {
			idx = i
		}
	}
	var in []btfids.Symbol
	for _, s := range syms {
		if int(s.Section) != idx || elf.ST_TYPE(s.Info) == elf.STT_SECTION {
			continue
		}
		off := s.Value
		if f.ELF.Type != elf.ET_REL {
			off -= sec.Addr
		}
		in = append(in, btfids.Symbol{Name: s.Name, Offset: off})
	}
	ids, err := btfids.Parse(data, f.ByteOrder(), in)
	if err != nil {
		return nil, fmt.Errorf(".BTF_ids: %w", err)
	}
	return ids, nil
}

func archName(f *elfio.File) string {
	if f.ELF == nil {
		return ""
	}
	switch f.ELF.Machine {
	case elf.EM_X86_64:
		return "x86_64"
	case elf.EM_AARCH64:
		return "arm64"
	case elf.EM_RISCV:
		return "riscv64"
	case elf.EM_S390:
		return "s390x"
	case elf.EM_386:
		return "i386"
	case elf.EM_ARM:
		return "arm"
	case elf.EM_PPC64:
		return "ppc64"
	case elf.EM_BPF:
		return "bpf"
	}
	return f.ELF.Machine.String()
}
