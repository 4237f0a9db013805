package dedup

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/btffilter/btffilter/filter/btf"
	"github.com/btffilter/btffilter/filter/btf/btftest"
)

// builder makes small specs by hand, with type IDs as the uint32s the
// type words hold.
type builder struct{ *btftest.Builder }

func newBuilder(base *btf.Spec) *builder {
	return &builder{btftest.NewBuilder(binary.LittleEndian, base)}
}

func (b *builder) add(name string, k btf.Kind, vlen int, kflag bool, sizeType uint32, extra ...uint32) uint32 {
	return uint32(b.Add(name, k, vlen, kflag, sizeType, extra...))
}

func (b *builder) int32() uint32 { return b.add("int", btf.KindInt, 0, false, 4, 1<<24|32) }
func (b *builder) ptr(to uint32) uint32 {
	return b.add("", btf.KindPtr, 0, false, to)
}

// member is a struct member for builder.st.
type member struct {
	name string
	typ  uint32
	off  uint32 // bit offset; with a bitfield size in the top 8 bits when kflag
}

func (b *builder) st(k btf.Kind, name string, size uint32, kflag bool, ms ...member) uint32 {
	var extra []uint32
	for _, m := range ms {
		extra = append(extra, b.Str(m.name), m.typ, m.off)
	}
	return b.add(name, k, len(ms), kflag, size, extra...)
}

// reserve appends a placeholder whose fields are set later, for cycles.
func (b *builder) reserve() uint32 { return b.add("", btf.KindPtr, 0, false, 0) }

func (b *builder) set(id uint32, t btf.Type) { b.Spec.Types[id-1] = t }

// handCases are small inputs for the situations the algorithm exists for;
// each unit is written twice or in partial forms, as separate compilation
// units would emit them.
func handCases() map[string]*btf.Spec {
	cases := map[string]*btf.Spec{}

	// Unit 1 knows struct S only as a FWD, unit 2 defines it.
	{
		b := newBuilder(nil)
		fwd := b.add("S", btf.KindFwd, 0, false, 0)
		p1 := b.ptr(fwd)
		b.st(btf.KindStruct, "A", 8, false, member{"s", p1, 0})
		i := b.int32()
		s := b.st(btf.KindStruct, "S", 4, false, member{"x", i, 0})
		p2 := b.ptr(s)
		b.st(btf.KindStruct, "A", 8, false, member{"s", p2, 0})
		cases["fwd-in-graph"] = b.Spec
	}
	// A FWD nothing compares with resolves to the only struct of its name;
	// a FWD with two candidates, or of the other kind, stays.
	{
		b := newBuilder(nil)
		f := b.add("foo", btf.KindFwd, 0, false, 0)
		b.ptr(f)
		i := b.int32()
		b.st(btf.KindStruct, "foo", 4, false, member{"u", i, 0})
		g := b.add("bar", btf.KindFwd, 0, false, 0)
		b.ptr(g)
		b.st(btf.KindStruct, "bar", 4, false, member{"u", i, 0})
		b.st(btf.KindStruct, "bar", 8, false, member{"v", i, 0})
		u := b.add("baz", btf.KindFwd, 0, true, 0)
		b.ptr(u)
		b.st(btf.KindStruct, "baz", 4, false, member{"u", i, 0})
		cases["leftover-fwds"] = b.Spec
	}
	// Enum forward declarations meet full ENUM and ENUM64 definitions.
	{
		b := newBuilder(nil)
		b.add("e", btf.KindEnum, 0, false, 4)
		b.add("e", btf.KindEnum, 2, false, 4, b.Str("A"), 0, b.Str("B"), 1)
		b.add("e", btf.KindEnum, 0, false, 4)
		b.add("e", btf.KindEnum, 2, false, 4, b.Str("A"), 0, b.Str("B"), 1)
		b.add("big", btf.KindEnum, 0, true, 4)
		b.add("big", btf.KindEnum64, 1, true, 8, b.Str("X"), 1, 2)
		b.add("other", btf.KindEnum, 1, false, 4, b.Str("A"), 0)
		b.add("other", btf.KindEnum, 1, false, 4, b.Str("A"), 7)
		b.add("other", btf.KindEnum, 0, false, 4)
		cases["enum-forwards"] = b.Spec
	}
	// Structs equal but for a bitfield's size must not merge.
	{
		b := newBuilder(nil)
		i := b.int32()
		b.st(btf.KindStruct, "flags", 4, true, member{"a", i, 3 << 24}, member{"b", i, 5<<24 | 3})
		b.st(btf.KindStruct, "flags", 4, true, member{"a", i, 4 << 24}, member{"b", i, 5<<24 | 3})
		b.st(btf.KindStruct, "flags", 4, true, member{"a", i, 3 << 24}, member{"b", i, 5<<24 | 3})
		cases["bitfield-sizes"] = b.Spec
	}
	// A list node points to itself through a pointer, twice over; a third
	// copy differs in its payload.
	{
		b := newBuilder(nil)
		for _, size := range []uint32{16, 16, 16} {
			i := b.int32()
			node := b.reserve()
			p := b.ptr(node)
			pay := i
			if len(b.Spec.Types) > 10 {
				pay = b.add("long", btf.KindInt, 0, false, 8, 1<<24|64)
			}
			ms := []member{{"next", p, 0}, {"val", pay, 64}}
			var extra []uint32
			for _, m := range ms {
				extra = append(extra, b.Str(m.name), m.typ, m.off)
			}
			b.set(node, btf.Type{NameOff: b.Str("node"), Info: uint32(btf.KindStruct)<<24 | 2, SizeType: size, Extra: extra})
			b.add("node_t", btf.KindTypedef, 0, false, node)
		}
		cases["pointer-cycles"] = b.Spec
	}
	// One unit carries two identical copies of an array type and of a
	// struct type; the other unit has one of each.
	{
		b := newBuilder(nil)
		i := b.int32()
		a1 := b.add("", btf.KindArray, 0, false, 0, i, i, 4)
		a2 := b.add("", btf.KindArray, 0, false, 0, i, i, 4)
		in1 := b.st(btf.KindStruct, "in", 4, false, member{"x", i, 0})
		in2 := b.st(btf.KindStruct, "in", 4, false, member{"x", i, 0})
		b.st(btf.KindStruct, "outer", 40, false, member{"a", a1, 0}, member{"b", a2, 128}, member{"c", in1, 256}, member{"d", in2, 288})
		j := b.int32()
		a3 := b.add("", btf.KindArray, 0, false, 0, j, j, 4)
		in3 := b.st(btf.KindStruct, "in", 4, false, member{"x", j, 0})
		b.st(btf.KindStruct, "outer", 40, false, member{"a", a3, 0}, member{"b", a3, 128}, member{"c", in3, 256}, member{"d", in3, 288})
		cases["identical-copies"] = b.Spec
	}
	// Reference types over merged structs: functions, protos, tags,
	// const/volatile/restrict, arrays, type tags; VAR and DATASEC stay.
	{
		b := newBuilder(nil)
		for k := 0; k < 2; k++ {
			i := b.int32()
			s := b.st(btf.KindStruct, "s", 4, false, member{"x", i, 0})
			p := b.ptr(s)
			c := b.add("", btf.KindConst, 0, false, p)
			v := b.add("", btf.KindVolatile, 0, false, c)
			r := b.add("", btf.KindRestrict, 0, false, v)
			tt := b.add("user", btf.KindTypeTag, 0, false, s)
			pt := b.ptr(tt)
			arr := b.add("", btf.KindArray, 0, false, 0, s, i, 3)
			proto := b.add("", btf.KindFuncProto, 2, false, i, b.Str("a"), r, b.Str("b"), pt)
			fn := b.add("f", btf.KindFunc, 0, false, proto)
			b.add("tag", btf.KindDeclTag, 0, false, fn, 0xffffffff)
			b.add("tag", btf.KindDeclTag, 0, false, s, 0)
			vr := b.add("v", btf.KindVar, 0, false, arr, 1)
			b.add(".data", btf.KindDatasec, 1, false, 12, vr, 0, 12)
			b.add("double", btf.KindFloat, 0, false, 8)
			b.add("td", btf.KindTypedef, 0, false, pt)
		}
		cases["reference-types"] = b.Spec
	}
	// Unions, and a FWD of union kind.
	{
		b := newBuilder(nil)
		i := b.int32()
		f := b.add("u", btf.KindFwd, 0, true, 0)
		p := b.ptr(f)
		b.st(btf.KindStruct, "holder", 8, false, member{"p", p, 0})
		j := b.int32()
		u := b.st(btf.KindUnion, "u", 4, false, member{"a", j, 0}, member{"b", j, 0})
		q := b.ptr(u)
		b.st(btf.KindStruct, "holder", 8, false, member{"p", q, 0})
		_ = i
		cases["union-fwd"] = b.Spec
	}
	return cases
}

// TestHandCases compares with libbpf on the hand-written inputs.
func TestHandCases(t *testing.T) {
	for name, s := range handCases() {
		t.Run(name, func(t *testing.T) {
			merged := compareExpected(t, "hand-"+name, s)
			if merged == 0 {
				t.Fatal("nothing merged")
			}
			t.Logf("%d types, %d merged", len(s.Types), merged)
		})
	}
}

// TestClangObjects compares with libbpf on the per-object BTF of three BPF
// units sharing a header (testdata/dedup, built by its build.sh),
// concatenated as a linker would.
func TestClangObjects(t *testing.T) {
	var units []*btf.Spec
	for _, u := range []string{"a", "b", "c"} {
		path := filepath.Join("..", "..", "..", "testdata", "dedup", u+".btf")
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run testdata/dedup/build.sh)", err)
		}
		s, err := btf.Decode(raw, nil)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		units = append(units, s)
	}
	for _, c := range []struct {
		name  string
		units []*btf.Spec
	}{
		{"a-b-c", units},
		{"c-b-a", []*btf.Spec{units[2], units[1], units[0]}},
		{"a-a", []*btf.Spec{units[0], units[0]}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := Concat(c.units...)
			if err != nil {
				t.Fatal(err)
			}
			merged := compareExpected(t, "clang-"+c.name, s)
			if merged == 0 {
				t.Fatal("nothing merged")
			}
			t.Logf("%d types, %d merged", len(s.Types), merged)
		})
	}
}
