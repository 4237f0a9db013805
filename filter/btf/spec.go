package btf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"unsafe"
)

// Magic is the first field of every BTF header.
const Magic = 0xeB9F

// Header lengths: the classic header, and the 2026 one that adds the layout
// section (docs/facts.md §6).
const (
	HeaderLen       = 24
	HeaderLenLayout = 32
)

// Header is a BTF header. Offsets are relative to the end of the header.
// Tail holds header bytes past the fields this package knows; the kernel
// requires them to be zero, and they are kept as they are.
type Header struct {
	Version   uint8
	Flags     uint8
	HdrLen    uint32
	TypeOff   uint32
	TypeLen   uint32
	StrOff    uint32
	StrLen    uint32
	LayoutOff uint32
	LayoutLen uint32
	Tail      []byte
}

// Spec is one decoded BTF blob. For split BTF, Base is the blob it extends:
// type IDs continue from Base's and string offsets from Base's string table.
type Spec struct {
	Order   binary.ByteOrder
	Header  Header
	Types   []Type // Types[i] has ID FirstID()+i
	Strings []byte // the string section, as stored
	Layout  []byte // the layout section (header length 32), as stored
	Base    *Spec
}

// FirstID is the ID of Types[0].
func (s *Spec) FirstID() TypeID {
	if s.Base == nil {
		return 1
	}
	return s.Base.NextID()
}

// NextID is one past the last ID of s.
func (s *Spec) NextID() TypeID { return s.FirstID() + TypeID(len(s.Types)) }

// StrBase is the string offset of s.Strings[0].
func (s *Spec) StrBase() uint32 {
	if s.Base == nil {
		return 0
	}
	return s.Base.StrBase() + uint32(len(s.Base.Strings))
}

// IsSplit reports whether s extends a base.
func (s *Spec) IsSplit() bool { return s.Base != nil }

// Type returns the type with the given ID, looking into the base for base
// IDs. It returns nil for void (ID 0) and an error past the last ID.
func (s *Spec) Type(id TypeID) (*Type, error) {
	if id == 0 {
		return nil, nil
	}
	first := s.FirstID()
	if id < first {
		return s.Base.Type(id)
	}
	if id >= s.NextID() {
		return nil, fmt.Errorf("type ID %d is past the last type %d", id, s.NextID()-1)
	}
	return &s.Types[id-first], nil
}

// Str returns the NUL-terminated string at offset off, looking into the base
// for offsets below StrBase.
func (s *Spec) Str(off uint32) (string, error) {
	b, err := s.StrBytes(off)
	return string(b), err
}

// StrBytes is Str without the copy; the result aliases the string table.
func (s *Spec) StrBytes(off uint32) ([]byte, error) {
	base := s.StrBase()
	if off < base {
		return s.Base.StrBytes(off)
	}
	rel := off - base
	if uint64(rel) >= uint64(len(s.Strings)) {
		return nil, fmt.Errorf("string offset %d is past the string section (%d bytes from %d)", off, len(s.Strings), base)
	}
	rest := s.Strings[rel:]
	n := bytes.IndexByte(rest, 0)
	if n < 0 {
		return nil, fmt.Errorf("string at offset %d is not NUL-terminated", off)
	}
	return rest[:n], nil
}

// Name returns t's name; unreadable names read as "".
func (s *Spec) Name(t *Type) string {
	n, _ := s.Str(t.NameOff)
	return n
}

// ByteOrderOf tells the byte order of a BTF blob from its magic.
func ByteOrderOf(data []byte) (binary.ByteOrder, error) {
	if len(data) < 2 {
		return nil, blobError(0, "%d bytes is too short for a header", len(data))
	}
	switch {
	case binary.LittleEndian.Uint16(data) == Magic:
		return binary.LittleEndian, nil
	case binary.BigEndian.Uint16(data) == Magic:
		return binary.BigEndian, nil
	}
	return nil, blobError(0, "bad magic %#04x", binary.LittleEndian.Uint16(data))
}

// Decode parses a BTF blob. base is nil for base BTF, or the decoded base for
// split BTF; it must have the same byte order. Errors name the byte offset
// and, for type records, the type ID.
func Decode(data []byte, base *Spec) (*Spec, error) {
	order, err := ByteOrderOf(data)
	if err != nil {
		return nil, err
	}
	if base != nil && base.Order != order {
		return nil, blobError(-1, "split blob is %v but its base is %v", order, base.Order)
	}
	if len(data) < HeaderLen {
		return nil, blobError(0, "%d bytes is too short for a %d-byte header", len(data), HeaderLen)
	}
	h := Header{
		Version: data[2],
		Flags:   data[3],
		HdrLen:  order.Uint32(data[4:]),
		TypeOff: order.Uint32(data[8:]),
		TypeLen: order.Uint32(data[12:]),
		StrOff:  order.Uint32(data[16:]),
		StrLen:  order.Uint32(data[20:]),
	}
	if h.HdrLen < HeaderLen || uint64(h.HdrLen) > uint64(len(data)) {
		return nil, blobError(4, "header length %d does not fit %d bytes", h.HdrLen, len(data))
	}
	known := uint32(HeaderLen)
	if h.HdrLen >= HeaderLenLayout {
		h.LayoutOff = order.Uint32(data[24:])
		h.LayoutLen = order.Uint32(data[28:])
		known = HeaderLenLayout
	}
	if h.HdrLen > known {
		h.Tail = append([]byte(nil), data[known:h.HdrLen]...)
	}
	body := data[h.HdrLen:]
	sec := func(name string, off, n uint32) ([]byte, error) {
		end := uint64(off) + uint64(n)
		if end > uint64(len(body)) {
			return nil, blobError(-1, "%s section [%#x, %#x) is past the end of the data (%#x bytes after the header)", name, off, end, len(body))
		}
		return body[off:end], nil
	}
	typeData, err := sec("type", h.TypeOff, h.TypeLen)
	if err != nil {
		return nil, err
	}
	strData, err := sec("string", h.StrOff, h.StrLen)
	if err != nil {
		return nil, err
	}
	var layoutData []byte
	if h.HdrLen >= HeaderLenLayout {
		if layoutData, err = sec("layout", h.LayoutOff, h.LayoutLen); err != nil {
			return nil, err
		}
	}
	s := &Spec{
		Order:   order,
		Header:  h,
		Strings: append([]byte(nil), strData...),
		Base:    base,
	}
	if layoutData != nil {
		s.Layout = append([]byte{}, layoutData...)
	}
	if s.Types, err = decodeTypes(typeData, order, s.FirstID(), h.HdrLen+h.TypeOff); err != nil {
		return nil, err
	}
	return s, nil
}

// decodeTypes splits the type section into records. firstID and secOff (the
// section's offset in the blob) are only for error messages. The records'
// extra words are copied into one slab, in record order; the headers are
// held only in the records.
func decodeTypes(data []byte, order binary.ByteOrder, firstID TypeID, secOff uint32) ([]Type, error) {
	if len(data)%4 != 0 {
		return nil, blobError(int64(secOff), "type section length %d is not a multiple of 4", len(data))
	}
	words := sectionWords(data, order)
	records, extra := countRecords(words)
	types := make([]Type, 0, records)
	slab := make([]uint32, extra)
	for w := 0; w < len(words); {
		id := firstID + TypeID(len(types))
		at := uint64(secOff) + 4*uint64(w)
		if len(words)-w < 3 {
			return nil, typeError(id, KindUnknown, int64(at), errors.New("record header is truncated"))
		}
		t := Type{NameOff: words[w], Info: words[w+1], SizeType: words[w+2]}
		k := t.Kind()
		if k == KindUnknown || k > maxKind {
			return nil, typeError(id, KindUnknown, int64(at), fmt.Errorf("unknown kind %d", uint8(k)))
		}
		l := kindLayouts[k]
		n := uint64(l.fixed) + uint64(l.perElem)*uint64(t.Vlen())
		if n > uint64(len(words)-w-3) {
			return nil, typeError(id, k, int64(at), fmt.Errorf("vlen %d runs past the end of the type section", t.Vlen()))
		}
		if n > 0 {
			// countRecords counted this record: the slab has room.
			copy(slab, words[w+3:w+3+int(n)])
			t.Extra = slab[:n:n]
			slab = slab[n:]
		}
		types = append(types, t)
		w += 3 + int(n)
	}
	return types, nil
}

// sectionWords returns the type section as words in the host's order: the
// section itself, seen as words, when it is stored in that order at an
// aligned address (the usual case, which copies nothing), else a converted
// copy.
func sectionWords(data []byte, order binary.ByteOrder) []uint32 {
	if len(data) == 0 {
		return nil
	}
	p := unsafe.Pointer(unsafe.SliceData(data))
	if order == hostOrder && uintptr(p)%4 == 0 {
		return unsafe.Slice((*uint32)(p), len(data)/4)
	}
	words := make([]uint32, len(data)/4)
	for i := range words {
		words[i] = order.Uint32(data[4*i:])
	}
	return words
}

// hostOrder is the byte order of the machine.
var hostOrder = func() binary.ByteOrder {
	if binary.NativeEndian.Uint16([]byte{1, 0}) == 1 {
		return binary.LittleEndian
	}
	return binary.BigEndian
}()

// countRecords counts the records of a type section and their extra words
// by their headers alone, stopping at the first that does not parse
// (decodeTypes then says why): the records and the slab of their extra
// words are allocated once, at their size.
func countRecords(words []uint32) (records, extra int) {
	for w := 0; len(words)-w >= 3; records++ {
		k := Kind((words[w+1] >> infoKindShift) & infoKindMask)
		if k == KindUnknown || k > maxKind {
			break
		}
		l := kindLayouts[k]
		n := l.fixed + l.perElem*int(words[w+1]&infoVlenMask)
		if n > len(words)-w-3 {
			break
		}
		extra += n
		w += 3 + n
	}
	return records, extra
}

// Encode returns the blob's bytes. A Spec whose sections kept the sizes its
// header records keeps the header's offsets, so an unchanged Spec encodes to
// the bytes it was decoded from; otherwise the sections are laid out with no
// gaps as the kernel's tools do: types, layout, strings.
func (s *Spec) Encode() []byte {
	h, size := s.sectionLayout()
	out := make([]byte, size)
	o := s.Order
	if o == nil {
		o = binary.LittleEndian
	}
	o.PutUint16(out[0:], Magic)
	out[2], out[3] = h.Version, h.Flags
	o.PutUint32(out[4:], h.HdrLen)
	o.PutUint32(out[8:], h.TypeOff)
	o.PutUint32(out[12:], h.TypeLen)
	o.PutUint32(out[16:], h.StrOff)
	o.PutUint32(out[20:], h.StrLen)
	known := uint32(HeaderLen)
	if h.HdrLen >= HeaderLenLayout {
		o.PutUint32(out[24:], h.LayoutOff)
		o.PutUint32(out[28:], h.LayoutLen)
		known = HeaderLenLayout
	}
	copy(out[known:h.HdrLen], h.Tail)
	body := out[h.HdrLen:]
	p := body[h.TypeOff:]
	put := o.PutUint32
	for i := range s.Types {
		t := &s.Types[i]
		put(p[0:], t.NameOff)
		put(p[4:], t.Info)
		put(p[8:], t.SizeType)
		p = p[12:]
		for _, w := range t.Extra {
			put(p, w)
			p = p[4:]
		}
	}
	copy(body[h.StrOff:], s.Strings)
	if h.HdrLen >= HeaderLenLayout {
		copy(body[h.LayoutOff:], s.Layout)
	}
	return out
}

// sectionLayout returns the header Encode writes and the blob's size.
func (s *Spec) sectionLayout() (Header, int) {
	h := s.Header
	if h.HdrLen == 0 {
		h.HdrLen = HeaderLen
		if s.Layout != nil {
			h.HdrLen = HeaderLenLayout
		}
	}
	if h.Version == 0 {
		h.Version = 1
	}
	typeLen := uint32(0)
	for i := range s.Types {
		typeLen += 4 * uint32(s.Types[i].words())
	}
	withLayout := h.HdrLen >= HeaderLenLayout
	strLen, layoutLen := uint32(len(s.Strings)), uint32(len(s.Layout))
	end := func(off, n uint32) uint64 { return uint64(off) + uint64(n) }
	if s.Header.HdrLen != 0 && h.TypeLen == typeLen && h.StrLen == strLen && (!withLayout || h.LayoutLen == layoutLen) {
		size := max(end(h.TypeOff, typeLen), end(h.StrOff, strLen))
		if withLayout {
			size = max(size, end(h.LayoutOff, layoutLen))
		}
		return h, int(uint64(h.HdrLen) + size)
	}
	h.TypeOff, h.TypeLen = 0, typeLen
	off := typeLen
	if withLayout {
		h.LayoutOff, h.LayoutLen = off, layoutLen
		off += layoutLen
	}
	h.StrOff, h.StrLen = off, strLen
	return h, int(h.HdrLen) + int(off+strLen)
}
