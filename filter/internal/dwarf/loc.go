package dwarf

import "fmt"

// This file reads DW_AT_ranges (the entry address of a function split in
// parts) and DW_AT_location (where a parameter is at entry): DWARF 4
// .debug_ranges/.debug_loc and DWARF 5 .debug_rnglists/.debug_loclists
// (DWARF 5 sections 2.6.2 and 2.17.3, encodings in 7.7.3 and 7.25).

// listOffset turns a DW_FORM_rnglistx/loclistx index into an offset in the
// section: the unit's offsets table holds offsets relative to the base.
func listOffset(u *unit, sec []byte, base uint64, idx uint64) (uint64, error) {
	k := uint64(u.offSize)
	if idx > uint64(len(sec))/k {
		return 0, fmt.Errorf("list index %d out of range", idx)
	}
	at := base + idx*k
	if at > uint64(len(sec)) || k > uint64(len(sec))-at {
		return 0, fmt.Errorf("list index %d out of range", idx)
	}
	var o uint64
	if k == 8 {
		o = bo64(u, sec[at:])
	} else {
		o = uint64(bo32(u, sec[at:]))
	}
	return base + o, nil
}

// firstRange returns the start of the first non-empty range of a
// DW_AT_ranges value.
func (w *worker) firstRange(u *unit, v *val) (uint64, bool, error) {
	if u.version < 5 {
		return w.firstRange4(u, v.u)
	}
	sec := w.sec.rnglists
	off, err := listStart(u, sec, v, v.form == formRnglistx, u.rnglistsBase, u.hasRnglistsBase)
	if err != nil {
		return 0, false, fmt.Errorf(".debug_rnglists: %w", err)
	}
	bad := func() (uint64, bool, error) {
		return 0, false, fmt.Errorf(".debug_rnglists: malformed list at 0x%x", off)
	}
	l := listReader{w: w, u: u, sec: sec, p: int(off), base: u.lowPC}
	for n := 0; n < 1<<20; n++ {
		if l.p >= len(sec) {
			return bad()
		}
		kind := sec[l.p]
		l.p++
		if kind == 0 { // DW_RLE_end_of_list
			return 0, false, nil
		}
		a, b, isRange, ok := l.entry(kind)
		if !ok {
			return bad()
		}
		if isRange && a != b {
			return a, true, nil
		}
	}
	return bad()
}

// listStart returns the offset in sec (.debug_rnglists or .debug_loclists)
// of the list a DW_AT_ranges or DW_AT_location value names: the value
// itself, or for the *listx forms an index into the unit's offset table
// (whose base defaults to just past the section header).
func listStart(u *unit, sec []byte, v *val, indexed bool, tableBase uint64, haveBase bool) (uint64, error) {
	off := v.u
	if indexed {
		if !haveBase {
			tableBase = 8 + 4
			if u.offSize == 8 {
				tableBase = 16 + 4
			}
		}
		var err error
		if off, err = listOffset(u, sec, tableBase, v.u); err != nil {
			return 0, err
		}
	}
	if off > uint64(len(sec)) {
		return 0, fmt.Errorf("offset 0x%x past the section", off)
	}
	return off, nil
}

// listReader walks the entries of one DWARF 5 range or location list.
type listReader struct {
	w    *worker
	u    *unit
	sec  []byte
	p    int
	base uint64
}

// entry decodes the operands of an entry of the given kind, numbered as in
// .debug_rnglists (DW_RLE_*; .debug_loclists shares the numbers up to 4
// and shifts the later ones by its default_location). Entries that set the
// base address update it and report isRange false; ok is false for a
// malformed entry or an unknown kind.
func (l *listReader) entry(kind byte) (a, b uint64, isRange, ok bool) {
	sec, u := l.sec, l.u
	var x uint64
	switch kind {
	case 1: // base_addressx
		if x, l.p, ok = uleb(sec, l.p); !ok {
			return 0, 0, false, false
		}
		l.base, _ = l.w.addrIndex(u, x)
		return 0, 0, false, true
	case 2, 3: // startx_endx, startx_length
		if x, l.p, ok = uleb(sec, l.p); !ok {
			return 0, 0, false, false
		}
		a, _ = l.w.addrIndex(u, x)
		if b, l.p, ok = uleb(sec, l.p); !ok {
			return 0, 0, false, false
		}
		if kind == 2 {
			b, _ = l.w.addrIndex(u, b)
		} else {
			b += a
		}
	case 4: // offset_pair
		if a, l.p, ok = uleb(sec, l.p); !ok {
			return 0, 0, false, false
		}
		if b, l.p, ok = uleb(sec, l.p); !ok {
			return 0, 0, false, false
		}
		a, b = a+l.base, b+l.base
	case 5: // base_address
		if l.p+u.addrSize > len(sec) {
			return 0, 0, false, false
		}
		l.base = readAddr(u, sec[l.p:], u.addrSize)
		l.p += u.addrSize
		return 0, 0, false, true
	case 6: // start_end
		if l.p+2*u.addrSize > len(sec) {
			return 0, 0, false, false
		}
		a = readAddr(u, sec[l.p:], u.addrSize)
		b = readAddr(u, sec[l.p+u.addrSize:], u.addrSize)
		l.p += 2 * u.addrSize
	case 7: // start_length
		if l.p+u.addrSize > len(sec) {
			return 0, 0, false, false
		}
		a = readAddr(u, sec[l.p:], u.addrSize)
		l.p += u.addrSize
		if b, l.p, ok = uleb(sec, l.p); !ok {
			return 0, 0, false, false
		}
		b += a
	default:
		return 0, 0, false, false
	}
	return a, b, true, true
}

func (w *worker) firstRange4(u *unit, off uint64) (uint64, bool, error) {
	sec := w.sec.ranges
	k := uint64(u.addrSize)
	max := uint64(1)<<(8*k) - 1
	if k == 8 {
		max = ^uint64(0)
	}
	base := u.lowPC
	for p := off; p <= uint64(len(sec)) && 2*k <= uint64(len(sec))-p; p += 2 * k {
		a := readAddr(u, sec[p:], int(k))
		b := readAddr(u, sec[p+k:], int(k))
		switch {
		case a == 0 && b == 0:
			return 0, false, nil
		case a == max:
			base = b
		case a != b:
			return base + a, true, nil
		}
	}
	return 0, false, fmt.Errorf(".debug_ranges: malformed list at 0x%x", off)
}

// entryExpr returns the location expression of a DW_AT_location valid at pc
// (the first entry when havePC is false). ok is false when no entry covers
// it.
func (w *worker) entryExpr(u *unit, v *val, pc uint64, havePC bool) (expr []byte, fromList, ok bool, err error) {
	switch v.form {
	case formExprloc, formBlock, formBlock1, formBlock2, formBlock4:
		return v.b, false, true, nil
	}
	if u.version < 5 {
		e, ok, err := w.loc4(u, v.u, pc, havePC)
		return e, true, ok, err
	}
	sec := w.sec.loclists
	off, err := listStart(u, sec, v, v.form == formLoclistx, u.loclistsBase, u.hasLoclistsBase)
	if err != nil {
		return nil, true, false, fmt.Errorf(".debug_loclists: %w", err)
	}
	bad := func() ([]byte, bool, bool, error) {
		return nil, true, false, fmt.Errorf(".debug_loclists: malformed list at 0x%x", off)
	}
	lr := listReader{w: w, u: u, sec: sec, p: int(off), base: u.lowPC}
	defer func() { w.locRead.add(int(off), lr.p) }()
	for n := 0; n < 1<<20; n++ {
		if lr.p >= len(sec) {
			return bad()
		}
		kind := sec[lr.p]
		lr.p++
		var a, b uint64
		dflt := false
		switch {
		case kind == 0: // DW_LLE_end_of_list
			return nil, true, false, nil
		case kind == 5: // DW_LLE_default_location
			dflt = true
		default:
			// DW_LLE_base_address, start_end and start_length are
			// DW_RLE_'s 5, 6 and 7 moved up by one.
			if kind > 5 {
				kind--
			}
			isRange, ok := false, false
			if a, b, isRange, ok = lr.entry(kind); !ok {
				return bad()
			}
			if !isRange {
				continue
			}
		}
		p := lr.p
		l, q, ok := uleb(sec, p)
		if !ok || l > uint64(len(sec)-q) {
			return bad()
		}
		e := sec[q : q+int(l)]
		lr.p = q + int(l)
		if dflt || !havePC || (a <= pc && pc < b) {
			if a == b && !dflt && havePC {
				continue
			}
			return e, true, true, nil
		}
	}
	return bad()
}

func (w *worker) loc4(u *unit, off, pc uint64, havePC bool) ([]byte, bool, error) {
	sec := w.sec.loc
	k := uint64(u.addrSize)
	max := uint64(1)<<(8*k) - 1
	if k == 8 {
		max = ^uint64(0)
	}
	base := u.lowPC
	p := off
	for p <= uint64(len(sec)) && 2*k <= uint64(len(sec))-p {
		a := readAddr(u, sec[p:], int(k))
		b := readAddr(u, sec[p+k:], int(k))
		p += 2 * k
		if a == 0 && b == 0 {
			return nil, false, nil
		}
		if a == max {
			base = b
			continue
		}
		if p+2 > uint64(len(sec)) {
			break
		}
		l := uint64(bo16(u, sec[p:]))
		p += 2
		if l > uint64(len(sec))-p {
			break
		}
		e := sec[p : p+l]
		p += l
		if !havePC || (base+a <= pc && pc < base+b) {
			return e, true, nil
		}
	}
	return nil, false, fmt.Errorf(".debug_loc: malformed list at 0x%x", off)
}

// decodeExpr classifies a location expression (DWARF 5 2.5 and 2.6).
func decodeExpr(e []byte) Location {
	var loc Location
	var cur Piece
	have := false
	pieces := false
	p := 0
	for p < len(e) {
		op := e[p]
		p++
		var ok bool
		switch {
		case op >= 0x50 && op <= 0x6f: // DW_OP_reg0..31
			cur, have = Piece{Kind: LocReg, Reg: int(op - 0x50)}, true
		case op == 0x90: // DW_OP_regx
			var r uint64
			if r, p, ok = uleb(e, p); !ok {
				return Location{Kind: LocOther}
			}
			cur, have = Piece{Kind: LocReg, Reg: int(r & 0xffff)}, true
		case op == 0x91: // DW_OP_fbreg
			var o int64
			if o, p, ok = sleb(e, p); !ok {
				return Location{Kind: LocOther}
			}
			cur, have = Piece{Kind: LocFrame, Offset: o}, true
		case op >= 0x70 && op <= 0x8f: // DW_OP_breg0..31
			var o int64
			if o, p, ok = sleb(e, p); !ok {
				return Location{Kind: LocOther}
			}
			cur, have = Piece{Kind: LocBreg, Reg: int(op - 0x70), Offset: o}, true
		case op == 0x92: // DW_OP_bregx
			var r uint64
			var o int64
			if r, p, ok = uleb(e, p); !ok {
				return Location{Kind: LocOther}
			}
			if o, p, ok = sleb(e, p); !ok {
				return Location{Kind: LocOther}
			}
			cur, have = Piece{Kind: LocBreg, Reg: int(r & 0xffff), Offset: o}, true
		case op == 0xa3 || op == 0xf3: // DW_OP_entry_value, DW_OP_GNU_entry_value
			var l uint64
			if l, p, ok = uleb(e, p); !ok || l > uint64(len(e)-p) {
				return Location{Kind: LocOther}
			}
			in := decodeExpr(e[p : p+int(l)])
			p += int(l)
			if in.Kind == LocReg {
				cur, have = Piece{Kind: LocReg, Reg: in.Reg}, true
				loc.EntryValue = true
				// The DW_OP_stack_value that follows says the value
				// (not its address) is the register's entry value.
				if p < len(e) && e[p] == 0x9f {
					p++
				}
			} else {
				cur, have = Piece{Kind: LocOther}, true
			}
		case (op == 0xa8 || op == 0xf7 || op == 0x10 || op == 0x1a || (op >= 0x24 && op <= 0x26) || (op >= 0x30 && op <= 0x4f)) &&
			have && cur.Kind == LocBreg && cur.Offset == 0:
			// DW_OP_convert, DW_OP_GNU_convert, DW_OP_constu, DW_OP_and,
			// DW_OP_shl/shr/shra, DW_OP_lit*: clang narrows or masks a
			// register's value this way; the value still comes from it.
			if op == 0xa8 || op == 0xf7 || op == 0x10 {
				if _, p, ok = uleb(e, p); !ok {
					return Location{Kind: LocOther}
				}
			}
			cur.Computed = true
		case op == 0x9f || op == 0x9e: // DW_OP_stack_value, DW_OP_implicit_value
			switch {
			case op == 0x9f && have && cur.Kind == LocBreg && cur.Offset == 0:
				// DW_OP_bregN 0 ... DW_OP_stack_value: the value of
				// register N.
				cur = Piece{Kind: LocReg, Reg: cur.Reg, Computed: true}
			case !have || cur.Kind != LocReg || !loc.EntryValue:
				cur, have = Piece{Kind: LocConst}, true
			}
			if op == 0x9e {
				var l uint64
				if l, p, ok = uleb(e, p); !ok || l > uint64(len(e)-p) {
					return Location{Kind: LocOther}
				}
				p += int(l)
			}
		case op == 0x93: // DW_OP_piece
			var sz uint64
			if sz, p, ok = uleb(e, p); !ok {
				return Location{Kind: LocOther}
			}
			if !have {
				cur = Piece{Kind: LocNone}
			}
			if cur.Computed && cur.Kind != LocReg {
				cur.Kind = LocOther
			}
			cur.Size = int64(sz)
			loc.Pieces = append(loc.Pieces, cur)
			pieces, have, cur = true, false, Piece{}
		case op == 0x9c: // DW_OP_call_frame_cfa
			cur, have = Piece{Kind: LocCFA}, true
		case op == 0x9d: // DW_OP_bit_piece: a piece we do not split further
			return Location{Kind: LocOther}
		default:
			// Any other operation computes a value or an address the
			// scanner does not follow.
			return Location{Kind: LocOther, EntryValue: loc.EntryValue}
		}
	}
	if pieces {
		loc.Kind = LocPieces
		if have {
			loc.Pieces = append(loc.Pieces, cur)
		}
		return loc
	}
	if !have {
		return Location{Kind: LocNone}
	}
	if cur.Computed && cur.Kind != LocReg {
		// A computation on an address register that is not turned
		// into a value is not a location the scanner names.
		return Location{Kind: LocOther}
	}
	loc.Kind, loc.Reg, loc.Offset, loc.Computed = cur.Kind, cur.Reg, cur.Offset, cur.Computed
	return loc
}
