package dwarf

import (
	"bytes"
	"fmt"
)

// val is one decoded attribute value. u holds constants, flags, section
// offsets, indexes, addresses and references (references already made
// relative to the start of .debug_info); s the signed reading of constants;
// b the bytes of blocks, expressions, inline strings and data16.
type val struct {
	form uint32
	u    uint64
	s    int64
	b    []byte
}

// readVal decodes the attribute of form at info[off:] for unit u and returns
// the offset after it.
func (u *unit) readVal(info []byte, off int, form uint32, ic int64, v *val) (int, error) {
	v.form = form
	v.b = nil
	end := int(u.end)
	if end > len(info) {
		end = len(info)
	}
	b := info[:end]
	need := func(k int) error {
		if off < 0 || k < 0 || k > len(b)-off {
			return fmt.Errorf("form 0x%x at 0x%x runs past the unit", form, off)
		}
		return nil
	}
	fixed := func(k int) (int, error) {
		if err := need(k); err != nil {
			return off, err
		}
		var x uint64
		p := b[off : off+k]
		switch k {
		case 1:
			x = uint64(p[0])
		case 2:
			x = uint64(bo16(u, p))
		case 3:
			if u.big {
				x = uint64(p[0])<<16 | uint64(p[1])<<8 | uint64(p[2])
			} else {
				x = uint64(p[2])<<16 | uint64(p[1])<<8 | uint64(p[0])
			}
		case 4:
			x = uint64(bo32(u, p))
		case 8:
			x = bo64(u, p)
		}
		v.u = x
		switch k {
		case 1:
			v.s = int64(int8(x))
		case 2:
			v.s = int64(int16(x))
		case 4:
			v.s = int64(int32(x))
		default:
			v.s = int64(x)
		}
		return off + k, nil
	}
	block := func(n uint64, p int) (int, error) {
		off = p
		if n > uint64(len(b)) {
			return off, fmt.Errorf("form 0x%x at 0x%x: block of 0x%x bytes runs past the unit", form, off, n)
		}
		if err := need(int(n)); err != nil {
			return off, err
		}
		v.b = b[off : off+int(n)]
		return off + int(n), nil
	}
	switch form {
	case formAddr:
		return fixed(u.addrSize)
	case formData1, formRef1, formFlag, formStrx1, formAddrx1:
		off, err := fixed(1)
		if form == formRef1 {
			v.u += u.off
		}
		return off, err
	case formData2, formRef2, formStrx2, formAddrx2:
		off, err := fixed(2)
		if form == formRef2 {
			v.u += u.off
		}
		return off, err
	case formStrx3, formAddrx3:
		return fixed(3)
	case formData4, formRef4, formStrx4, formAddrx4, formRefSup4:
		off, err := fixed(4)
		if form == formRef4 {
			v.u += u.off
		}
		return off, err
	case formData8, formRef8, formRefSig8, formRefSup8:
		off, err := fixed(8)
		if form == formRef8 {
			v.u += u.off
		}
		return off, err
	case formData16:
		return block(16, off)
	case formRefAddr:
		if u.version <= 2 {
			return fixed(u.addrSize)
		}
		return fixed(u.offSize)
	case formStrp, formLineStrp, formSecOffset, formStrpSup, formGNURefAlt, formGNUStrpAlt:
		return fixed(u.offSize)
	case formSdata:
		x, p, ok := sleb(b, off)
		if !ok {
			return p, fmt.Errorf("form 0x%x at 0x%x: truncated LEB128", form, off)
		}
		v.s, v.u = x, uint64(x)
		return p, nil
	case formUdata, formRefUdata, formStrx, formAddrx, formLoclistx, formRnglistx, formGNUAddrIndex, formGNUStrIndex:
		x, p, ok := uleb(b, off)
		if !ok {
			return p, fmt.Errorf("form 0x%x at 0x%x: truncated LEB128", form, off)
		}
		v.u, v.s = x, int64(x)
		if form == formRefUdata {
			v.u += u.off
		}
		return p, nil
	case formImplicitConst:
		v.s, v.u = ic, uint64(ic)
		return off, nil
	case formFlagPresent:
		v.u, v.s = 1, 1
		return off, nil
	case formString:
		if off < 0 || off > len(b) {
			return off, fmt.Errorf("form 0x%x at 0x%x runs past the unit", form, off)
		}
		i := bytes.IndexByte(b[off:], 0)
		if i < 0 {
			return off, fmt.Errorf("string at 0x%x is not terminated", off)
		}
		v.b = b[off : off+i]
		return off + i + 1, nil
	case formBlock1:
		if err := need(1); err != nil {
			return off, err
		}
		return block(uint64(b[off]), off+1)
	case formBlock2:
		if err := need(2); err != nil {
			return off, err
		}
		return block(uint64(bo16(u, b[off:])), off+2)
	case formBlock4:
		if err := need(4); err != nil {
			return off, err
		}
		return block(uint64(bo32(u, b[off:])), off+4)
	case formBlock, formExprloc:
		n, p, ok := uleb(b, off)
		if !ok {
			return p, fmt.Errorf("form 0x%x at 0x%x: truncated LEB128", form, off)
		}
		return block(n, p)
	case formIndirect:
		f, p, ok := uleb(b, off)
		if !ok {
			return p, fmt.Errorf("form 0x%x at 0x%x: truncated LEB128", form, off)
		}
		if f == formIndirect || f == formImplicitConst || f > 0xffff {
			return p, fmt.Errorf("indirect form 0x%x at 0x%x not allowed", f, off)
		}
		return u.readVal(info, p, uint32(f), 0, v)
	}
	return off, fmt.Errorf("unknown form 0x%x at 0x%x", form, off)
}

// skip returns the offset after the attributes of a DIE with abbreviation a
// whose attributes start at off.
func (u *unit) skip(info []byte, off int, a *abbrev) (int, error) {
	if a.fixed >= 0 {
		if a.fixed > int(u.end)-off {
			return off, fmt.Errorf("attributes at 0x%x run past the unit", off)
		}
		return off + a.fixed, nil
	}
	var v val
	var err error
	for i := range a.attrs {
		s := &a.attrs[i]
		if s.fixed >= 0 {
			off += int(s.fixed)
			continue
		}
		switch s.form {
		case formExprloc, formBlock:
			// The most common variable forms, decoded inline: a LEB128
			// length and that many bytes.
			n, p, ok := uleb(info, off)
			if !ok || n > uint64(len(info)) {
				return off, fmt.Errorf("form 0x%x at 0x%x: bad length", s.form, off)
			}
			off = p + int(n)
			continue
		case formUdata, formSdata, formStrx, formAddrx, formRefUdata, formLoclistx, formRnglistx:
			for {
				if off >= len(info) {
					return off, fmt.Errorf("form 0x%x: truncated LEB128", s.form)
				}
				c := info[off]
				off++
				if c < 0x80 {
					break
				}
			}
			continue
		}
		off, err = u.readVal(info, off, s.form, s.ic, &v)
		if err != nil {
			return off, err
		}
	}
	if off > int(u.end) {
		return off, fmt.Errorf("attributes run past the unit")
	}
	return off, nil
}

func bo16(u *unit, p []byte) uint16 {
	if u.big {
		return uint16(p[0])<<8 | uint16(p[1])
	}
	return uint16(p[1])<<8 | uint16(p[0])
}

func bo32(u *unit, p []byte) uint32 {
	if u.big {
		return uint32(p[0])<<24 | uint32(p[1])<<16 | uint32(p[2])<<8 | uint32(p[3])
	}
	return uint32(p[3])<<24 | uint32(p[2])<<16 | uint32(p[1])<<8 | uint32(p[0])
}

func bo64(u *unit, p []byte) uint64 {
	if u.big {
		return uint64(bo32(u, p))<<32 | uint64(bo32(u, p[4:]))
	}
	return uint64(bo32(u, p[4:]))<<32 | uint64(bo32(u, p))
}
