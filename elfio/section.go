package elfio

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
)

// Section returns the first section called name, or nil if there is none or
// the file is a raw BTF blob.
func (f *File) Section(name string) *elf.Section {
	if f.ELF == nil {
		return nil
	}
	return f.ELF.Section(name)
}

// SectionData returns the uncompressed contents of section name as a new
// slice the caller may modify. SHF_COMPRESSED sections are inflated by
// debug/elf, bounded by MaxDecompressedSize like whole files.
func (f *File) SectionData(name string) ([]byte, error) {
	if f.ELF == nil {
		return nil, fmt.Errorf("%s: raw BTF blob has no section %s", f.Path, name)
	}
	s := f.ELF.Section(name)
	if s == nil {
		return nil, fmt.Errorf("%s: no section %s", f.Path, name)
	}
	if s.Type == elf.SHT_NOBITS {
		return nil, fmt.Errorf("%s: section %s is SHT_NOBITS and has no contents in the file", f.Path, name)
	}
	data, err := SectionContents(s)
	if err != nil {
		return nil, fmt.Errorf("%s: section %s: %v", f.Path, name, err)
	}
	return data, nil
}

// SectionContents is s.Data() made safe for hostile files: a section that
// claims more than MaxDecompressedSize (an SHF_COMPRESSED bomb) is refused
// before it is inflated, and a panic in debug/elf's decompressors becomes an
// error, for the same reason as newELF.
func SectionContents(s *elf.Section) (data []byte, err error) {
	if s.Size > uint64(decompressLimit) {
		return nil, fmt.Errorf("claims %d bytes, more than the limit of %d", s.Size, decompressLimit)
	}
	defer func() {
		if r := recover(); r != nil {
			data, err = nil, fmt.Errorf("malformed contents: %v", r)
		}
	}()
	return s.Data()
}

// BTF returns the BTF blob: Data itself for a raw blob, the contents of .BTF
// for an ELF file.
func (f *File) BTF() ([]byte, error) {
	if f.Format == FormatRaw {
		return f.Data, nil
	}
	if f.Section(".BTF") == nil {
		return nil, fmt.Errorf("%s: no .BTF section (was the file built with CONFIG_DEBUG_INFO_BTF, or stripped of it?)", f.Path)
	}
	return f.SectionData(".BTF")
}

// ByteOrder returns the ELF file's byte order, or for a raw blob the order
// in which its magic 0xeB9F reads correctly.
func (f *File) ByteOrder() binary.ByteOrder {
	if f.ELF != nil {
		return f.ELF.ByteOrder
	}
	if len(f.Data) >= 2 && f.Data[0] == magicBTFBE[0] && f.Data[1] == magicBTFBE[1] {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

// Symbols returns the entries of .symtab (without the null symbol 0, as
// debug/elf does: index i here is symbol table index i+1). A file without a
// symbol table, and a raw blob, give an empty slice and no error.
func (f *File) Symbols() ([]elf.Symbol, error) {
	if f.ELF == nil {
		return []elf.Symbol{}, nil
	}
	syms, err := symbols(f.ELF)
	if errors.Is(err, elf.ErrNoSymbols) {
		return []elf.Symbol{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: symbol table: %v", f.Path, err)
	}
	return syms, nil
}

// symbols is ef.Symbols() with panics turned into errors, as in newELF.
func symbols(ef *elf.File) (syms []elf.Symbol, err error) {
	defer func() {
		if r := recover(); r != nil {
			syms, err = nil, fmt.Errorf("malformed: %v", r)
		}
	}()
	return ef.Symbols()
}

// SymbolOffset returns the section that defines sym and the offset of sym
// within that section's contents, for patching data such as the .BTF_ids
// slots (FACTS.md 6). In a relocatable file (ET_REL, a module) a symbol's
// value is already relative to its section; in a linked file (ET_EXEC,
// ET_DYN, a vmlinux) it is an address and the section's address is
// subtracted. The whole symbol (value .. value+size) must lie inside the
// section.
func (f *File) SymbolOffset(sym elf.Symbol) (sectionName string, off uint64, err error) {
	if f.ELF == nil {
		return "", 0, fmt.Errorf("%s: raw BTF blob has no symbols (looking for %s)", f.Path, sym.Name)
	}
	idx := sym.Section
	if idx == elf.SHN_UNDEF || idx >= elf.SHN_LORESERVE || int(idx) >= len(f.ELF.Sections) {
		return "", 0, fmt.Errorf("%s: symbol %s is not defined in a section (section index %v)", f.Path, sym.Name, idx)
	}
	s := f.ELF.Sections[idx]
	switch f.ELF.Type {
	case elf.ET_REL:
		off = sym.Value
	case elf.ET_EXEC, elf.ET_DYN:
		if sym.Value < s.Addr {
			return "", 0, fmt.Errorf("%s: symbol %s at %#x lies before its section %s at %#x", f.Path, sym.Name, sym.Value, s.Name, s.Addr)
		}
		off = sym.Value - s.Addr
	default:
		return "", 0, fmt.Errorf("%s: cannot locate symbol %s in an ELF file of type %v", f.Path, sym.Name, f.ELF.Type)
	}
	if off > s.Size || sym.Size > s.Size-off {
		return "", 0, fmt.Errorf("%s: symbol %s (offset %#x, size %#x) does not fit in section %s (size %#x)",
			f.Path, sym.Name, off, sym.Size, s.Name, s.Size)
	}
	return s.Name, off, nil
}
