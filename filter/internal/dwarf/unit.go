package dwarf

import (
	"encoding/binary"
	"fmt"
	"sync"
)

// uleb decodes an unsigned LEB128 at b[off:]. ok is false when the number
// runs past the end of b. Bits beyond 64 are dropped.
func uleb(b []byte, off int) (v uint64, next int, ok bool) {
	var shift uint
	for off < len(b) {
		c := b[off]
		off++
		if shift < 64 {
			v |= uint64(c&0x7f) << shift
		}
		if c < 0x80 {
			return v, off, true
		}
		shift += 7
	}
	return 0, off, false
}

// sleb decodes a signed LEB128 at b[off:].
func sleb(b []byte, off int) (v int64, next int, ok bool) {
	var shift uint
	var c byte
	for off < len(b) {
		c = b[off]
		off++
		if shift < 64 {
			v |= int64(c&0x7f) << shift
		}
		shift += 7
		if c < 0x80 {
			if shift < 64 && c&0x40 != 0 {
				v |= -1 << shift
			}
			return v, off, true
		}
	}
	return 0, off, false
}

// attrSpec is one (attribute, form) pair of an abbreviation.
type attrSpec struct {
	at    uint32
	form  uint32
	ic    int64 // the value of a DW_FORM_implicit_const
	fixed int8  // the form's size when fixed for this unit, -1 when variable
}

// abbrev is one abbreviation declaration. fixed is the total size of the
// attributes when every form has a fixed size (then a DIE the scanner does
// not need is skipped with one addition), else -1.
type abbrev struct {
	tag      uint32
	children bool
	present  bool // the table declares this code (dense slots may be empty)
	fixed    int
	attrs    []attrSpec
	lo, hi   int // attrs is the table's attrs[lo:hi]
}

// abbrevTable maps abbreviation codes to declarations. Codes are nearly
// always 1..n, so they index a slice; others go to a map. A table is
// parsed again in place for each unit a worker scans (parse reuses its
// slices), so that a scan holds a few tables, not one per unit.
type abbrevTable struct {
	dense  []abbrev
	sparse map[uint64]*abbrev
	attrs  []attrSpec // every declaration's attributes, one after another
}

func (t *abbrevTable) get(code uint64) *abbrev {
	if code < uint64(len(t.dense)) {
		if a := &t.dense[code]; a.present {
			return a
		}
		return nil
	}
	return t.sparse[code]
}

// parseAbbrevs decodes the abbreviation table at off in .debug_abbrev into
// a new table.
func parseAbbrevs(b []byte, off uint64, u *unit) (*abbrevTable, error) {
	t := &abbrevTable{}
	if err := t.parse(b, off, u); err != nil {
		return nil, err
	}
	return t, nil
}

// parse decodes the abbreviation table at off in .debug_abbrev into t,
// replacing what t held. The first declaration of a code wins.
func (t *abbrevTable) parse(b []byte, off uint64, u *unit) error {
	t.dense, t.attrs = t.dense[:0], t.attrs[:0]
	clear(t.sparse)
	if off >= uint64(len(b)) {
		return fmt.Errorf("dwarf: .debug_abbrev: table offset 0x%x beyond the section (0x%x bytes)", off, len(b))
	}
	p := int(off)
	for {
		start := p
		code, p2, ok := uleb(b, p)
		if !ok {
			return fmt.Errorf("dwarf: .debug_abbrev at 0x%x: truncated code", start)
		}
		p = p2
		if code == 0 {
			break
		}
		tag, p2, ok := uleb(b, p)
		if !ok || p2 >= len(b) {
			return fmt.Errorf("dwarf: .debug_abbrev at 0x%x: truncated tag", start)
		}
		p = p2
		a := abbrev{tag: uint32(tag), children: b[p] != 0, present: true, lo: len(t.attrs)}
		p++
		for {
			at, p2, ok := uleb(b, p)
			if !ok {
				return fmt.Errorf("dwarf: .debug_abbrev at 0x%x: truncated attribute", start)
			}
			form, p3, ok := uleb(b, p2)
			if !ok {
				return fmt.Errorf("dwarf: .debug_abbrev at 0x%x: truncated form", start)
			}
			p = p3
			if at == 0 && form == 0 {
				break
			}
			s := attrSpec{at: uint32(at), form: uint32(form)}
			if form == formImplicitConst {
				s.ic, p, ok = sleb(b, p)
				if !ok {
					return fmt.Errorf("dwarf: .debug_abbrev at 0x%x: truncated implicit constant", start)
				}
			}
			fs := u.fixedSize(s.form)
			s.fixed = int8(fs)
			if fs < 0 {
				a.fixed = -1
			} else if a.fixed >= 0 {
				a.fixed += fs
			}
			t.attrs = append(t.attrs, s)
		}
		a.hi = len(t.attrs)
		if code < 1<<16 {
			for uint64(len(t.dense)) <= code {
				t.dense = append(t.dense, abbrev{})
			}
			if !t.dense[code].present {
				t.dense[code] = a
			}
		} else {
			if t.sparse == nil {
				t.sparse = map[uint64]*abbrev{}
			}
			if t.sparse[code] == nil {
				t.sparse[code] = &a
			}
		}
	}
	// attrs has stopped growing: point every declaration into it.
	for i := range t.dense {
		if a := &t.dense[i]; a.present {
			a.attrs = t.attrs[a.lo:a.hi:a.hi]
		}
	}
	for _, a := range t.sparse {
		a.attrs = t.attrs[a.lo:a.hi:a.hi]
	}
	return nil
}

// unit is the scanner's view of one unit: its header and the bases its unit
// DIE sets for indexed forms.
type unit struct {
	off       uint64 // header offset
	end       uint64 // offset one past the unit
	first     uint64 // offset of the unit DIE
	version   int
	utype     uint8
	addrSize  int
	offSize   int // 4 (32-bit DWARF) or 8 (64-bit DWARF)
	abbrevOff uint64
	abbrevAt  uint64 // offset of the header field abbrevOff was read from
	big       bool   // big-endian file

	// In a relocatable object read in place (lazyInfo), holders counts
	// the workers reading the unit's relocated bytes, under relMu.
	relMu   sync.Mutex
	holders int

	// prepared reads the unit DIE (the bases below, the name and the
	// producer) once, by whichever worker needs the unit first: its own,
	// or one following a reference into it.
	prepared sync.Once
	prepErr  error
	// shared is the abbreviation table that workers scanning other units
	// read this unit's DIEs with, parsed on first such use and kept; the
	// unit's own worker uses its private table.
	sharedMu  sync.Mutex
	shared    *abbrevTable
	sharedErr error

	strOffBase, addrBase, rnglistsBase, loclistsBase uint64
	hasRnglistsBase, hasLoclistsBase                 bool
	lowPC                                            uint64
	name, producer                                   string
}

// parseUnitHeaders walks the unit headers of .debug_info.
func parseUnitHeaders(info []byte, bo binary.ByteOrder) ([]*unit, error) {
	var units []*unit
	off := uint64(0)
	n := uint64(len(info))
	for off < n {
		u := &unit{off: off}
		if n-off < 4 {
			return nil, fmt.Errorf("dwarf: .debug_info: unit at 0x%x: truncated length", off)
		}
		l := uint64(bo.Uint32(info[off:]))
		p := off + 4
		u.offSize = 4
		if l == 0xffffffff {
			if n-p < 8 {
				return nil, fmt.Errorf("dwarf: .debug_info: unit at 0x%x: truncated 64-bit length", off)
			}
			l = bo.Uint64(info[p:])
			p += 8
			u.offSize = 8
		} else if l >= 0xfffffff0 {
			return nil, fmt.Errorf("dwarf: .debug_info: unit at 0x%x: reserved length 0x%x", off, l)
		}
		if l > n-p || l < 2 {
			return nil, fmt.Errorf("dwarf: .debug_info: unit at 0x%x: length 0x%x runs past the section (0x%x bytes)", off, l, n)
		}
		u.end = p + l
		u.version = int(bo.Uint16(info[p:]))
		p += 2
		need := func(k uint64) error {
			if u.end-p < k {
				return fmt.Errorf("dwarf: .debug_info: unit at 0x%x: truncated header", off)
			}
			return nil
		}
		readOff := func() uint64 {
			if u.offSize == 8 {
				v := bo.Uint64(info[p:])
				p += 8
				return v
			}
			v := uint64(bo.Uint32(info[p:]))
			p += 4
			return v
		}
		switch {
		case u.version >= 2 && u.version <= 4:
			if err := need(uint64(u.offSize) + 1); err != nil {
				return nil, err
			}
			u.abbrevAt = p
			u.abbrevOff = readOff()
			u.addrSize = int(info[p])
			p++
			u.utype = utCompile
		case u.version == 5:
			if err := need(2 + uint64(u.offSize)); err != nil {
				return nil, err
			}
			u.utype = info[p]
			u.addrSize = int(info[p+1])
			p += 2
			u.abbrevAt = p
			u.abbrevOff = readOff()
			switch u.utype {
			case utSkeleton, utSplitCompile:
				if err := need(8); err != nil {
					return nil, err
				}
				p += 8
			case utType, utSplitType:
				if err := need(8 + uint64(u.offSize)); err != nil {
					return nil, err
				}
				p += 8 + uint64(u.offSize)
			}
		default:
			return nil, fmt.Errorf("dwarf: .debug_info: unit at 0x%x: unsupported version %d", off, u.version)
		}
		if u.addrSize != 4 && u.addrSize != 8 && u.addrSize != 2 {
			return nil, fmt.Errorf("dwarf: .debug_info: unit at 0x%x: unsupported address size %d", off, u.addrSize)
		}
		u.first = p
		units = append(units, u)
		off = u.end
	}
	return units, nil
}

// fixedSize returns the size of form in unit u when it does not depend on the
// data, else -1.
func (u *unit) fixedSize(form uint32) int {
	switch form {
	case formFlagPresent, formImplicitConst:
		return 0
	case formData1, formRef1, formFlag, formStrx1, formAddrx1:
		return 1
	case formData2, formRef2, formStrx2, formAddrx2:
		return 2
	case formStrx3, formAddrx3:
		return 3
	case formData4, formRef4, formStrx4, formAddrx4, formRefSup4:
		return 4
	case formData8, formRef8, formRefSig8, formRefSup8:
		return 8
	case formData16:
		return 16
	case formAddr:
		return u.addrSize
	case formRefAddr:
		if u.version <= 2 {
			return u.addrSize
		}
		return u.offSize
	case formStrp, formLineStrp, formSecOffset, formStrpSup, formGNURefAlt, formGNUStrpAlt:
		return u.offSize
	}
	return -1
}
