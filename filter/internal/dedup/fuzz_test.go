package dedup

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/btffilter/btffilter/filter/btf"
)

// FuzzDedup dedups every fuzzed blob the kernel's rules accept: it must not
// fail or panic, its output must pass the same rules, and the ID map must
// cover every input ID.
func FuzzDedup(f *testing.F) {
	for _, s := range handCases() {
		f.Add(s.Encode())
	}
	for _, pattern := range []string{"../../../testdata/*/*/*.btf", "../../../testdata/bpf/*.btf", "../../../testdata/dedup/*.btf"} {
		files, _ := filepath.Glob(pattern)
		if len(files) == 0 {
			f.Fatalf("no fixtures match %s to seed from", pattern)
		}
		for _, p := range files {
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := btf.ValidateBlob(data, nil)
		if err != nil {
			return
		}
		res, err := Dedup(in, Options{})
		if err != nil {
			t.Fatalf("valid input: %v", err)
		}
		if _, err := btf.ValidateBlob(res.Spec.Encode(), nil); err != nil {
			t.Fatalf("output does not validate: %v", err)
		}
		sameInPlace(t, data, nil, Options{}, res)
		for i := range in.Types {
			if _, ok := res.Map.Lookup(in.FirstID() + btf.TypeID(i)); !ok {
				t.Fatalf("type [%d] is not in the ID map", i+1)
			}
		}
	})
}
