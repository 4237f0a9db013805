package e2e

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// fakeModule returns a minimal ELF64 relocatable file whose only content is
// a .modinfo section with the given key=value strings.
func fakeModule(kv ...string) []byte {
	modinfo := []byte(strings.Join(kv, "\x00") + "\x00")
	shstr := []byte("\x00.modinfo\x00.shstrtab\x00")
	le := binary.LittleEndian
	var b bytes.Buffer
	infoOff := 64
	strOff := infoOff + len(modinfo)
	shOff := (strOff + len(shstr) + 7) &^ 7

	ident := [16]byte{0x7f, 'E', 'L', 'F', 2 /*64-bit*/, 1 /*LE*/, 1 /*version*/}
	b.Write(ident[:])
	binary.Write(&b, le, struct {
		Type, Machine                       uint16
		Version                             uint32
		Entry, Phoff, Shoff                 uint64
		Flags                               uint32
		Ehsize, Phentsize, Phnum, Shentsize uint16
		Shnum, Shstrndx                     uint16
	}{Type: 1, Machine: 62, Version: 1, Shoff: uint64(shOff), Ehsize: 64, Shentsize: 64, Shnum: 3, Shstrndx: 2})
	b.Write(modinfo)
	b.Write(shstr)
	b.Write(make([]byte, shOff-b.Len()))
	type shdr struct {
		Name, Type             uint32
		Flags, Addr, Off, Size uint64
		Link, Info             uint32
		Addralign, Entsize     uint64
	}
	for _, s := range []shdr{
		{},
		{Name: 1, Type: 1, Off: uint64(infoOff), Size: uint64(len(modinfo)), Addralign: 1},
		{Name: 10, Type: 3, Off: uint64(strOff), Size: uint64(len(shstr)), Addralign: 1},
	} {
		binary.Write(&b, le, s)
	}
	return b.Bytes()
}

// compress returns data compressed the way the file name suffix says.
func compress(t *testing.T, name string, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	switch filepath.Ext(name) {
	case ".xz":
		w, err := xz.NewWriter(&b)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	case ".zst":
		w, err := zstd.NewWriter(&b)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	case ".gz":
		w := gzip.NewWriter(&b)
		w.Write(data)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	default:
		return data
	}
	return b.Bytes()
}

func TestModuleName(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		file    string
		modinfo []string
		want    string
	}{
		{"plain.ko", []string{"name=plain", "depends="}, "plain"},
		{"dash-name.ko.xz", []string{"license=GPL"}, "dash_name"},
		{"z.ko.zst", []string{"name=zed"}, "zed"},
		{"g-z.ko.gz", []string{"depends=a,b"}, "g_z"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			p := filepath.Join(dir, tt.file)
			if err := os.WriteFile(p, compress(t, tt.file, fakeModule(tt.modinfo...)), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := ModuleName(p)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("ModuleName(%s) = %q, want %q", tt.file, got, tt.want)
			}
		})
	}
}

func TestModuleErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		file string
		data []byte
		err  string
	}{
		{"notelf.ko", []byte("hello"), "notelf.ko"},
		{"bad.ko.xz", []byte("not xz"), "bad.ko.xz: xz"},
		{"bad.ko.gz", []byte("not gzip"), "bad.ko.gz: gzip"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			p := filepath.Join(dir, tt.file)
			if err := os.WriteFile(p, tt.data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := ModuleName(p)
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("error %v, want one containing %q", err, tt.err)
			}
		})
	}
}

func TestPickModules(t *testing.T) {
	dir := t.TempDir()
	write := func(rel string, kv ...string) string {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, compress(t, rel, fakeModule(kv...)), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// Seven dependency-free candidates (a..g), two with dependencies, one
	// under arch/ and two hypervisor drivers and two bound
	// to DMI or a CPU feature, given out of order.
	files := []string{
		write("g.ko.zst", "depends="),
		write("a.ko", "depends="),
		write("dep1.ko", "depends=a"),
		write("b.ko.xz"),
		write("arch/x86/c0.ko", "depends="),
		write("c.ko", "depends="),
		write("d.ko.gz", "depends="),
		write("dep2.ko", "depends=b,c"),
		write("e.ko", "depends="),
		write("f.ko", "depends="),
		write("drivers/net/xen-netback/xen-netback.ko", "depends="),
		write("drivers/hv/hv_balloon.ko.xz", "depends="),
		write("drivers/platform/surface/surface_gpe.ko", "depends=", "alias=dmi:*:svnMicrosoftCorporation:*"),
		write("drivers/crypto/feat.ko", "alias=pci:v1", "alias=x86cpu:vendor:*:feature:*0099*"),
	}
	rel := func(ps []string) []string {
		var out []string
		for _, p := range ps {
			r, _ := filepath.Rel(dir, p)
			out = append(out, r)
		}
		return out
	}
	tests := []struct {
		n    int
		want []string
		err  string
	}{
		{n: 1, want: []string{"a.ko"}},
		{n: 3, want: []string{"a.ko", "c.ko", "e.ko"}}, // k = 7/3 = 2
		{n: 7, want: []string{"a.ko", "b.ko.xz", "c.ko", "d.ko.gz", "e.ko", "f.ko", "g.ko.zst"}},
		{n: 8, err: "7 of 14 files have no dependencies, want 8"},
		{n: 0, err: "want > 0"},
	}
	for _, tt := range tests {
		got, err := PickModules(files, tt.n)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("n=%d: error %v, want one containing %q", tt.n, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("n=%d: %v", tt.n, err)
		}
		if !reflect.DeepEqual(rel(got), tt.want) {
			t.Errorf("n=%d: picked %v, want %v", tt.n, rel(got), tt.want)
		}
	}
}

func TestStripSignature(t *testing.T) {
	// trailer builds the 12-byte struct module_signature with the given
	// blob length, followed by the magic.
	trailer := func(sigLen uint32) string {
		var st [12]byte
		binary.BigEndian.PutUint32(st[8:], sigLen)
		return string(st[:]) + sigMagic
	}
	tests := []struct {
		name   string
		in     string
		want   string
		signed bool
		err    string
	}{
		{name: "unsigned", in: "\x7fELF-module", want: "\x7fELF-module"},
		{name: "signed", in: "\x7fELF-module" + "PKCS7" + trailer(5), want: "\x7fELF-module", signed: true},
		{name: "empty blob", in: "\x7fELF" + trailer(0), want: "\x7fELF", signed: true},
		{name: "blob too long", in: "\x7fELF" + trailer(5), err: "signature length 5 at offset 0xc exceeds the file"},
		{name: "trailer only", in: sigMagic, err: "longer than the file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, signed, err := stripSignature("m.ko", []byte(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want || signed != tt.signed {
				t.Errorf("got %q signed=%v, want %q signed=%v", got, signed, tt.want, tt.signed)
			}
		})
	}
}
