package check

import (
	"bytes"
	"testing"

	"github.com/btffilter/btffilter/filter/btf/btftest"
	"github.com/btffilter/btffilter/scripts/kernels"
)

// The output checks on the 6.1 amd64 vmlinux's .BTF, the largest blob a run
// checks (go test -run '^$' -bench . -benchtime=1x ./filter/internal/check).

func vmlinuxBTF(b *testing.B) []byte {
	b.Helper()
	if testing.Short() {
		b.Skip("real kernels are not read in -short mode")
	}
	k, err := kernels.Load("6.1-amd64")
	if err != nil {
		b.Fatal(err)
	}
	raw := btftest.Raw(b, k.Vmlinux)
	// Both checks must read the whole blob: one that stops short of its
	// last byte would pass this.
	bad := bytes.Clone(raw)
	bad[len(bad)-1] = 'x'
	if Verify(bad) == nil {
		b.Fatal("a blob whose strings do not end with NUL passed")
	}
	return raw
}

// BenchmarkBlob checks a base blob and keeps it for split checks, as a run
// with modules does.
func BenchmarkBlob(b *testing.B) {
	raw := vmlinuxBTF(b)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		cb, err := Blob(raw)
		if err != nil {
			b.Fatal(err)
		}
		if n := len(cb.Spec.Types); n != 95057 {
			b.Fatalf("%d types, want 95057", n)
		}
	}
}

// BenchmarkVerify checks a base blob nothing is checked against, as a run
// of base files alone does.
func BenchmarkVerify(b *testing.B) { benchCheck(b, Verify) }

// BenchmarkKernelRules checks a base blob under the kernel's rules alone, as
// --dedup-only does its raw output.
func BenchmarkKernelRules(b *testing.B) { benchCheck(b, KernelRules) }

// benchCheck runs check, which keeps nothing, on the 6.1 vmlinux's .BTF.
func benchCheck(b *testing.B, check func([]byte) error) {
	raw := vmlinuxBTF(b)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if err := check(raw); err != nil {
			b.Fatal(err)
		}
	}
}
