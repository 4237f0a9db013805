package btf_test

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/btffilter/btffilter/filter/btf"
	"github.com/btffilter/btffilter/filter/btf/btftest"
)

// TestCheckRelocation: a distilled base relocates onto a target when each of
// its types matches exactly one target type by name, kind and (where the
// kernel asks) size.
func TestCheckRelocation(t *testing.T) {
	le := binary.LittleEndian
	intType := func(b *btftest.Builder, name string, size uint32, enc uint32) btf.TypeID {
		return b.Add(name, btf.KindInt, 0, false, size, enc<<24|size*8)
	}
	// target builds the vmlinux side; the test case edits it.
	target := func(edit func(b *btftest.Builder)) *btf.Spec {
		b := btftest.NewBuilder(le, nil)
		intType(b, "int", 4, 1)
		b.Add("foo", btf.KindStruct, 0, false, 8)
		b.Add("bar", btf.KindUnion, 0, false, 16)
		b.Add("color", btf.KindEnum64, 0, false, 8)
		if edit != nil {
			edit(b)
		}
		return b.Spec
	}
	// The distilled base: int, struct foo (8), fwd union bar, enum color
	// (8); the module's struct embeds foo.
	dist := btftest.NewBuilder(le, nil)
	intType(dist, "int", 4, 1)
	foo := dist.Add("foo", btf.KindStruct, 0, false, 8)
	dist.Add("bar", btf.KindFwd, 0, true, 0)
	dist.Add("color", btf.KindEnum, 0, false, 8)
	mod := btftest.NewBuilder(le, dist.Spec)
	mod.Add("holder", btf.KindStruct, 1, false, 8, mod.Str("f"), uint32(foo), 0)
	for _, tc := range []struct {
		name   string
		target *btf.Spec
		err    string
	}{
		{"relocates", target(nil), ""},
		{"embedded struct of another size", target(func(b *btftest.Builder) { b.Spec.Types[1].SizeType = 16 }), `"foo" (size 8) matches no type`},
		{"missing", target(func(b *btftest.Builder) { b.Spec.Types[2].NameOff = b.Str("baz") }), `"bar" (size 0) matches no type`},
		{"int of another encoding", target(func(b *btftest.Builder) { b.Spec.Types[0].Extra = []uint32{32} }), `"int" (size 4) matches no type`},
		{"two candidates", target(func(b *btftest.Builder) { b.Add("foo", btf.KindStruct, 0, false, 8) }), `"foo" (size 8) matches several types`},
		{"two of a name, one of the size", target(func(b *btftest.Builder) { b.Add("foo", btf.KindStruct, 0, false, 24) }), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := mod.Spec.CheckRelocation(tc.target)
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("error %v, want %q", err, tc.err)
			}
		})
	}
}
