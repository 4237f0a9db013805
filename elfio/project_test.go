package elfio

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// projectFixture reads a file of the project-wide testdata/ (ELF objects with
// .BTF made by pahole, modules compressed and signed by the real tools).
func projectFixture(t *testing.T, rel string) (string, []byte) {
	t.Helper()
	path := filepath.Join("..", "testdata", rel)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("project fixture missing (%v): run scripts/build-fixtures.sh", err)
	}
	return path, b
}

// TestProjectModules opens the module fixture as shipped: compressed by
// gzip/xz/zstd and signed with a real PKCS#7 signature. Every variant must
// yield the plain module's bytes.
func TestProjectModules(t *testing.T) {
	_, plain := projectFixture(t, "modules/module.ko")
	cases := []struct {
		file   string
		comp   Compression
		signed bool
	}{
		{"modules/module.ko", None, false},
		{"modules/module.ko.gz", Gzip, false},
		{"modules/module.ko.xz", XZ, false},
		{"modules/module.ko.zst", Zstd, false},
		{"modules/module-signed.ko", None, true},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			path, _ := projectFixture(t, tc.file)
			f, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			if f.Compression != tc.comp || f.Format != FormatELF || !bytes.Equal(f.Data, plain) {
				t.Fatalf("compression %v format %v, Data equal to module.ko: %v", f.Compression, f.Format, bytes.Equal(f.Data, plain))
			}
			if !tc.signed {
				if f.Signature != nil {
					t.Fatalf("unsigned module has a %d-byte signature", len(f.Signature))
				}
				return
			}
			// The signature is a DER SEQUENCE (PKCS#7 ContentInfo) whose own
			// length must agree with sig_len: an independent check of the cut.
			s := f.Signature
			sigLen := len(s) - moduleSigInfoLen - len(moduleSigMagic)
			if sigLen < 4 || s[0] != 0x30 || s[1] != 0x82 || int(binary.BigEndian.Uint16(s[2:]))+4 != sigLen {
				t.Fatalf("signature does not start with a DER SEQUENCE of %d bytes: % x", sigLen, s[:min(len(s), 8)])
			}
			if s[sigLen+2] != 2 { // id_type is PKEY_ID_PKCS7
				t.Fatalf("id_type = %d, want 2 (PKCS#7)", s[sigLen+2])
			}
		})
	}
}

// TestProjectRewrite rewrites .BTF in every pahole-made ELF fixture: the
// same bytes give back the identical file; a grown non-ALLOC .BTF moves; an
// ALLOC .BTF (the linked vmlinux-like file) must keep its size.
func TestProjectRewrite(t *testing.T) {
	root := filepath.Join("..", "testdata")
	var files []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		// testdata/dwarf holds DWARF-only objects, with no .BTF.
		if d.IsDir() && d.Name() == "dwarf" {
			return filepath.SkipDir
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".o") || strings.HasSuffix(p, ".ko") || strings.HasSuffix(p, "vmlinux-like")) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil || len(files) < 10 {
		t.Fatalf("found %d ELF fixtures under %s (%v): run scripts/build-fixtures.sh", len(files), root, err)
	}
	for _, path := range files {
		t.Run(strings.TrimPrefix(path, root+"/"), func(t *testing.T) {
			f, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			btf, err := f.BTF()
			if err != nil {
				t.Fatal(err)
			}
			same, err := f.Rewrite(map[string][]byte{".BTF": btf})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(same, f.Data) {
				t.Fatal("rewriting .BTF with its own contents changed the file")
			}
			grown := append(append([]byte(nil), btf...), make([]byte, 100)...)
			repl := map[string][]byte{".BTF": grown}
			out, err := f.Rewrite(repl)
			if f.Section(".BTF").Flags&elf.SHF_ALLOC != 0 {
				if err == nil || !strings.Contains(err.Error(), "SHF_ALLOC") {
					t.Fatalf("grown ALLOC .BTF: err = %v, want a refusal", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if msg := checkRewrite(f, out, repl); msg != "" {
				t.Fatal(msg)
			}
		})
	}
}

// TestProjectBTFIDs locates every __BTF_ID__ symbol of the vmlinux-like
// fixture inside .BTF_ids, as the .BTF_ids remapper will.
func TestProjectBTFIDs(t *testing.T) {
	path, _ := projectFixture(t, "x86_64/vmlinux-like")
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	ids := f.Section(".BTF_ids")
	if ids == nil {
		t.Fatal("no .BTF_ids: run scripts/build-fixtures.sh")
	}
	n := 0
	for _, s := range syms {
		if !strings.HasPrefix(s.Name, "__BTF_ID__") {
			continue
		}
		n++
		sec, off, err := f.SymbolOffset(s)
		if err != nil {
			t.Fatal(err)
		}
		if sec != ".BTF_ids" || off != s.Value-ids.Addr || off+s.Size > ids.Size {
			t.Errorf("%s: %s+%#x, want .BTF_ids+%#x", s.Name, sec, off, s.Value-ids.Addr)
		}
	}
	if n == 0 {
		t.Fatal("no __BTF_ID__ symbols in the fixture")
	}
}

// TestProjectRaw opens every raw blob beside its ELF object (pahole's
// detached output equals the object's .BTF): a raw File must report the ELF's
// byte order and give the same BTF.
func TestProjectRaw(t *testing.T) {
	blobs, err := filepath.Glob(filepath.Join("..", "testdata", "*", "*", "*.btf"))
	if err != nil {
		t.Fatal(err)
	}
	more, _ := filepath.Glob(filepath.Join("..", "testdata", "bpf", "*.btf"))
	blobs = append(blobs, more...)
	if len(blobs) < 10 {
		t.Fatalf("found %d raw BTF fixtures: run scripts/build-fixtures.sh", len(blobs))
	}
	for _, path := range blobs {
		t.Run(path, func(t *testing.T) {
			raw, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			obj, err := Open(strings.TrimSuffix(path, ".btf") + ".o")
			if err != nil {
				t.Fatal(err)
			}
			want, err := obj.BTF()
			if err != nil {
				t.Fatal(err)
			}
			got, err := raw.BTF()
			if raw.Format != FormatRaw || err != nil || !bytes.Equal(got, want) {
				t.Fatalf("format %v, err %v, equal to the object's .BTF: %v", raw.Format, err, bytes.Equal(got, want))
			}
			if raw.ByteOrder() != obj.ByteOrder() {
				t.Fatalf("byte order %v, object's %v", raw.ByteOrder(), obj.ByteOrder())
			}
		})
	}
}
