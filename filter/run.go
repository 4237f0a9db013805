package filter

import (
	"context"
	"fmt"
	"sync"

	"github.com/btffilter/btffilter/elfio"
	"github.com/btffilter/btffilter/filter/internal/btfids"
)

// Run processes every path and reports on each. Each file goes through the
// stages in order: load, judge, rewrite, verify, commit (docs/architecture.md).
// Base files (vmlinux, raw blobs) go first, then split files (modules)
// against their rewritten base, so a vmlinux and its modules given together
// stay consistent.
//
// Run returns an error only when the run cannot start (bad options, an
// unreadable --base-btf); a file that fails is reported with its error and
// left as it was. When ctx is done (an interrupt), files already being
// written are finished, no new file is started, and the files not reached
// are reported as such, untouched.
func Run(ctx context.Context, paths []string, opts Options) (*Report, error) {
	j, err := opts.check(len(paths))
	if err != nil {
		return nil, err
	}
	r := &runner{ctx: ctx, opts: &opts, judging: j, rep: &Report{Files: make([]*FileReport, len(paths))}}
	for i, p := range paths {
		r.rep.Files[i] = &FileReport{Path: p, Removed: []Removed{}, Protected: []Protected{}, Warnings: []string{}}
	}
	defer r.markUnreached()
	kinds := make([]elfio.Kind, len(paths))
	r.each(len(paths), func(i int) {
		k, err := elfio.Probe(paths[i])
		if err != nil {
			r.rep.Files[i].Error = elfio.WithPath(paths[i], err).Error()
		}
		kinds[i] = k
	})
	var bases, splits []int
	for i, k := range kinds {
		switch {
		case r.rep.Files[i].Error != "":
		case isSplit(k, opts.BaseBTF != ""):
			splits = append(splits, i)
		default:
			bases = append(bases, i)
		}
	}
	baseOut := make([]*Base, len(paths))
	r.each(len(bases), func(n int) {
		i := bases[n]
		baseOut[i] = r.process(paths[i], r.rep.Files[i], nil)
	})
	if len(splits) == 0 {
		return r.rep, nil
	}
	var base *Base
	switch {
	case len(bases) == 1:
		base = baseOut[bases[0]]
	case len(bases) > 1:
		for _, i := range splits {
			r.rep.Files[i].Error = fmt.Sprintf("%s: several base BTF files are in this run; give modules with one vmlinux", paths[i])
		}
		return r.rep, nil
	case opts.BaseBTF != "":
		if base, err = loadBase(opts.BaseBTF); err != nil {
			return nil, err
		}
	}
	r.each(len(splits), func(n int) {
		i := splits[n]
		fr := r.rep.Files[i]
		switch {
		case len(bases) == 0 && base == nil && kinds[i] != elfio.KindRelocatable:
			fr.Error = paths[i] + ": " + errNeedsBase.Error()
		case len(bases) > 0 && base == nil:
			fr.Error = fmt.Sprintf("%s: its base %s failed, so it was not rewritten", paths[i], paths[bases[0]])
		default:
			r.process(paths[i], fr, base)
		}
	})
	return r.rep, nil
}

// isSplit tells split BTF (modules, and raw blobs when --base-btf is given)
// from base BTF (vmlinux, raw blobs, other objects). A compressed
// relocatable object counts as a module until it is read (process).
func isSplit(k elfio.Kind, haveBase bool) bool {
	switch k {
	case elfio.KindModule, elfio.KindRelocatable:
		return true
	case elfio.KindRaw:
		return haveBase
	}
	return false
}

type runner struct {
	ctx     context.Context
	opts    *Options
	judging *judging
	rep     *Report
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

// loadBase reads the --base-btf file.
func loadBase(path string) (*Base, error) {
	f, err := elfio.Open(path)
	if err != nil {
		return nil, fmt.Errorf("base BTF: %w", err)
	}
	raw, err := f.BTF()
	if err != nil {
		return nil, fmt.Errorf("base BTF: %w", err)
	}
	b, err := NewBase(raw)
	if err != nil {
		return nil, fmt.Errorf("base BTF: %w", elfio.InSection(path, ".BTF", err))
	}
	b.name, b.release = path, f.KernelRelease()
	return b, nil
}

// process runs the stages on one file and records the outcome in fr. For
// a base file (base == nil) it returns the Base its split files are
// processed against, nil when it failed.
func (r *runner) process(path string, fr *FileReport, base *Base) *Base {
	r.mu.Lock()
	if r.reached == nil {
		r.reached = map[*FileReport]bool{}
	}
	r.reached[fr] = true
	r.mu.Unlock()
	b, err := r.processFile(path, fr, base)
	if err != nil {
		fr.Error = elfio.WithPath(path, err).Error()
		fr.Written = false
	}
	return b
}

// processFile is load, then judge, rewrite and verify (filterSpec), then
// commit.
func (r *runner) processFile(path string, fr *FileReport, base *Base) (*Base, error) {
	in, err := load(path, base, r.opts, r.judging)
	if err != nil {
		return nil, err
	}
	fr.Format, fr.Arch = in.format, in.file.Arch()
	fr.BytesBefore, fr.BytesAfter = len(in.raw), len(in.raw)
	fr.TypesBefore, fr.TypesAfter = len(in.spec.Types), len(in.spec.Types)
	o := BlobOptions{Judging: r.opts.Judging, Base: in.base, Object: in.file, DWARF: in.debug,
		PadTo: in.padTo, Workers: r.opts.Jobs, facts: in.facts}
	if in.ids != nil {
		o.ProtectedIDs = in.ids.IDs()
	}
	for _, ids := range []*btfids.Section{in.ids, in.debugIDs} {
		if ids == nil {
			continue
		}
		if o.ProtectedFuncs == nil {
			o.ProtectedFuncs = map[string]bool{}
		}
		for _, n := range ids.FuncNames() {
			o.ProtectedFuncs[n] = true
		}
	}
	// filterSpec owns the debug file and the facts now, and lets each go
	// once it is used; the raw blob was decoded and is not needed (an
	// unchanged file is not rewritten from it).
	in.debug, in.facts, in.raw = nil, nil, nil
	res, err := filterSpec(in.spec, nil, o, r.judging, in.noDWARF)
	if err != nil {
		return nil, err
	}
	fr.Warnings = append(fr.Warnings, res.Warnings...)
	fr.Protected = append(fr.Protected, res.Protected...)
	fr.Removed = append(fr.Removed, res.Removed...)
	fr.Merged = res.Merged
	var b *Base // what the run's split files extend, when this is their base
	if in.base == nil {
		b = newBase(path, in.release, in.spec, res)
	}
	if !res.Changed {
		fr.Written, err = commitUnchanged(in.file, r.opts)
		return b, err
	}
	fr.TypesAfter, fr.BytesAfter = res.TypesAfter, len(res.BTF)
	sections := map[string][]byte{".BTF": res.BTF}
	if in.ids != nil {
		out, err := remapBTFIDs(in.ids, res.IDMap)
		if err != nil {
			return nil, elfio.InSection(path, ".BTF_ids", err)
		}
		sections[".BTF_ids"] = out
	}
	warning, err := signaturePolicy(in.file, r.opts)
	if err != nil {
		return nil, err
	}
	if warning != "" {
		fr.Warnings = append(fr.Warnings, warning)
	}
	if r.opts.DryRun {
		return b, nil
	}
	if err := commit(in.file, sections, r.opts); err != nil {
		return nil, err
	}
	fr.Written = true
	return b, nil
}
