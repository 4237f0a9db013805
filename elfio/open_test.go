package elfio

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestOpen opens every committed fixture from disk and checks what Open
// found: format, byte order, class, and that BTF() is exactly the blob the
// fixture was built from (gen.sh dumps or embeds the same bytes).
func TestOpen(t *testing.T) {
	cases := []struct {
		file  string
		fmt   Format
		class elf.Class // ELFCLASSNONE for raw blobs
		bo    binary.ByteOrder
		typ   elf.Type
		btf   string
	}{
		{"btf-le.bin", FormatRaw, elf.ELFCLASSNONE, binary.LittleEndian, 0, "btf-le.bin"},
		{"btf-be.bin", FormatRaw, elf.ELFCLASSNONE, binary.BigEndian, 0, "btf-be.bin"},
		{"rel-bpfel.o", FormatELF, elf.ELFCLASS64, binary.LittleEndian, elf.ET_REL, "btf-le.bin"},
		{"rel-bpfeb.o", FormatELF, elf.ELFCLASS64, binary.BigEndian, elf.ET_REL, "btf-be.bin"},
		{"rel-i686.o", FormatELF, elf.ELFCLASS32, binary.LittleEndian, elf.ET_REL, "btf-le.bin"},
		{"rel-mips.o", FormatELF, elf.ELFCLASS32, binary.BigEndian, elf.ET_REL, "btf-be.bin"},
		{"rel-zdebug.o", FormatELF, elf.ELFCLASS64, binary.LittleEndian, elf.ET_REL, "btf-le.bin"},
		{"exec-x86_64", FormatELF, elf.ELFCLASS64, binary.LittleEndian, elf.ET_EXEC, "btf-le.bin"},
		{"exec-mips", FormatELF, elf.ELFCLASS32, binary.BigEndian, elf.ET_EXEC, "btf-be.bin"},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("testdata", tc.file)
			raw := fixture(t, tc.file)
			f, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			if f.Path != path || f.Format != tc.fmt || f.Compression != None || f.Signature != nil {
				t.Fatalf("got path %q format %v compression %v signature %d bytes", f.Path, f.Format, f.Compression, len(f.Signature))
			}
			if !bytes.Equal(f.Data, raw) {
				t.Fatal("Data differs from the file")
			}
			if f.ByteOrder() != tc.bo {
				t.Fatalf("ByteOrder = %v, want %v", f.ByteOrder(), tc.bo)
			}
			if (f.ELF == nil) != (tc.fmt == FormatRaw) {
				t.Fatalf("ELF = %v for format %v", f.ELF, f.Format)
			}
			if f.ELF != nil && (f.ELF.Class != tc.class || f.ELF.Type != tc.typ) {
				t.Fatalf("class %v type %v, want %v %v", f.ELF.Class, f.ELF.Type, tc.class, tc.typ)
			}
			btf, err := f.BTF()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(btf, fixture(t, tc.btf)) {
				t.Fatalf("BTF() differs from %s", tc.btf)
			}
		})
	}
}

// compressCLI compresses data with the real command-line tool, the way
// kbuild does (docs/facts.md §8), so Open is tested on what distributions ship.
func compressCLI(t *testing.T, c Compression, data []byte) []byte {
	t.Helper()
	var cmd *exec.Cmd
	switch c {
	case Gzip:
		cmd = exec.Command("gzip", "-n", "-c")
	case XZ:
		cmd = exec.Command("xz", "--check=crc32", "--lzma2=dict=1MiB", "-c")
	case Zstd:
		cmd = exec.Command("zstd", "-q", "-c")
	default:
		t.Fatalf("no tool for %v", c)
	}
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %v (install with: apt-get install gzip xz-utils zstd)", cmd.Args, err)
	}
	return out
}

// decompressCLI is the inverse of compressCLI, used to check Encode.
func decompressCLI(t *testing.T, c Compression, data []byte) []byte {
	t.Helper()
	tool := map[Compression]string{Gzip: "gzip", XZ: "xz", Zstd: "zstd"}[c]
	cmd := exec.Command(tool, "-d", "-c")
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s -d: %v (install with: apt-get install gzip xz-utils zstd)", tool, err)
	}
	return out
}

// signed appends a synthetic module signature: a PKCS#7-sized blob, struct
// module_signature (id_type PKEY_ID_PKCS7, big-endian sig_len) and the magic.
func signed(body []byte, sigLen int) (file, trailer []byte) {
	trailer = pattern(sigLen, 0x55)
	info := make([]byte, moduleSigInfoLen)
	info[2] = 2 // PKEY_ID_PKCS7
	binary.BigEndian.PutUint32(info[8:], uint32(sigLen))
	trailer = append(append(trailer, info...), moduleSigMagic...)
	return append(append([]byte(nil), body...), trailer...), trailer
}

// TestOpenModules opens modules as distributions ship them: compressed by
// the real tools, signed or not.
func TestOpenModules(t *testing.T) {
	elfBody := fixture(t, "rel-bpfel.o")
	signedBody, trailer := signed(elfBody, 451)
	for _, c := range []Compression{None, Gzip, XZ, Zstd} {
		for _, sig := range []bool{false, true} {
			name := "m.ko"
			content, wantSig := elfBody, []byte(nil)
			if sig {
				name = "signed-" + name
				content, wantSig = signedBody, trailer
			}
			if c != None {
				name += "." + c.String()
			}
			t.Run(name, func(t *testing.T) {
				disk := content
				if c != None {
					disk = compressCLI(t, c, content)
				}
				path := filepath.Join(t.TempDir(), name)
				if err := os.WriteFile(path, disk, 0o644); err != nil {
					t.Fatal(err)
				}
				f, err := Open(path)
				if err != nil {
					t.Fatal(err)
				}
				if f.Compression != c || f.Format != FormatELF {
					t.Fatalf("compression %v format %v, want %v elf", f.Compression, f.Format, c)
				}
				if !bytes.Equal(f.Data, elfBody) || !bytes.Equal(f.Signature, wantSig) {
					t.Fatalf("Data %d bytes, Signature %d bytes; want %d and %d", len(f.Data), len(f.Signature), len(elfBody), len(wantSig))
				}
				if f.Section(".BTF") == nil {
					t.Fatal("no .BTF after decompression")
				}
			})
		}
	}
}

// TestOpenErrors feeds broken inputs through parse: each must give exactly
// one error that starts with the path and says what is wrong.
func TestOpenErrors(t *testing.T) {
	good := fixture(t, "rel-bpfel.o")
	ef := mustParse(t, "good", good)
	tab, err := ef.readShdrTable()
	if err != nil {
		t.Fatal(err)
	}
	patched := func(off int, v uint64, width int) []byte {
		b := append([]byte(nil), good...)
		if width == 8 {
			binary.LittleEndian.PutUint64(b[off:], v)
		} else {
			binary.LittleEndian.PutUint16(b[off:], uint16(v))
		}
		return b
	}
	btfIdx := 0
	for i, s := range ef.ELF.Sections {
		if s.Name == ".BTF" {
			btfIdx = i
		}
	}
	btfHdr := int(tab.off) + btfIdx*int(tab.entSize)
	gz := func(b []byte) []byte { return compressCLI(t, Gzip, b) }
	// withSigLen signs good and then overwrites struct module_signature's sig_len.
	withSigLen := func(n uint32) []byte {
		b, _ := signed(good, 10)
		binary.BigEndian.PutUint32(b[len(b)-len(moduleSigMagic)-4:], n)
		return b
	}

	cases := []struct {
		name    string
		data    []byte
		wantErr string
	}{
		{"empty", nil, "not an ELF file, a raw BTF blob or a compressed module"},
		{"text", []byte("hello, world\n"), "not an ELF file, a raw BTF blob or a compressed module"},
		{"elf magic only", []byte(elf.ELFMAG), "malformed ELF"},
		{"truncated at 40", good[:40], "malformed ELF"},
		{"truncated at half", good[:len(good)/2], "malformed ELF"},
		{"truncated by one", good[:len(good)-1], "malformed ELF"},
		{"bad e_shoff", patched(0x28, 1<<40, 8), "malformed ELF"},
		{"bad e_shentsize", patched(0x3a, 7, 2), "malformed ELF"},
		{"section past the end", patched(btfHdr+32, 1<<20, 8), "section .BTF [14] extends past the end of the file"},
		{"section offset past the end", patched(btfHdr+24, 1<<40, 8), "section .BTF [14] extends past the end of the file"},
		{"section end wraps", patched(btfHdr+32, 1<<63, 8), "malformed ELF"},
		{"gzip of text", gz([]byte("not a module")), "gzip content is neither an ELF file nor a raw BTF blob"},
		{"gzip truncated", gz(good)[:100], "gzip: unexpected EOF"},
		{"xz truncated", compressCLI(t, XZ, good)[:60], "xz: "},
		{"zstd truncated", compressCLI(t, Zstd, good)[:60], "zstd: "},
		{"signature magic alone", []byte("\x7fELF" + moduleSigMagic), "no room for struct module_signature"},
		{"signature too long", withSigLen(1 << 30), "claims sig_len 1073741824"},
		{"signature length zero", withSigLen(0), "sig_len 0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := parse("in/put.ko", tc.data)
			if err == nil {
				t.Fatalf("no error; got %v file", f.Format)
			}
			if !strings.HasPrefix(err.Error(), "in/put.ko: ") || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %q; want it to start with the path and contain %q", err, tc.wantErr)
			}
		})
	}
	if _, err := Open("testdata/does-not-exist.ko"); err == nil || !strings.Contains(err.Error(), "testdata/does-not-exist.ko") {
		t.Fatalf("Open of a missing file: %v", err)
	}
}

// TestDecompressionBomb lowers the limit to 1 MiB and feeds 4 MiB of
// compressed zeros in every format: each is refused by counting the stream,
// although the zstd and xz headers state no size or a false one.
func TestDecompressionBomb(t *testing.T) {
	old := MaxDecompressedSize
	MaxDecompressedSize = 1 << 20
	t.Cleanup(func() { MaxDecompressedSize = old })
	bomb := make([]byte, 4<<20)
	copy(bomb, fixture(t, "rel-bpfel.o"))
	for _, c := range []Compression{Gzip, XZ, Zstd} {
		t.Run(c.String(), func(t *testing.T) {
			_, err := parse("bomb.ko", compressCLI(t, c, bomb))
			if err == nil || !strings.HasPrefix(err.Error(), "bomb.ko: ") || !strings.Contains(err.Error(), "exceeds the limit of 1048576 bytes") {
				t.Fatalf("err = %v, want a refusal naming bomb.ko and the limit", err)
			}
			// Just under the limit is accepted (the ELF fixture is padded
			// with zeros, which is harmless trailing data).
			ok := bomb[:1<<20]
			f, err := parse("ok.ko", compressCLI(t, c, ok))
			if err != nil || !bytes.Equal(f.Data, ok) {
				t.Fatalf("input exactly at the limit: err = %v", err)
			}
		})
	}
}

// TestCheckUnchanged: a file replaced, truncated or rewritten after Open is
// noticed; an untouched one is not.
func TestCheckUnchanged(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, path string)
	}{
		{"untouched", nil},
		{"replaced", func(t *testing.T, path string) {
			data, _ := os.ReadFile(path)
			tmp := path + ".new"
			os.WriteFile(tmp, data, 0o644)
			if err := os.Rename(tmp, path); err != nil {
				t.Fatal(err)
			}
		}},
		{"truncated", func(t *testing.T, path string) {
			if err := os.Truncate(path, 10); err != nil {
				t.Fatal(err)
			}
		}},
		{"rewritten", func(t *testing.T, path string) {
			data, _ := os.ReadFile(path)
			data[len(data)-1] ^= 1
			os.WriteFile(path, data, 0o644)
			future := time.Now().Add(time.Hour)
			os.Chtimes(path, future, future)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "rel-bpfel.o")
			if err := os.WriteFile(path, fixture(t, "rel-bpfel.o"), 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			if tc.change != nil {
				tc.change(t, path)
			}
			err = f.CheckUnchanged()
			if (err != nil) != (tc.change != nil) {
				t.Fatalf("CheckUnchanged: %v", err)
			}
		})
	}
}

// TestShrankWhileRead: a file cut short between Stat and the end of the read
// (another writer truncating it under Open) is an error, not a short image;
// one that grew is read to its new end.
func TestShrankWhileRead(t *testing.T) {
	data := fixture(t, "rel-bpfel.o")
	path := filepath.Join(t.TempDir(), "rel-bpfel.o")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		t.Fatal(err)
	}
	// The truncation lands after Stat, as if another process ran between
	// Open's Stat and its read.
	if err := os.Truncate(path, st.Size()/2); err != nil {
		t.Fatal(err)
	}
	if _, err := readAll(fh, st.Size()); err == nil || !strings.Contains(err.Error(), "shrank") {
		t.Fatalf("want an error saying the file shrank, got %v", err)
	}

	if err := os.WriteFile(path, append(data, "tail"...), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := fh.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	got, err := readAll(fh, st.Size())
	if err != nil || !bytes.Equal(got, append(data, "tail"...)) {
		t.Fatalf("grown file: %d bytes, %v; want %d", len(got), err, len(data)+4)
	}
}
