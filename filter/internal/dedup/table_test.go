package dedup

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/btffilter/btffilter/filter/btf"
)

// The candidate table must give back, for every key, the parent's IDs and
// then its own in the order they were added, however many keys share a
// bucket and however often the table grew; the passes' choice among equal
// candidates (the oldest first) depends on it.
func TestCandTableOrder(t *testing.T) {
	tests := []struct {
		name          string
		hint, entries int
		keys          uint64 // distinct keys; entries go round-robin over them
		parent        int    // entries in a parent table, 0 for none
	}{
		{"one key", 4, 100, 1, 0},
		{"few keys, many growths", 1, 5000, 7, 0},
		{"unique keys", 16, 3000, 3000, 0},
		{"sized up front", 3000, 3000, 500, 0},
		{"with parent", 8, 1000, 13, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := map[uint64][]uint32{}
			var parent *candTable
			id := uint32(1)
			if tt.parent > 0 {
				parent = newCandTable(nil, 1)
				for i := 0; i < tt.parent; i++ {
					k := uint64(i) % tt.keys * 0x9e3779b97f4a7c15
					parent.add(k, id)
					want[k] = append(want[k], id)
					id++
				}
			}
			c := newCandTable(parent, tt.hint)
			for i := 0; i < tt.entries; i++ {
				k := uint64(i) % tt.keys * 0x9e3779b97f4a7c15
				c.add(k, id)
				want[k] = append(want[k], id)
				id++
			}
			for k, ids := range want {
				var got []uint32
				c.cands(k, func(id uint32) bool { got = append(got, id); return true })
				if fmt.Sprint(got) != fmt.Sprint(ids) {
					t.Fatalf("key %#x: got %v, want %v", k, got, ids)
				}
				// Stopping after the first candidate stops the walk.
				n := 0
				c.cands(k, func(uint32) bool { n++; return false })
				if n != 1 {
					t.Fatalf("key %#x: the walk went on for %d candidates after being stopped", k, n)
				}
			}
			n := 0
			c.cands(0x1234567, func(uint32) bool { n++; return true })
			if n != 0 {
				t.Fatalf("an absent key has %d candidates", n)
			}
		})
	}
}

// maxRef must agree with btf.Type.VisitTypeIDs on every kind.
func TestMaxRef(t *testing.T) {
	tests := []struct {
		k     btf.Kind
		vlen  int
		st    uint32
		extra []uint32
	}{
		{btf.KindInt, 0, 4, []uint32{32}},
		{btf.KindPtr, 0, 9, nil},
		{btf.KindArray, 0, 0, []uint32{5, 7, 100}},
		{btf.KindArray, 0, 0, []uint32{8, 2, 100}},
		{btf.KindStruct, 2, 8, []uint32{1, 30, 0, 2, 31, 32}},
		{btf.KindUnion, 1, 8, []uint32{1, 40, 0}},
		{btf.KindEnum, 1, 4, []uint32{1, 99}},
		{btf.KindFwd, 0, 0, nil},
		{btf.KindTypedef, 0, 12, nil},
		{btf.KindVolatile, 0, 13, nil},
		{btf.KindConst, 0, 14, nil},
		{btf.KindRestrict, 0, 15, nil},
		{btf.KindFunc, 0, 16, nil},
		{btf.KindFuncProto, 2, 50, []uint32{1, 17, 2, 60}},
		{btf.KindFuncProto, 1, 70, []uint32{1, 17}},
		{btf.KindVar, 0, 18, []uint32{1}},
		{btf.KindDatasec, 2, 64, []uint32{20, 0, 8, 19, 8, 8}},
		{btf.KindFloat, 0, 8, nil},
		{btf.KindDeclTag, 0, 21, []uint32{0xffffffff}},
		{btf.KindTypeTag, 0, 22, nil},
		{btf.KindEnum64, 1, 8, []uint32{1, 5, 6}},
	}
	for _, tt := range tests {
		typ := btf.Type{NameOff: 1, Info: uint32(tt.k)<<24 | uint32(tt.vlen), SizeType: tt.st, Extra: tt.extra}
		if !wellFormed(&typ) {
			t.Fatalf("%v: test type is not well formed", tt.k)
		}
		var want uint32
		typ.VisitTypeIDs(func(p *uint32) { want = max(want, *p) })
		if got := maxRef(&typ); got != want {
			t.Errorf("%v: maxRef %d, VisitTypeIDs's highest %d", tt.k, got, want)
		}
	}
}

// InPlace rewrites the input's extra words; it may only do so when no two
// types share them, and must otherwise fall back to a copy with the same
// result.
func TestInPlaceSharedExtras(t *testing.T) {
	build := func(share bool) *btf.Spec {
		b := newBuilder(nil)
		i := b.int32()
		ms := []uint32{b.Str("a"), i, 0, b.Str("b"), i, 32}
		b.add("s", btf.KindStruct, 2, false, 8, ms...)
		if !share {
			ms = append([]uint32(nil), ms...)
		}
		b.add("s", btf.KindStruct, 2, false, 8, ms...)
		return b.Spec
	}
	decoded, err := btf.Decode(build(false).Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	// Both structs' words in one array, the second struct's first.
	reversed := build(false)
	words := append(append([]uint32(nil), reversed.Types[2].Extra...), reversed.Types[1].Extra...)
	reversed.Types[1].Extra, reversed.Types[2].Extra = words[6:12:12], words[0:6:6]
	tests := []struct {
		name     string
		spec     *btf.Spec
		disjoint bool
	}{
		{"decoded", decoded, true},
		{"shared", build(true), false},
		{"separate but out of order", reversed, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := disjointExtras(tt.spec.Types); got != tt.disjoint {
				t.Fatalf("disjointExtras = %v, want %v", got, tt.disjoint)
			}
			want, err := Dedup(build(false), Options{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := Dedup(tt.spec, Options{InPlace: true})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Spec.Encode(), want.Spec.Encode()) || got.Merged != 1 {
				t.Fatalf("in place: %d merged, output %x; want 1 merged, %x", got.Merged, got.Spec.Encode(), want.Spec.Encode())
			}
		})
	}
}
