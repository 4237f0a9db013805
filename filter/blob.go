package filter

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/btffilter/btffilter/elfio"
	"github.com/btffilter/btffilter/filter/btf"
	"github.com/btffilter/btffilter/filter/internal/check"
	"github.com/btffilter/btffilter/filter/internal/gcpace"
	"github.com/btffilter/btffilter/filter/internal/rules"
)

// The library entry: one BTF blob filtered in memory, through the judge,
// rewrite and verify stages. Run does the same for each file between its
// load and commit stages.

// BlobOptions are the settings of one Blob call.
type BlobOptions struct {
	Judging
	// Base is the base a split blob (a module's BTF) extends: as it is
	// (NewBase), or as Blob rewrote it (BlobResult.Base), in which case the
	// result is moved onto the rewritten base. nil for base BTF.
	Base *Base
	// Object is the ELF file the blob belongs to (the file of its .BTF
	// section), for its function symbols, its architecture and its kernel
	// release; nil for a raw blob.
	Object *elfio.File
	// DWARF is the file whose debug information describes the blob's
	// functions: Object itself when it has DWARF, or a separate debug
	// file. Without it the rules that need DWARF are skipped, with a
	// warning (an error when Judging.Rules names one of them).
	DWARF *elfio.File
	// ProtectedIDs and ProtectedFuncs are what .BTF_ids refers to: the
	// type IDs its slots hold and the function names of its
	// __BTF_ID__func__ symbols. Such FUNCs are never removed, and a
	// FUNC_PROTO whose ID a slot holds stays.
	ProtectedIDs   map[uint32]bool
	ProtectedFuncs map[string]bool
	// PadTo, when not 0, is the exact size of the result: its string
	// section is padded with NULs (a linked vmlinux's .BTF, whose size
	// the link fixed). A larger result is an error.
	PadTo int
	// Workers is the number of goroutines scanning the DWARF and judging
	// the FUNCs (at least 1); the result is the same for any number.
	Workers int

	// facts are what the judge reads of Object and DWARF besides the
	// DWARF itself (the load stage's, or read by Blob).
	facts *objectFacts
	// consume says that the caller needs neither the input spec after
	// the call nor the result as a spec or a base (Run, for a file no
	// split file of the run extends): the rewrite takes the input's
	// types over instead of copying them, and the result keeps neither
	// the input nor a decoded output, so that each goes as soon as it
	// is used. The result's Spec is then nil, and Base may not be called.
	consume bool
	// validate, when not nil, is the load stage's validation of the
	// input, not run yet: a run that only deduplicates base BTF runs it
	// beside the deduplication's first pass (see decodeOn).
	validate func() error
}

// BlobResult is a filtered blob.
type BlobResult struct {
	// Changed reports whether anything was removed or merged, or the blob
	// moved onto a rewritten base. When it is false, BTF is the input and
	// IDMap is nil.
	Changed bool
	BTF     []byte
	Spec    *btf.Spec
	// IDMap sends every type ID of the input (base IDs through the base's
	// own map) to its ID in the result; a removed type maps to nothing.
	IDMap *btf.IDMap
	// TypesBefore and TypesAfter count the blob's own types.
	TypesBefore, TypesAfter int
	// Removed and Protected are the decisions, in type ID order; Merged
	// counts the types deduplication merged away, and Adopted the base
	// types a split blob took in because its rewritten base dropped them.
	Removed   []Removed
	Protected []Protected
	Merged    int
	Adopted   int
	// Warnings are sentences about what could not be judged and why.
	Warnings []string

	old     *btf.Spec
	release string
	checked *check.Base // the result's check, for its split blobs
}

// Blob filters one BTF blob: raw base BTF, or split BTF on opts.Base. It
// decodes and validates raw, judges its FUNCs, removes what the rules
// decide (and what only they used), deduplicates, and checks the result
// against the kernel's loading rules and with cilium/ebpf.
func Blob(raw []byte, opts BlobOptions) (*BlobResult, error) {
	j, err := opts.Judging.compile()
	if err != nil {
		return nil, err
	}
	spec, _, err := decodeOn(raw, opts.Base, nil, false)
	if err != nil {
		return nil, err
	}
	var noDWARF error
	if opts.DWARF == nil {
		noDWARF = errors.New("no DWARF given")
	}
	if opts.facts, err = readObjectFacts(opts.Object, opts.DWARF, j); err != nil {
		return nil, err
	}
	return filterSpec(spec, raw, opts, j, noDWARF)
}

// Base returns the result as the base of split blobs (Blob's opts.Base):
// the modules of a vmlinux filtered by this call are filtered against it,
// and so moved onto the rewritten types.
func (r *BlobResult) Base() *Base {
	return newBase("", r.release, r.old, r)
}

// largeInput is the size of an image from which filterSpec collects the
// judge's garbage at once: a vmlinux, not a module.
const largeInput = 64 << 20

// largeSpec is the number of types from which filterSpec collects the
// rewrite's garbage before the checks: a vmlinux's BTF, not a module's.
const largeSpec = 1 << 15

// filterSpec is Blob on a decoded spec: judge, rewrite, verify; raw is what
// spec was decoded from, the result's BTF when nothing changes (nil when
// the caller does not need it). It owns o.DWARF and o.facts: the largest
// input of a run is let go once the judge is done.
func filterSpec(spec *btf.Spec, raw []byte, o BlobOptions, j *judging, noDWARF error) (*BlobResult, error) {
	res := &BlobResult{BTF: raw, TypesBefore: len(spec.Types), TypesAfter: len(spec.Types),
		Removed: []Removed{}, Protected: []Protected{}, Warnings: []string{},
		release: o.facts.release}
	if !o.consume {
		res.Spec, res.old = spec, spec
	}
	if o.validate != nil && !j.dedupOnly {
		// The judge reads the spec: only a validated one.
		if err := o.validate(); err != nil {
			return nil, err
		}
		o.validate = nil
	}
	d := &rules.Decision{}
	if !j.dedupOnly {
		var err error
		if d, err = judge(spec, &o, j, noDWARF, max(o.Workers, 1)); err != nil {
			return nil, err
		}
	}
	large := o.DWARF != nil && len(o.DWARF.Data) >= largeInput
	o.DWARF, o.facts = nil, nil
	if large {
		// What the judge decoded from a vmlinux's DWARF (a few hundred
		// megabytes) is garbage from here on. Collecting it now lets the
		// rewrite and the checks reuse that memory; left to the
		// collector's pace, the heap would first grow to twice the
		// judge's size.
		runtime.GC()
	}
	res.Warnings = append(res.Warnings, d.Warnings...)
	for _, v := range d.Protected {
		res.Protected = append(res.Protected, Protected{Name: v.Name, Rule: v.Rule, Reason: v.Reason})
		res.Warnings = append(res.Warnings, fmt.Sprintf("%s: rule %s fired but the function is protected (%s)", v.Name, v.Rule, v.Reason))
	}
	rebase := o.Base != nil && o.Base.rewritten()
	if len(d.Remove) == 0 && !rebase && !j.dedupOnly {
		return res, nil
	}
	funcs := make([]btf.TypeID, 0, len(d.Remove))
	for _, v := range d.Remove {
		funcs = append(funcs, v.ID)
		res.Removed = append(res.Removed, Removed{Name: v.Name, BTFID: uint32(v.ID), Rule: v.Rule, Reason: v.Reason})
	}
	referenced := map[btf.TypeID]bool{}
	for id := range o.ProtectedIDs {
		referenced[btf.TypeID(id)] = true
	}
	// A consumed large input is rewritten and encoded with the collector
	// off, until the collection before the checks: meanwhile nearly all
	// that is allocated is kept (the rewrite's tables, the new strings,
	// the encoded blob), and the input turns to garbage as a whole at the
	// end, so collections would only mark a heap that grows. The heap
	// stays below what the checks then need.
	consumeLarge := o.consume && res.TypesBefore >= largeSpec
	resume := func() {}
	if consumeLarge {
		resume = gcpace.Pause()
	}
	defer func() { resume() }()
	rw, err := rewrite(spec, funcs, o.Base, referenced, o.PadTo, o.consume, o.validate)
	o.validate = nil // it holds the input's types and strings
	if err != nil {
		return nil, err
	}
	res.Merged, res.Adopted = rw.merged, rw.adopted
	if len(funcs) == 0 && !rebase && rw.merged == 0 {
		return res, nil
	}
	out := rw.spec.Encode()
	res.Changed, res.BTF, res.IDMap, res.TypesAfter = true, out, rw.idMap, len(rw.spec.Types)
	// From here on the encoded blob is the result. A base result's spec
	// is the check's decoding of it, so the rewritten spec goes before the
	// checks run, rather than a third copy of the types being held; a
	// split result keeps its own, which extends the caller's base.
	var split *btf.Spec
	if o.Base != nil && !o.consume {
		split = rw.spec
	}
	if consumeLarge {
		// The consumed input's records, extra words and strings, and
		// the rewrite's tables, are garbage now: a vmlinux's are tens
		// of megabytes. Collected before the checks, their memory is
		// what the checks' structures reuse; left to the collector's
		// pace, the heap would grow past them first.
		runtime.GC()
		resume()
		resume = func() {}
	}
	// Only raw BTF deduplicated for further tools leaves cilium/ebpf's
	// reading out; what goes into an image is read by both.
	rawDedup := j.dedupOnly && (o.Object == nil || o.Object.Format == elfio.FormatRaw)
	if res.checked, err = verify(out, o.Base, !o.consume, rawDedup); err != nil {
		return nil, err
	}
	switch {
	case split != nil:
		res.Spec = split
	case res.checked != nil:
		res.Spec = res.checked.Spec
	}
	return res, nil
}
