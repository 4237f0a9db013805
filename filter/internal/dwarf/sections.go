package dwarf

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
	"runtime"
	"slices"

	"github.com/btffilter/btffilter/elfio"
)

// sections holds the bytes of the DWARF sections the scanner reads: slices
// of the caller's image (no copy) unless compressed or relocated. In a
// relocatable object, the sections relocations apply to are private copies
// with the .rela/.rel relocations applied, except .debug_info read from an
// image: lazy relocates it unit by unit, and info is then its region, whose
// bytes of a unit are readable only while a worker holds the unit
// (worker.hold).
type sections struct {
	info, abbrev, str, lineStr, strOffsets, addr []byte
	rnglists, loclists, ranges, loc              []byte
	lazy                                         *lazyInfo
}

// all returns every section read.
func (s *sections) all() [][]byte {
	return [][]byte{s.info, s.abbrev, s.str, s.lineStr, s.strOffsets, s.addr, s.rnglists, s.loclists, s.ranges, s.loc}
}

func (s *sections) slot(name string) *[]byte {
	switch name {
	case ".debug_info":
		return &s.info
	case ".debug_abbrev":
		return &s.abbrev
	case ".debug_str":
		return &s.str
	case ".debug_line_str":
		return &s.lineStr
	case ".debug_str_offsets":
		return &s.strOffsets
	case ".debug_addr":
		return &s.addr
	case ".debug_rnglists":
		return &s.rnglists
	case ".debug_loclists":
		return &s.loclists
	case ".debug_ranges":
		return &s.ranges
	case ".debug_loc":
		return &s.loc
	}
	return nil
}

// loadSections reads the DWARF sections of f. image, when not nil, is the
// whole file f was parsed from: uncompressed sections are sliced from it
// rather than copied, unless relocations apply to them. In a relocatable
// object, .debug_info is then relocated unit by unit (lazyInfo, relocate.go)
// and the other sections relocations target are copied and relocated whole.
// evict is Options.Evict.
func loadSections(f *elf.File, image []byte, evict func([]byte)) (*sections, error) {
	s := &sections{}
	rel := f.Type == elf.ET_REL
	var st *symtab
	syms := func() *symtab {
		if st == nil {
			st = loadSymtab(f, image)
		}
		return st
	}
	for idx, sec := range f.Sections {
		p := s.slot(sec.Name)
		if p == nil || sec.Type == elf.SHT_NOBITS {
			continue
		}
		data, inImage := inPlace(sec, image)
		if !inImage {
			d, err := elfio.SectionContents(sec)
			if err != nil {
				return nil, fmt.Errorf("dwarf: section %s: %w", sec.Name, err)
			}
			data = d
		}
		if rel {
			r, err := findRelocs(f, idx, uint64(len(data)), image, syms)
			if err != nil {
				return nil, err
			}
			if r != nil {
				r.evict = evict
				if data, err = s.relocated(p == &s.info, data, inImage, r); err != nil {
					return nil, err
				}
			}
		}
		*p = data
	}
	if s.info == nil {
		return nil, fmt.Errorf("dwarf: no .debug_info section")
	}
	if s.abbrev == nil {
		return nil, fmt.Errorf("dwarf: no .debug_abbrev section")
	}
	if s.lazy != nil {
		runtime.AddCleanup(s, func(l *lazyInfo) { l.close() }, s.lazy)
	}
	return s, nil
}

// relocated returns the bytes of a section relocations r apply to: for
// .debug_info read in place (info and inImage), the region of a lazyInfo
// that relocates it unit by unit, set as s.lazy; for any other, a copy
// relocated whole (data itself when it is already a copy).
func (s *sections) relocated(info bool, data []byte, inImage bool, r *relocs) ([]byte, error) {
	if info && inImage && len(data) > 0 {
		if err := r.check(data); err != nil {
			return nil, err
		}
		if l, err := newLazyInfo(data, r); err == nil {
			s.lazy = l
			return l.region, nil
		}
		// No address space for the region: relocate a copy instead.
	}
	if inImage {
		src := data
		data = slices.Clone(src)
		if r.evict != nil {
			r.evict(src)
		}
	}
	if err := r.apply(data, 0); err != nil {
		return nil, err
	}
	return data, nil
}

// relocKind is what one relocation does to the target bytes.
type relocKind uint8

const (
	relNone    relocKind = iota
	relAbs               // store S + A
	relAdd               // add S + A to the stored value (riscv, loongarch ADD*)
	relSub               // subtract S + A from the stored value (SUB*)
	relSet               // store S + A, truncated (riscv SET*)
	relSub6              // low 6 bits: subtract (riscv SUB6, loongarch SUB6)
	relSet6              // low 6 bits: store (riscv SET6)
	relAdd6              // low 6 bits: add (loongarch ADD6)
	relAddULEB           // a ULEB128 in place, re-encoded in its own length: add (loongarch ADD_ULEB128)
	relSubULEB           // the same, subtract (loongarch SUB_ULEB128)
)

// widthULEB is the width of the ULEB128 relocations: the length of the
// number found in place.
const widthULEB = 0

// relocInfo maps a relocation type of a machine to its effect and width in
// bytes. Only the types that occur in debug sections are known; an unknown
// type is an error, so that a DWARF reading is never silently wrong. The
// sources are each architecture's ELF supplement and the kernel's module
// loader (arch/*/kernel/module*.c), which applies the same arithmetic:
//
//   - s390x: ELF ABI for z/Architecture, "Relocation Types"; Linux
//     arch/s390/kernel/module.c (apply_rela). R_390_8, _16, _32 and _64 store
//     S + A in 1, 2, 4 and 8 bytes, big-endian. Real modules' .rela.debug_*
//     hold only R_390_32 and R_390_64.
//   - ppc64: 64-bit ELF V2 ABI (OpenPOWER), "Relocation Types"; Linux
//     arch/powerpc/kernel/module_64.c (apply_relocate_add). R_PPC64_ADDR16,
//     _ADDR32, _ADDR64 and their unaligned twins UADDR16, _UADDR32, _UADDR64
//     store S + A. Real modules hold only ADDR32 and ADDR64.
//   - loongarch64: ELF for the LoongArch Architecture (la-abi-specs,
//     laelf.adoc); Linux arch/loongarch/kernel/module.c. R_LARCH_32 and _64
//     store S + A; ADD8/16/24/32/64 and SUB8/16/24/32/64 add or subtract it in
//     place (linker relaxation writes label differences this way); ADD6 and
//     SUB6 change the low 6 bits of a byte; ADD_ULEB128 and SUB_ULEB128
//     change a ULEB128 number in place, keeping its length. RELAX and ALIGN
//     only mark code for the linker.
func relocInfo(m elf.Machine, typ uint32) (relocKind, int) {
	switch m {
	case elf.EM_X86_64:
		switch elf.R_X86_64(typ) {
		case elf.R_X86_64_64:
			return relAbs, 8
		case elf.R_X86_64_32, elf.R_X86_64_32S:
			return relAbs, 4
		case elf.R_X86_64_DTPOFF32:
			return relAbs, 4
		case elf.R_X86_64_DTPOFF64:
			return relAbs, 8
		case elf.R_X86_64_NONE:
			return relNone, 0
		}
	case elf.EM_AARCH64:
		switch elf.R_AARCH64(typ) {
		case elf.R_AARCH64_ABS64:
			return relAbs, 8
		case elf.R_AARCH64_ABS32:
			return relAbs, 4
		case elf.R_AARCH64_ABS16:
			return relAbs, 2
		case elf.R_AARCH64_NONE:
			return relNone, 0
		}
	case elf.EM_RISCV:
		switch elf.R_RISCV(typ) {
		case elf.R_RISCV_64:
			return relAbs, 8
		case elf.R_RISCV_32:
			return relAbs, 4
		case elf.R_RISCV_ADD8:
			return relAdd, 1
		case elf.R_RISCV_ADD16:
			return relAdd, 2
		case elf.R_RISCV_ADD32:
			return relAdd, 4
		case elf.R_RISCV_ADD64:
			return relAdd, 8
		case elf.R_RISCV_SUB8:
			return relSub, 1
		case elf.R_RISCV_SUB16:
			return relSub, 2
		case elf.R_RISCV_SUB32:
			return relSub, 4
		case elf.R_RISCV_SUB64:
			return relSub, 8
		case elf.R_RISCV_SET8:
			return relSet, 1
		case elf.R_RISCV_SET16:
			return relSet, 2
		case elf.R_RISCV_SET32:
			return relSet, 4
		case elf.R_RISCV_SUB6:
			return relSub6, 1
		case elf.R_RISCV_SET6:
			return relSet6, 1
		case elf.R_RISCV_NONE, elf.R_RISCV_RELAX:
			return relNone, 0
		}
	case elf.EM_S390:
		switch elf.R_390(typ) {
		case elf.R_390_8:
			return relAbs, 1
		case elf.R_390_16:
			return relAbs, 2
		case elf.R_390_32:
			return relAbs, 4
		case elf.R_390_64:
			return relAbs, 8
		case elf.R_390_NONE:
			return relNone, 0
		}
	case elf.EM_PPC64:
		switch elf.R_PPC64(typ) {
		case elf.R_PPC64_ADDR16, elf.R_PPC64_UADDR16:
			return relAbs, 2
		case elf.R_PPC64_ADDR32, elf.R_PPC64_UADDR32:
			return relAbs, 4
		case elf.R_PPC64_ADDR64, elf.R_PPC64_UADDR64:
			return relAbs, 8
		case elf.R_PPC64_NONE:
			return relNone, 0
		}
	case elf.EM_LOONGARCH:
		switch elf.R_LARCH(typ) {
		case elf.R_LARCH_32:
			return relAbs, 4
		case elf.R_LARCH_64:
			return relAbs, 8
		case elf.R_LARCH_ADD8:
			return relAdd, 1
		case elf.R_LARCH_ADD16:
			return relAdd, 2
		case elf.R_LARCH_ADD24:
			return relAdd, 3
		case elf.R_LARCH_ADD32:
			return relAdd, 4
		case elf.R_LARCH_ADD64:
			return relAdd, 8
		case elf.R_LARCH_SUB8:
			return relSub, 1
		case elf.R_LARCH_SUB16:
			return relSub, 2
		case elf.R_LARCH_SUB24:
			return relSub, 3
		case elf.R_LARCH_SUB32:
			return relSub, 4
		case elf.R_LARCH_SUB64:
			return relSub, 8
		case elf.R_LARCH_ADD6:
			return relAdd6, 1
		case elf.R_LARCH_SUB6:
			return relSub6, 1
		case elf.R_LARCH_ADD_ULEB128:
			return relAddULEB, widthULEB
		case elf.R_LARCH_SUB_ULEB128:
			return relSubULEB, widthULEB
		case elf.R_LARCH_NONE, elf.R_LARCH_RELAX, elf.R_LARCH_ALIGN:
			return relNone, 0
		}
	case elf.EM_386:
		switch elf.R_386(typ) {
		case elf.R_386_32:
			return relAbs, 4
		case elf.R_386_NONE:
			return relNone, 0
		}
	case elf.EM_ARM:
		switch elf.R_ARM(typ) {
		case elf.R_ARM_ABS32, elf.R_ARM_TLS_LDO32:
			return relAbs, 4
		case elf.R_ARM_NONE:
			return relNone, 0
		}
	}
	return relNone, -1
}

// relocName names a relocation type for an error message.
func relocName(m elf.Machine, typ uint32) string {
	switch m {
	case elf.EM_X86_64:
		return elf.R_X86_64(typ).String()
	case elf.EM_AARCH64:
		return elf.R_AARCH64(typ).String()
	case elf.EM_RISCV:
		return elf.R_RISCV(typ).String()
	case elf.EM_S390:
		return elf.R_390(typ).String()
	case elf.EM_PPC64:
		return elf.R_PPC64(typ).String()
	case elf.EM_LOONGARCH:
		return elf.R_LARCH(typ).String()
	case elf.EM_386:
		return elf.R_386(typ).String()
	case elf.EM_ARM:
		return elf.R_ARM(typ).String()
	}
	return "unknown"
}

// ulebLen is the length of the ULEB128 number at the start of b: every byte
// with the top bit set, then one without. A number longer than 10 bytes
// does not fit 64 bits and is refused.
func ulebLen(b []byte) (int, bool) {
	for i, c := range b {
		if i >= 10 {
			return 0, false
		}
		if c < 0x80 {
			return i + 1, true
		}
	}
	return 0, false
}

// getULEB decodes the ULEB128 number that fills p.
func getULEB(p []byte) uint64 {
	var v uint64
	for i, c := range p {
		v |= uint64(c&0x7f) << (7 * i)
	}
	return v
}

// putULEB encodes v into exactly len(p) bytes, as a linker does for the
// ULEB128 relocations: the number keeps its length and bits that do not fit
// are dropped.
func putULEB(p []byte, v uint64) {
	for i := range p {
		c := byte(v & 0x7f)
		v >>= 7
		if i < len(p)-1 {
			c |= 0x80
		}
		p[i] = c
	}
}

func getUint(bo binary.ByteOrder, p []byte) uint64 {
	switch len(p) {
	case 1:
		return uint64(p[0])
	case 2:
		return uint64(bo.Uint16(p))
	case 3:
		if bo == binary.BigEndian {
			return uint64(p[0])<<16 | uint64(p[1])<<8 | uint64(p[2])
		}
		return uint64(p[2])<<16 | uint64(p[1])<<8 | uint64(p[0])
	case 4:
		return uint64(bo.Uint32(p))
	default:
		return bo.Uint64(p)
	}
}

func putUint(bo binary.ByteOrder, p []byte, v uint64) {
	switch len(p) {
	case 1:
		p[0] = byte(v)
	case 2:
		bo.PutUint16(p, uint16(v))
	case 3:
		if bo == binary.BigEndian {
			p[0], p[1], p[2] = byte(v>>16), byte(v>>8), byte(v)
		} else {
			p[0], p[1], p[2] = byte(v), byte(v>>8), byte(v>>16)
		}
	case 4:
		bo.PutUint32(p, uint32(v))
	default:
		bo.PutUint64(p, v)
	}
}
