package dwarf

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"
	"syscall"

	"github.com/btffilter/btffilter/elfio"
)

// Relocating the DWARF of a relocatable object (a kernel module) without
// holding it: the relocation and symbol tables are read where they lie in
// the caller's image, and .debug_info is relocated one unit at a time, when
// a worker needs the unit, into an anonymous mapping of the section's size
// whose pages are given back when no worker needs the unit any more
// (lazyInfo). The smaller sections the units index into (.debug_loclists,
// .debug_rnglists, .debug_addr, .debug_str_offsets, .debug_loc,
// .debug_ranges) are copied and relocated whole; sections no relocation
// targets (.debug_str, .debug_abbrev, .debug_line_str) are read in place.

// symtab is the symbol table relocations refer to, read in place: only a
// symbol's section index and value are needed, so nothing is decoded ahead
// (a riscv64 module has millions of local labels).
type symtab struct {
	raw  []byte // the whole SHT_SYMTAB section, entry 0 included
	esz  int    // 24 (ELF64) or 16 (ELF32)
	n    int    // entries after entry 0, as debug/elf's Symbols counts them
	is64 bool
	bo   binary.ByteOrder
	err  error // why there is none (reported when a relocation needs it)
}

// loadSymtab finds the symbol table of f as debug/elf's Symbols does (the
// first SHT_SYMTAB section, whose sh_link names a string table), reading it
// in place from image when it can.
func loadSymtab(f *elf.File, image []byte) *symtab {
	st := &symtab{is64: f.Class == elf.ELFCLASS64, bo: f.ByteOrder, esz: 16}
	if st.is64 {
		st.esz = 24
	}
	s := f.SectionByType(elf.SHT_SYMTAB)
	if s == nil {
		st.err = elf.ErrNoSymbols
		return st
	}
	raw, ok := inPlace(s, image)
	if !ok {
		d, err := elfio.SectionContents(s)
		if err != nil {
			st.err = fmt.Errorf("cannot load symbol section: %w", err)
			return st
		}
		raw = d
	}
	link := int(s.Link)
	switch {
	case len(raw) == 0:
		st.err = errors.New("symbol section is empty")
	case len(raw)%st.esz != 0:
		st.err = fmt.Errorf("length of symbol section is not a multiple of %d", st.esz)
	case link <= 0 || link >= len(f.Sections) || f.Sections[link].Type != elf.SHT_STRTAB:
		st.err = errors.New("cannot load string table section: section is not a string table")
	default:
		st.raw, st.n = raw, len(raw)/st.esz-1
	}
	return st
}

// symbol returns the section index and value of symbol i (1-based).
func (st *symtab) symbol(i uint32) (elf.SectionIndex, uint64) {
	e := st.raw[int(i)*st.esz:]
	if st.is64 {
		return elf.SectionIndex(st.bo.Uint16(e[6:])), st.bo.Uint64(e[8:])
	}
	return elf.SectionIndex(st.bo.Uint16(e[14:])), uint64(st.bo.Uint32(e[4:]))
}

// inPlace returns the bytes of section s inside image, when it is stored
// there as is.
func inPlace(s *elf.Section, image []byte) ([]byte, bool) {
	if image == nil || s.Flags&elf.SHF_COMPRESSED != 0 || s.Type == elf.SHT_NOBITS ||
		s.Offset > uint64(len(image)) || s.FileSize > uint64(len(image))-s.Offset {
		return nil, false
	}
	return image[s.Offset : s.Offset+s.FileSize : s.Offset+s.FileSize], true
}

// relocTab is one SHT_RELA or SHT_REL section, read in place when it can.
type relocTab struct {
	name string
	raw  []byte
	rela bool
	esz  int
	// sorted says whether the entries are in offset order (as assemblers
	// and linkers write them); when not, order lists the entry indices in
	// offset order (a stable sort: entries at one offset keep theirs).
	sorted bool
	order  []uint32
	// sample is the offset of every sampleEvery-th entry in offset order:
	// a unit's first relocation is found in it, then among a few
	// neighbours, so that finding it reads a few pages of the table, not
	// a binary search's worth spread over all of it.
	sample []uint64
}

// sampleEvery spaces the entries of relocTab.sample (12 KiB of an ELF64
// RELA table).
const sampleEvery = 512

// offsetAt is the offset of the entry at position k in offset order.
func (t *relocTab) offsetAt(r *relocs, k int) uint64 {
	if t.sorted {
		return t.offset(r, k)
	}
	return t.offset(r, int(t.order[k]))
}

func (t *relocTab) len() int { return len(t.raw) / t.esz }

// offset is the r_offset of entry i.
func (t *relocTab) offset(r *relocs, i int) uint64 {
	if r.is64 {
		return r.bo.Uint64(t.raw[i*t.esz:])
	}
	return uint64(r.bo.Uint32(t.raw[i*t.esz:]))
}

// relocs is every relocation of one target section, with what resolving
// them needs.
type relocs struct {
	machine elf.Machine
	bo      binary.ByteOrder
	is64    bool
	target  string // the target section's name
	size    uint64 // its size
	syms    *symtab
	tabs    []*relocTab
	// evict is Options.Evict: the pages of the tables read in place are
	// let go once read.
	evict func([]byte)
}

// findRelocs returns the relocations of f that target section index target
// (size bytes), or nil when there are none.
func findRelocs(f *elf.File, target int, size uint64, image []byte, syms func() *symtab) (*relocs, error) {
	var r *relocs
	for _, rs := range f.Sections {
		if (rs.Type != elf.SHT_RELA && rs.Type != elf.SHT_REL) || int(rs.Info) != target {
			continue
		}
		if r == nil {
			r = &relocs{machine: f.Machine, bo: f.ByteOrder, is64: f.Class == elf.ELFCLASS64,
				target: f.Sections[target].Name, size: size, syms: syms()}
		}
		if r.syms.err != nil {
			return nil, fmt.Errorf("dwarf: %s: symbol table: %w", rs.Name, r.syms.err)
		}
		raw, ok := inPlace(rs, image)
		if !ok {
			d, err := rs.Data()
			if err != nil {
				return nil, fmt.Errorf("dwarf: section %s: %w", rs.Name, err)
			}
			raw = d
		}
		t := &relocTab{name: rs.Name, raw: raw, rela: rs.Type == elf.SHT_RELA, esz: 8}
		switch {
		case r.is64 && t.rela:
			t.esz = 24
		case r.is64:
			t.esz = 16
		case t.rela:
			t.esz = 12
		}
		t.raw = t.raw[:len(t.raw)/t.esz*t.esz]
		r.tabs = append(r.tabs, t)
	}
	return r, nil
}

// entry decodes entry i of t.
func (r *relocs) entry(t *relocTab, i int) (off uint64, sym, typ uint32, addend int64) {
	e := t.raw[i*t.esz : (i+1)*t.esz]
	if r.is64 {
		off = r.bo.Uint64(e)
		info := r.bo.Uint64(e[8:])
		sym, typ = uint32(info>>32), uint32(info)
		if t.rela {
			addend = int64(r.bo.Uint64(e[16:]))
		}
		return
	}
	off = uint64(r.bo.Uint32(e))
	info := r.bo.Uint32(e[4:])
	sym, typ = info>>8, info&0xff
	if t.rela {
		addend = int64(int32(r.bo.Uint32(e[8:])))
	}
	return
}

// evictChunk is how much of a table is read between two evictions.
const evictChunk = 8 << 20

// check verifies every relocation as apply would (known type, inside the
// section, a ULEB128 number in place, a symbol in range), reading the
// section's unrelocated bytes src, and notes whether each table is in
// offset order. It makes the errors of a lazily relocated section those of
// one relocated whole, and before the scan.
func (r *relocs) check(src []byte) error {
	for _, t := range r.tabs {
		t.sorted = true
		t.sample = make([]uint64, 0, t.len()/sampleEvery+1)
		var prev uint64
		evicted := 0
		for i := range t.len() {
			if r.evict != nil && (i+1)*t.esz-evicted >= evictChunk {
				r.evict(t.raw[evicted : i*t.esz])
				evicted = i * t.esz
			}
			off, sym, typ, _ := r.entry(t, i)
			if off < prev {
				t.sorted = false
			}
			prev = off
			if i%sampleEvery == 0 {
				t.sample = append(t.sample, off)
			}
			kind, width := relocInfo(r.machine, typ)
			at := i * t.esz
			if width < 0 {
				return fmt.Errorf("dwarf: %s at 0x%x: relocation type %d (%s) unsupported for %v", t.name, at, typ, relocName(r.machine, typ), r.machine)
			}
			if kind == relNone {
				continue
			}
			if off > r.size {
				return fmt.Errorf("dwarf: %s at 0x%x: offset 0x%x outside %s (0x%x bytes)", t.name, at, off, r.target, r.size)
			}
			if width == widthULEB {
				n, ok := ulebLen(src[off:])
				if !ok {
					return fmt.Errorf("dwarf: %s at 0x%x: no ULEB128 number at offset 0x%x of %s", t.name, at, off, r.target)
				}
				width = n
			}
			if uint64(width) > r.size-off {
				return fmt.Errorf("dwarf: %s at 0x%x: offset 0x%x outside %s (0x%x bytes)", t.name, at, off, r.target, r.size)
			}
			if sym != 0 && int(sym) > r.syms.n {
				return fmt.Errorf("dwarf: %s at 0x%x: symbol %d out of range", t.name, at, sym)
			}
		}
		if !t.sorted {
			t.order = make([]uint32, t.len())
			for i := range t.order {
				t.order[i] = uint32(i)
			}
			slices.SortStableFunc(t.order, func(a, b uint32) int {
				oa, ob := t.offset(r, int(a)), t.offset(r, int(b))
				switch {
				case oa < ob:
					return -1
				case oa > ob:
					return 1
				}
				return 0
			})
		}
		if !t.sorted {
			// Sampled again in offset order. The sort read all of the
			// table, in no order: its pages go at once.
			t.sample = t.sample[:0]
			for k := 0; k < t.len(); k += sampleEvery {
				t.sample = append(t.sample, t.offsetAt(r, k))
			}
			evicted = 0
		}
		if r.evict != nil {
			r.evict(t.raw[evicted:])
		}
	}
	return nil
}

// apply applies, to dst, the relocations whose offsets lie in [lo,
// lo+len(dst)): dst holds the target section's bytes from offset lo. The
// whole section (lo 0, all of it) takes the tables in file order; a part
// finds its relocations by offset. A relocation that reaches past the end
// of dst is an error. Only section-relative values matter in DWARF, so S is
// the symbol's value (0 for the section symbols compilers use) and
// relocations against undefined symbols are left alone.
func (r *relocs) apply(dst []byte, lo uint64) error {
	hi := lo + uint64(len(dst))
	whole := lo == 0 && hi == r.size
	for _, t := range r.tabs {
		first, last, read := 0, t.len(), 0
		if !whole {
			first, read = firstAt(t, r, lo)
		}
		symLo, symHi := -1, -1
		k := first
		for ; k < last; k++ {
			i := k
			if !t.sorted && !whole {
				i = int(t.order[k])
			}
			off, sym, typ, addend := r.entry(t, i)
			if !whole && off >= hi {
				break
			}
			kind, width := relocInfo(r.machine, typ)
			at := i * t.esz
			if width < 0 {
				return fmt.Errorf("dwarf: %s at 0x%x: relocation type %d (%s) unsupported for %v", t.name, at, typ, relocName(r.machine, typ), r.machine)
			}
			if kind == relNone {
				continue
			}
			if off > r.size {
				return fmt.Errorf("dwarf: %s at 0x%x: offset 0x%x outside %s (0x%x bytes)", t.name, at, off, r.target, r.size)
			}
			rel := off - lo
			if width == widthULEB {
				n, ok := ulebLen(dst[rel:])
				if !ok {
					return fmt.Errorf("dwarf: %s at 0x%x: no ULEB128 number at offset 0x%x of %s", t.name, at, off, r.target)
				}
				width = n
			}
			if uint64(width) > r.size-off {
				return fmt.Errorf("dwarf: %s at 0x%x: offset 0x%x outside %s (0x%x bytes)", t.name, at, off, r.target, r.size)
			}
			if uint64(width) > hi-off {
				return fmt.Errorf("dwarf: %s at 0x%x: the relocation at offset 0x%x of %s reaches past its unit (ending at 0x%x)", t.name, at, off, r.target, hi)
			}
			var s uint64
			if sym != 0 {
				if int(sym) > r.syms.n {
					return fmt.Errorf("dwarf: %s at 0x%x: symbol %d out of range", t.name, at, sym)
				}
				if symLo < 0 || int(sym) < symLo {
					symLo = int(sym)
				}
				symHi = max(symHi, int(sym))
				shndx, value := r.syms.symbol(sym)
				if shndx == elf.SHN_UNDEF || shndx >= elf.SHN_LORESERVE {
					continue
				}
				s = value
			}
			p := dst[rel : rel+uint64(width)]
			if !t.rela {
				// REL: the addend is the value in place.
				addend = int64(getUint(r.bo, p))
				if width == 4 {
					addend = int64(int32(addend))
				}
			}
			relocate(r.bo, kind, p, s+uint64(addend))
		}
		if r.evict != nil {
			if t.sorted || whole {
				evictAround(r.evict, t.raw, read*t.esz, k*t.esz)
			}
			if symLo >= 0 {
				evictAround(r.evict, r.syms.raw, symLo*r.syms.esz, (symHi+1)*r.syms.esz)
			}
		}
	}
	return nil
}

// firstAt returns the position, in offset order, of t's first entry at or
// after offset lo, and the position the search started reading the table
// at. check has sorted and sampled t.
func firstAt(t *relocTab, r *relocs, lo uint64) (first, read int) {
	// The last sample before lo, then forward from it.
	j, _ := slices.BinarySearch(t.sample, lo)
	if j > 0 {
		j--
	}
	k := j * sampleEvery
	read = k
	for k < t.len() && t.offsetAt(r, k) < lo {
		k++
	}
	return k, read
}

// faultAround is how far around a page fault the kernel maps the pages of
// a file it already caches (fault_around_bytes, 64 KiB by default): the
// pages a read faulted in reach this far past the bytes read.
const faultAround = 64 << 10

// evictAround evicts b[lo:hi] and the pages a read of it faulted in
// around it. Other workers may be reading those: they fault them in again.
func evictAround(evict func([]byte), b []byte, lo, hi int) {
	evict(b[max(lo-faultAround, 0):min(hi+faultAround, len(b))])
}

// relocate stores, adds or subtracts v at p as kind says.
func relocate(bo binary.ByteOrder, kind relocKind, p []byte, v uint64) {
	switch kind {
	case relAbs, relSet:
		putUint(bo, p, v)
	case relAdd:
		putUint(bo, p, getUint(bo, p)+v)
	case relSub:
		putUint(bo, p, getUint(bo, p)-v)
	case relSub6:
		p[0] = p[0]&0xc0 | (p[0]-byte(v))&0x3f
	case relSet6:
		p[0] = p[0]&0xc0 | byte(v)&0x3f
	case relAdd6:
		p[0] = p[0]&0xc0 | (p[0]+byte(v))&0x3f
	case relAddULEB:
		putULEB(p, getULEB(p)+v)
	case relSubULEB:
		putULEB(p, getULEB(p)-v)
	}
}

// lazyInfo is the .debug_info of a relocatable object read from a mapped
// image, relocated a unit at a time. region, an anonymous mapping of the
// section's size, is what the scanner reads as the section; a unit's bytes
// in it are written (copied from src, relocated) when a worker first holds
// the unit, and its whole pages are given back to the kernel when the last
// holder lets it go. The pages a unit shares with its neighbours stay: at
// most two per unit.
type lazyInfo struct {
	src    []byte // the section in the image, unrelocated
	region []byte
	rel    *relocs
	evict  func([]byte)
}

// newLazyInfo maps the region for .debug_info (src) relocated by rel.
func newLazyInfo(src []byte, rel *relocs) (*lazyInfo, error) {
	region, err := syscall.Mmap(-1, 0, len(src), syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE)
	if err != nil {
		return nil, err
	}
	return &lazyInfo{src: src, region: region, rel: rel, evict: rel.evict}, nil
}

// close unmaps the region.
func (l *lazyInfo) close() { _ = syscall.Munmap(l.region) }

// acquire makes unit u's bytes readable in the region until the matching
// release.
func (l *lazyInfo) acquire(u *unit) error {
	u.relMu.Lock()
	defer u.relMu.Unlock()
	if u.holders == 0 {
		dst := l.region[u.off:u.end]
		copy(dst, l.src[u.off:u.end])
		if l.evict != nil {
			evictAround(l.evict, l.src, int(u.off), int(u.end))
		}
		if err := l.rel.apply(dst, u.off); err != nil {
			l.drop(u)
			return err
		}
	}
	u.holders++
	return nil
}

// release lets unit u go: the last holder gives its pages back.
func (l *lazyInfo) release(u *unit) {
	u.relMu.Lock()
	defer u.relMu.Unlock()
	if u.holders--; u.holders == 0 {
		l.drop(u)
	}
}

// drop gives back the pages that lie wholly inside unit u's bytes: they
// read as zeros until the unit is written again.
func (l *lazyInfo) drop(u *unit) {
	page := uint64(os.Getpagesize())
	lo := (u.off + page - 1) &^ (page - 1)
	hi := u.end &^ (page - 1)
	if lo < hi {
		// Advice only: a failure leaves the pages resident, nothing else.
		_ = syscall.Madvise(l.region[lo:hi], syscall.MADV_DONTNEED)
	}
}

// header relocates the header of unit u into a scratch copy and reads its
// abbreviation table offset again (the one field of a header that is
// relocated: it points into .debug_abbrev).
func (l *lazyInfo) header(u *unit, bo binary.ByteOrder) error {
	h := slices.Clone(l.src[u.off:u.first])
	if err := l.rel.apply(h, u.off); err != nil {
		return err
	}
	p := u.abbrevAt - u.off
	if u.offSize == 8 {
		u.abbrevOff = bo.Uint64(h[p:])
	} else {
		u.abbrevOff = uint64(bo.Uint32(h[p:]))
	}
	return nil
}
