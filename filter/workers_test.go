package filter_test

import (
	"reflect"
	"testing"

	"github.com/btffilter/btffilter/elfio"
	"github.com/btffilter/btffilter/filter"
	"github.com/btffilter/btffilter/scripts/kernels"
)

// TestWorkersSameResult judges the real 6.1 amd64 vmlinux (tens of
// thousands of FUNCs, in many blocks) with one, two and five workers:
// the removals, their reasons, the protected FUNCs, the warnings and the
// rewritten bytes are the same.
func TestWorkersSameResult(t *testing.T) {
	if testing.Short() {
		t.Skip("real kernels are not read in -short mode")
	}
	k, err := kernels.Load("6.1-amd64")
	if err != nil {
		t.Fatal(err)
	}
	f, err := elfio.Open(k.Vmlinux)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	raw, err := f.BTF()
	if err != nil {
		t.Fatal(err)
	}
	var first *filter.BlobResult
	for _, workers := range []int{1, 2, 5} {
		res, err := filter.Blob(raw, filter.BlobOptions{Object: f, DWARF: f, Workers: workers})
		if err != nil {
			t.Fatalf("%d workers: %v", workers, err)
		}
		if len(res.Removed) == 0 {
			t.Fatalf("%d workers: nothing removed", workers)
		}
		if first == nil {
			first = res
			continue
		}
		if !reflect.DeepEqual(res.Removed, first.Removed) || !reflect.DeepEqual(res.Protected, first.Protected) ||
			!reflect.DeepEqual(res.Warnings, first.Warnings) || string(res.BTF) != string(first.BTF) {
			t.Fatalf("%d workers decide otherwise than one: %d removed (one worker: %d), warnings %q (one worker: %q)",
				workers, len(res.Removed), len(first.Removed), res.Warnings, first.Warnings)
		}
	}
}
