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
	relNone relocKind = iota
	relAbs            // store S + A
	relAdd            // add S + A to the stored value (riscv ADD*)
	relSub            // subtract S + A from the stored value (riscv SUB*)
	relSet            // store S + A, truncated (riscv SET*)
	relSub6           // riscv SUB6: low 6 bits
	relSet6           // riscv SET6: low 6 bits
)

// relocInfo maps a relocation type of a machine to its effect and width in
// bytes. Only the types that occur in debug sections are known; an unknown
// type is an error, so that a DWARF reading is never silently wrong.
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
				return fmt.Errorf("dwarf: %s at 0x%x: relocation type %d unsupported for %v", rs.Name, i, typ, f.Machine)
			}
			if kind == relNone {
				continue
			}
			if off > uint64(len(data)) || uint64(width) > uint64(len(data))-off {
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
			}
		}
	}
	return nil
}

func getUint(bo binary.ByteOrder, p []byte) uint64 {
	switch len(p) {
	case 1:
		return uint64(p[0])
	case 2:
		return uint64(bo.Uint16(p))
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
	case 4:
		bo.PutUint32(p, uint32(v))
	default:
		bo.PutUint64(p, v)
	}
}
