package dwarf

import (
	"bytes"
	"fmt"
	"slices"
	"sync"
)

// die holds the attributes of one DIE that the scanner uses; everything else
// is skipped by form.
type die struct {
	off      uint64
	tag      uint32
	children bool
	next     uint64 // offset after the attributes: the first child, or the next sibling
	sibling  uint64 // DW_AT_sibling, 0 if absent

	name, linkage                               string
	typ, origin, spec                           uint64
	hasType, sig8                               bool
	external, decl, artificial, prototyped      bool
	inline, cc, encoding                        uint8
	lowPC                                       uint64
	hasLowPC, hasRanges, hasLoc, hasConst       bool
	ranges, loc, frameBase                      val
	hasFrameBase                                bool
	byteSize, bitSize, bitOffset, dataBitOffset int64
	hasSize, hasBitSize, hasBitOffset, hasDBO   bool
	memberLoc                                   int64
	hasMemberLoc                                bool
	align                                       int64
	count, upper, lower                         int64
	hasCount, hasUpper                          bool
}

// ctx is the read-only state shared by all workers.
type ctx struct {
	sec   *sections
	units []*unit
	want  func(name string) bool // Options.Want
	evict func([]byte)           // Options.Evict
	// fault is set when reading the sections faulted (parallel).
	faultOnce sync.Once
	fault     error
}

// unitAt returns the unit that contains .debug_info offset off.
func (c *ctx) unitAt(off uint64) *unit {
	if i := c.unitIndex(off); i >= 0 {
		return c.units[i]
	}
	return nil
}

// unitIndex returns the index of the unit that contains .debug_info
// offset off, or -1.
func (c *ctx) unitIndex(off uint64) int {
	lo, hi := 0, len(c.units)
	for lo < hi {
		m := (lo + hi) / 2
		if c.units[m].end <= off {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(c.units) && c.units[lo].off <= off && off < c.units[lo].end {
		return lo
	}
	return -1
}

// worker is one scanning goroutine's private state.
type worker struct {
	*ctx
	// cur is the unit the worker scans and own its abbreviation table,
	// parsed again in place for each unit.
	cur *unit
	own abbrevTable
	// Buffers scanUnit reuses from unit to unit.
	funcBuf   []Func
	paramBuf  []Param
	spanBuf   []span
	parentBuf []int
	strs      map[uint64]string // interned strings by section tag<<56 | offset
	types     map[uint64]*Type  // peeled types of the current unit by DIE offset
	v         val
	// unsupported counts references not followed in the current unit.
	unsupported int
	// typeErr is the first malformed type met in the current unit.
	typeErr error
	// locRead is the part of .debug_loclists the current unit's lists
	// were read from, evicted with the unit (Options.Evict).
	locRead span
	// strRead is the part of .debug_str the current unit's names were
	// read from, evicted with the unit likewise.
	strRead span
	// held are the units whose relocated bytes the worker holds (a
	// relocatable object's lazyInfo), the one used last at the end.
	held []*unit
}

// keepUnits is how many units the readers after the scan (TypeName, and
// the subprograms Want refused but others refer to) keep relocated between
// questions: the questions about one unit tend to come together.
const keepUnits = 4

// hold makes unit u's bytes of .debug_info readable until w lets it go
// (letGo): in a relocatable object read in place they are relocated when
// no worker holds them yet. In any other file, it does nothing.
func (w *worker) hold(u *unit) error {
	l := w.sec.lazy
	if l == nil {
		return nil
	}
	n := len(w.held)
	if n > 0 && w.held[n-1] == u {
		return nil
	}
	if i := slices.Index(w.held, u); i >= 0 {
		w.held = append(slices.Delete(w.held, i, i+1), u)
		return nil
	}
	if err := l.acquire(u); err != nil {
		return err
	}
	w.held = append(w.held, u)
	return nil
}

// letGo releases the units w holds but the keep used last.
func (w *worker) letGo(keep int) {
	if len(w.held) <= keep {
		return
	}
	n := len(w.held) - keep
	for _, u := range w.held[:n] {
		w.sec.lazy.release(u)
	}
	w.held = append(w.held[:0], w.held[n:]...)
}

// span is a range of section offsets, grown by add; empty when hi <= lo.
type span struct{ lo, hi int }

func (s *span) add(lo, hi int) {
	if s.hi <= s.lo {
		s.lo, s.hi = lo, hi
		return
	}
	s.lo, s.hi = min(s.lo, lo), max(s.hi, hi)
}

// String section tags for the intern key.
const (
	keyStr     = 1 << 56
	keyLineStr = 2 << 56
)

// startUnit makes u the worker's current unit: its abbreviation table is
// parsed into the worker's own, and its unit DIE read if no other worker
// has read it yet.
func (w *worker) startUnit(u *unit) error {
	w.cur = nil
	if err := w.hold(u); err != nil {
		return err
	}
	if err := w.own.parse(w.sec.abbrev, u.abbrevOff, u); err != nil {
		return fmt.Errorf("%w (unit at 0x%x)", err, u.off)
	}
	w.cur = u
	return w.prepare(u, &w.own)
}

// prepare reads the unit DIE of u with table t, once for the whole scan.
func (w *worker) prepare(u *unit, t *abbrevTable) error {
	u.prepared.Do(func() { u.prepErr = w.unitDIE(u, t) })
	return u.prepErr
}

// abbrevs returns the abbreviation table to read unit u's DIEs with: the
// worker's own for its current unit; for another unit (a reference across
// units), that unit's shared table, made on first use.
func (w *worker) abbrevs(u *unit) (*abbrevTable, error) {
	if u == w.cur {
		return &w.own, nil
	}
	u.sharedMu.Lock()
	if u.shared == nil && u.sharedErr == nil {
		t, err := parseAbbrevs(w.sec.abbrev, u.abbrevOff, u)
		if err != nil {
			u.sharedErr = fmt.Errorf("%w (unit at 0x%x)", err, u.off)
		} else {
			u.shared = t
		}
	}
	t, err := u.shared, u.sharedErr
	u.sharedMu.Unlock()
	if err != nil {
		return nil, err
	}
	return t, w.prepare(u, t)
}

// dieErr formats an error naming the unit and the DIE.
func dieErr(u *unit, off uint64, format string, args ...any) error {
	return fmt.Errorf("dwarf: .debug_info: unit at 0x%x, DIE at 0x%x: %s", u.off, off, fmt.Sprintf(format, args...))
}

// readDIE decodes the DIE at off in unit u into d. A null entry gives
// d.tag == 0.
func (w *worker) readDIE(u *unit, off uint64, d *die) error {
	info := w.sec.info
	*d = die{off: off}
	if off >= u.end {
		return dieErr(u, off, "offset past the end of the unit (0x%x)", u.end)
	}
	if err := w.hold(u); err != nil {
		return err
	}
	code, p, ok := uleb(info[:u.end], int(off))
	if !ok {
		return dieErr(u, off, "truncated abbreviation code")
	}
	if code == 0 {
		d.next = uint64(p)
		return nil
	}
	t, err := w.abbrevs(u)
	if err != nil {
		return err
	}
	a := t.get(code)
	if a == nil {
		return dieErr(u, off, "abbreviation code %d not in the table at .debug_abbrev 0x%x", code, u.abbrevOff)
	}
	d.tag, d.children = a.tag, a.children
	v := &w.v
	for i := range a.attrs {
		s := &a.attrs[i]
		var err error
		p, err = u.readVal(info, p, s.form, s.ic, v)
		if err != nil {
			return dieErr(u, off, "%v", err)
		}
		switch s.at {
		case atName:
			d.name = w.str(u, v)
		case atLinkageName, atMIPSLinkageName:
			d.linkage = w.str(u, v)
		case atType:
			d.typ, d.hasType = w.ref(u, v, &d.sig8), true
		case atAbstractOrigin:
			d.origin = w.ref(u, v, nil)
		case atSpecification:
			d.spec = w.ref(u, v, nil)
		case atSibling:
			d.sibling = w.ref(u, v, nil)
		case atExternal:
			d.external = v.u != 0
		case atDeclaration:
			d.decl = v.u != 0
		case atArtificial:
			d.artificial = v.u != 0
		case atPrototyped:
			d.prototyped = v.u != 0
		case atInline:
			d.inline = uint8(v.u)
		case atCallingConvention:
			d.cc = uint8(v.u)
		case atEncoding:
			d.encoding = uint8(v.u)
		case atLowPC:
			d.lowPC, d.hasLowPC = w.addr(u, v), true
		case atRanges:
			d.ranges, d.hasRanges = *v, true
		case atLocation:
			d.loc, d.hasLoc = *v, true
		case atFrameBase:
			d.frameBase, d.hasFrameBase = *v, true
		case atConstValue:
			d.hasConst = true
		case atByteSize:
			d.byteSize, d.hasSize = int64(v.u), true
		case atBitSize:
			d.bitSize, d.hasBitSize = int64(v.u), true
		case atBitOffset:
			d.bitOffset, d.hasBitOffset = v.s, true
		case atDataBitOffset:
			d.dataBitOffset, d.hasDBO = int64(v.u), true
		case atDataMemberLoc:
			d.memberLoc, d.hasMemberLoc = memberLocation(v)
		case atAlignment:
			d.align = int64(v.u)
		case atCount:
			d.count, d.hasCount = int64(v.u), true
		case atUpperBound:
			d.upper, d.hasUpper = v.s, true
			if v.form == formUdata {
				d.upper = int64(v.u)
			}
		case atLowerBound:
			d.lower = v.s
		}
	}
	d.next = uint64(p)
	return nil
}

// memberLocation reads DW_AT_data_member_location: a constant, or (DWARF 2
// and 3) an expression DW_OP_plus_uconst N.
func memberLocation(v *val) (int64, bool) {
	switch v.form {
	case formBlock, formBlock1, formBlock2, formBlock4, formExprloc:
		if len(v.b) > 0 && v.b[0] == 0x23 { // DW_OP_plus_uconst
			x, _, ok := uleb(v.b, 1)
			return int64(x), ok
		}
		return 0, false
	case formSdata, formImplicitConst:
		return v.s, true
	}
	return int64(v.u), true
}

// ref returns the .debug_info offset a reference names, or 0 for one the
// scanner does not follow (type units, supplementary files); *sig8 is set for
// a type-unit signature.
func (w *worker) ref(u *unit, v *val, sig8 *bool) uint64 {
	switch v.form {
	case formRef1, formRef2, formRef4, formRef8, formRefUdata, formRefAddr:
		return v.u
	case formRefSig8:
		if sig8 != nil {
			*sig8 = true
		}
	}
	return 0
}

// str resolves a string attribute.
func (w *worker) str(u *unit, v *val) string {
	switch v.form {
	case formString:
		return string(v.b)
	case formStrp:
		return w.strAt(w.sec.str, keyStr, v.u)
	case formLineStrp:
		return w.strAt(w.sec.lineStr, keyLineStr, v.u)
	case formStrx, formStrx1, formStrx2, formStrx3, formStrx4, formGNUStrIndex:
		// DWARF 5 7.26: entries of the offset size, from the unit's base.
		base := u.strOffBase
		if base == 0 && u.version == 5 {
			base = 8 // a lone contribution header, when DW_AT_str_offsets_base is missing
			if u.offSize == 8 {
				base = 16
			}
		}
		so := w.sec.strOffsets
		k := uint64(u.offSize)
		if v.u > uint64(len(so))/k {
			return ""
		}
		at := base + v.u*k
		if at > uint64(len(so)) || k > uint64(len(so))-at {
			return ""
		}
		var o uint64
		if k == 8 {
			o = bo64(u, so[at:])
		} else {
			o = uint64(bo32(u, so[at:]))
		}
		return w.strAt(w.sec.str, keyStr, o)
	}
	return ""
}

func (w *worker) strAt(sec []byte, key, off uint64) string {
	if off >= uint64(len(sec)) {
		return ""
	}
	if s, ok := w.strs[key|off]; ok {
		return s
	}
	b := sec[off:]
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	s := string(b)
	w.strs[key|off] = s
	if key == keyStr {
		w.strRead.add(int(off), int(off)+len(b)+1)
	}
	return s
}

// addr resolves an address attribute (DW_FORM_addr or an index into
// .debug_addr).
func (w *worker) addr(u *unit, v *val) uint64 {
	switch v.form {
	case formAddrx, formAddrx1, formAddrx2, formAddrx3, formAddrx4, formGNUAddrIndex:
		a, _ := w.addrIndex(u, v.u)
		return a
	}
	return v.u
}

// addrIndex reads entry i of the unit's .debug_addr contribution.
func (w *worker) addrIndex(u *unit, i uint64) (uint64, bool) {
	sec := w.sec.addr
	k := uint64(u.addrSize)
	if i > uint64(len(sec))/k {
		return 0, false
	}
	at := u.addrBase + i*k
	if at > uint64(len(sec)) || k > uint64(len(sec))-at {
		return 0, false
	}
	return readAddr(u, sec[at:], u.addrSize), true
}

func readAddr(u *unit, p []byte, size int) uint64 {
	switch size {
	case 8:
		return bo64(u, p)
	case 4:
		return uint64(bo32(u, p))
	case 2:
		return uint64(bo16(u, p))
	}
	return 0
}
