package dwarf

import (
	"strings"
	"testing"
)

// wantType is the layout a parameter of testdata/dwarf/layout.c must have,
// whatever the compiler, target or DWARF version.
type wantType struct {
	fn       string
	param    int
	kind     Kind
	name     string // peeled type name
	typedef  string
	size     int64
	align    int64
	natural  int64
	explicit int64 // -1: compilers differ (gcc also copies a member's DW_AT_alignment to the struct)
	packed   bool
	misalign bool
	unalign  bool // UnalignedField
	is128    bool
}

var layoutCases = []wantType{
	{fn: "f_packed_mis", kind: KindStruct, name: "packed_mis", size: 13, align: 1, natural: 1, packed: true, misalign: true, unalign: true},
	// Packed, but every member at a multiple of its alignment and the size a
	// multiple of 8: the layout is that of an unpacked struct, and DWARF
	// cannot tell them apart (see doc.go).
	{fn: "f_packed_aligned", kind: KindStruct, name: "packed_aligned", size: 16, align: 8, natural: 8},
	{fn: "f_packed_tail", param: 1, kind: KindStruct, name: "packed_tail", size: 5, align: 1, natural: 1, packed: true},
	{fn: "f_aligned_struct", param: 1, kind: KindStruct, name: "aligned_struct", size: 16, align: 16, natural: 8, explicit: 16},
	{fn: "f_aligned_member", param: 1, kind: KindStruct, name: "aligned_member", size: 32, align: 16, natural: 16, explicit: -1},
	{fn: "f_int128", param: 1, kind: KindInt, name: "__int128", size: 16, align: 16, natural: 16, is128: true},
	{fn: "f_uint128", kind: KindInt, size: 16, align: 16, natural: 16, is128: true},
	{fn: "f_with_int128", param: 1, kind: KindStruct, name: "with_int128", size: 16, align: 16, natural: 16},
	{fn: "f_anon", kind: KindStruct, typedef: "anon_t", size: 8, align: 4, natural: 4},
	{fn: "f_cpacked", param: 1, kind: KindStruct, name: "packed_mis", typedef: "cpacked_t", size: 13, align: 1, natural: 1, packed: true, misalign: true, unalign: true},
	{fn: "f_bits", kind: KindStruct, name: "bits", size: 8, align: 4, natural: 4},
	{fn: "f_packed_bits", kind: KindStruct, name: "packed_bits", size: 5, align: 1, natural: 1, packed: true, misalign: true, unalign: true},
	// A packed union of char and int has the layout of an unpacked one.
	{fn: "f_packed_union", kind: KindUnion, name: "packed_union", size: 4, align: 4, natural: 4},
	{fn: "f_outer", kind: KindStruct, name: "outer", size: 24, align: 8, natural: 8, unalign: true},
	{fn: "f_arr", kind: KindStruct, name: "arr", size: 32, align: 8, natural: 8},
	{fn: "f_complex", kind: KindFloat, size: 16, align: 8, natural: 8},
	{fn: "f_const_volatile", kind: KindInt, size: 8, align: 8, natural: 8},
	{fn: "f_const_volatile", param: 1, kind: KindPointer, size: 8, align: 8, natural: 8},
}

// layoutDifferences are the cases where a variant's DWARF does not say what
// the source wrote, with the layout it does give and why; any other
// difference fails.
var layoutDifferences = map[string]struct {
	align, explicit int64
	why             string
}{
	// gcc for riscv64 (12 here, 16 too) writes no DW_AT_alignment for
	// aligned(16) on a struct; it does for aligned(32) and on members.
	"riscv64-gcc f_aligned_struct": {align: 8, explicit: 0, why: "gcc for riscv64 writes no DW_AT_alignment for a struct-level aligned(16)"},
}

func funcByName(t *testing.T, d *Data, name string) *Func {
	t.Helper()
	for i := range d.Funcs {
		if d.Funcs[i].Name == name && !d.Funcs[i].Declaration {
			return &d.Funcs[i]
		}
	}
	t.Fatalf("no subprogram %s", name)
	return nil
}

func TestLayout(t *testing.T) {
	for _, v := range layoutVariants {
		d, err := Open(layoutPath(v), Options{})
		if err != nil {
			t.Fatalf("%s: %v (run testdata/dwarf/build.sh)", v, err)
		}
		for _, c := range layoutCases {
			f := funcByName(t, d, c.fn)
			if c.param >= len(f.Params) {
				t.Errorf("%s %s: %d parameters", v, c.fn, len(f.Params))
				continue
			}
			ty := f.Params[c.param].Type
			if ty == nil {
				t.Errorf("%s %s parameter %d: no type", v, c.fn, c.param)
				continue
			}
			got := wantType{fn: c.fn, param: c.param, kind: ty.Kind, name: ty.Name, typedef: ty.Typedef,
				size: ty.Size, align: ty.Align, natural: ty.Natural, explicit: ty.Explicit,
				packed: ty.Packed, misalign: ty.Misaligned, unalign: ty.UnalignedField, is128: ty.Is128()}
			if c.explicit < 0 {
				got.explicit = -1
			}
			if c.name == "" && !strings.Contains(c.fn, "anon") {
				got.name = "" // base type names differ between compilers
			}
			want := c
			if ld, ok := layoutDifferences[v+" "+c.fn]; ok {
				want.align, want.explicit = ld.align, ld.explicit
				if got == c {
					t.Errorf("%s %s: listed in layoutDifferences (%s) but reads as the source wrote it", v, c.fn, ld.why)
				}
			}
			if got != want {
				t.Errorf("%s %s parameter %d:\n got %+v\nwant %+v", v, c.fn, c.param, got, want)
			}
		}
		// Members: offsets, bit fields (DW_AT_data_bit_offset in DWARF 5,
		// DW_AT_bit_offset in gcc's DWARF 4) and member alignment.
		bits := funcByName(t, d, "f_bits").Params[0].Type
		wantBits := []Member{{Name: "a", BitOffset: 0, BitSize: 3}, {Name: "b", BitOffset: 3, BitSize: 7},
			{Name: "c", Offset: 1, BitOffset: 10, BitSize: 22}, {Name: "d", Offset: 4, BitOffset: 32}}
		checkMembers(t, v+" bits", bits, wantBits)
		pbits := funcByName(t, d, "f_packed_bits").Params[0].Type
		checkMembers(t, v+" packed_bits", pbits, []Member{{Name: "a"}, {Name: "b", Offset: 1, BitOffset: 8, BitSize: 30},
			{Name: "c", Offset: 4, BitOffset: 38, BitSize: 2}})
		am := funcByName(t, d, "f_aligned_member").Params[1].Type
		checkMembers(t, v+" aligned_member", am, []Member{{Name: "a"}, {Name: "b", Offset: 16, BitOffset: 128, Align: 16}})
		arr := funcByName(t, d, "f_arr").Params[0].Type
		if len(arr.Members) != 2 || arr.Members[1].Type.Kind != KindArray || arr.Members[1].Type.Count != 3 ||
			arr.Members[1].Type.Elem.Kind != KindFloat || arr.Members[1].Type.Size != 24 {
			t.Errorf("%s arr: members %+v", v, arr.Members)
		}
		if f := funcByName(t, d, "f_variadic"); !f.Variadic || len(f.Params) != 1 {
			t.Errorf("%s f_variadic: variadic %v, %d parameters", v, f.Variadic, len(f.Params))
		}
	}
}

func checkMembers(t *testing.T, what string, ty *Type, want []Member) {
	t.Helper()
	if len(ty.Members) != len(want) {
		t.Errorf("%s: %d members, want %d", what, len(ty.Members), len(want))
		return
	}
	for i, m := range ty.Members {
		w := want[i]
		if m.Name != w.Name || m.Offset != w.Offset || m.BitOffset != w.BitOffset || m.BitSize != w.BitSize || m.Align != w.Align {
			t.Errorf("%s member %d: got %s off %d bit %d/%d align %d, want %s off %d bit %d/%d align %d",
				what, i, m.Name, m.Offset, m.BitOffset, m.BitSize, m.Align, w.Name, w.Offset, w.BitOffset, w.BitSize, w.Align)
		}
	}
}
