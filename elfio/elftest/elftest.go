// Package elftest writes small synthetic ELF files for tests: layouts and
// contents the toolchain would not produce (huge or misaligned sections,
// hand-made debug sections, DWARF that loops or nests absurdly deep),
// without depending on it.
package elftest

import (
	"debug/elf"
	"encoding/binary"
)

// Section describes one section of a synthetic ELF built by Build.
type Section struct {
	Name  string
	Type  elf.SectionType
	Flags elf.SectionFlag
	Addr  uint64
	Align uint64
	// Link, Info and Entsize are sh_link, sh_info and sh_entsize (a
	// relocation section's symbol table and target, a symbol table's string
	// table and first global symbol).
	Link, Info uint32
	Entsize    uint64
	Data       []byte
}

// Build writes a minimal but well-formed ELF file: header, the sections in
// order (each at an offset aligned to its sh_addralign), .shstrtab, then the
// section header table. It lets tests shape layouts the toolchain would not
// produce (huge sections, chosen alignments) without depending on it. The
// machine is x86-64 for ELFCLASS64 and i386 for ELFCLASS32.
func Build(class elf.Class, bo binary.ByteOrder, typ elf.Type, secs []Section) []byte {
	m := elf.EM_386
	if class == elf.ELFCLASS64 {
		m = elf.EM_X86_64
	}
	return BuildMachine(class, bo, typ, m, secs)
}

// BuildMachine is Build for the given e_machine. Section indexes in Link and
// Info count from 1 for the first section of secs (0 is the null section).
func BuildMachine(class elf.Class, bo binary.ByteOrder, typ elf.Type, machine elf.Machine, secs []Section) []byte {
	is64 := class == elf.ELFCLASS64
	ehSize, shEnt := 52, 40
	if is64 {
		ehSize, shEnt = 64, 64
	}
	// .shstrtab: "\0" then every name.
	strtab := []byte{0}
	nameOff := make([]int, len(secs)+1)
	for i, s := range secs {
		nameOff[i] = len(strtab)
		strtab = append(append(strtab, s.Name...), 0)
	}
	nameOff[len(secs)] = len(strtab)
	strtab = append(append(strtab, ".shstrtab"...), 0)
	all := append(append([]Section(nil), secs...), Section{Name: ".shstrtab", Type: elf.SHT_STRTAB, Align: 1, Data: strtab})

	total := ehSize
	offs := make([]int, len(all))
	for i, s := range all {
		if s.Align > 1 {
			total = (total + int(s.Align) - 1) / int(s.Align) * int(s.Align)
		}
		offs[i] = total
		if s.Type != elf.SHT_NOBITS {
			total += len(s.Data)
		}
	}
	shoff := (total + 7) &^ 7
	out := make([]byte, shoff+shEnt*(len(all)+1))
	for i, s := range all {
		if s.Type != elf.SHT_NOBITS {
			copy(out[offs[i]:], s.Data)
		}
	}

	copy(out, elf.ELFMAG)
	out[elf.EI_CLASS] = byte(class)
	if bo == binary.BigEndian {
		out[elf.EI_DATA] = byte(elf.ELFDATA2MSB)
	} else {
		out[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	}
	out[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	put16 := func(off int, v int) { bo.PutUint16(out[off:], uint16(v)) }
	put32 := func(off int, v uint64) { bo.PutUint32(out[off:], uint32(v)) }
	put64 := func(off int, v uint64) { bo.PutUint64(out[off:], v) }
	put16(0x10, int(typ))
	put32(0x14, uint64(elf.EV_CURRENT))
	put16(0x12, int(machine))
	if is64 {
		put64(0x28, uint64(shoff))
		put16(0x34, ehSize)
		put16(0x3a, shEnt)
		put16(0x3c, len(all)+1)
		put16(0x3e, len(all))
	} else {
		put32(0x20, uint64(shoff))
		put16(0x28, ehSize)
		put16(0x2e, shEnt)
		put16(0x30, len(all)+1)
		put16(0x32, len(all))
	}
	for i, s := range all {
		h := shoff + shEnt*(i+1)
		size := uint64(len(s.Data))
		if is64 {
			put32(h, uint64(nameOff[i]))
			put32(h+4, uint64(s.Type))
			put64(h+8, uint64(s.Flags))
			put64(h+16, s.Addr)
			put64(h+24, uint64(offs[i]))
			put64(h+32, size)
			put32(h+40, uint64(s.Link))
			put32(h+44, uint64(s.Info))
			put64(h+48, s.Align)
			put64(h+56, s.Entsize)
		} else {
			put32(h, uint64(nameOff[i]))
			put32(h+4, uint64(s.Type))
			put32(h+8, uint64(s.Flags))
			put32(h+12, s.Addr)
			put32(h+16, uint64(offs[i]))
			put32(h+20, size)
			put32(h+24, uint64(s.Link))
			put32(h+28, uint64(s.Info))
			put32(h+32, s.Align)
			put32(h+36, s.Entsize)
		}
	}
	return out
}

// CompressedClaim returns the contents of a little-endian ELF64
// SHF_COMPRESSED section whose compression header claims size bytes, followed
// by a few bytes of zlib that inflate to nothing: the shape of a
// decompression bomb, without the cost of a real one.
func CompressedClaim(size uint64) []byte {
	var b []byte
	b = binary.LittleEndian.AppendUint32(b, uint32(elf.COMPRESS_ZLIB))
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint64(b, size)
	b = binary.LittleEndian.AppendUint64(b, 1)
	return append(b, 0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01)
}
