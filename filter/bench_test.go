package filter_test

import (
	"context"
	"testing"

	"github.com/btffilter/btffilter/elfio"
	"github.com/btffilter/btffilter/filter"
	"github.com/btffilter/btffilter/filter/btf"
	"github.com/btffilter/btffilter/filter/internal/dedup"
	"github.com/btffilter/btffilter/scripts/kernels"
)

// The whole pipeline on real inputs, in one process: what a kernel build
// and a packaging run pay, stage by stage in a CPU or heap profile
// (go test -run '^$' -bench Run -benchtime=1x -cpuprofile cpu.out
// ./filter). Whole-process wall time and peak RSS against pahole and
// libbpf are scripts/bench's.

func realKernel(b *testing.B, tag string) *kernels.Kernel {
	b.Helper()
	if testing.Short() {
		b.Skip("real kernels are not read in -short mode")
	}
	k, err := kernels.Load(tag)
	if err != nil {
		b.Fatal(err)
	}
	return k
}

// BenchmarkRunVmlinux judges and checks the 6.1 amd64 vmlinux with the
// default rules and writes nothing (-n).
func BenchmarkRunVmlinux(b *testing.B) {
	k := realKernel(b, "6.1-amd64")
	for b.Loop() {
		rep, err := filter.Run(context.Background(), []string{k.Vmlinux}, filter.Options{DryRun: true, Jobs: 2})
		if err != nil {
			b.Fatal(err)
		}
		if f := rep.Files[0]; f.Error != "" || len(f.Removed) == 0 {
			b.Fatalf("%s: error %q, %d removed", f.Path, f.Error, len(f.Removed))
		}
	}
}

// BenchmarkRunModules judges every 8th 6.1 amd64 debug module with the
// vmlinux as the base in one run (-n).
func BenchmarkRunModules(b *testing.B) {
	k := realKernel(b, "6.1-amd64")
	mods, err := k.DbgModuleFiles()
	if err != nil {
		b.Fatal(err)
	}
	paths := []string{k.Vmlinux}
	for i := 0; i < len(mods); i += 8 {
		paths = append(paths, mods[i])
	}
	for b.Loop() {
		rep, err := filter.Run(context.Background(), paths, filter.Options{DryRun: true, Jobs: 2})
		if err != nil {
			b.Fatal(err)
		}
		if s := rep.Summary; s.Failed != 0 {
			b.Fatalf("%d of %d files failed", s.Failed, s.Files)
		}
	}
	b.ReportMetric(float64(len(paths)), "files")
}

// BenchmarkBlobDedupOnly deduplicates the 6.1 amd64 vmlinux's BTF
// concatenated with itself, as --dedup-only on a raw file does.
func BenchmarkBlobDedupOnly(b *testing.B) {
	k := realKernel(b, "6.1-amd64")
	f, err := elfio.Open(k.Vmlinux)
	if err != nil {
		b.Fatal(err)
	}
	raw, err := f.BTF()
	if err != nil {
		b.Fatal(err)
	}
	v, err := btf.Decode(raw, nil)
	if err != nil {
		b.Fatal(err)
	}
	f.Close()
	both, err := dedup.Concat(v, v)
	if err != nil {
		b.Fatal(err)
	}
	data := both.Encode()
	for b.Loop() {
		res, err := filter.Blob(data, filter.BlobOptions{Judging: filter.Judging{DedupOnly: true}})
		if err != nil {
			b.Fatal(err)
		}
		// Not exactly half: as in libbpf, a few hundred types of a copy
		// (in cycles through anonymous members) stay apart.
		if 100*res.TypesAfter > 51*res.TypesBefore {
			b.Fatalf("%d -> %d types: the second copy was not merged", res.TypesBefore, res.TypesAfter)
		}
	}
}
