package check

import (
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

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
			data := tc.corrupt(s)
			_, err = Blob(data)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if err := Verify(data); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Verify: error %v, want one containing %q", err, tc.want)
			}
			if err := KernelRules(data); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("KernelRules: error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestBoth: the two checks' answers combine the same way whichever
// finishes first, and a panic in cilium/ebpf's is its rejection.
func TestBoth(t *testing.T) {
	ours, theirs := errors.New("ours"), errors.New("theirs")
	fail := func(err error) func() error { return func() error { return err } }
	slow := func(err error) func() error {
		return func() error { time.Sleep(10 * time.Millisecond); return err }
	}
	for _, tc := range []struct {
		name       string
		our, their func() error
		want       error
	}{
		{"both pass", fail(nil), fail(nil), nil},
		{"ours fails", fail(ours), fail(nil), ours},
		{"theirs fails", fail(nil), fail(theirs), theirs},
		{"both fail, theirs first", slow(ours), fail(theirs), ours},
		{"both fail, ours first", fail(ours), slow(theirs), ours},
	} {
		if err := both(tc.our, tc.their); err != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	err := both(fail(nil), func() error { panic("index out of range") })
	if err == nil || !strings.Contains(err.Error(), "cilium/ebpf panicked on the blob: index out of range") {
		t.Errorf("a panic gave %v", err)
	}
}

func TestVerify(t *testing.T) {
	if err := Verify(fixture(t, "base.btf")); err != nil {
		t.Fatal(err)
	}
	if err := KernelRules(fixture(t, "base.btf")); err != nil {
		t.Fatal(err)
	}
}
