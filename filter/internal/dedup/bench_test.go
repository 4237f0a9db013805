package dedup

import (
	"testing"

	"github.com/btffilter/btffilter/filter/btf"
)

// benchInput is vmlinux 6.1's .BTF concatenated with itself.
func benchInput(b *testing.B) *btf.Spec {
	b.Helper()
	_, v := kernelBTF(b, "6.1-amd64")
	both, err := Concat(v, v)
	if err != nil {
		b.Fatal(err)
	}
	return both
}

// BenchmarkDedup times the whole algorithm on vmlinux 6.1 twice.
func BenchmarkDedup(b *testing.B) {
	in := benchInput(b)
	b.ReportAllocs()
	for b.Loop() {
		res, err := Dedup(in, Options{})
		if err != nil {
			b.Fatal(err)
		}
		// The second copy of the vmlinux merges into the first.
		if 2*res.Merged < len(in.Types)*9/10 {
			b.Fatalf("%d of %d types merged", res.Merged, len(in.Types))
		}
	}
}

// BenchmarkDedupInPlace times Options.InPlace, which consumes its input:
// each iteration decodes a fresh copy with the timer stopped. Its
// allocation figures would include the decoding, so they are not reported;
// scripts/bench-dedup.sh prints what the dedup alone allocates.
func BenchmarkDedupInPlace(b *testing.B) {
	raw := benchInput(b).Encode()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		in, err := btf.Decode(raw, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := Dedup(in, Options{InPlace: true}); err != nil {
			b.Fatal(err)
		}
	}
}

// benchPasses runs the passes up to and including upTo on a fresh state
// per iteration, so that the difference between two benchmarks is one pass.
func benchPasses(b *testing.B, upTo int) {
	in := benchInput(b)
	b.ReportAllocs()
	for b.Loop() {
		d, err := newState(in, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if err := d.run(in, nil, upTo); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPassSetup(b *testing.B)   { benchPasses(b, passSetup) }
func BenchmarkPassStrings(b *testing.B) { benchPasses(b, passStrings) }
func BenchmarkPassPrim(b *testing.B)    { benchPasses(b, passPrim) }
func BenchmarkPassStruct(b *testing.B)  { benchPasses(b, passStruct) }
func BenchmarkPassFwd(b *testing.B)     { benchPasses(b, passFwd) }
func BenchmarkPassRef(b *testing.B)     { benchPasses(b, passRef) }
func BenchmarkPassCompact(b *testing.B) { benchPasses(b, passCompact) }
