package btf_test

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/btffilter/btffilter/filter/btf"
)

// FuzzDecode feeds arbitrary bytes to the decoder, alone and as split BTF on
// a fixed base. Whatever decodes must encode, decode again to the same
// records and re-encode to the same bytes; Validate and CheckBaseFit must
// return, never panic.
func FuzzDecode(f *testing.F) {
	base := everyKind(binary.LittleEndian)
	f.Add(base.Encode())
	f.Add(everyKind(binary.BigEndian).Encode())
	files, _ := filepath.Glob("../../testdata/*/*/*.btf")
	bpf, _ := filepath.Glob("../../testdata/bpf/*.btf")
	if len(files) == 0 || len(bpf) == 0 {
		f.Fatal("no .btf fixtures under testdata/ to seed from")
	}
	for _, p := range append(files, bpf...) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, b := range []*btf.Spec{nil, base} {
			s, err := btf.Decode(data, b)
			if err != nil {
				continue
			}
			_ = s.Validate()
			_ = s.CheckBaseFit()
			for i := range s.Types {
				s.Name(&s.Types[i])
			}
			enc := s.Encode()
			if len(enc) != s.EncodedLen() {
				t.Fatalf("EncodedLen %d, Encode %d", s.EncodedLen(), len(enc))
			}
			s2, err := btf.Decode(enc, b)
			if err != nil {
				t.Fatalf("re-decoding our own encoding: %v", err)
			}
			if len(s2.Types) != len(s.Types) {
				t.Fatalf("%d types, then %d", len(s.Types), len(s2.Types))
			}
			if !bytes.Equal(s2.Encode(), enc) {
				t.Fatal("encoding is not stable")
			}
		}
	})
}
