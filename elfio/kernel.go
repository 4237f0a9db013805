package elfio

import (
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// The questions about a kernel file that its ELF answers: what kind of file
// it is, which kernel and which architecture it belongs to, and where its
// symbols lie inside a section.

// IsModule reports whether f is a kernel module: a relocatable object with
// module information (.modinfo, or the module structure kbuild links in).
func (f *File) IsModule() bool {
	return f.ELF != nil && isModuleELF(f.ELF)
}

func isModuleELF(ef *elf.File) bool {
	return ef.Type == elf.ET_REL && (ef.Section(".modinfo") != nil || ef.Section(".gnu.linkonce.this_module") != nil)
}

// KernelRelease tells which kernel release f belongs to, when it can be
// told: a module's vermagic (.modinfo), a vmlinux's linux_banner ("Linux
// version RELEASE (builder) ..."). It returns "" for raw blobs and for files
// that carry neither.
func (f *File) KernelRelease() string {
	if f.ELF == nil {
		return ""
	}
	if f.IsModule() {
		v := f.ModInfo("vermagic")
		if fs := strings.Fields(v); len(fs) > 0 {
			return fs[0]
		}
		return ""
	}
	syms, err := f.Symbols()
	if err != nil || len(syms) == 0 {
		// No symbol table: a vmlinux decompressed from a vmlinuz (the
		// boot image's vmlinux.bin is objcopy -S of the vmlinux).
		return f.bannerRelease()
	}
	for _, s := range syms {
		if s.Name != "linux_banner" {
			continue
		}
		_, off, err := f.SymbolOffset(s)
		if err != nil {
			continue // undefined here, or not inside its section
		}
		sec := f.ELF.Sections[s.Section] // an index SymbolOffset checked
		size := min(s.Size, 512)
		if sec.Type == elf.SHT_NOBITS || size == 0 {
			return ""
		}
		buf := make([]byte, size)
		if _, err := sec.ReadAt(buf, int64(off)); err != nil {
			return ""
		}
		fs := strings.Fields(string(buf))
		if len(fs) >= 3 && fs[0] == "Linux" && fs[1] == "version" {
			return fs[2]
		}
	}
	return ""
}

// bannerRelease finds the linux_banner of a vmlinux without symbols by its
// text in .rodata: "Linux version RELEASE (", RELEASE not a format
// directive. It returns "" unless exactly one release is found.
func (f *File) bannerRelease() string {
	sec := f.ELF.Section(".rodata")
	if sec == nil || sec.Type == elf.SHT_NOBITS {
		return ""
	}
	data, err := sec.Data()
	if err != nil {
		return ""
	}
	const prefix = "Linux version "
	release := ""
	for rest := data; ; {
		i := bytes.Index(rest, []byte(prefix))
		if i < 0 {
			return release
		}
		rest = rest[i+len(prefix):]
		end := bytes.IndexAny(rest, " \x00")
		if end <= 0 || !bytes.HasPrefix(rest[end:], []byte(" (")) || bytes.ContainsRune(rest[:end], '%') {
			continue
		}
		r := string(rest[:end])
		if release != "" && release != r {
			return ""
		}
		release = r
	}
}

// ModInfo returns the value of key in a module's .modinfo ("" when the file
// has no such entry).
func (f *File) ModInfo(key string) string {
	if f.Section(".modinfo") == nil {
		return ""
	}
	data, err := f.SectionData(".modinfo")
	if err != nil {
		return ""
	}
	for _, kv := range bytes.Split(data, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte(key+"=")); ok {
			return string(v)
		}
	}
	return ""
}

// Arch names the architecture an ELF file is for, as the kernel and
// uname -m do for the 64-bit ones (x86_64, arm64, riscv64, s390x, ppc64le,
// ppc64, loongarch64); "" for a raw BTF blob. A 32-bit object of a 64-bit
// machine gets another name (x32, arm64_32, riscv32, s390, ppc,
// loongarch32): its calling convention is not the 64-bit one. EM_PPC64 is
// ppc64le little-endian (Debian's ppc64el, the ELF V2 ABI) and ppc64
// big-endian.
func (f *File) Arch() string {
	if f.ELF == nil {
		return ""
	}
	is32 := f.ELF.Class == elf.ELFCLASS32
	switch f.ELF.Machine {
	case elf.EM_X86_64:
		if is32 {
			return "x32"
		}
		return "x86_64"
	case elf.EM_AARCH64:
		if is32 {
			return "arm64_32"
		}
		return "arm64"
	case elf.EM_RISCV:
		if is32 {
			return "riscv32"
		}
		return "riscv64"
	case elf.EM_S390:
		if is32 {
			return "s390"
		}
		return "s390x"
	case elf.EM_386:
		return "i386"
	case elf.EM_ARM:
		return "arm"
	case elf.EM_PPC64:
		if is32 {
			return "ppc"
		}
		if f.ELF.ByteOrder == binary.LittleEndian {
			return "ppc64le"
		}
		return "ppc64"
	case elf.EM_LOONGARCH:
		if is32 {
			return "loongarch32"
		}
		return "loongarch64"
	case elf.EM_BPF:
		return "bpf"
	}
	return f.ELF.Machine.String()
}

// SectionSymbol is a symbol defined in a section, at an offset in the
// section's contents.
type SectionSymbol struct {
	Name   string
	Offset uint64
	Size   uint64
}

// SectionSymbols returns the symbols (section symbols excepted) defined in
// the section called name, in symbol table order, with their offsets inside
// it (SymbolOffset). It is how .BTF_ids slots are found by name.
func (f *File) SectionSymbols(name string) ([]SectionSymbol, error) {
	sec := f.Section(name)
	if sec == nil {
		return nil, InSection(f.Path, name, ErrNoSection)
	}
	idx := -1
	for i, s := range f.ELF.Sections {
		if s == sec {
			idx = i
		}
	}
	syms, err := f.Symbols()
	if err != nil {
		return nil, err
	}
	var out []SectionSymbol
	for _, s := range syms {
		if int(s.Section) != idx || elf.ST_TYPE(s.Info) == elf.STT_SECTION {
			continue
		}
		_, off, err := f.SymbolOffset(s)
		if err != nil {
			return nil, err
		}
		out = append(out, SectionSymbol{Name: s.Name, Offset: off, Size: s.Size})
	}
	return out, nil
}

// Kind is what a file holds, as far as its headers tell.
type Kind int

// The kinds Probe tells apart.
const (
	// KindRaw is a bare BTF blob.
	KindRaw Kind = iota
	// KindLinked is a linked ELF file (a vmlinux): base BTF.
	KindLinked
	// KindModule is a kernel module: split BTF.
	KindModule
	// KindObject is a relocatable object without module information.
	KindObject
	// KindRelocatable is a compressed relocatable object: a module unless
	// its sections, which Probe does not decompress, say otherwise.
	KindRelocatable
)

// Probe tells what the file at path holds from its first bytes and, for an
// uncompressed ELF file, its section headers, without reading the rest:
// a tree run classifies every file before it reads any, and a vmlinux is
// too big, and a compressed module too slow, to read twice.
func Probe(path string) (Kind, error) {
	fh, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer fh.Close()
	head := make([]byte, 64)
	n, err := io.ReadFull(fh, head)
	if err != nil && err != io.ErrUnexpectedEOF {
		return 0, WithPath(path, err)
	}
	head = head[:n]
	c := compressionOf(head)
	if c == None {
		switch {
		case bytes.HasPrefix(head, magicBTFLE), bytes.HasPrefix(head, magicBTFBE):
			return KindRaw, nil
		case !bytes.HasPrefix(head, magicELF):
			return 0, WithPath(path, errors.New("not an ELF file, a raw BTF blob or a compressed module"))
		}
		ef, err := elf.NewFile(fh)
		if err != nil {
			return 0, WithPath(path, fmt.Errorf("malformed ELF: %w", err))
		}
		switch {
		case isModuleELF(ef):
			return KindModule, nil
		case ef.Type == elf.ET_REL:
			return KindObject, nil
		}
		return KindLinked, nil
	}
	if _, err := fh.Seek(0, io.SeekStart); err != nil {
		return 0, WithPath(path, err)
	}
	// Buffered: the xz decoder reads its input a byte at a time, which
	// straight from the file is a system call per byte.
	r, closeFn, err := decompressor(c, bufio.NewReaderSize(fh, 16<<10))
	if err != nil {
		return 0, WithPath(path, err)
	}
	defer closeFn()
	n, err = io.ReadFull(r, head[:cap(head)])
	if err != nil && (err != io.ErrUnexpectedEOF || n < 18) {
		// Too little came out to tell anything: the stream is cut
		// short or corrupt, and that is what to say.
		if err == io.ErrUnexpectedEOF || err == io.EOF {
			err = fmt.Errorf("only %d bytes decompress: %w", n, io.ErrUnexpectedEOF)
		}
		return 0, WithPath(path, fmt.Errorf("%s: %w", c, err))
	}
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, magicBTFLE), bytes.HasPrefix(head, magicBTFBE):
		return KindRaw, nil
	case !bytes.HasPrefix(head, magicELF) || len(head) < 18:
		return 0, WithPath(path, fmt.Errorf("%s content is neither an ELF file nor a raw BTF blob", c))
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if head[elf.EI_DATA] == byte(elf.ELFDATA2MSB) {
		bo = binary.BigEndian
	}
	if elf.Type(bo.Uint16(head[16:])) == elf.ET_REL {
		return KindRelocatable, nil
	}
	return KindLinked, nil
}

// archAliases are the other spellings of the names Arch gives: Debian's,
// GNU's and the kernel's.
var archAliases = map[string]string{
	"amd64": "x86_64", "x86-64": "x86_64", "x64": "x86_64",
	"aarch64": "arm64",
	"riscv":   "riscv64",
	"ppc64el": "ppc64le", "powerpc64le": "ppc64le", "powerpc64": "ppc64", "powerpc": "ppc",
	"loong64": "loongarch64", "loongarch": "loongarch64",
	"i686": "i386", "x86": "i386",
	"armhf": "arm", "armel": "arm",
}

// archNames are the names Arch gives, besides debug/elf's EM_ names.
var archNames = []string{
	"x86_64", "x32", "arm64", "arm64_32", "riscv64", "riscv32", "s390x", "s390",
	"i386", "arm", "ppc64le", "ppc64", "ppc", "loongarch64", "loongarch32", "bpf",
}

// CanonicalArch returns the name Arch gives for an architecture named
// name (any of its spellings, case aside), and false for a name Arch never
// gives. Every name a report can print is accepted.
func CanonicalArch(name string) (string, bool) {
	n := strings.ToLower(strings.TrimSpace(name))
	if a, ok := archAliases[n]; ok {
		return a, true
	}
	for _, a := range archNames {
		if n == a {
			return a, true
		}
	}
	// Arch names other machines as debug/elf does (EM_SPARCV9, ...).
	if u := strings.ToUpper(n); strings.HasPrefix(u, "EM_") {
		for m := elf.Machine(0); m < 1024; m++ {
			if m.String() == u {
				return u, true
			}
		}
	}
	return "", false
}
