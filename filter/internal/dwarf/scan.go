package dwarf

import (
	"cmp"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
)

// Options tunes Scan.
type Options struct {
	// Workers is the number of units scanned at once; 0 means GOMAXPROCS.
	Workers int
	// Want, when set, limits Data.Funcs to the subprograms whose name
	// (resolved through DW_AT_abstract_origin and DW_AT_specification) it
	// accepts, and to the subprograms those refer to: the others are
	// skipped with their parameters, and the types only they use are never
	// decoded. The filter's rules want the names of the BTF's FUNCs.
	Want func(name string) bool
	// Evict, when set, is called with the parts of the image the scan has
	// finished with: each unit's .debug_info, and the .debug_loclists its
	// lists took, once the unit is scanned; every section at the end. A
	// caller whose image is a file
	// mapping drops those pages from memory (elfio.File.Evict), so that a
	// vmlinux's DWARF is never resident all at once. The scan may still
	// read them again (a reference from another unit); they must stay
	// valid.
	Evict func([]byte)
}

// Scan reads the DWARF of f. image, when not nil, must be the bytes f was
// parsed from (a mapping of the file, or elfio.File.Data): uncompressed
// sections of a linked file are then used in place, without a copy, and
// must stay valid and unmodified while Scan runs. Relocatable objects get
// their relocations applied to private copies.
func Scan(f *elf.File, image []byte, opt Options) (*Data, error) {
	sec, err := loadSections(f, image, opt.Evict)
	if err != nil {
		return nil, err
	}
	d := &Data{Machine: uint16(f.Machine), ByteOrder: f.ByteOrder, AddrSize: 8}
	if f.Class == elf.ELFCLASS32 {
		d.AddrSize = 4
	}
	c, err := scanSections(d, sec, opt)
	if err != nil {
		return nil, err
	}
	d.sec, d.namer = sec, &namer{w: &worker{ctx: c, strs: map[uint64]string{}}}
	return d, nil
}

// scanSections fills d from the DWARF sections, and returns the units
// read, for reading DIEs after the scan (TypeName).
func scanSections(d *Data, sec *sections, opt Options) (*ctx, error) {
	// The headers' lengths, versions and address sizes are never
	// relocated: a lazily relocated section's are read from its bytes in
	// the image, and only the abbreviation offsets relocated.
	info := sec.info
	if sec.lazy != nil {
		info = sec.lazy.src
	}
	units, err := parseUnitHeaders(info, d.ByteOrder)
	if err != nil {
		return nil, err
	}
	if sec.lazy != nil {
		for _, u := range units {
			if err := sec.lazy.header(u, d.ByteOrder); err != nil {
				return nil, err
			}
		}
		// Finding each header's relocations faulted in a few pages of
		// the tables per unit.
		if opt.Evict != nil {
			for _, t := range sec.lazy.rel.tabs {
				opt.Evict(t.raw)
			}
		}
	}
	big := d.ByteOrder == binary.BigEndian
	c := &ctx{sec: sec, units: units, want: opt.Want, evict: opt.Evict}
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if workers > len(units) {
		workers = len(units)
	}
	for _, u := range units {
		u.big = big
	}
	// Reading the unit headers faulted in the pages around each too (the
	// kernel maps neighbouring cached pages on a fault): let them go
	// before the units are read in full, a few at a time.
	if opt.Evict != nil {
		opt.Evict(info)
	}
	errs := make([]error, len(units))
	// Stage 2: subprograms, parameters and their types, per unit.
	results := make([][]Func, len(units))
	var unsupported atomic.Int64
	parallel(workers, len(units), func(w *worker, i int) {
		w.types = map[uint64]*Type{}
		w.unsupported, w.typeErr, w.locRead, w.strRead = 0, nil, span{}, span{}
		u := units[i]
		defer w.letGo(0)
		if errs[i] = w.startUnit(u); errs[i] != nil {
			return
		}
		results[i], errs[i] = w.scanUnit(u, i)
		if errs[i] == nil && w.typeErr != nil {
			errs[i] = fmt.Errorf("%w (unit at 0x%x)", w.typeErr, u.off)
		}
		unsupported.Add(int64(w.unsupported))
		if opt.Evict != nil {
			if sec.lazy == nil {
				opt.Evict(sec.info[u.off:u.end])
			}
			if r := w.locRead; r.lo < r.hi && r.hi <= len(sec.loclists) {
				opt.Evict(sec.loclists[r.lo:r.hi])
			}
			// A module's strings, which its many small units share
			// less than a vmlinux's, go too.
			if r := w.strRead; sec.lazy != nil && r.lo < r.hi && r.hi <= len(sec.str) {
				evictAround(opt.Evict, sec.str, r.lo, r.hi)
			}
		}
	}, c)
	if c.fault != nil {
		return nil, c.fault
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	n := 0
	for _, r := range results {
		n += len(r)
	}
	d.Funcs = make([]Func, 0, n)
	for _, r := range results {
		d.Funcs = append(d.Funcs, r...)
	}
	d.Units = make([]Unit, len(units))
	for i, u := range units {
		d.Units[i] = Unit{Offset: u.off, Version: u.version, Name: u.name, Producer: u.producer, LowPC: u.lowPC}
	}
	d.Unsupported = int(unsupported.Load())
	if c.want != nil {
		if err := c.addReferenced(d); err != nil {
			return nil, err
		}
	}
	if opt.Evict != nil {
		// What later questions read again (TypeName) is a few pages.
		for _, b := range sec.all() {
			opt.Evict(b)
		}
	}
	return c, nil
}

// addReferenced adds to d.Funcs the subprograms that the ones Want kept
// refer to through DW_AT_abstract_origin or DW_AT_specification but Want
// refused (a DIE whose own name differs from its origin's), and those they
// refer to in turn, so that every chain Data.FuncAt follows is whole, as
// without Want.
func (c *ctx) addReferenced(d *Data) error {
	w := &worker{ctx: c, strs: map[uint64]string{}, types: map[uint64]*Type{}}
	var queue []uint64
	push := func(f *Func) {
		for _, off := range []uint64{f.Origin, f.Specification} {
			if off != 0 {
				queue = append(queue, off)
			}
		}
	}
	for i := range d.Funcs {
		push(&d.Funcs[i])
	}
	var extra []Func
	seen := map[uint64]bool{}
	for len(queue) > 0 {
		off := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		if seen[off] {
			continue
		}
		seen[off] = true
		if _, ok := d.FuncAt(off); ok {
			continue
		}
		ui := c.unitIndex(off)
		if ui < 0 {
			continue
		}
		f, ok, err := w.funcAt(c.units[ui], ui, off)
		w.letGo(keepUnits)
		if err != nil {
			return err
		}
		if ok {
			extra = append(extra, f)
			push(&extra[len(extra)-1])
		}
	}
	w.letGo(0)
	if w.typeErr != nil {
		return w.typeErr
	}
	d.Unsupported += w.unsupported
	if len(extra) > 0 {
		d.Funcs = append(d.Funcs, extra...)
		slices.SortFunc(d.Funcs, func(a, b Func) int { return cmp.Compare(a.Offset, b.Offset) })
	}
	return nil
}

// funcAt decodes the subprogram at off in unit u (index ui) with its
// parameters, as scanUnit would; ok is false when the DIE is no
// subprogram.
func (w *worker) funcAt(u *unit, ui int, off uint64) (f Func, ok bool, err error) {
	var d die
	if err := w.readDIE(u, off, &d); err != nil {
		return f, false, err
	}
	if d.tag != tagSubprogram {
		return f, false, nil
	}
	if f, _, err = w.subprogram(u, ui, &d, nil); err != nil {
		return f, false, err
	}
	if !d.children {
		return f, true, nil
	}
	var c die
	for next := d.next; ; {
		if err := w.readDIE(u, next, &c); err != nil {
			return f, false, err
		}
		switch c.tag {
		case 0:
			return f, true, nil
		case tagUnspecifiedParams:
			f.Variadic = true
		case tagFormalParameter:
			prm, err := w.param(u, &f, &c)
			if err != nil {
				return f, false, err
			}
			f.Params = append(f.Params, prm)
		}
		next = c.next
		if c.children {
			if next, err = w.skipTree(u, c.next); err != nil {
				return f, false, err
			}
		}
	}
}

// parallel runs f(i) for i in [0, n) on the given number of workers, each
// with its own string table. The sections may lie in a file's mapping: a
// page that faults (the file was truncated meanwhile) ends the scan with
// c.fault instead of the process.
func parallel(workers, n int, f func(w *worker, i int), c *ctx) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for k := 0; k < workers; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
			defer func() {
				if r := recover(); r != nil {
					fault, ok := r.(interface{ Addr() uintptr })
					if !ok {
						panic(r)
					}
					c.faultOnce.Do(func() {
						c.fault = fmt.Errorf("dwarf: reading the sections faulted at %#x: the file changed on disk while it was being read (truncated?)", fault.Addr())
					})
					next.Store(int64(n)) // the other workers stop too
				}
			}()
			w := &worker{ctx: c, strs: map[uint64]string{}}
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				f(w, i)
			}
		}()
	}
	wg.Wait()
}

// unitDIE reads the unit DIE's name, producer and the bases of the indexed
// forms. The bases are read first, since the name may be a DW_FORM_strx.
func (w *worker) unitDIE(u *unit, t *abbrevTable) error {
	info := w.sec.info
	code, p, ok := uleb(info[:u.end], int(u.first))
	if !ok {
		return dieErr(u, u.first, "truncated abbreviation code")
	}
	if code == 0 {
		return nil
	}
	a := t.get(code)
	if a == nil {
		return dieErr(u, u.first, "abbreviation code %d not in the table at .debug_abbrev 0x%x", code, u.abbrevOff)
	}
	var v val
	var name, producer, low val
	var hasName, hasProducer, hasLow bool
	for i := range a.attrs {
		s := &a.attrs[i]
		var err error
		if p, err = u.readVal(info, p, s.form, s.ic, &v); err != nil {
			return dieErr(u, u.first, "%v", err)
		}
		switch s.at {
		case atStrOffsetsBase:
			u.strOffBase = v.u
		case atAddrBase, atGNUAddrBase:
			u.addrBase = v.u
		case atRnglistsBase:
			u.rnglistsBase, u.hasRnglistsBase = v.u, true
		case atLoclistsBase:
			u.loclistsBase, u.hasLoclistsBase = v.u, true
		case atName:
			name, hasName = v, true
		case atProducer:
			producer, hasProducer = v, true
		case atLowPC:
			low, hasLow = v, true
		}
	}
	if hasName {
		u.name = w.str(u, &name)
	}
	if hasProducer {
		u.producer = w.str(u, &producer)
	}
	if hasLow {
		u.lowPC = w.addr(u, &low)
	}
	return nil
}

// scanUnit walks every DIE of unit u once, decoding subprograms and their
// parameter children and skipping everything else by form size. The
// subprograms Options.Want refuses are skipped with their children. The
// result and its parameters take one allocation each, of their exact size:
// the worker builds them in buffers it reuses from unit to unit.
func (w *worker) scanUnit(u *unit, ui int) ([]Func, error) {
	info := w.sec.info[:u.end]
	funcs, params := w.funcBuf[:0], w.paramBuf[:0]
	// spans[i] is where funcs[i]'s parameters lie in params.
	spans := w.spanBuf[:0]
	defer func() { w.funcBuf, w.paramBuf, w.spanBuf = funcs[:0], params[:0], spans[:0] }()
	// parents holds, per open children list, the index in funcs of the
	// subprogram that owns it, or -1.
	parents := w.parentBuf[:0]
	defer func() { w.parentBuf = parents[:0] }()
	var d die
	p := int(u.first)
	for p < len(info) {
		start := p
		code, q, ok := uleb(info, p)
		if !ok {
			return nil, dieErr(u, uint64(start), "truncated abbreviation code")
		}
		if code == 0 {
			if len(parents) > 0 {
				parents = parents[:len(parents)-1]
			}
			p = q
			continue
		}
		a := w.own.get(code)
		if a == nil {
			return nil, dieErr(u, uint64(start), "abbreviation code %d not in the table at .debug_abbrev 0x%x", code, u.abbrevOff)
		}
		owner := -1
		switch a.tag {
		case tagSubprogram:
			if err := w.readDIE(u, uint64(start), &d); err != nil {
				return nil, err
			}
			f, wanted, err := w.subprogram(u, ui, &d, w.want)
			if err != nil {
				return nil, err
			}
			if wanted {
				funcs = append(funcs, f)
				spans = append(spans, span{len(params), len(params)})
				owner = len(funcs) - 1
			}
			p = int(d.next)
		case tagFormalParameter, tagUnspecifiedParams:
			if len(parents) == 0 || parents[len(parents)-1] < 0 {
				next, err := u.skip(info, q, a)
				if err != nil {
					return nil, dieErr(u, uint64(start), "%v", err)
				}
				p = next
				break
			}
			if err := w.readDIE(u, uint64(start), &d); err != nil {
				return nil, err
			}
			i := parents[len(parents)-1]
			f := &funcs[i]
			if a.tag == tagUnspecifiedParams {
				f.Variadic = true
			} else {
				prm, err := w.param(u, f, &d)
				if err != nil {
					return nil, err
				}
				if sp := &spans[i]; sp.hi != len(params) {
					// A nested subprogram's parameters came between
					// (GNU C nested functions): move f's to the end.
					params = append(params, params[sp.lo:sp.hi]...)
					sp.lo, sp.hi = len(params)-(sp.hi-sp.lo), len(params)
				}
				params = append(params, prm)
				spans[i].hi++
			}
			p = int(d.next)
		default:
			next, err := u.skip(info, q, a)
			if err != nil {
				return nil, dieErr(u, uint64(start), "%v", err)
			}
			p = next
		}
		if a.children {
			parents = append(parents, owner)
		}
	}
	if len(funcs) == 0 {
		return nil, nil
	}
	out := slices.Clone(funcs)
	all := slices.Clone(params)
	for i := range out {
		if sp := spans[i]; sp.hi > sp.lo {
			out[i].Params = all[sp.lo:sp.hi:sp.hi]
		}
	}
	return out, nil
}

// maxChain bounds how many abstract-origin/specification links are
// followed (real files use at most two).
const maxChain = 8

// subprogram builds a Func from its DIE, resolving the names and prototype
// through DW_AT_abstract_origin and DW_AT_specification. wanted is false
// when want (Options.Want, or nil for every name) refuses the resolved
// name; the prototype is then not decoded.
func (w *worker) subprogram(u *unit, ui int, d *die, want func(string) bool) (f Func, wanted bool, err error) {
	f = Func{
		Offset: d.off, Unit: ui, Name: d.name, LinkageName: d.linkage,
		External: d.external, Declaration: d.decl, Prototyped: d.prototyped,
		Inline: d.inline, CallingConvention: d.cc,
		Origin: d.origin, Specification: d.spec,
	}
	if d.hasLowPC {
		f.LowPC, f.HasPC = d.lowPC, true
	} else if d.hasRanges {
		pc, ok, err := w.firstRange(u, &d.ranges)
		if err != nil {
			return f, false, dieErr(u, d.off, "DW_AT_ranges: %v", err)
		}
		f.LowPC, f.HasPC = pc, ok
	}
	if d.hasFrameBase {
		e, _, ok, err := w.entryExpr(u, &d.frameBase, f.LowPC, f.HasPC)
		if err != nil {
			return f, false, dieErr(u, d.off, "DW_AT_frame_base: %v", err)
		}
		if ok {
			f.FrameBase = decodeExpr(e)
		}
	}
	retOff, hasRet, sig8 := d.typ, d.hasType, d.sig8
	next := d.origin
	if next == 0 {
		next = d.spec
	}
	var o die
	for i := 0; i < maxChain && next != 0; i++ {
		if err := w.readRef(u, d, next, &o); err != nil {
			return f, false, err
		}
		if f.Name == "" {
			f.Name = o.name
		}
		if f.LinkageName == "" {
			f.LinkageName = o.linkage
		}
		f.External = f.External || o.external
		f.Prototyped = f.Prototyped || o.prototyped
		if f.CallingConvention == 0 {
			f.CallingConvention = o.cc
		}
		if !hasRet {
			retOff, hasRet, sig8 = o.typ, o.hasType, o.sig8
		}
		next = o.origin
		if next == 0 {
			next = o.spec
		}
	}
	if want != nil && !want(f.Name) {
		return f, false, nil
	}
	f.Return = w.refType(retOff, hasRet, sig8)
	return f, true, nil
}

// readRef reads into o the DIE at off that DIE d of unit u refers to
// (DW_AT_abstract_origin, DW_AT_specification), perhaps in another unit.
func (w *worker) readRef(u *unit, d *die, off uint64, o *die) error {
	ou := w.unitAt(off)
	if ou == nil {
		return dieErr(u, d.off, "reference 0x%x outside .debug_info", off)
	}
	return w.readDIE(ou, off, o)
}

// refType is the type a DW_AT_type names: nil when there is none, an
// unsupported type (counted) for a type-unit signature, which is not
// followed.
func (w *worker) refType(off uint64, has, sig8 bool) *Type {
	switch {
	case sig8:
		w.unsupported++
		return &Type{Kind: KindUnsupported, Size: -1, Align: 1, Natural: 1}
	case has && off != 0:
		return w.typeAt(off, 0)
	}
	return nil
}

// param builds a Param of f from its DIE.
func (w *worker) param(u *unit, f *Func, d *die) (Param, error) {
	prm := Param{Offset: d.off, Origin: d.origin, Name: d.name, Artificial: d.artificial}
	typOff, hasType, sig8 := d.typ, d.hasType, d.sig8
	next := d.origin
	var o die
	for i := 0; i < maxChain && next != 0 && (prm.Name == "" || !hasType); i++ {
		if err := w.readRef(u, d, next, &o); err != nil {
			return prm, err
		}
		if prm.Name == "" {
			prm.Name = o.name
		}
		if !hasType {
			typOff, hasType, sig8 = o.typ, o.hasType, o.sig8
		}
		prm.Artificial = prm.Artificial || o.artificial
		next = o.origin
	}
	prm.Type = w.refType(typOff, hasType, sig8)
	switch {
	case d.hasLoc:
		e, fromList, ok, err := w.entryExpr(u, &d.loc, f.LowPC, f.HasPC)
		if err != nil {
			return prm, dieErr(u, d.off, "DW_AT_location: %v", err)
		}
		if !ok {
			prm.Loc = Location{Kind: LocEmpty, FromList: fromList}
			break
		}
		prm.Loc = decodeExpr(e)
		prm.Loc.FromList = fromList
	case d.hasConst:
		prm.Loc = Location{Kind: LocConst}
	}
	return prm, nil
}
