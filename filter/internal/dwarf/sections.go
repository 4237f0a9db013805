package dwarf

import (
	"debug/elf"
	"encoding/binary"
	"fmt"

	"github.com/btffilter/btffilter/elfio"
)

// sections holds the bytes of the DWARF sections the scanner reads. In a
// linked file they are slices of the caller's image (no copy) unless
// compressed; in a relocatable object they are private copies with the
// .rela/.rel relocations applied.
type sections struct {
	info, abbrev, str, lineStr, strOffsets, addr []byte
	rnglists, loclists, ranges, loc              []byte
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
// whole file f was parsed from: uncompressed sections of a linked file are
// sliced from it rather than copied.
func loadSections(f *elf.File, image []byte) (*sections, error) {
	s := &sections{}
	rel := f.Type == elf.ET_REL
	var syms []elf.Symbol
	var symErr error
	symsLoaded := false
	for idx, sec := range f.Sections {
		p := s.slot(sec.Name)
		if p == nil || sec.Type == elf.SHT_NOBITS {
			continue
		}
		var data []byte
		if sec.Flags&elf.SHF_COMPRESSED == 0 && image != nil && !rel &&
			sec.Offset <= uint64(len(image)) && sec.FileSize <= uint64(len(image))-sec.Offset {
			data = image[sec.Offset : sec.Offset+sec.FileSize : sec.Offset+sec.FileSize]
		} else {
			d, err := elfio.SectionContents(sec)
			if err != nil {
				return nil, fmt.Errorf("dwarf: section %s: %w", sec.Name, err)
			}
			data = d
		}
		if rel {
			if !symsLoaded {
				syms, symErr = f.Symbols()
				symsLoaded = true
			}
			if err := applyRelocations(f, idx, data, syms, symErr); err != nil {
				return nil, err
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
	return s, nil
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

// applyRelocations applies, in place, the relocation sections of f that
// target section index target. Only section-relative values matter in DWARF,
// so S is the symbol's value (0 for the section symbols compilers use) and
// relocations against undefined symbols are left alone.
func applyRelocations(f *elf.File, target int, data []byte, syms []elf.Symbol, symErr error) error {
	bo := f.ByteOrder
	tname := f.Sections[target].Name
	for _, rs := range f.Sections {
		if (rs.Type != elf.SHT_RELA && rs.Type != elf.SHT_REL) || int(rs.Info) != target {
			continue
		}
		if symErr != nil {
			return fmt.Errorf("dwarf: %s: symbol table: %w", rs.Name, symErr)
		}
		raw, err := rs.Data()
		if err != nil {
			return fmt.Errorf("dwarf: section %s: %w", rs.Name, err)
		}
		rela := rs.Type == elf.SHT_RELA
		is64 := f.Class == elf.ELFCLASS64
		esz := 8
		switch {
		case is64 && rela:
			esz = 24
		case is64:
			esz = 16
		case rela:
			esz = 12
		}
		for i := 0; i+esz <= len(raw); i += esz {
			var off uint64
			var sym, typ uint32
			var addend int64
			e := raw[i : i+esz]
			if is64 {
				off = bo.Uint64(e)
				info := bo.Uint64(e[8:])
				sym, typ = uint32(info>>32), uint32(info)
				if rela {
					addend = int64(bo.Uint64(e[16:]))
				}
			} else {
				off = uint64(bo.Uint32(e))
				info := bo.Uint32(e[4:])
				sym, typ = info>>8, info&0xff
				if rela {
					addend = int64(int32(bo.Uint32(e[8:])))
				}
			}
			kind, width := relocInfo(f.Machine, typ)
			if width < 0 {
				return fmt.Errorf("dwarf: %s at 0x%x: relocation type %d (%s) unsupported for %v", rs.Name, i, typ, relocName(f.Machine, typ), f.Machine)
			}
			if kind == relNone {
				continue
			}
			if off > uint64(len(data)) {
				return fmt.Errorf("dwarf: %s at 0x%x: offset 0x%x outside %s (0x%x bytes)", rs.Name, i, off, tname, len(data))
			}
			if width == widthULEB {
				n, ok := ulebLen(data[off:])
				if !ok {
					return fmt.Errorf("dwarf: %s at 0x%x: no ULEB128 number at offset 0x%x of %s", rs.Name, i, off, tname)
				}
				width = n
			}
			if uint64(width) > uint64(len(data))-off {
				return fmt.Errorf("dwarf: %s at 0x%x: offset 0x%x outside %s (0x%x bytes)", rs.Name, i, off, tname, len(data))
			}
			var s uint64
			if sym != 0 {
				if int(sym) > len(syms) {
					return fmt.Errorf("dwarf: %s at 0x%x: symbol %d out of range", rs.Name, i, sym)
				}
				sm := syms[sym-1]
				if sm.Section == elf.SHN_UNDEF || sm.Section >= elf.SHN_LORESERVE {
					continue
				}
				s = sm.Value
			}
			p := data[off : off+uint64(width)]
			if !rela {
				// REL: the addend is the value in place.
				addend = int64(getUint(bo, p))
				if width == 4 {
					addend = int64(int32(addend))
				}
			}
			v := s + uint64(addend)
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
	}
	return nil
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
