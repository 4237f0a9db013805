package elfio

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/btffilter/btffilter/elfio/elftest"
)

// TestRewrite runs every kind of replacement over every fixture (ELF32 and
// ELF64, both byte orders, relocatable and linked) and checks all of
// Rewrite's promises with checkRewrite.
func TestRewrite(t *testing.T) {
	type change struct {
		section string
		size    func(old int) int
	}
	same := func(n int) int { return n }
	half := func(n int) int { return n / 2 }
	empty := func(int) int { return 0 }
	grow := func(n int) int { return 2*n + 13 }
	cases := []struct {
		name    string
		files   []string
		changes []change
		wantErr string // "" when the rewrite must succeed
	}{
		{"in place", elfFixtures, []change{{".BTF", same}}, ""},
		{"shrink", []string{"rel-bpfel.o", "rel-bpfeb.o", "rel-i686.o", "rel-mips.o", "rel-zdebug.o"}, []change{{".BTF", half}}, ""},
		{"shrink to nothing", []string{"rel-bpfel.o", "rel-mips.o"}, []change{{".BTF", empty}}, ""},
		{"grow and move", []string{"rel-bpfel.o", "rel-bpfeb.o", "rel-i686.o", "rel-mips.o", "rel-zdebug.o"}, []change{{".BTF", grow}}, ""},
		{"grow one, shrink another", []string{"rel-bpfel.o", "rel-bpfeb.o"}, []change{{".BTF", grow}, {".BTF.ext", half}}, ""},
		{"grow two", []string{"rel-bpfel.o", "rel-bpfeb.o"}, []change{{".BTF", grow}, {".BTF.ext", grow}}, ""},
		{"alloc same size", []string{"exec-x86_64", "exec-mips"}, []change{{".BTF", same}, {".BTF_ids", same}}, ""},
		{"alloc shrink refused", []string{"exec-x86_64", "exec-mips"}, []change{{".BTF", half}}, "SHF_ALLOC"},
		{"alloc grow refused", []string{"exec-x86_64", "rel-bpfel.o", "rel-i686.o"}, []change{{".text", grow}}, "SHF_ALLOC"},
		{"compressed refused", []string{"rel-zdebug.o"}, []change{{".debug_info", same}}, "SHF_COMPRESSED"},
		{"missing section", []string{"rel-i686.o"}, []change{{".BTF.base", same}}, "no section .BTF.base"},
		{"section names refused", []string{"exec-x86_64", "exec-mips"}, []change{{".shstrtab", same}}, "holds the section names"},
		{"shared names and symbols table refused", []string{"rel-mips.o", "rel-bpfel.o"}, []change{{".strtab", same}}, "holds the section names"},
	}
	for _, tc := range cases {
		for _, name := range tc.files {
			t.Run(tc.name+"/"+name, func(t *testing.T) {
				f := mustParse(t, name, fixture(t, name))
				before := append([]byte(nil), f.Data...)
				repl := map[string][]byte{}
				for i, c := range tc.changes {
					old := 0
					if s := f.Section(c.section); s != nil {
						old = int(s.FileSize)
					}
					repl[c.section] = pattern(c.size(old), byte(i*40+3))
				}
				out, err := f.Rewrite(repl)
				if !bytes.Equal(f.Data, before) {
					t.Fatal("Rewrite modified File.Data")
				}
				if tc.wantErr != "" {
					if err == nil || !strings.HasPrefix(err.Error(), name+": ") || !strings.Contains(err.Error(), tc.wantErr) {
						t.Fatalf("error = %v, want one starting with %q and mentioning %q", err, name, tc.wantErr)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if msg := checkRewrite(f, out, repl); msg != "" {
					t.Fatal(msg)
				}
				// Writing the same contents again changes nothing: the
				// sections now have their final sizes and are rewritten in place.
				again, err := mustParse(t, name, out).Rewrite(repl)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(again, out) {
					t.Fatal("second identical Rewrite changed the image")
				}
				// RewriteInPlace gives the same image without a copy.
				g := mustParse(t, name, fixture(t, name))
				inPlace, err := g.RewriteInPlace(repl)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(inPlace, out) {
					t.Fatal("RewriteInPlace and Rewrite disagree")
				}
			})
		}
	}
}

// TestRewriteLayout pins the exact placement of a moved section on a
// synthetic file, for both classes and byte orders: appended at the next
// multiple of sh_addralign past the old end, with sh_offset and sh_size
// written in the file's own byte order and width.
func TestRewriteLayout(t *testing.T) {
	for _, tc := range []struct {
		class elf.Class
		bo    binary.ByteOrder
	}{
		{elf.ELFCLASS64, binary.LittleEndian},
		{elf.ELFCLASS64, binary.BigEndian},
		{elf.ELFCLASS32, binary.LittleEndian},
		{elf.ELFCLASS32, binary.BigEndian},
	} {
		t.Run(tc.class.String()+"/"+tc.bo.String(), func(t *testing.T) {
			img := elftest.Build(tc.class, tc.bo, elf.ET_REL, []elftest.Section{
				{Name: ".text", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC | elf.SHF_EXECINSTR, Align: 16, Data: pattern(40, 1)},
				{Name: ".BTF", Type: elf.SHT_PROGBITS, Align: 64, Data: pattern(100, 2)},
				{Name: ".comment", Type: elf.SHT_PROGBITS, Align: 1, Data: pattern(9, 3)},
			})
			f := mustParse(t, "synthetic", img)
			nb := pattern(101, 4)
			out, err := f.Rewrite(map[string][]byte{".BTF": nb})
			if err != nil {
				t.Fatal(err)
			}
			if msg := checkRewrite(f, out, map[string][]byte{".BTF": nb}); msg != "" {
				t.Fatal(msg)
			}
			wantOff := (uint64(len(img)) + 63) / 64 * 64
			s := mustParse(t, "result", out).Section(".BTF")
			if s.Offset != wantOff || s.FileSize != 101 || uint64(len(out)) != wantOff+101 {
				t.Fatalf(".BTF at %#x size %d, image %d bytes; want %#x, 101, %d", s.Offset, s.FileSize, len(out), wantOff, wantOff+101)
			}
		})
	}
}

// TestRewriteRaw: a raw blob is its own .BTF.
func TestRewriteRaw(t *testing.T) {
	f := mustParse(t, "btf-le.bin", fixture(t, "btf-le.bin"))
	nb := pattern(10, 5)
	out, err := f.Rewrite(map[string][]byte{".BTF": nb})
	if err != nil || !bytes.Equal(out, nb) {
		t.Fatalf("Rewrite(.BTF) = %x, %v; want %x", out, err, nb)
	}
	if _, err := f.Rewrite(map[string][]byte{".BTF_ids": nb}); err == nil || !strings.HasPrefix(err.Error(), "btf-le.bin: ") {
		t.Fatalf("Rewrite(.BTF_ids) on a raw blob: err = %v, want an error naming the file", err)
	}
}

// TestRewriteCorrupt: layouts that parse but would make Rewrite overwrite
// bytes it must keep are refused before anything is written.
func TestRewriteCorrupt(t *testing.T) {
	base := func() []byte {
		return elftest.Build(elf.ELFCLASS64, binary.LittleEndian, elf.ET_REL, []elftest.Section{
			{Name: ".text", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC, Align: 16, Data: pattern(64, 1)},
			{Name: ".BTF", Type: elf.SHT_PROGBITS, Align: 4, Data: pattern(64, 2)},
			{Name: ".BTF", Type: elf.SHT_PROGBITS, Align: 4, Data: pattern(8, 2)},
			{Name: ".bss", Type: elf.SHT_NOBITS, Flags: elf.SHF_ALLOC | elf.SHF_WRITE, Align: 8, Data: make([]byte, 32)},
			{Name: ".BTF.ext", Type: elf.SHT_PROGBITS, Align: 4, Data: pattern(64, 3)},
			{Name: ".comment", Type: elf.SHT_PROGBITS, Align: 1, Data: pattern(16, 4)},
		})
	}
	// shdr returns the offset of section header i (i counts the null header).
	shdr := func(img []byte, i int) int { return int(binary.LittleEndian.Uint64(img[0x28:])) + 64*i }
	cases := []struct {
		name    string
		mutate  func(img []byte)
		section string
		wantErr string
	}{
		{"duplicate name", func([]byte) {}, ".BTF", "appears more than once"},
		{"nobits", func([]byte) {}, ".bss", "SHT_NOBITS"},
		{"overlaps .text", func(img []byte) {
			// Point .BTF.ext at .text's bytes.
			binary.LittleEndian.PutUint64(img[shdr(img, 5)+24:], binary.LittleEndian.Uint64(img[shdr(img, 1)+24:]))
		}, ".BTF.ext", "overlaps section .text"},
		{"overlaps the ELF header", func(img []byte) {
			binary.LittleEndian.PutUint64(img[shdr(img, 5)+24:], 8)
		}, ".BTF.ext", "overlaps the ELF header"},
		{"overlaps the section headers", func(img []byte) {
			binary.LittleEndian.PutUint64(img[shdr(img, 5)+24:], uint64(shdr(img, 0))-16)
		}, ".BTF.ext", "overlaps the section header table"},
		{"another section overlaps the section headers", func(img []byte) {
			binary.LittleEndian.PutUint64(img[shdr(img, 5)+24:], uint64(shdr(img, 0))+8)
		}, ".comment", "section .BTF.ext [5] (offset"},
		{"huge alignment", func(img []byte) {
			binary.LittleEndian.PutUint64(img[shdr(img, 5)+48:], 1<<40)
		}, ".BTF.ext", "sh_addralign"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			img := base()
			tc.mutate(img)
			f := mustParse(t, "corrupt.o", img)
			_, err := f.Rewrite(map[string][]byte{tc.section: pattern(100, 9)})
			if err == nil || !strings.HasPrefix(err.Error(), "corrupt.o: ") || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want one naming corrupt.o and saying %q", err, tc.wantErr)
			}
		})
	}
}

// BenchmarkRewrite measures Rewrite on a vmlinux-sized image (256 MiB of
// DWARF-like payload, 6 MiB of ALLOC .BTF, a non-ALLOC .BTF_ids-like
// section): in place at the same size, and with a grown non-ALLOC section
// that must move.
func BenchmarkRewrite(b *testing.B) {
	img := elftest.Build(elf.ELFCLASS64, binary.LittleEndian, elf.ET_EXEC, []elftest.Section{
		{Name: ".text", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC | elf.SHF_EXECINSTR, Addr: 0x1000000, Align: 4096, Data: make([]byte, 16<<20)},
		{Name: ".BTF", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC, Addr: 0x2000000, Align: 4, Data: pattern(6<<20, 1)},
		{Name: ".debug_info", Type: elf.SHT_PROGBITS, Align: 1, Data: make([]byte, 256<<20)},
		{Name: ".notes", Type: elf.SHT_PROGBITS, Align: 4, Data: pattern(64<<10, 2)},
	})
	f := mustParse(b, "vmlinux", img)
	for _, bc := range []struct {
		name string
		repl map[string][]byte
	}{
		{"in-place", map[string][]byte{".BTF": pattern(6<<20, 3)}},
		{"move", map[string][]byte{".BTF": pattern(6<<20, 3), ".notes": pattern(65<<10, 4)}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(img)))
			var out []byte
			for b.Loop() {
				var err error
				if out, err = f.Rewrite(bc.repl); err != nil {
					b.Fatal(err)
				}
			}
			if err := verifyImage(FormatELF, bytes.NewReader(out), bc.repl); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// TestSameBytes: the raw read-back compares block by block, and a reader
// holding more or fewer bytes than the blob differs from it.
func TestSameBytes(t *testing.T) {
	big := make([]byte, 3*64<<10+17)
	for i := range big {
		big[i] = byte(i * 7)
	}
	changed := append([]byte(nil), big...)
	changed[len(changed)-1]++
	for _, c := range []struct {
		name       string
		have, want []byte
		same       bool
	}{
		{"empty", nil, nil, true},
		{"equal", big, big, true},
		{"equal, one block", big[:100], big[:100], true},
		{"equal, exactly one block", big[:64<<10], big[:64<<10], true},
		{"last byte differs", changed, big, false},
		{"reader is longer", big, big[:64<<10], false},
		{"reader is one byte longer", big[:101], big[:100], false},
		{"reader is shorter", big[:64<<10], big, false},
		{"reader is empty", nil, big[:1], false},
	} {
		if got := sameBytes(bytes.NewReader(c.have), c.want); got != c.same {
			t.Errorf("%s: sameBytes = %v, want %v", c.name, got, c.same)
		}
	}
}
