package elfio

import (
	"bytes"
	"debug/elf"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzSeeds returns real small files in every container: the committed
// fixtures, plain, signed and compressed by this package's own encoder (the
// fuzz workers cannot run external tools cheaply).
func fuzzSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	for _, name := range append([]string{"btf-le.bin", "btf-be.bin"}, elfFixtures...) {
		seeds = append(seeds, fixture(t, name))
	}
	// The project-wide fixtures add a module with a real PKCS#7 signature and
	// real tool-compressed modules.
	for _, rel := range []string{"modules/module-signed.ko", "modules/module.ko.xz", "x86_64/vmlinux-like"} {
		b, err := os.ReadFile(filepath.Join("..", "testdata", rel))
		if err != nil {
			t.Fatalf("%v (run scripts/build-fixtures.sh)", err)
		}
		seeds = append(seeds, b)
	}
	mod := fixture(t, "rel-bpfeb.o")
	sig, _ := signed(mod, 40)
	seeds = append(seeds, sig)
	for _, c := range []Compression{Gzip, XZ, Zstd} {
		b, err := compress(c, mod)
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	return seeds
}

// lowerLimit makes decompression refuse past 16 MiB while f runs: each fuzz
// input stays cheap, and the refusal path is the same as at 2 GiB.
func lowerLimit(f *testing.F) {
	old := MaxDecompressedSize
	MaxDecompressedSize = 16 << 20
	f.Cleanup(func() { MaxDecompressedSize = old })
}

// checkErr fails unless err names the file first, as every error must.
func checkErr(t *testing.T, err error) {
	t.Helper()
	if err != nil && !strings.HasPrefix(err.Error(), "fuzz.ko: ") {
		t.Fatalf("error does not start with the path: %v", err)
	}
}

// FuzzOpen feeds arbitrary bytes through Open's parser and every reader on
// the result: nothing may panic, every error must name the file, and when a
// section can be rewritten the result must keep all of Rewrite's promises.
func FuzzOpen(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	lowerLimit(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := parse("fuzz.ko", data)
		checkErr(t, err)
		if err != nil {
			return
		}
		file.ByteOrder()
		_, err = file.BTF()
		checkErr(t, err)
		syms, err := file.Symbols()
		checkErr(t, err)
		for i, s := range syms {
			if i == 256 {
				break
			}
			_, _, err := file.SymbolOffset(s)
			checkErr(t, err)
		}
		if file.ELF == nil {
			out, err := file.Rewrite(map[string][]byte{".BTF": data})
			if err != nil || !bytes.Equal(out, data) {
				t.Fatalf("raw Rewrite: %v", err)
			}
			return
		}
		for i, s := range file.ELF.Sections {
			if i == 64 {
				break
			}
			_, err := file.SectionData(s.Name)
			checkErr(t, err)
			if s.Flags&elf.SHF_ALLOC != 0 {
				continue
			}
			// Grow the first non-ALLOC section that can be replaced.
			repl := map[string][]byte{s.Name: bytes.Repeat([]byte{0xa5}, int(s.FileSize%4096)+17)}
			out, err := file.Rewrite(repl)
			checkErr(t, err)
			if err == nil {
				if msg := checkRewrite(file, out, repl); msg != "" {
					t.Fatalf("Rewrite of %s: %s", s.Name, msg)
				}
				break
			}
		}
	})
}

// FuzzRewrite replaces a chosen section of a (mutated) file with contents of
// a chosen size, in place, shrinking or growing: either a clear error, or a
// result that checkRewrite accepts byte for byte; File.Data never changes.
func FuzzRewrite(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		for _, sec := range []uint8{1, 3, 14} {
			f.Add(s, sec, uint16(10), byte(0x5a))
			f.Add(s, sec, uint16(1000), byte(0))
		}
	}
	lowerLimit(f)
	f.Fuzz(func(t *testing.T, data []byte, sec uint8, size uint16, fill byte) {
		file, err := parse("fuzz.ko", data)
		checkErr(t, err)
		if err != nil || file.ELF == nil || len(file.ELF.Sections) == 0 {
			return
		}
		name := file.ELF.Sections[int(sec)%len(file.ELF.Sections)].Name
		repl := map[string][]byte{name: bytes.Repeat([]byte{fill}, int(size))}
		before := append([]byte(nil), file.Data...)
		out, err := file.Rewrite(repl)
		checkErr(t, err)
		if !bytes.Equal(before, file.Data) {
			t.Fatal("Rewrite modified File.Data")
		}
		if err != nil {
			return
		}
		if msg := checkRewrite(file, out, repl); msg != "" {
			t.Fatalf("Rewrite of %s to %d bytes: %s", name, size, msg)
		}
	})
}
