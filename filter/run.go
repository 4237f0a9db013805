package filter

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"github.com/btffilter/btffilter/elfio"
	"github.com/btffilter/btffilter/filter/btf"
	"github.com/btffilter/btffilter/filter/internal/btfids"
)

// Run processes every path (files, and directories walked for modules) and
// reports on each. Each file goes through the stages in order: load, judge,
// rewrite, verify, commit (docs/architecture.md). Base files (vmlinux, raw
// blobs) go first, then split files (modules) against their rewritten base,
// so a vmlinux and its modules given together stay consistent.
//
// The outputs are committed together: each is prepared beside its target
// first, and only when every file of the run succeeded are they put in
// place, bases first. When any file fails, or the run is interrupted,
// nothing is replaced: no module is left referring to a base it no longer
// fits. (Without a rewritten base the files are independent, and the same
// rule keeps a run's outcome simple: it wrote everything, or nothing.)
//
// Run returns an error only when the run cannot start (bad options, a
// directory it cannot walk, an unreadable --base-btf); a file that fails is
// reported with its error and left as it was. When ctx is done (an
// interrupt), no new file is started, nothing is committed, and the files
// not reached are reported as such.
func Run(ctx context.Context, paths []string, opts Options) (*Report, error) {
	start := time.Now()
	in, err := expand(paths)
	if err != nil {
		return nil, err
	}
	j, err := opts.check(len(in.files))
	if err != nil {
		return nil, err
	}
	paths = in.files
	r := &runner{ctx: ctx, opts: &opts, judging: j, total: len(paths),
		runningBTF: sync.OnceValues(func() (*Base, error) {
			b, err := loadBase(runningKernelBTF)
			if b != nil {
				var u syscall.Utsname
				if syscall.Uname(&u) == nil {
					b.release = utsString(u.Release[:])
				}
				b.name = runningKernelBTF + " (the running kernel)"
			}
			return b, err
		}),
		rep:     &Report{Files: make([]*FileReport, len(paths))},
		pending: make([]*elfio.Pending, len(paths))}
	for i, p := range paths {
		r.rep.Files[i] = &FileReport{Path: p, Removed: []Removed{}, Protected: []Protected{}, Warnings: []string{}}
	}
	defer func() { r.rep.Summary = summarize(r.rep, in.ignored, opts.DryRun, time.Since(start)) }()
	kinds := make([]elfio.Kind, len(paths))
	r.each(len(paths), func(i int) {
		k, err := elfio.Probe(paths[i])
		if err != nil {
			r.fail(i, elfio.WithPath(paths[i], err).Error())
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
	// The modules of the run are filtered against its one base file; with
	// none to filter, no base file needs to be kept as a Base.
	r.keepBase = len(splits) > 0 && len(bases) == 1
	baseOut := make([]*Base, len(paths))
	r.each(len(bases), func(n int) {
		i := bases[n]
		if opts.Check {
			baseOut[i] = r.checkBase(i)
			return
		}
		baseOut[i] = r.process(i, nil)
	})
	var base *Base
	switch {
	case len(splits) == 0:
	case len(bases) == 1:
		base = baseOut[bases[0]]
	case len(bases) > 1:
		for _, i := range splits {
			r.fail(i, fmt.Sprintf("%s: several base BTF files are in this run; give modules with one vmlinux", paths[i]))
		}
	case opts.BaseBTF != "":
		if base, err = loadBase(opts.BaseBTF); err != nil {
			r.abort()
			return nil, err
		}
	}
	r.each(len(splits), func(n int) {
		i := splits[n]
		switch {
		case len(bases) > 1:
		case len(bases) > 0 && base == nil:
			r.fail(i, fmt.Sprintf("%s: its base %s failed, so it was not rewritten", paths[i], paths[bases[0]]))
		case opts.Check:
			r.accept(i, base)
		default:
			r.process(i, base)
		}
	})
	r.markUnreached()
	r.commitAll(append(bases, splits...))
	return r.rep, nil
}

// isSplit tells split BTF (modules, and raw blobs when --base-btf is given)
// from base BTF (vmlinux, raw blobs, other objects). A compressed
// relocatable object counts as a module until it is read (load).
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
	total   int
	// pending holds each file's prepared output, committed together.
	pending []*elfio.Pending

	// runningBTF is the running kernel's BTF, read on first need.
	runningBTF func() (*Base, error)
	// keepBase says that split files follow the base files: a base
	// file's input and checked output are kept for them (process returns
	// its Base). Otherwise nothing of a file outlives its processing.
	keepBase bool

	mu      sync.Mutex
	done    int                  // files finished, for Options.Progress
	reached map[*FileReport]bool // the files process was called on
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

// fail records file i's error and counts it as finished.
func (r *runner) fail(i int, msg string) {
	r.rep.Files[i].Error = msg
	r.finished()
}

// finished counts one more file as done and tells Options.Progress.
func (r *runner) finished() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done++
	if r.opts.Progress != nil {
		r.opts.Progress(r.done, r.total)
	}
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

// commitAll puts every prepared output in place, in the order given (bases
// first), when every file succeeded; otherwise it throws them all away and
// says why in each file's report.
func (r *runner) commitAll(order []int) {
	var failed string
	for _, fr := range r.rep.Files {
		if fr.Error != "" {
			failed = fr.Path
			break
		}
	}
	if failed != "" {
		why := "not written: " + failed + " failed, and a run writes all of its files or none"
		if r.ctx.Err() != nil {
			why = "not written: the run was interrupted, and a run writes all of its files or none"
		}
		for i, p := range r.pending {
			if p != nil {
				p.Abort()
				r.rep.Files[i].Warnings = append(r.rep.Files[i].Warnings, why)
			}
		}
		return
	}
	for _, i := range order {
		if p := r.pending[i]; p != nil {
			fr := r.rep.Files[i]
			if err := p.Commit(); err != nil {
				fr.Error = err.Error()
				continue
			}
			fr.Written = true
		}
	}
}

// abort throws every prepared output away.
func (r *runner) abort() {
	for _, p := range r.pending {
		if p != nil {
			p.Abort()
		}
	}
}

// checkBase reads base file i as what --check checks modules against.
func (r *runner) checkBase(i int) *Base {
	fr := r.rep.Files[i]
	defer r.finished()
	b, err := loadBase(fr.Path)
	if err != nil {
		fr.Error = err.Error()
		return nil
	}
	fr.Format, fr.TypesBefore = "vmlinux", len(b.old.Types)
	fr.Acceptance = &Acceptance{Verdict: "base", Checks: []AcceptanceCheck{}}
	return b
}

// runningKernelBTF is where the running kernel exposes its BTF.
const runningKernelBTF = "/sys/kernel/btf/vmlinux"

// running returns the running kernel's BTF as the base of a module given
// without one, when the module's vermagic names the running kernel's
// release; nil otherwise.
func (r *runner) running(release string) *Base {
	var u syscall.Utsname
	if release == "" || syscall.Uname(&u) != nil || release != utsString(u.Release[:]) {
		return nil
	}
	b, err := r.runningBTF()
	if err != nil {
		return nil
	}
	return b
}

func utsString(b []int8) string {
	s := make([]byte, 0, len(b))
	for _, c := range b {
		if c == 0 {
			break
		}
		s = append(s, byte(c))
	}
	return string(s)
}

// loadBase reads the --base-btf file.
func loadBase(path string) (*Base, error) {
	f, err := elfio.Open(path)
	if err != nil {
		return nil, fmt.Errorf("base BTF: %w", err)
	}
	defer f.Close()
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

// process runs the stages on file i up to its prepared output and records
// the outcome in its report. For a base file (base == nil) of a run with
// split files it returns the Base they are processed against, nil when it
// failed.
func (r *runner) process(i int, base *Base) *Base {
	fr := r.rep.Files[i]
	r.mu.Lock()
	if r.reached == nil {
		r.reached = map[*FileReport]bool{}
	}
	r.reached[fr] = true
	r.mu.Unlock()
	b, p, err := r.guarded(fr, base)
	r.pending[i] = p
	if err != nil {
		fr.Error = elfio.WithPath(fr.Path, err).Error()
		fr.contradicts = errors.Is(err, ErrContradiction)
	}
	r.finished()
	return b
}

// guarded is processFile with a fault reading a mapped file (another
// process truncated it meanwhile) made the file's error, not a crash.
func (r *runner) guarded(fr *FileReport, base *Base) (b *Base, p *elfio.Pending, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if e := recover(); e != nil {
			fault, ok := e.(interface{ Addr() uintptr })
			if !ok {
				panic(e)
			}
			b, p, err = nil, nil, fmt.Errorf("%w (reading it faulted at %#x: truncated?)", elfio.ErrChanged, fault.Addr())
		}
	}()
	return r.processFile(fr, base)
}

// processFile is load, then judge, rewrite and verify (filterSpec), then
// the output prepared beside its target (commit.go).
func (r *runner) processFile(fr *FileReport, base *Base) (*Base, *elfio.Pending, error) {
	in, err := load(fr.Path, base, r.running, r.opts, r.judging)
	if err != nil {
		return nil, nil, err
	}
	// The files' mappings go when the file is done; nothing made from
	// them outlives this call (decoded specs and names are copies).
	defer in.file.Close()
	if dbg := in.debug; dbg != nil && dbg != in.file {
		defer dbg.Close()
	}
	fr.Base = in.baseNote
	fr.Format, fr.Arch = in.format, in.file.Arch()
	fr.Warnings = append(fr.Warnings, in.warnings...)
	fr.BytesBefore, fr.BytesAfter = len(in.raw), len(in.raw)
	fr.TypesBefore, fr.TypesAfter = len(in.spec.Types), len(in.spec.Types)
	o := BlobOptions{Judging: r.opts.Judging, Base: in.base, Object: in.file, DWARF: in.debug,
		PadTo: in.padTo, Workers: r.opts.Jobs, facts: in.facts, validate: in.validate}
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
	// unchanged file is not rewritten from it). Unless the file is the
	// base of the run's split files, it owns the decoded spec too.
	keep := in.base == nil && r.keepBase
	spec, old := in.spec, (*btf.Spec)(nil)
	if keep {
		old = spec
	}
	o.consume = !keep
	in.debug, in.facts, in.raw, in.spec, in.validate = nil, nil, nil, nil, nil
	res, err := filterSpec(spec, nil, o, r.judging, in.noDWARF)
	if err != nil {
		return nil, nil, err
	}
	fr.Warnings = append(fr.Warnings, res.Warnings...)
	fr.Protected = append(fr.Protected, res.Protected...)
	fr.Removed = append(fr.Removed, res.Removed...)
	fr.Merged, fr.Adopted = res.Merged, res.Adopted
	var b *Base // what the run's split files extend, when this is their base
	if keep {
		b = newBase(fr.Path, in.release, old, res)
	}
	if !res.Changed {
		p, err := prepareUnchanged(in.file, r.opts)
		return b, p, err
	}
	fr.Changed = true
	fr.TypesAfter, fr.BytesAfter = res.TypesAfter, len(res.BTF)
	sections := map[string][]byte{".BTF": res.BTF}
	if in.ids != nil {
		out, err := remapBTFIDs(in.ids, res.IDMap)
		if err != nil {
			return nil, nil, elfio.InSection(fr.Path, ".BTF_ids", err)
		}
		sections[".BTF_ids"] = out
	}
	warning, err := signaturePolicy(in.file, r.opts)
	if err != nil {
		return nil, nil, err
	}
	if warning != "" {
		fr.Warnings = append(fr.Warnings, warning)
	}
	if r.opts.DryRun {
		return b, nil, nil
	}
	p, err := prepare(in.file, sections, r.opts)
	if err != nil {
		return nil, nil, err
	}
	return b, p, nil
}
