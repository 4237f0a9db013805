package main

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/btffilter/btffilter/elfio/elftest"
	"github.com/btffilter/btffilter/filter/btf"
	"github.com/btffilter/btffilter/filter/btf/btftest"
	"github.com/btffilter/btffilter/scripts/kernels"
)

const (
	fixtureBase   = "../../testdata/x86_64/vmlinux-like"
	fixtureModule = "../../testdata/modules/module.ko"
)

func copyFile(t *testing.T, src, dir string) string {
	return copyAs(t, src, dir, filepath.Base(src))
}

// copyAs puts a private copy of src into dir under name.
func copyAs(t *testing.T, src, dir, name string) string {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, name)
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

// copyModule copies module m of k into dir, named after its path in the
// tree so that modules of the same name in different directories differ.
func copyModule(t *testing.T, k *kernels.Kernel, m, dir string) string {
	return copyAs(t, m, dir, strings.ReplaceAll(strings.TrimPrefix(m, k.Modules+"/"), "/", "_"))
}

// realKernel loads a fetched Debian kernel; real kernels are not read in
// -short mode.
func realKernel(t *testing.T, tag string) *kernels.Kernel {
	t.Helper()
	if testing.Short() {
		t.Skip("real kernels are not read in -short mode")
	}
	k, err := kernels.Load(tag)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// buildCommand builds btffilter for tests that run it as a process.
func buildCommand(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "btffilter")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func hashFile(t *testing.T, path string) [32]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(data)
}

func funcNames(t *testing.T, path string, base *btf.Spec) map[string]bool {
	t.Helper()
	s := btftest.Load(t, path, base)
	names := map[string]bool{}
	for i := range s.Types {
		if s.Types[i].Kind() == btf.KindFunc {
			names[s.Name(&s.Types[i])] = true
		}
	}
	return names
}

// TestCompressedModules rewrites the fixture module in place in every
// container kbuild makes, and checks the result with the real tools.
func TestCompressedModules(t *testing.T) {
	base := btftest.Load(t, fixtureBase, nil)
	for _, tc := range []struct {
		ext   string
		tool  []string
		check func(t *testing.T, path string)
	}{
		{".gz", []string{"gzip", "-dc"}, func(t *testing.T, path string) {
			data, _ := os.ReadFile(path)
			// gzip -n: no name, no mtime.
			if data[3]&0x08 != 0 || binary.LittleEndian.Uint32(data[4:]) != 0 {
				t.Error("gzip header carries a name or an mtime")
			}
		}},
		{".xz", []string{"xz", "-dc"}, func(t *testing.T, path string) {
			out, err := exec.Command("xz", "--robot", "--list", path).Output()
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(out), "CRC32") {
				t.Errorf("xz stream does not use CRC32:\n%s", out)
			}
		}},
		{".zst", []string{"zstd", "-dc"}, nil},
		{"", []string{"cat"}, nil},
	} {
		t.Run("ko"+tc.ext, func(t *testing.T) {
			dir := t.TempDir()
			path := copyFile(t, fixtureModule+tc.ext, dir)
			before := funcNames(t, path, base)
			if !before["mod_flush"] {
				t.Fatalf("fixture has no mod_flush: %v", before)
			}
			_, stderr, code := runCLI(t, "-B", fixtureBase, "--drop", "mod_flush", path)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			after := funcNames(t, path, base)
			if after["mod_flush"] || len(after) != len(before)-1 {
				t.Fatalf("after: %v", after)
			}
			out, err := exec.Command(tc.tool[0], append(tc.tool[1:], path)...).Output()
			if err != nil {
				t.Fatalf("%v: %v", tc.tool, err)
			}
			if _, err := elf.NewFile(bytes.NewReader(out)); err != nil {
				t.Fatalf("%v output is not an ELF: %v", tc.tool, err)
			}
			if tc.check != nil {
				tc.check(t, path)
			}
			// Idempotent: a second run changes nothing and writes nothing.
			h := hashFile(t, path)
			st, _ := os.Stat(path)
			_, stderr, code = runCLI(t, "-B", fixtureBase, "--drop", "mod_flush", path)
			st2, _ := os.Stat(path)
			if code != 0 || hashFile(t, path) != h || !st.ModTime().Equal(st2.ModTime()) {
				t.Fatalf("second run: exit %d, changed %v: %s", code, hashFile(t, path) != h, stderr)
			}
		})
	}
}

// TestSignedModule: refused without --strip-signature (file intact), and
// stripped with it.
func TestSignedModule(t *testing.T) {
	dir := t.TempDir()
	path := copyFile(t, "../../testdata/modules/module-signed.ko", dir)
	h := hashFile(t, path)
	_, stderr, code := runCLI(t, "-B", fixtureBase, "--drop", "mod_flush", path)
	if code != 1 || !strings.Contains(stderr, "would break the signature") || hashFile(t, path) != h {
		t.Fatalf("signed module: exit %d, %s", code, stderr)
	}
	rep := jsonReport(t, "--strip-signature", "-B", fixtureBase, "--drop", "mod_flush", path)
	if !strings.Contains(strings.Join(rep.Files[0].Warnings, "\n"), "signature stripped") {
		t.Errorf("report does not say the signature was stripped: %+v", rep.Files[0])
	}
	data, _ := os.ReadFile(path)
	if bytes.Contains(data, []byte("~Module signature appended~")) {
		t.Error("signature still there")
	}
}

// TestBadInput: each bad input gets exit status 1, one error line that names
// the file, and the file keeps its bytes.
func TestBadInput(t *testing.T) {
	module := func(t *testing.T, dir string) string { return copyFile(t, fixtureModule, dir) }
	for _, tc := range []struct {
		name string
		make func(t *testing.T, dir string) string
		args []string
		want string
		// extra gives arguments made at run time, outside dir.
		extra func(t *testing.T) []string
	}{
		{"truncated ELF", func(t *testing.T, dir string) string {
			p := module(t, dir)
			data, _ := os.ReadFile(p)
			os.WriteFile(p, data[:len(data)/3], 0o644)
			return p
		}, nil, "", nil},
		{"not ELF not BTF", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "notes.txt")
			os.WriteFile(p, []byte("hello, this is text\n"), 0o644)
			return p
		}, nil, "not an ELF", nil},
		{"ELF without .BTF", func(t *testing.T, dir string) string {
			exe, _ := os.Executable()
			return copyFile(t, exe, dir)
		}, nil, ".BTF", nil},
		// A module without .BTF, and no base given: the missing section
		// is the first error, not the missing base.
		{"module without .BTF", func(t *testing.T, dir string) string {
			p := module(t, dir)
			data, _ := os.ReadFile(p)
			i := bytes.Index(data, []byte("\x00.BTF\x00"))
			if i < 0 {
				t.Fatalf("%s: no .BTF section name", p)
			}
			copy(data[i+1:], ".XTF")
			os.WriteFile(p, data, 0o644)
			return p
		}, nil, "section .BTF: no such section", nil},
		{"corrupt BTF header", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "base.btf")
			data, _ := os.ReadFile("../../testdata/x86_64/gcc/base.btf")
			binary.LittleEndian.PutUint32(data[4:], 1<<30)
			os.WriteFile(p, data, 0o644)
			return p
		}, nil, "header length", nil},
		{"type ID past the end", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "base.btf")
			data, _ := os.ReadFile("../../testdata/x86_64/gcc/base.btf")
			s, _ := btf.Decode(data, nil)
			for i := range s.Types {
				if s.Types[i].Kind() == btf.KindPtr {
					s.Types[i].SizeType = uint32(s.NextID()) + 5
					break
				}
			}
			os.WriteFile(p, s.Encode(), 0o644)
			return p
		}, nil, "past the last type", nil},
		{"huge vlen", func(t *testing.T, dir string) string {
			return corruptBase(t, dir, func(s *btf.Spec, raw []byte) []byte {
				// The first STRUCT claims 2^24-1 members.
				off := btf.HeaderLen
				for i := range s.Types {
					if s.Types[i].Kind() == btf.KindStruct {
						binary.LittleEndian.PutUint32(raw[off+4:], uint32(btf.KindStruct)<<24|0xffffff)
						break
					}
					off += 12 + 4*len(s.Types[i].Extra)
				}
				return raw
			})
		}, nil, "runs past the end of the type section", nil},
		{"string offset past the end", func(t *testing.T, dir string) string {
			return corruptBase(t, dir, func(s *btf.Spec, _ []byte) []byte {
				s.Types[0].NameOff = 1 << 30
				return s.Encode()
			})
		}, nil, "past the string section", nil},
		{"type loop", func(t *testing.T, dir string) string {
			return corruptBase(t, dir, func(s *btf.Spec, _ []byte) []byte {
				for i := range s.Types {
					if s.Types[i].Kind() == btf.KindTypedef {
						s.Types[i].SizeType = uint32(s.FirstID()) + uint32(i)
						break
					}
				}
				return s.Encode()
			})
		}, nil, "loop", nil},
		{"section past the end of the file", func(t *testing.T, dir string) string {
			p := module(t, dir)
			patchSectionHeader(t, p, ".BTF", func(off, size *uint64) { *size += 1 << 20 })
			return p
		}, []string{"-B", fixtureBase}, "extends past the end of the file", nil},
		{"sections overlap", func(t *testing.T, dir string) string {
			p := module(t, dir)
			var btfOff uint64
			patchSectionHeader(t, p, ".BTF", func(off, _ *uint64) { btfOff = *off })
			// .comment now lies inside .BTF: rewriting .BTF in place
			// would overwrite it.
			patchSectionHeader(t, p, ".comment", func(off, _ *uint64) { *off = btfOff + 8 })
			return p
		}, []string{"-B", fixtureBase}, "overlaps", nil},
		{"DWARF type loop", rawBase, []string{"--arch", "x86_64", "--rules", "abi"}, "contains itself",
			func(t *testing.T) []string { return debugFileArgs(t, 3, true) }},
		{"DWARF nested absurdly deep", rawBase, []string{"--arch", "x86_64", "--rules", "abi"}, "nested more than",
			func(t *testing.T) []string { return debugFileArgs(t, 100000, false) }},
		{"module with a base of another kernel", module, []string{"-B", "../../testdata/x86_64/gcc/base.o"}, "!does not fit the base", nil},
		{"read-only file", func(t *testing.T, dir string) string {
			p := module(t, dir)
			os.Chmod(p, 0o444)
			return p
		}, []string{"-B", fixtureBase}, "read-only", nil},
		{"signed module", func(t *testing.T, dir string) string {
			return copyFile(t, "../../testdata/modules/module-signed.ko", dir)
		}, []string{"-B", fixtureBase}, "signed", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := tc.make(t, dir)
			args := append([]string{"--drop", "mod_flush", "--drop", "queue_push"}, tc.args...)
			if tc.extra != nil {
				args = append(args, tc.extra(t)...)
			}
			expectFailure(t, path, tc.want, args...)
		})
	}
}

// TestFixtureVmlinuxWithModule: the linked fixture (SHF_ALLOC .BTF, .BTF_ids)
// and its module in one run: the vmlinux keeps its .BTF size, the module is
// rebased onto it and still fits.
func TestFixtureVmlinuxWithModule(t *testing.T) {
	dir := t.TempDir()
	vml := copyFile(t, fixtureBase, dir)
	mod := copyFile(t, fixtureModule, dir)
	sizeBefore := sectionSize(t, vml, ".BTF")
	_, stderr, code := runCLI(t, "--drop", "wide_middle", "--drop", "mod_flush", "--jobs", "2", vml, mod)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if got := sectionSize(t, vml, ".BTF"); got != sizeBefore {
		t.Fatalf(".BTF is %d bytes, was %d", got, sizeBefore)
	}
	base := btftest.Load(t, vml, nil)
	names := funcNames(t, mod, base)
	if names["mod_flush"] || len(names) == 0 {
		t.Fatalf("module FUNCs: %v", names)
	}
	if funcNames(t, vml, nil)["wide_middle"] {
		t.Fatal("wide_middle is still in the vmlinux")
	}
}

func sectionSize(t *testing.T, path, name string) uint64 {
	ef, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	return ef.Section(name).Size
}

// TestHelpAndUsage keeps the command line's basic contract.
func TestHelpAndUsage(t *testing.T) {
	if _, _, code := runCLI(t, "--help"); code != 0 {
		t.Errorf("--help: exit %d", code)
	}
	if _, stderr, code := runCLI(t); code != 2 || !strings.Contains(stderr, "no input files") {
		t.Errorf("no args: exit %d %s", code, stderr)
	}
	if _, stderr, code := runCLI(t, "--no-such-flag", "x"); code != 2 || !strings.Contains(stderr, "unknown flag: --no-such-flag") {
		t.Errorf("bad flag: exit %d %s", code, stderr)
	}
	if _, stderr, code := runCLI(t, "-o", "x", "a", "b"); code != 2 || !strings.Contains(stderr, "exactly one") {
		t.Errorf("-o with two files: exit %d %s", code, stderr)
	}
	if _, stderr, code := runCLI(t, "-n", t.TempDir()); code != 2 || !strings.Contains(stderr, "no kernel modules") {
		t.Errorf("a directory without modules: exit %d %s", code, stderr)
	}
	_, help, _ := runCLI(t, "--help")
	if !strings.Contains(help, "examples:") || strings.Count(help, "\n    btffilter ") != 3 {
		t.Errorf("--help does not end with three examples:\n%s", help)
	}
}

// corruptBase writes a damaged copy of the x86_64 gcc base blob into dir.
func corruptBase(t *testing.T, dir string, damage func(s *btf.Spec, raw []byte) []byte) string {
	t.Helper()
	raw, err := os.ReadFile("../../testdata/x86_64/gcc/base.btf")
	if err != nil {
		t.Fatal(err)
	}
	s, err := btf.Decode(raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "base.btf")
	if err := os.WriteFile(p, damage(s, raw), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// rawBase copies the x86_64 gcc base blob into dir.
func rawBase(t *testing.T, dir string) string {
	return copyFile(t, "../../testdata/x86_64/gcc/base.btf", dir)
}

// patchSectionHeader lets edit change the offset and size in the header of
// the named section of the ELF file at path.
func patchSectionHeader(t *testing.T, path, name string, edit func(off, size *uint64)) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ef, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if ef.Class != elf.ELFCLASS64 {
		t.Fatalf("%s: want a 64-bit ELF file", path)
	}
	shoff := ef.ByteOrder.Uint64(data[0x28:])
	for i, s := range ef.Sections {
		if s.Name != name {
			continue
		}
		h := data[shoff+uint64(i)*64:]
		off, size := ef.ByteOrder.Uint64(h[24:]), ef.ByteOrder.Uint64(h[32:])
		edit(&off, &size)
		ef.ByteOrder.PutUint64(h[24:], off)
		ef.ByteOrder.PutUint64(h[32:], size)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("%s has no section %s", path, name)
}

// debugFileArgs writes a separate debug file whose one function takes a
// parameter typed through a chain of links typedefs (looping back with
// loop) and returns the --debuginfo arguments naming it. The file is
// checked to keep its bytes too.
func debugFileArgs(t *testing.T, links int, loop bool) []string {
	p := filepath.Join(t.TempDir(), "hostile.debug")
	data := elftest.DebugFile(elftest.TypedefChain("wide_middle", links, loop))
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if after, err := os.ReadFile(p); err != nil || !bytes.Equal(after, data) {
			t.Errorf("the debug file changed (%v)", err)
		}
	})
	return []string{"--debuginfo", p}
}
