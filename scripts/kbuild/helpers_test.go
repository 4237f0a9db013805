package kbuild

import (
	"debug/elf"
	"encoding/binary"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/btffilter/btffilter/filter/btf"
	"github.com/btffilter/btffilter/filter/btf/btftest"
)

// TestExplainFields: a changed 32-bit displacement or 64-bit address
// explains its bytes when its change is a symbol's move; other changes do
// not, and a build-id's bytes are counted apart.
func TestExplainFields(t *testing.T) {
	le := binary.LittleEndian
	put32 := func(b []byte, off int, v uint32) []byte { le.PutUint32(b[off:], v); return b }
	put64 := func(b []byte, off int, v uint64) []byte { le.PutUint64(b[off:], v); return b }
	base := func() []byte {
		b := make([]byte, 32)
		for i := range b {
			b[i] = byte(0x90 + i)
		}
		return b
	}
	moved := map[int64]bool{-0x1234: true}
	tests := []struct {
		name        string
		b           []byte
		buildID     [2]int
		fields, bid int
		unexplained []int
	}{
		{"disp32 moved", put32(base(), 5, le.Uint32(base()[5:])-0x1234), [2]int{}, 1, 0, nil},
		{"addr64 moved", put64(base(), 16, le.Uint64(base()[16:])-0x1234), [2]int{}, 1, 0, nil},
		{"two fields", put32(put32(base(), 0, le.Uint32(base()[0:])-0x1234), 20, le.Uint32(base()[20:])-0x1234), [2]int{}, 2, 0, nil},
		{"other change", put32(base(), 8, 0xdeadbeef), [2]int{}, 0, 0, []int{8, 9, 10, 11}},
		{"build-id", put32(base(), 24, 0), [2]int{24, 32}, 0, 4, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := base()
			var diff []int
			for i := range a {
				if a[i] != tt.b[i] {
					diff = append(diff, i)
				}
			}
			var un []int
			fields, bid := explainFields(a, tt.b, diff, moved, le, tt.buildID, &un)
			if fields != tt.fields || bid != tt.bid || !reflect.DeepEqual(un, tt.unexplained) {
				t.Fatalf("fields %d, build-id %d, unexplained %v; want %d, %d, %v", fields, bid, un, tt.fields, tt.bid, tt.unexplained)
			}
		})
	}
}

// TestDiffELFFixture: a file compared with itself has no difference, and
// with the filtered version of itself only its BTF differs.
func TestDiffELFFixture(t *testing.T) {
	fixture := filepath.Join("..", "..", "testdata", "x86_64", "vmlinux-like")
	d, err := DiffELF(fixture, fixture)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Sections) != 0 || len(d.Header) != 0 || len(d.Moves) != 0 || d.Clean() != nil {
		t.Fatalf("self comparison: %s", d)
	}
	// The same bytes with one byte of .text changed: unexplained.
	data, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	off := sectionOffset(t, fixture, ".text")
	data[off] ^= 0xff
	changed := filepath.Join(t.TempDir(), "vmlinux")
	if err := os.WriteFile(changed, data, 0o644); err != nil {
		t.Fatal(err)
	}
	d, err = DiffELF(fixture, changed)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Clean(); err == nil || !strings.Contains(err.Error(), ".text") {
		t.Fatalf("Clean: %v, want the .text byte\n%s", err, d)
	}
}

func sectionOffset(t *testing.T, path, name string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ef, err := elf.NewFile(f)
	if err != nil {
		t.Fatal(err)
	}
	s := ef.Section(name)
	if s == nil {
		t.Fatalf("%s: no %s", path, name)
	}
	return int(s.Offset)
}

// TestCheckSorted: names in strcmp order, anonymous types first, pass; a
// name out of order is named with its ID.
func TestCheckSorted(t *testing.T) {
	build := func(names ...string) *btf.Spec {
		b := btftest.NewBuilder(binary.LittleEndian, nil)
		for _, n := range names {
			b.Add(n, btf.KindInt, 0, false, 4, 32)
		}
		return b.Spec
	}
	tests := []struct {
		names []string
		anon  int
		err   string
	}{
		{[]string{"", "", "A", "Z", "_a", "a", "a", "b"}, 2, ""},
		{[]string{"a", ""}, 0, `type 2 "" sorts before type 1 "a"`},
		{[]string{"", "b", "a"}, 0, `type 3 "a" sorts before type 2 "b"`},
	}
	for _, tt := range tests {
		anon, err := CheckSorted(build(tt.names...))
		switch {
		case tt.err == "" && (err != nil || anon != tt.anon):
			t.Errorf("%q: %d anonymous, %v; want %d", tt.names, anon, err, tt.anon)
		case tt.err != "" && (err == nil || err.Error() != tt.err):
			t.Errorf("%q: %v, want %q", tt.names, err, tt.err)
		}
	}
}

// TestWrapperReport reads the wrapper's lines out of a build log with
// kbuild's own lines around and between them.
func TestWrapperReport(t *testing.T) {
	log := `  LD      .tmp_vmlinux.btf
  BTF     .btf.vmlinux.bin.o
btffilter-pahole: .tmp_vmlinux.btf: f1: skipping BTF encoding of function due to arg 0 (x): y
btffilter-pahole: .tmp_vmlinux.btf: f2.isra: skipping BTF encoding of function due to z
btffilter-pahole: .tmp_vmlinux.btf: warning: kernel version unknown
btffilter-pahole: .tmp_vmlinux.btf: vmlinux x86_64: 100 -> 90 types, 1000 -> 900 bytes, 2 functions removed, 3 protected
  BTF [M] drivers/net/dummy.ko
btffilter-pahole: /t/extmod/m.ko.BTF.1: raw : 10 -> 10 types, 50 -> 50 bytes, 0 functions removed, 0 protected (unchanged, not rewritten)
btffilter-pahole: /t/x.ko: not an ELF file
`
	p := filepath.Join(t.TempDir(), "build.log")
	if err := os.WriteFile(p, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	files, other, err := WrapperReport(p)
	if err != nil {
		t.Fatal(err)
	}
	v := files[".tmp_vmlinux.btf"]
	if v == nil || v.TypesBefore != 100 || v.TypesAfter != 90 || v.RemovedCount != 2 || v.Protected != 3 ||
		!reflect.DeepEqual(v.Removed, []string{"f1", "f2.isra"}) || len(v.Warnings) != 1 {
		t.Errorf("vmlinux report: %+v", v)
	}
	if m := files["/t/extmod/m.ko.BTF.1"]; m == nil || m.Summary == "" || m.RemovedCount != 0 {
		t.Errorf("module report: %+v", m)
	}
	if !reflect.DeepEqual(other, []string{"/t/x.ko: not an ELF file"}) {
		t.Errorf("other lines: %q", other)
	}
	if r := reportFor(files, "extmod/m.ko"); r == nil || r.Path != "/t/extmod/m.ko.BTF.1" {
		t.Errorf("reportFor: %+v", r)
	}
}
