package elfio

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/btffilter/btffilter/elfio/elftest"
)

// TestSectionDataCompressed reads a zlib SHF_COMPRESSED .debug_info: the
// result has the size the compression header announces, and the DWARF unit
// header inside it agrees (unit_length + 4 == size for the single CU).
func TestSectionDataCompressed(t *testing.T) {
	f := mustParse(t, "rel-zdebug.o", fixture(t, "rel-zdebug.o"))
	s := f.Section(".debug_info")
	if s == nil || s.Flags&elf.SHF_COMPRESSED == 0 {
		t.Fatal(".debug_info missing or not SHF_COMPRESSED: regenerate with sh elfio/testdata/gen.sh")
	}
	d, err := f.SectionData(".debug_info")
	if err != nil {
		t.Fatal(err)
	}
	if uint64(len(d)) != s.Size || s.Size <= s.FileSize {
		t.Fatalf("got %d bytes; header says %d uncompressed, %d in the file", len(d), s.Size, s.FileSize)
	}
	if unitLen := binary.LittleEndian.Uint32(d); uint64(unitLen)+4 != s.Size {
		t.Fatalf("DWARF unit_length %d does not span the %d decompressed bytes", unitLen, s.Size)
	}
}

// TestSectionErrors: every failure names the file and the section.
func TestSectionErrors(t *testing.T) {
	rel := mustParse(t, "rel-i686.o", fixture(t, "rel-i686.o"))
	raw := mustParse(t, "btf-le.bin", fixture(t, "btf-le.bin"))
	noBTF := mustParse(t, "plain.o", elftest.Build(elf.ELFCLASS64, binary.LittleEndian, elf.ET_REL, []elftest.Section{
		{Name: ".text", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC, Align: 4, Data: pattern(8, 1)},
		{Name: ".bss", Type: elf.SHT_NOBITS, Flags: elf.SHF_ALLOC, Align: 4, Data: make([]byte, 8)},
		{Name: ".debug_info", Type: elf.SHT_PROGBITS, Flags: elf.SHF_COMPRESSED, Align: 8, Data: elftest.CompressedClaim(3 << 30)},
	}))
	cases := []struct {
		name    string
		call    func() error
		wantErr string
	}{
		{"missing section", func() error { _, err := rel.SectionData(".BTF.base"); return err }, "rel-i686.o: section .BTF.base: no such section"},
		{"raw has no sections", func() error { _, err := raw.SectionData(".BTF"); return err }, "btf-le.bin: section .BTF: no such section: the file is a raw BTF blob"},
		{"nobits", func() error { _, err := noBTF.SectionData(".bss"); return err }, "plain.o: section .bss: SHT_NOBITS"},
		{"no .BTF", func() error { _, err := noBTF.BTF(); return err }, "plain.o: section .BTF: no such section (was the file built with CONFIG_DEBUG_INFO_BTF"},
		{"compressed section of 3 GiB", func() error { _, err := noBTF.SectionData(".debug_info"); return err },
			"plain.o: section .debug_info: claims 3221225472 bytes, more than the limit"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want it to start with %q", err, tc.wantErr)
			}
			var fe *Error
			if !errors.As(err, &fe) || !strings.HasPrefix(tc.wantErr, fe.Path+": ") {
				t.Fatalf("err = %#v: not an *Error naming the file", err)
			}
		})
	}
	if raw.Section(".BTF") != nil || noBTF.Section(".BTF") != nil {
		t.Fatal("Section returned a section that does not exist")
	}
}

// TestSymbols: files without .symtab give an empty, non-nil slice.
func TestSymbols(t *testing.T) {
	cases := []struct {
		name string
		f    *File
		want []string // names that must be present; nil means no symbols at all
	}{
		{"raw", mustParse(t, "btf-le.bin", fixture(t, "btf-le.bin")), nil},
		{"no symtab", mustParse(t, "plain.o", elftest.Build(elf.ELFCLASS32, binary.BigEndian, elf.ET_REL, []elftest.Section{
			{Name: ".text", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC, Align: 4, Data: pattern(8, 1)},
		})), nil},
		{"rel-bpfeb.o", mustParse(t, "rel-bpfeb.o", fixture(t, "rel-bpfeb.o")), []string{"add", "counter"}},
		{"exec-mips", mustParse(t, "exec-mips", fixture(t, "exec-mips")), []string{"_start", "counter", "__BTF_ID__set__demo"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			syms, err := tc.f.Symbols()
			if err != nil || syms == nil {
				t.Fatalf("Symbols() = %v, %v; want a non-nil slice", syms, err)
			}
			if tc.want == nil && len(syms) != 0 {
				t.Fatalf("got %d symbols, want none", len(syms))
			}
			have := map[string]bool{}
			for _, s := range syms {
				have[s.Name] = true
			}
			for _, n := range tc.want {
				if !have[n] {
					t.Errorf("symbol %s missing", n)
				}
			}
		})
	}
}

// TestSymbolOffset locates symbols in relocatable files (value relative to
// the section) and linked ones (value is an address), then checks the bytes
// found there against what the sources put there.
func TestSymbolOffset(t *testing.T) {
	cases := []struct {
		file, sym   string
		wantSection string
		wantOff     uint64
		wantU32     uint32 // the 32-bit word at that offset, in file byte order
	}{
		{"rel-bpfel.o", "counter", ".data", 0, 1},
		{"rel-bpfeb.o", "counter", ".data", 0, 1},
		{"rel-mips.o", "counter", ".sdata", 0, 1}, // MIPS small data
		{"exec-x86_64", "__BTF_ID__struct__pair__1", ".BTF_ids", 0, 0},
		{"exec-x86_64", "__BTF_ID__set__demo", ".BTF_ids", 4, 2},
		{"exec-mips", "__BTF_ID__set__demo", ".BTF_ids", 4, 2},
		{"exec-mips", "counter", ".sdata", 0, 1},
	}
	for _, tc := range cases {
		t.Run(tc.file+"/"+tc.sym, func(t *testing.T) {
			f := mustParse(t, tc.file, fixture(t, tc.file))
			syms, err := f.Symbols()
			if err != nil {
				t.Fatal(err)
			}
			var sym *elf.Symbol
			for i := range syms {
				if syms[i].Name == tc.sym {
					sym = &syms[i]
				}
			}
			if sym == nil {
				t.Fatalf("no symbol %s", tc.sym)
			}
			sec, off, err := f.SymbolOffset(*sym)
			if err != nil {
				t.Fatal(err)
			}
			if sec != tc.wantSection || off != tc.wantOff {
				t.Fatalf("SymbolOffset = %s+%#x, want %s+%#x", sec, off, tc.wantSection, tc.wantOff)
			}
			d, err := f.SectionData(sec)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.ByteOrder().Uint32(d[off:]); got != tc.wantU32 {
				t.Fatalf("word at %s+%#x = %d, want %d", sec, off, got, tc.wantU32)
			}
		})
	}
}

// TestSymbolOffsetErrors: symbols that do not designate bytes of a section.
func TestSymbolOffsetErrors(t *testing.T) {
	exe := mustParse(t, "exec-x86_64", fixture(t, "exec-x86_64"))
	ids := exe.Section(".BTF_ids")
	idsIdx := elf.SectionIndex(0)
	for i, s := range exe.ELF.Sections {
		if s == ids {
			idsIdx = elf.SectionIndex(i)
		}
	}
	raw := mustParse(t, "btf-le.bin", fixture(t, "btf-le.bin"))
	cases := []struct {
		name    string
		f       *File
		sym     elf.Symbol
		wantErr string
	}{
		{"undefined", exe, elf.Symbol{Name: "ext", Section: elf.SHN_UNDEF}, "exec-x86_64: symbol ext is not defined in a section"},
		{"absolute", exe, elf.Symbol{Name: "abs", Section: elf.SHN_ABS, Value: 5}, "exec-x86_64: symbol abs is not defined in a section"},
		{"bad index", exe, elf.Symbol{Name: "far", Section: 999}, "exec-x86_64: symbol far is not defined in a section"},
		{"before section", exe, elf.Symbol{Name: "lo", Section: idsIdx, Value: ids.Addr - 1}, "exec-x86_64: section .BTF_ids: symbol lo at"},
		{"past section", exe, elf.Symbol{Name: "hi", Section: idsIdx, Value: ids.Addr + ids.Size - 2, Size: 4}, "exec-x86_64: section .BTF_ids: symbol hi (offset 0xe, size 0x4) does not fit"},
		{"raw", raw, elf.Symbol{Name: "x"}, "btf-le.bin: a raw BTF blob has no symbols"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := tc.f.SymbolOffset(tc.sym)
			if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want it to start with %q", err, tc.wantErr)
			}
		})
	}
}

// TestCompressionString pins the names used in reports.
func TestCompressionString(t *testing.T) {
	for c, want := range map[Compression]string{None: "none", Gzip: "gzip", XZ: "xz", Zstd: "zstd", 9: "Compression(9)"} {
		if c.String() != want {
			t.Errorf("%d.String() = %q, want %q", int(c), c.String(), want)
		}
	}
}

// TestSymbolsWhere: the symbols read in place are those Symbols lists, in
// its order and with its fields, for 32- and 64-bit files of both byte
// orders, whether Symbols was asked first or not.
func TestSymbolsWhere(t *testing.T) {
	funcs := func(info byte, sec elf.SectionIndex) bool {
		return elf.ST_TYPE(info) == elf.STT_FUNC && sec != elf.SHN_UNDEF
	}
	all := func(byte, elf.SectionIndex) bool { return true }
	for _, name := range []string{"rel-bpfeb.o", "rel-bpfel.o", "rel-i686.o", "rel-mips.o", "exec-mips", "exec-x86_64", "btf-le.bin"} {
		t.Run(name, func(t *testing.T) {
			ref, err := mustParse(t, name, fixture(t, name)).Symbols()
			if err != nil {
				t.Fatal(err)
			}
			for _, keep := range []func(byte, elf.SectionIndex) bool{all, funcs} {
				var want []elf.Symbol
				for _, s := range ref {
					if keep(s.Info, s.Section) {
						want = append(want, s)
					}
				}
				for _, first := range []bool{false, true} {
					f := mustParse(t, name, fixture(t, name))
					if first {
						if _, err := f.Symbols(); err != nil {
							t.Fatal(err)
						}
					}
					got, err := f.SymbolsWhere(keep)
					if err != nil || got == nil {
						t.Fatalf("SymbolsWhere = %v, %v", got, err)
					}
					if len(got) != len(want) || (len(want) > 0 && !reflect.DeepEqual(got, want)) {
						t.Errorf("Symbols asked first %v: got %d symbols %v, want %d %v", first, len(got), got, len(want), want)
					}
				}
			}
		})
	}
}
