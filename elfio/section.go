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
		return nil, InSection(f.Path, name, fmt.Errorf("%w: the file is a raw BTF blob", ErrNoSection))
	}
	s := f.ELF.Section(name)
	if s == nil {
		return nil, InSection(f.Path, name, ErrNoSection)
	}
	if s.Type == elf.SHT_NOBITS {
		return nil, InSection(f.Path, name, errors.New("SHT_NOBITS: it has no contents in the file"))
	}
	data, err := SectionContents(s)
	if err != nil {
		return nil, InSection(f.Path, name, err)
	}
	return data, nil
}

// SectionContents is s.Data() made safe for hostile files: a section that
// claims more than MaxDecompressedSize (an SHF_COMPRESSED bomb) is refused
// before it is inflated, and a panic in debug/elf's decompressors becomes an
// error, for the same reason as newELF.
func SectionContents(s *elf.Section) (data []byte, err error) {
	if s.Size > uint64(MaxDecompressedSize) {
		return nil, fmt.Errorf("claims %d bytes, more than the limit of %d", s.Size, MaxDecompressedSize)
	}
	defer func() {
		if r := recover(); r != nil {
			Refault(r)
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
		return nil, InSection(f.Path, ".BTF", fmt.Errorf("%w (was the file built with CONFIG_DEBUG_INFO_BTF, or stripped of it?)", ErrNoSection))
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
//
// The table is parsed on the first call and kept, shared by later calls
// (the result must not be modified), until ReleaseSymbols: a vmlinux has
// over a hundred thousand symbols, which several questions read.
func (f *File) Symbols() ([]elf.Symbol, error) {
	f.symsMu.Lock()
	defer f.symsMu.Unlock()
	if f.symsRead {
		return f.syms, f.symsErr
	}
	f.symsRead = true
	if f.ELF == nil {
		f.syms = []elf.Symbol{}
		return f.syms, nil
	}
	syms, err := symbols(f.ELF)
	switch {
	case errors.Is(err, elf.ErrNoSymbols):
		f.syms = []elf.Symbol{}
	case err != nil:
		f.symsErr = InSection(f.Path, ".symtab", err)
	default:
		f.syms = syms
	}
	return f.syms, f.symsErr
}

// ReleaseSymbols lets the parsed symbol table go, once every question that
// reads it has been asked (about 12 MB for a vmlinux); a later Symbols
// parses it again.
func (f *File) ReleaseSymbols() {
	f.symsMu.Lock()
	defer f.symsMu.Unlock()
	f.symsRead, f.syms, f.symsErr = false, nil, nil
}

// symbols is ef.Symbols() with panics turned into errors, as in newELF.
func symbols(ef *elf.File) (syms []elf.Symbol, err error) {
	defer func() {
		if r := recover(); r != nil {
			Refault(r)
			syms, err = nil, fmt.Errorf("malformed: %v", r)
		}
	}()
	return ef.Symbols()
}

// SymbolOffset returns the section that defines sym and the offset of sym
// within that section's contents, for patching data such as the .BTF_ids
// slots (docs/facts.md §7). In a relocatable file (ET_REL, a module) a symbol's
// value is already relative to its section; in a linked file (ET_EXEC,
// ET_DYN, a vmlinux) it is an address and the section's address is
// subtracted. The whole symbol (value .. value+size) must lie inside the
// section.
func (f *File) SymbolOffset(sym elf.Symbol) (sectionName string, off uint64, err error) {
	if f.ELF == nil {
		return "", 0, WithPath(f.Path, fmt.Errorf("a raw BTF blob has no symbols (looking for %s)", sym.Name))
	}
	idx := sym.Section
	if idx == elf.SHN_UNDEF || idx >= elf.SHN_LORESERVE || int(idx) >= len(f.ELF.Sections) {
		return "", 0, WithPath(f.Path, fmt.Errorf("symbol %s is not defined in a section (section index %v)", sym.Name, idx))
	}
	s := f.ELF.Sections[idx]
	switch f.ELF.Type {
	case elf.ET_REL:
		off = sym.Value
	case elf.ET_EXEC, elf.ET_DYN:
		if sym.Value < s.Addr {
			return "", 0, InSection(f.Path, s.Name, fmt.Errorf("symbol %s at %#x lies before the section's address %#x", sym.Name, sym.Value, s.Addr))
		}
		off = sym.Value - s.Addr
	default:
		return "", 0, WithPath(f.Path, fmt.Errorf("cannot locate symbol %s in an ELF file of type %v", sym.Name, f.ELF.Type))
	}
	if off > s.Size || sym.Size > s.Size-off {
		return "", 0, InSection(f.Path, s.Name, fmt.Errorf("symbol %s (offset %#x, size %#x) does not fit in the section (size %#x)",
			sym.Name, off, sym.Size, s.Size))
	}
	return s.Name, off, nil
}
