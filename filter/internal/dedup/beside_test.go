package dedup

import (
	"bytes"
	"errors"
	"testing"

	"github.com/btffilter/btffilter/filter/btf"
)

// TestBeside: Options.Beside runs once; its error is Dedup's, even where
// the passes fail too, before the string pass or in it; and it changes
// nothing in the result.
func TestBeside(t *testing.T) {
	mine := errors.New("beside failed")
	for name, in := range handCases() {
		if in.Base != nil {
			continue
		}
		want, err := Dedup(in, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, inPlace := range []bool{false, true} {
			raw := in.Encode()
			s, err := btf.Decode(raw, nil)
			if err != nil {
				t.Fatal(err)
			}
			runs := 0
			got, err := Dedup(s, Options{InPlace: inPlace, Beside: func() error { runs++; return nil }})
			if err != nil || runs != 1 {
				t.Fatalf("%s: in place %v: %v, Beside ran %d times", name, inPlace, err, runs)
			}
			if !bytes.Equal(got.Spec.Encode(), want.Spec.Encode()) {
				t.Errorf("%s: in place %v: the result differs with Beside", name, inPlace)
			}
			s, _ = btf.Decode(raw, nil)
			if _, err := Dedup(s, Options{InPlace: inPlace, Beside: func() error { return mine }}); err != mine {
				t.Errorf("%s: in place %v: %v, want Beside's error", name, inPlace, err)
			}
			// A string offset past the section fails the string pass.
			s, _ = btf.Decode(raw, nil)
			s.Types[len(s.Types)-1].NameOff = uint32(len(s.Strings)) + 5
			if _, err := Dedup(s, Options{InPlace: inPlace, Beside: func() error { return mine }}); err != mine {
				t.Errorf("%s: in place %v, bad string: %v, want Beside's error", name, inPlace, err)
			}
			// A reference past the last type fails before the string pass.
			s, _ = btf.Decode(raw, nil)
			s.Types[0].SizeType, s.Types[0].Info = uint32(len(s.Types)+9), uint32(btf.KindPtr)<<24
			s.Types[0].Extra = nil
			if _, err := Dedup(s, Options{InPlace: inPlace, Beside: func() error { return mine }}); err != mine {
				t.Errorf("%s: in place %v, bad reference: %v, want Beside's error", name, inPlace, err)
			}
		}
	}
}
