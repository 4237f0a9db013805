package dwarf

import (
	"testing"

	"github.com/btffilter/btffilter/scripts/kernels"
)

// BenchmarkScanVmlinux scans the whole Debian 6.1 amd64 vmlinux (163 MB of
// DWARF 5) with two workers. For wall time and peak RSS of one process, run
// go run ./filter/internal/dwarf/internal/dwarfscan -j 2 VMLINUX.
func BenchmarkScanVmlinux(b *testing.B) {
	k, err := kernels.Load("6.1-amd64")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		d, err := Open(k.Vmlinux, Options{Workers: 2})
		if err != nil {
			b.Fatal(err)
		}
		if len(d.Funcs) < 100000 {
			b.Fatalf("%d subprograms, a vmlinux has hundreds of thousands", len(d.Funcs))
		}
		b.ReportMetric(float64(len(d.Funcs)), "subprograms")
	}
}
