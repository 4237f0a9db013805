package check

import (
	"encoding/binary"
	"os"
	"strings"
	"testing"

	"github.com/btffilter/btffilter/filter/btf"
)

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../../../testdata/x86_64/gcc/" + name)
	if err != nil {
		t.Fatalf("%v (run scripts/build-fixtures.sh)", err)
	}
	return b
}

func TestBlobAndSplit(t *testing.T) {
	base, err := Blob(fixture(t, "base.btf"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Split(fixture(t, "module.btf"), base); err != nil {
		t.Fatal(err)
	}
}

// TestRejects: each broken blob is refused, by the kernel's rules or by
// cilium/ebpf, with an error saying which.
func TestRejects(t *testing.T) {
	le := binary.LittleEndian
	for _, tc := range []struct {
		name    string
		corrupt func(s *btf.Spec) []byte
		want    string
	}{
		{"dangling reference", func(s *btf.Spec) []byte {
			for i := range s.Types {
				if s.Types[i].Kind() == btf.KindPtr {
					s.Types[i].SizeType = 1 << 20
					break
				}
			}
			return s.Encode()
		}, "past the last type"},
		{"trailing garbage", func(s *btf.Spec) []byte { return append(s.Encode(), 1, 2, 3) }, "unsupported section"},
		{"FUNC without FUNC_PROTO", func(s *btf.Spec) []byte {
			for i := range s.Types {
				if s.Types[i].Kind() == btf.KindFunc {
					s.Types[i].SizeType = 1
					break
				}
			}
			return s.Encode()
		}, "not a FUNC_PROTO"},
		{"strings not terminated", func(s *btf.Spec) []byte {
			b := s.Encode()
			b[len(b)-1] = 'x'
			return b
		}, "does not end with NUL"},
		{"bad header", func(s *btf.Spec) []byte {
			b := s.Encode()
			le.PutUint32(b[4:], 4)
			return b
		}, "header length"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := btf.Decode(fixture(t, "base.btf"), nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Blob(tc.corrupt(s))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
