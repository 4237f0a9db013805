package elfio

import (
	"bytes"
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

// SymbolsWhere returns the entries of .symtab that keep accepts by their
// st_info and section index, as Symbols lists them (same order, same
// fields), without parsing the others: the table is read where it lies in
// Data and only the kept symbols' names are made. A module's table can
// hold millions of local labels (riscv64 keeps one per relaxed
// instruction) of which a question wants a few thousand functions.
func (f *File) SymbolsWhere(keep func(info byte, section elf.SectionIndex) bool) ([]elf.Symbol, error) {
	f.symsMu.Lock()
	cached, syms, symsErr := f.symsRead, f.syms, f.symsErr
	f.symsMu.Unlock()
	if !cached {
		if out, ok := f.symbolsInPlace(keep); ok {
			return out, nil
		}
		// Anything unusual: Symbols says what, and parses the rest.
		syms, symsErr = f.Symbols()
	}
	if symsErr != nil {
		return nil, symsErr
	}
	out := []elf.Symbol{}
	for _, s := range syms {
		if keep(s.Info, s.Section) {
			out = append(out, s)
		}
	}
	return out, nil
}

// symbolsInPlace is SymbolsWhere on a well-formed, uncompressed table and
// string table inside Data; ok is false for anything else.
func (f *File) symbolsInPlace(keep func(info byte, section elf.SectionIndex) bool) (out []elf.Symbol, ok bool) {
	ef := f.ELF
	if ef == nil {
		return nil, false
	}
	in := func(s *elf.Section) ([]byte, bool) {
		if s.Flags&elf.SHF_COMPRESSED != 0 || s.Type == elf.SHT_NOBITS ||
			s.Offset > uint64(len(f.Data)) || s.FileSize > uint64(len(f.Data))-s.Offset {
			return nil, false
		}
		return f.Data[s.Offset : s.Offset+s.FileSize], true
	}
	st := ef.SectionByType(elf.SHT_SYMTAB)
	if st == nil || st.Link == 0 || int(st.Link) >= len(ef.Sections) || ef.Sections[st.Link].Type != elf.SHT_STRTAB {
		return nil, false
	}
	raw, ok1 := in(st)
	strs, ok2 := in(ef.Sections[st.Link])
	esz := 16
	is64 := ef.Class == elf.ELFCLASS64
	if is64 {
		esz = 24
	}
	if !ok1 || !ok2 || len(raw) == 0 || len(raw)%esz != 0 {
		return nil, false
	}
	bo := ef.ByteOrder
	out = []elf.Symbol{}
	// Read once: a mapped file's pages go as the reading passes them.
	const chunk = 8 << 20
	done := 0
	for e := raw[esz:]; len(e) >= esz; e = e[esz:] {
		if at := len(raw) - len(e); at-done >= chunk {
			f.Evict(raw[done:at])
			done = at
		}
		var s elf.Symbol
		var name uint32
		if is64 {
			name = bo.Uint32(e)
			s.Info, s.Other = e[4], e[5]
			s.Section = elf.SectionIndex(bo.Uint16(e[6:]))
			s.Value, s.Size = bo.Uint64(e[8:]), bo.Uint64(e[16:])
		} else {
			name = bo.Uint32(e)
			s.Value, s.Size = uint64(bo.Uint32(e[4:])), uint64(bo.Uint32(e[8:]))
			s.Info, s.Other = e[12], e[13]
			s.Section = elf.SectionIndex(bo.Uint16(e[14:]))
		}
		if !keep(s.Info, s.Section) {
			continue
		}
		// As debug/elf: a name without its terminating NUL is empty.
		if int(name) < len(strs) {
			if n := bytes.IndexByte(strs[name:], 0); n >= 0 {
				s.Name = string(strs[name : int(name)+n])
			}
		}
		out = append(out, s)
	}
	f.Evict(raw[done:])
	f.Evict(strs)
	return out, true
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
