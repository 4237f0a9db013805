package dwarf

import "fmt"

// Type layout: peel typedefs and qualifiers, decode aggregates with their
// members, and infer alignment and packing from the layout, since DWARF has
// no attribute for packing (docs/facts.md §3). The rules, in order of use:
//
//   - a base type's natural alignment is the largest power of two that
//     divides its size, at most 16 (complex types: half the size, their
//     part's alignment); a pointer's is its size; an enum's its size; an
//     array's its element's;
//   - a member's alignment is its type's Align raised by the member's own
//     DW_AT_alignment; an aggregate whose members all sit at multiples of
//     their alignment and whose size is a multiple of the largest of them is
//     not packed, and its natural alignment is that largest one; otherwise it
//     is packed and its natural alignment is 1;
//   - DW_AT_alignment on the type, or on any typedef or qualifier peeled on
//     the way to it, raises Align (and is kept apart in Explicit, since
//     AAPCS64 ignores it on the whole struct).

// maxTypeDepth bounds how deep typedefs, qualifiers, members and array
// elements may nest. Real C types nest a few dozen levels at most; the bound
// keeps a hostile chain from exhausting the stack.
const maxTypeDepth = 1000

// inProgress marks a type being decoded, to detect reference cycles.
var inProgress = &Type{Kind: KindUnknown, Size: -1}

// typeAt returns the peeled type that the DIE at off names. A type that
// contains itself (no C type can) or nests past maxTypeDepth makes the
// whole file's DWARF untrustworthy: it is recorded in w.typeErr, which ends
// the scan, and reads as unknown meanwhile.
func (w *worker) typeAt(off uint64, depth int) *Type {
	if t, ok := w.types[off]; ok {
		if t == inProgress {
			w.malformedType(off, "a type that contains itself (a DW_AT_type cycle)")
			return unknownType(off)
		}
		return t
	}
	if depth > maxTypeDepth {
		w.malformedType(off, fmt.Sprintf("types nested more than %d deep", maxTypeDepth))
		return unknownType(off)
	}
	w.types[off] = inProgress
	t := w.decodeType(off, depth)
	w.types[off] = t
	return t
}

// malformedType records the first malformed type of the unit.
func (w *worker) malformedType(off uint64, what string) {
	if w.typeErr == nil {
		w.typeErr = fmt.Errorf("dwarf: .debug_info: DIE at 0x%x: %s", off, what)
	}
}

func unknownType(off uint64) *Type {
	return &Type{Offset: off, Kind: KindUnknown, Size: -1, Align: 1, Natural: 1}
}

func (w *worker) decodeType(off uint64, depth int) *Type {
	u := w.unitAt(off)
	if u == nil {
		return unknownType(off)
	}
	var d die
	if err := w.readDIE(u, off, &d); err != nil || d.tag == 0 {
		return unknownType(off)
	}
	inner := func() *Type {
		if d.sig8 {
			w.unsupported++
			return &Type{Offset: off, Kind: KindUnsupported, Size: -1, Align: 1, Natural: 1}
		}
		if !d.hasType || d.typ == 0 {
			return &Type{Offset: off, Kind: KindVoid, Align: 1, Natural: 1}
		}
		return w.typeAt(d.typ, depth+1)
	}
	switch d.tag {
	case tagTypedef, tagConstType, tagVolatileType, tagRestrictType, tagAtomicType, tagImmutableType:
		in := inner()
		if d.tag != tagTypedef && d.align == 0 {
			return in
		}
		c := *in
		if d.tag == tagTypedef {
			c.Typedef = d.name
		}
		if d.align > c.Explicit {
			c.Explicit = d.align
		}
		if d.align > c.Align {
			c.Align = d.align
		}
		return &c
	case tagBaseType:
		t := &Type{Offset: off, Name: d.name, Size: d.byteSize, Encoding: d.encoding}
		switch d.encoding {
		case ATEBoolean:
			t.Kind = KindBool
		case ATEFloat, ATEComplexFloat:
			t.Kind = KindFloat
		default:
			t.Kind = KindInt
		}
		if !d.hasSize {
			t.Size = -1
		}
		sz := t.Size
		if d.encoding == ATEComplexFloat {
			sz /= 2
		}
		t.Natural = naturalOf(sz)
		w.finishAlign(t, d.align)
		return t
	case tagPointerType, tagReferenceType, tagRvalueReference, tagPtrToMemberType:
		t := &Type{Offset: off, Kind: KindPointer, Name: d.name, Size: int64(u.addrSize), Target: d.typ}
		if d.hasSize {
			t.Size = d.byteSize
		}
		t.Natural = naturalOf(t.Size)
		w.finishAlign(t, d.align)
		return t
	case tagEnumerationType:
		t := &Type{Offset: off, Kind: KindEnum, Name: d.name, Size: d.byteSize, Encoding: ATEUnsigned, Incomplete: d.decl && !d.hasSize}
		if !d.hasSize {
			t.Size = -1
		}
		if d.hasType && d.typ != 0 {
			if b := w.typeAt(d.typ, depth+1); b.Kind == KindInt || b.Kind == KindBool {
				t.Encoding = b.Encoding
			}
		}
		t.Natural = naturalOf(t.Size)
		w.finishAlign(t, d.align)
		return t
	case tagStructureType, tagClassType, tagUnionType:
		return w.aggregate(u, &d, depth)
	case tagArrayType:
		elem := inner()
		t := &Type{Offset: off, Kind: KindArray, Name: d.name, Elem: elem, Count: 1}
		dims := 0
		w.children(u, &d, func(c *die) {
			if c.tag != tagSubrangeType {
				return
			}
			dims++
			n := int64(-1)
			switch {
			case c.hasCount:
				n = c.count
			case c.hasUpper && c.upper >= c.lower-1:
				n = c.upper - c.lower + 1
			}
			if n < 0 || t.Count < 0 {
				t.Count = -1
			} else {
				t.Count *= n
			}
		})
		if dims == 0 || t.Count < 0 {
			t.Count = 0
		}
		switch {
		case d.hasSize:
			t.Size = d.byteSize
		case elem.Size >= 0:
			t.Size = elem.Size * t.Count
		default:
			t.Size = -1
		}
		t.Natural = elem.Align
		t.UnalignedField = elem.UnalignedField
		w.finishAlign(t, d.align)
		return t
	case tagSubroutineType:
		t := &Type{Offset: off, Kind: KindFunc, Size: -1, Natural: 1}
		w.finishAlign(t, d.align)
		return t
	case tagUnspecifiedType:
		return &Type{Offset: off, Kind: KindVoid, Name: d.name, Align: 1, Natural: 1}
	}
	return unknownType(off)
}

// naturalOf is the largest power of two dividing size, between 1 and 16.
func naturalOf(size int64) int64 {
	if size <= 0 {
		return 1
	}
	a := int64(1)
	for a < 16 && size%(a*2) == 0 {
		a *= 2
	}
	return a
}

// finishAlign sets Align and Explicit from Natural and a DW_AT_alignment.
func (w *worker) finishAlign(t *Type, explicit int64) {
	if t.Natural < 1 {
		t.Natural = 1
	}
	t.Explicit = explicit
	t.Align = t.Natural
	if explicit > t.Align {
		t.Align = explicit
	}
}

// aggregate decodes a struct, class or union and infers its packing.
func (w *worker) aggregate(u *unit, d *die, depth int) *Type {
	kind := KindStruct
	if d.tag == tagUnionType {
		kind = KindUnion
	}
	t := &Type{Offset: d.off, Kind: kind, Name: d.name, Size: d.byteSize}
	if !d.hasSize {
		t.Size = -1
		t.Incomplete = d.decl
		t.Natural = 1
		w.finishAlign(t, d.align)
		return t
	}
	big := u.big
	w.children(u, d, func(c *die) {
		if c.tag != tagMember {
			return
		}
		m := Member{Name: c.name, Align: c.align}
		if c.sig8 {
			w.unsupported++
			m.Type = &Type{Kind: KindUnsupported, Size: -1, Align: 1, Natural: 1}
		} else if c.hasType && c.typ != 0 {
			m.Type = w.typeAt(c.typ, depth+1)
		} else {
			m.Type = unknownType(0)
		}
		if c.hasBitSize {
			m.BitSize = c.bitSize
		}
		switch {
		case c.hasDBO:
			m.BitOffset = c.dataBitOffset
		case c.hasBitOffset && c.hasBitSize:
			// DWARF 2/3: the offset of the field's most significant
			// bit within a storage unit of byte_size bytes at the
			// member location.
			unit := m.Type.Size
			if c.hasSize {
				unit = c.byteSize
			}
			base := c.memberLoc * 8
			if big {
				m.BitOffset = base + c.bitOffset
			} else {
				m.BitOffset = base + unit*8 - c.bitOffset - c.bitSize
			}
		default:
			m.BitOffset = c.memberLoc * 8
		}
		m.Offset = m.BitOffset / 8
		t.Members = append(t.Members, m)
	})
	maxA := int64(1)
	for i := range t.Members {
		m := &t.Members[i]
		a := m.Type.Align
		if m.Align > a {
			a = m.Align
		}
		if a < 1 {
			a = 1
		}
		if m.BitSize == 0 {
			if m.BitOffset%(a*8) != 0 {
				t.Misaligned = true
			}
		} else if unit := m.Type.Size * 8; unit > 0 && m.BitSize > 0 {
			// A bit field crossing a boundary of its type's size can
			// only come from packing.
			if m.BitOffset/unit != (m.BitOffset+m.BitSize-1)/unit {
				t.Misaligned = true
			}
		}
		if m.Type.UnalignedField {
			t.UnalignedField = true
		}
		if m.BitSize == 0 || m.Name != "" {
			if a > maxA {
				maxA = a
			}
		}
	}
	t.UnalignedField = t.UnalignedField || t.Misaligned
	t.Packed = t.Misaligned || t.Size%maxA != 0
	t.Natural = maxA
	if t.Packed {
		t.Natural = 1
	}
	w.finishAlign(t, d.align)
	return t
}

// children calls f for each direct child DIE of d.
func (w *worker) children(u *unit, d *die, f func(*die)) {
	if !d.children {
		return
	}
	var c die
	off := d.next
	for n := 0; n < 1<<20; n++ {
		if err := w.readDIE(u, off, &c); err != nil {
			return
		}
		if c.tag == 0 {
			return
		}
		f(&c)
		if !c.children {
			off = c.next
			continue
		}
		if c.sibling > off && c.sibling < u.end {
			off = c.sibling
			continue
		}
		next, err := w.skipTree(u, c.next)
		if err != nil {
			return
		}
		off = next
	}
}

// skipTree returns the offset after the children list that starts at off
// (up to and including its terminating null entry).
func (w *worker) skipTree(u *unit, off uint64) (uint64, error) {
	if err := w.hold(u); err != nil {
		return 0, err
	}
	info := w.sec.info[:u.end]
	t, err := w.abbrevs(u)
	if err != nil {
		return 0, err
	}
	depth := 1
	p := int(off)
	for depth > 0 {
		code, q, ok := uleb(info, p)
		if !ok {
			return 0, dieErr(u, uint64(p), "truncated abbreviation code")
		}
		if code == 0 {
			depth--
			p = q
			continue
		}
		a := t.get(code)
		if a == nil {
			return 0, dieErr(u, uint64(p), "abbreviation code %d not in the table", code)
		}
		next, err := u.skip(info, q, a)
		if err != nil {
			return 0, dieErr(u, uint64(p), "%v", err)
		}
		p = next
		if a.children {
			depth++
		}
	}
	return uint64(p), nil
}
