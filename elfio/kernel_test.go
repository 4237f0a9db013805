package elfio

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/btffilter/btffilter/elfio/elftest"
)

// TestKernelQuestions: what the fixtures' ELF headers, .modinfo and
// linux_banner say about them, and what Probe tells from headers alone.
func TestKernelQuestions(t *testing.T) {
	const td = "../testdata/"
	for _, tc := range []struct {
		path    string
		kind    Kind
		module  bool
		release string
		arch    string
	}{
		{td + "x86_64/vmlinux-like", KindLinked, false, "6.1.0-fixture-amd64", "x86_64"},
		{td + "modules/module.ko", KindModule, true, "6.1.0-fixture-amd64", "x86_64"},
		{td + "modules/module-signed.ko", KindModule, true, "6.1.0-fixture-amd64", "x86_64"},
		// Compressed: Probe reads only the ELF header.
		{td + "modules/module.ko.xz", KindRelocatable, true, "6.1.0-fixture-amd64", "x86_64"},
		{td + "modules/module.ko.zst", KindRelocatable, true, "6.1.0-fixture-amd64", "x86_64"},
		{td + "modules/module.ko.gz", KindRelocatable, true, "6.1.0-fixture-amd64", "x86_64"},
		{td + "x86_64/gcc/base.o", KindObject, false, "", "x86_64"},
		{td + "aarch64/gcc/module.o", KindModule, true, "6.1.0-fixture-arm64", "arm64"},
		{td + "dwarf/layout-riscv64-clang.o", KindObject, false, "", "riscv64"},
		{td + "dwarf/layout-s390x-gcc.o", KindObject, false, "", "s390x"},
		{td + "dwarf/layout-ppc64le-gcc.o", KindObject, false, "", "ppc64le"},
		{td + "dwarf/layout-loongarch64-gcc.o", KindObject, false, "", "loongarch64"},
		{td + "i686/clang/base.o", KindObject, false, "", "i386"},
		{td + "x86_64/gcc/base.btf", KindRaw, false, "", ""},
	} {
		t.Run(tc.path, func(t *testing.T) {
			k, err := Probe(tc.path)
			if err != nil || k != tc.kind {
				t.Errorf("Probe = %v, %v; want %v", k, err, tc.kind)
			}
			f, err := Open(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.IsModule(); got != tc.module {
				t.Errorf("IsModule = %v, want %v", got, tc.module)
			}
			if got := f.KernelRelease(); got != tc.release {
				t.Errorf("KernelRelease = %q, want %q", got, tc.release)
			}
			if got := f.Arch(); got != tc.arch {
				t.Errorf("Arch = %q, want %q", got, tc.arch)
			}
		})
	}
}

// TestProbeErrors: what is neither ELF nor BTF is refused by its first bytes.
func TestProbeErrors(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string][]byte{
		"text":  []byte("hello\n"),
		"empty": nil,
		"zeros.zst": func() []byte {
			b, err := compress(Zstd, make([]byte, 4096))
			if err != nil {
				t.Fatal(err)
			}
			return b
		}(),
	} {
		p := writeTemp(t, dir, name, data)
		if _, err := Probe(p); err == nil {
			t.Errorf("%s: Probe accepted it", name)
		}
	}
}

// TestSectionSymbols: the .BTF_ids symbols of the linked fixture, at
// offsets inside the section, and the symbol table parsed once.
func TestSectionSymbols(t *testing.T) {
	f, err := Open("../testdata/x86_64/vmlinux-like")
	if err != nil {
		t.Fatal(err)
	}
	syms, err := f.SectionSymbols(".BTF_ids")
	if err != nil {
		t.Fatal(err)
	}
	size := f.Section(".BTF_ids").Size
	if len(syms) == 0 {
		t.Fatal("no symbols in .BTF_ids")
	}
	for _, s := range syms {
		if s.Offset+s.Size > size {
			t.Errorf("%s at %#x+%#x is outside the %#x-byte section", s.Name, s.Offset, s.Size, size)
		}
	}
	a, _ := f.Symbols()
	b, _ := f.Symbols()
	if len(a) == 0 || &a[0] != &b[0] {
		t.Error("the symbol table was parsed twice")
	}
	if _, err := f.SectionSymbols(".nothing"); err == nil {
		t.Error("symbols of a missing section")
	}
}

func writeTemp(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestKernelReleaseNoSymbols: a vmlinux without a symbol table (as
// decompressed from a vmlinuz) tells its release by its linux_banner's text.
func TestKernelReleaseNoSymbols(t *testing.T) {
	data, err := os.ReadFile("../testdata/x86_64/vmlinux-like")
	if err != nil {
		t.Fatal(err)
	}
	ef, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var shoff uint64
	var shentsize uint16
	if _, err := binary.Decode(data[0x28:], binary.LittleEndian, &shoff); err != nil {
		t.Fatal(err)
	}
	if _, err := binary.Decode(data[0x3a:], binary.LittleEndian, &shentsize); err != nil {
		t.Fatal(err)
	}
	for i, s := range ef.Sections {
		if s.Type == elf.SHT_SYMTAB {
			// sh_type is the second word of the section header.
			binary.LittleEndian.PutUint32(data[shoff+uint64(i)*uint64(shentsize)+4:], uint32(elf.SHT_PROGBITS))
		}
	}
	p := writeTemp(t, t.TempDir(), "vmlinux", data)
	f, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	if syms, _ := f.Symbols(); len(syms) != 0 {
		t.Fatalf("%d symbols left", len(syms))
	}
	if got := f.KernelRelease(); got != "6.1.0-fixture-amd64" {
		t.Errorf("KernelRelease = %q, want 6.1.0-fixture-amd64", got)
	}
}

// TestCanonicalArch: every name Arch gives (the JSON report's arch) is an
// --arch spelling of itself, and the other spellings of each map onto it.
func TestCanonicalArch(t *testing.T) {
	for _, tc := range []struct {
		machine elf.Machine
		class   elf.Class
		bo      binary.ByteOrder
	}{
		{elf.EM_X86_64, elf.ELFCLASS64, binary.LittleEndian}, {elf.EM_X86_64, elf.ELFCLASS32, binary.LittleEndian},
		{elf.EM_AARCH64, elf.ELFCLASS64, binary.LittleEndian}, {elf.EM_AARCH64, elf.ELFCLASS32, binary.LittleEndian},
		{elf.EM_RISCV, elf.ELFCLASS64, binary.LittleEndian}, {elf.EM_RISCV, elf.ELFCLASS32, binary.LittleEndian},
		{elf.EM_S390, elf.ELFCLASS64, binary.BigEndian}, {elf.EM_S390, elf.ELFCLASS32, binary.BigEndian},
		{elf.EM_386, elf.ELFCLASS32, binary.LittleEndian}, {elf.EM_ARM, elf.ELFCLASS32, binary.LittleEndian},
		{elf.EM_PPC64, elf.ELFCLASS64, binary.LittleEndian}, {elf.EM_PPC64, elf.ELFCLASS64, binary.BigEndian},
		{elf.EM_PPC64, elf.ELFCLASS32, binary.BigEndian},
		{elf.EM_LOONGARCH, elf.ELFCLASS64, binary.LittleEndian}, {elf.EM_LOONGARCH, elf.ELFCLASS32, binary.LittleEndian},
		{elf.EM_BPF, elf.ELFCLASS64, binary.LittleEndian}, {elf.EM_SPARCV9, elf.ELFCLASS64, binary.BigEndian},
	} {
		f, err := NewFile("t.o", elftest.BuildMachine(tc.class, tc.bo, elf.ET_REL, tc.machine, nil))
		if err != nil {
			t.Fatalf("%v %v: %v", tc.machine, tc.class, err)
		}
		name := f.Arch()
		if got, ok := CanonicalArch(name); !ok || got != name {
			t.Errorf("%v %v %v: Arch %q, CanonicalArch gives %q, %v", tc.machine, tc.class, tc.bo, name, got, ok)
		}
	}
	for alias, want := range map[string]string{
		"amd64": "x86_64", "aarch64": "arm64", "ppc64el": "ppc64le", "powerpc64le": "ppc64le",
		"powerpc64": "ppc64", "powerpc": "ppc", "loong64": "loongarch64", "i686": "i386", "armhf": "arm", "S390X": "s390x",
	} {
		if got, ok := CanonicalArch(alias); !ok || got != want {
			t.Errorf("CanonicalArch(%q) = %q, %v; want %q", alias, got, ok, want)
		}
	}
	if got, ok := CanonicalArch("mips64"); ok {
		t.Errorf("CanonicalArch(mips64) = %q, accepted", got)
	}
}
