package btf_test

import (
	"bytes"
	"testing"

	"github.com/btffilter/btffilter/filter/btf"
	"github.com/btffilter/btffilter/filter/btf/btftest"
	"github.com/btffilter/btffilter/scripts/kernels"
)

// The codec and the kernel's rules on the 6.1 amd64 vmlinux's .BTF: what
// every run pays on its largest input (go test -run '^$' -bench .
// -benchtime=1x ./filter/btf).

// vmlinuxBTF returns the 6.1 amd64 vmlinux's .BTF, copied out of the file.
func vmlinuxBTF(b *testing.B) []byte {
	b.Helper()
	if testing.Short() {
		b.Skip("real kernels are not read in -short mode")
	}
	k, err := kernels.Load("6.1-amd64")
	if err != nil {
		b.Fatal(err)
	}
	return btftest.Raw(b, k.Vmlinux)
}

// vmlinuxTypes is the number of types of the 6.1 amd64 vmlinux's BTF.
const vmlinuxTypes = 95057

func BenchmarkDecode(b *testing.B) {
	raw := vmlinuxBTF(b)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		s, err := btf.Decode(raw, nil)
		if err != nil {
			b.Fatal(err)
		}
		if len(s.Types) != vmlinuxTypes {
			b.Fatalf("%d types, want %d", len(s.Types), vmlinuxTypes)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	raw := vmlinuxBTF(b)
	s, err := btf.Decode(raw, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if out := s.Encode(); !bytes.Equal(out, raw) {
			b.Fatal("the round trip changed the bytes")
		}
	}
}

func BenchmarkValidate(b *testing.B) {
	raw := vmlinuxBTF(b)
	s, err := btf.Decode(raw, nil)
	if err != nil {
		b.Fatal(err)
	}
	// A copy with its last pointer dangling must fail, so that the
	// benchmark times a check that reaches every type.
	broken, _ := btf.Decode(raw, nil)
	for i := len(broken.Types) - 1; i >= 0; i-- {
		if broken.Types[i].Kind() == btf.KindPtr {
			broken.Types[i].SizeType = 1 << 30
			break
		}
	}
	if broken.Validate() == nil {
		b.Fatal("a dangling pointer passed")
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidateBlob(b *testing.B) {
	raw := vmlinuxBTF(b)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		s, err := btf.ValidateBlob(raw, nil)
		if err != nil {
			b.Fatal(err)
		}
		if len(s.Types) != vmlinuxTypes {
			b.Fatalf("%d types, want %d", len(s.Types), vmlinuxTypes)
		}
	}
}
