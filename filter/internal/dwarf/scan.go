package dwarf

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// Options tunes Scan.
type Options struct {
	// Workers is the number of units scanned at once; 0 means GOMAXPROCS.
	Workers int
}

// Scan reads the DWARF of f. image, when not nil, must be the bytes f was
// parsed from (a mapping of the file, or elfio.File.Data): uncompressed
// sections of a linked file are then used in place, without a copy, and
// must stay valid and unmodified while Scan runs. Relocatable objects get
// their relocations applied to private copies.
func Scan(f *elf.File, image []byte, opt Options) (*Data, error) {
	sec, err := loadSections(f, image)
	if err != nil {
		return nil, err
	}
	d := &Data{Machine: uint16(f.Machine), ByteOrder: f.ByteOrder, AddrSize: 8}
	if f.Class == elf.ELFCLASS32 {
		d.AddrSize = 4
	}
	if err := scanSections(d, sec, opt); err != nil {
		return nil, err
	}
	d.sec, d.typeNames = sec, &typeNames{}
	return d, nil
}

// scanSections fills d from the DWARF sections.
func scanSections(d *Data, sec *sections, opt Options) error {
	units, err := parseUnitHeaders(sec.info, d.ByteOrder)
	if err != nil {
		return err
	}
	big := d.ByteOrder == binary.BigEndian
	c := &ctx{sec: sec, units: units}
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if workers > len(units) {
		workers = len(units)
	}
	// Stage 1: abbreviations and unit DIEs (needed before any reference
	// into another unit can be followed).
	errs := make([]error, len(units))
	parallel(workers, len(units), func(w *worker, i int) {
		u := units[i]
		u.big = big
		t, err := parseAbbrevs(sec.abbrev, u.abbrevOff, u)
		if err != nil {
			errs[i] = fmt.Errorf("%w (unit at 0x%x)", err, u.off)
			return
		}
		u.abbrevs = t
		errs[i] = w.unitDIE(u)
	}, c)
	if c.fault != nil {
		return c.fault
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	// Stage 2: subprograms, parameters and their types, per unit.
	results := make([][]Func, len(units))
	var unsupported atomic.Int64
	parallel(workers, len(units), func(w *worker, i int) {
		w.types = map[uint64]*Type{}
		w.unsupported, w.typeErr = 0, nil
		results[i], errs[i] = w.scanUnit(units[i], i)
		if errs[i] == nil && w.typeErr != nil {
			errs[i] = fmt.Errorf("%w (unit at 0x%x)", w.typeErr, units[i].off)
		}
		unsupported.Add(int64(w.unsupported))
	}, c)
	if c.fault != nil {
		return c.fault
	}
	for _, err := range errs {
		if err != nil {
			return err
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
	return nil
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
func (w *worker) unitDIE(u *unit) error {
	info := w.sec.info
	code, p, ok := uleb(info[:u.end], int(u.first))
	if !ok {
		return dieErr(u, u.first, "truncated abbreviation code")
	}
	if code == 0 {
		return nil
	}
	a := u.abbrevs.get(code)
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
// parameter children and skipping everything else by form size.
func (w *worker) scanUnit(u *unit, ui int) ([]Func, error) {
	info := w.sec.info[:u.end]
	var funcs []Func
	// parents holds, per open children list, the index in funcs of the
	// subprogram that owns it, or -1.
	parents := make([]int, 0, 16)
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
		a := u.abbrevs.get(code)
		if a == nil {
			return nil, dieErr(u, uint64(start), "abbreviation code %d not in the table at .debug_abbrev 0x%x", code, u.abbrevOff)
		}
		owner := -1
		switch a.tag {
		case tagSubprogram:
			if err := w.readDIE(u, uint64(start), &d); err != nil {
				return nil, err
			}
			f, err := w.subprogram(u, ui, &d)
			if err != nil {
				return nil, err
			}
			funcs = append(funcs, f)
			owner = len(funcs) - 1
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
			f := &funcs[parents[len(parents)-1]]
			if a.tag == tagUnspecifiedParams {
				f.Variadic = true
			} else {
				prm, err := w.param(u, f, &d)
				if err != nil {
					return nil, err
				}
				f.Params = append(f.Params, prm)
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
	return funcs, nil
}

// maxChain bounds how many abstract-origin/specification links are
// followed (real files use at most two).
const maxChain = 8

// subprogram builds a Func from its DIE, resolving the names and prototype
// through DW_AT_abstract_origin and DW_AT_specification.
func (w *worker) subprogram(u *unit, ui int, d *die) (Func, error) {
	f := Func{
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
			return f, dieErr(u, d.off, "DW_AT_ranges: %v", err)
		}
		f.LowPC, f.HasPC = pc, ok
	}
	if d.hasFrameBase {
		e, _, ok, err := w.entryExpr(u, &d.frameBase, f.LowPC, f.HasPC)
		if err != nil {
			return f, dieErr(u, d.off, "DW_AT_frame_base: %v", err)
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
			return f, err
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
	f.Return = w.refType(retOff, hasRet, sig8)
	return f, nil
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
