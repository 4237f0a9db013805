package elfio

import (
	"debug/elf"
	"fmt"
	"math"
	"sort"
)

// maxMoveAlign bounds the sh_addralign honoured when a section is moved to
// the end of the file. Real non-ALLOC sections ask for 1 to 8; a corrupt
// header asking for gigabytes must not make Rewrite pad the image that far.
const maxMoveAlign = 1 << 16

// extent is a byte range [off, off+size) of the file.
type extent struct {
	what      string
	off, size uint64
}

func (e extent) end() uint64 { return e.off + e.size }

func (e extent) overlaps(o extent) bool {
	return e.size > 0 && o.size > 0 && e.off < o.end() && o.off < e.end()
}

// shdrTable locates the section header table in Data and the positions of
// the two fields Rewrite changes, for either ELF class and byte order.
type shdrTable struct {
	off, entSize uint64
	count        int
	// Byte offsets of sh_offset and sh_size inside one header, and their width.
	offField, sizeField, fieldLen uint64
}

// readShdrTable reads e_shoff and e_shentsize from the ELF header. debug/elf
// parses the table but does not say where it is; Rewrite must patch it.
func (f *File) readShdrTable() (shdrTable, error) {
	d, bo := f.Data, f.ELF.ByteOrder
	var t shdrTable
	var minEnt uint64
	switch f.ELF.Class {
	case elf.ELFCLASS64:
		if len(d) < 64 {
			return t, fmt.Errorf("ELF header truncated")
		}
		t.off, t.entSize = bo.Uint64(d[0x28:]), uint64(bo.Uint16(d[0x3a:]))
		t.offField, t.sizeField, t.fieldLen, minEnt = 24, 32, 8, 64
	case elf.ELFCLASS32:
		if len(d) < 52 {
			return t, fmt.Errorf("ELF header truncated")
		}
		t.off, t.entSize = uint64(bo.Uint32(d[0x20:])), uint64(bo.Uint16(d[0x2e:]))
		t.offField, t.sizeField, t.fieldLen, minEnt = 16, 20, 4, 40
	default:
		return t, fmt.Errorf("unsupported ELF class %v", f.ELF.Class)
	}
	t.count = len(f.ELF.Sections)
	if t.entSize < minEnt {
		return t, fmt.Errorf("e_shentsize %d is smaller than a section header (%d)", t.entSize, minEnt)
	}
	size := t.entSize * uint64(t.count)
	if t.off > uint64(len(d)) || size > uint64(len(d))-t.off {
		return t, fmt.Errorf("section header table (offset %#x, %d entries of %d bytes) extends past the end of the file (%#x)",
			t.off, t.count, t.entSize, len(d))
	}
	return t, nil
}

func (t shdrTable) get(d []byte, f *File, idx int, field uint64) uint64 {
	p := d[t.off+uint64(idx)*t.entSize+field:]
	if t.fieldLen == 8 {
		return f.ELF.ByteOrder.Uint64(p)
	}
	return uint64(f.ELF.ByteOrder.Uint32(p))
}

func (t shdrTable) put(d []byte, f *File, idx int, field, v uint64) {
	p := d[t.off+uint64(idx)*t.entSize+field:]
	if t.fieldLen == 8 {
		f.ELF.ByteOrder.PutUint64(p, v)
	} else {
		f.ELF.ByteOrder.PutUint32(p, uint32(v))
	}
}

// Rewrite returns a new image of Data in which the named sections' contents
// are replaced; Data itself is not modified. The guarantees (docs/facts.md §6,
// docs/invariants.md):
//   - only the replaced sections' bytes and the section header table change;
//     every other byte is identical and keeps its offset;
//   - an SHF_ALLOC section must keep exactly its size, because the loaded
//     image (vmlinux's __start_BTF..__stop_BTF) is fixed at link time; a
//     different size is an error and the caller must pad;
//   - a non-ALLOC section that keeps its size or shrinks is written in place:
//     the new bytes, the rest of the old extent zeroed, sh_size updated;
//   - a non-ALLOC section that grows is moved to the end of the image
//     (aligned to sh_addralign), its old extent zeroed, sh_offset and sh_size
//     updated; several grown sections are appended in section-index order;
//   - SHF_COMPRESSED and SHT_NOBITS sections, and the section-name string
//     table, cannot be replaced;
//   - a file whose layout is inconsistent (a replaced section overlapping
//     another section or a header table, any section overlapping the section
//     header table) is refused before anything is written.
//
// For a raw BTF blob, Rewrite(map[string][]byte{".BTF": b}) returns b.
func (f *File) Rewrite(sections map[string][]byte) ([]byte, error) {
	out, err := f.rewrite(sections, false)
	if err != nil {
		return nil, WithPath(f.Path, err)
	}
	return out, nil
}

// RewriteInPlace is Rewrite without the copy: it patches f.Data itself,
// which a vmlinux of several hundred megabytes makes worth it. Afterwards f
// may only be passed to Encode; on error f.Data may be half patched (the file
// on disk is untouched either way).
func (f *File) RewriteInPlace(sections map[string][]byte) ([]byte, error) {
	out, err := f.rewrite(sections, true)
	if err != nil {
		return nil, WithPath(f.Path, err)
	}
	f.Data = nil
	return out, nil
}

func (f *File) rewrite(sections map[string][]byte, inPlace bool) ([]byte, error) {
	if f.Format == FormatRaw {
		for name := range sections {
			if name != ".BTF" {
				return nil, fmt.Errorf("raw BTF blob has no section %s to replace", name)
			}
		}
		if b, ok := sections[".BTF"]; ok {
			return b, nil
		}
		return append([]byte(nil), f.Data...), nil
	}
	pl, err := f.planRewrite(sections)
	if err != nil {
		return nil, err
	}
	out := f.Data
	if !inPlace || pl.size > uint64(len(f.Data)) {
		out = make([]byte, pl.size)
		copy(out, f.Data)
	}
	out = out[:pl.size]
	for _, w := range pl.writes {
		copy(out[w.off:], w.data)
	}
	return out, nil
}

// planRewrite checks that the named sections of an ELF file can be
// replaced (see Rewrite) and works out the writes that replace them.
func (f *File) planRewrite(sections map[string][]byte) (*plan, error) {
	// Resolve names to section indexes. A name must be unique: replacing the
	// first of two .BTF sections would leave the file self-contradictory.
	replace := make(map[int][]byte, len(sections))
	for name, b := range sections {
		idx := -1
		for i, s := range f.ELF.Sections {
			if s.Name != name {
				continue
			}
			if idx >= 0 {
				return nil, fmt.Errorf("section %s appears more than once ([%d] and [%d])", name, idx, i)
			}
			idx = i
		}
		if idx < 0 {
			return nil, fmt.Errorf("no section %s to replace", name)
		}
		s := f.ELF.Sections[idx]
		switch {
		case s.Type == elf.SHT_NOBITS:
			return nil, fmt.Errorf("section %s is SHT_NOBITS and has no file contents to replace", name)
		case s.Type == elf.SHT_NULL:
			return nil, fmt.Errorf("section [%d] is SHT_NULL and cannot be replaced", idx)
		case idx == f.shstrndx():
			return nil, fmt.Errorf("section %s holds the section names and cannot be replaced", name)
		case s.Flags&elf.SHF_COMPRESSED != 0:
			return nil, fmt.Errorf("section %s is SHF_COMPRESSED; replacing compressed sections is not supported", name)
		case s.Flags&elf.SHF_ALLOC != 0 && uint64(len(b)) != s.FileSize:
			return nil, fmt.Errorf("section %s is SHF_ALLOC (its size is fixed in the loaded image): new contents are %d bytes, must be exactly %d (pad them)",
				name, len(b), s.FileSize)
		}
		replace[idx] = b
	}
	order := make([]int, 0, len(replace))
	for idx := range replace {
		order = append(order, idx)
	}
	sort.Ints(order)

	t, err := f.readShdrTable()
	if err != nil {
		return nil, err
	}
	protected, err := f.protectedExtents(t, replace)
	if err != nil {
		return nil, err
	}
	// Rewrite patches the section header table, so no section may share its
	// bytes: that section would change too (a compressed one would even get a
	// different compression header).
	sht := extent{"the section header table", t.off, t.entSize * uint64(t.count)}
	for i, s := range f.ELF.Sections {
		if s.Type == elf.SHT_NOBITS {
			continue
		}
		if e := (extent{s.Name, s.Offset, s.FileSize}); e.overlaps(sht) {
			return nil, fmt.Errorf("section %s [%d] (offset %#x, size %#x) overlaps the section header table (offset %#x, size %#x); refusing to rewrite a file whose layout is inconsistent",
				s.Name, i, e.off, e.size, sht.off, sht.size)
		}
	}
	// Check every replaced extent before touching anything, against the file
	// and against every byte the rewrite promises to keep.
	for _, idx := range order {
		s := f.ELF.Sections[idx]
		rawOff, rawSize := t.get(f.Data, f, idx, t.offField), t.get(f.Data, f, idx, t.sizeField)
		if rawOff != s.Offset || rawSize != s.FileSize {
			return nil, fmt.Errorf("section %s: header at %#x disagrees with the parsed one (offset %#x/%#x, size %#x/%#x)",
				s.Name, t.off+uint64(idx)*t.entSize, rawOff, s.Offset, rawSize, s.FileSize)
		}
		e := extent{s.Name, s.Offset, s.FileSize}
		if e.end() < e.off || e.end() > uint64(len(f.Data)) {
			return nil, fmt.Errorf("section %s (offset %#x, size %#x) extends past the end of the file (%#x)", s.Name, e.off, e.size, len(f.Data))
		}
		for _, p := range protected {
			if e.overlaps(p) {
				return nil, fmt.Errorf("section %s (offset %#x, size %#x) overlaps %s (offset %#x, size %#x); refusing to rewrite a file whose layout is inconsistent",
					s.Name, e.off, e.size, p.what, p.off, p.size)
			}
		}
		protected = append(protected, e) // replaced sections must not overlap each other either
		if n := uint64(len(replace[idx])); n > s.FileSize && s.Addralign > maxMoveAlign {
			return nil, fmt.Errorf("section %s: sh_addralign %#x is too large to move the section", s.Name, s.Addralign)
		}
	}

	return f.planWrites(t, order, replace)
}

// write is bytes a rewrite puts at an offset of the image.
type write struct {
	off  uint64
	data []byte
}

// plan is a rewrite of Data as the bytes it writes: the new contents of
// the replaced sections, zeros over what they no longer use, the section
// header table; every other byte of Data stays where it is. size is the
// rewritten image's length (Data's, or more when a section moved to the
// end).
type plan struct {
	size   uint64
	writes []write
}

// planWrites works out the writes that replace the sections of order
// (checked by rewrite) with their new contents.
func (f *File) planWrites(t shdrTable, order []int, replace map[int][]byte) (*plan, error) {
	// The section header table is patched in a copy, written whole.
	shdrs := append([]byte(nil), f.Data[t.off:t.off+t.entSize*uint64(t.count)]...)
	tab := shdrTable{off: 0, entSize: t.entSize, count: t.count, offField: t.offField, sizeField: t.sizeField, fieldLen: t.fieldLen}
	pl := &plan{size: uint64(len(f.Data))}
	for _, idx := range order {
		s, b := f.ELF.Sections[idx], replace[idx]
		n := uint64(len(b))
		if n <= s.FileSize {
			pl.writes = append(pl.writes, write{s.Offset, b}, write{s.Offset + n, make([]byte, s.FileSize-n)})
			tab.put(shdrs, f, idx, tab.sizeField, n)
			continue
		}
		pl.writes = append(pl.writes, write{s.Offset, make([]byte, s.FileSize)})
		newOff := pl.size
		if a := s.Addralign; a > 1 {
			newOff = (newOff + a - 1) / a * a
		}
		if t.fieldLen == 4 && newOff+n > math.MaxUint32 {
			return nil, fmt.Errorf("section %s: moving it to offset %#x would exceed the 4 GiB limit of ELF32", s.Name, newOff)
		}
		pl.writes = append(pl.writes, write{newOff, b})
		pl.size = newOff + n
		tab.put(shdrs, f, idx, tab.offField, newOff)
		tab.put(shdrs, f, idx, tab.sizeField, n)
	}
	pl.writes = append(pl.writes, write{t.off, shdrs})
	return pl, nil
}

// shstrndx returns the index of the section-name string table: e_shstrndx,
// or with extended numbering (SHN_XINDEX) the sh_link of section 0.
func (f *File) shstrndx() int {
	off := 0x3e
	if f.ELF.Class == elf.ELFCLASS32 {
		off = 0x32
	}
	if len(f.Data) < off+2 {
		return -1
	}
	idx := int(f.ELF.ByteOrder.Uint16(f.Data[off:]))
	if idx == int(elf.SHN_XINDEX) && len(f.ELF.Sections) > 0 {
		idx = int(f.ELF.Sections[0].Link)
	}
	return idx
}

// protectedExtents lists the byte ranges Rewrite must never write: the ELF
// header, the program and section header tables, and every section that is
// not being replaced.
func (f *File) protectedExtents(t shdrTable, replace map[int][]byte) ([]extent, error) {
	d, bo := f.Data, f.ELF.ByteOrder
	var ehSize, phOff, phEnt, phNum uint64
	if f.ELF.Class == elf.ELFCLASS64 {
		ehSize, phOff, phEnt, phNum = 64, bo.Uint64(d[0x20:]), uint64(bo.Uint16(d[0x36:])), uint64(bo.Uint16(d[0x38:]))
	} else {
		ehSize, phOff, phEnt, phNum = 52, uint64(bo.Uint32(d[0x1c:])), uint64(bo.Uint16(d[0x2a:])), uint64(bo.Uint16(d[0x2c:]))
	}
	ps := []extent{
		{"the ELF header", 0, ehSize},
		{"the section header table", t.off, t.entSize * uint64(t.count)},
	}
	if phNum > 0 {
		// phNum and phEnt are 16-bit, so the product cannot overflow.
		ph := extent{"the program header table", phOff, phEnt * phNum}
		if ph.end() < ph.off {
			return nil, fmt.Errorf("program header table offset %#x is out of range", phOff)
		}
		ps = append(ps, ph)
	}
	for i, s := range f.ELF.Sections {
		// SHT_NULL is kept: debug/elf still reads a compression header at
		// the offset of a (corrupt) null section flagged SHF_COMPRESSED.
		if _, ok := replace[i]; ok || s.Type == elf.SHT_NOBITS {
			continue
		}
		ps = append(ps, extent{fmt.Sprintf("section %s [%d]", s.Name, i), s.Offset, s.FileSize})
	}
	return ps, nil
}
