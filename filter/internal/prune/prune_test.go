package prune

import (
	"testing"

	"github.com/btffilter/btffilter/filter/btf"
	"github.com/btffilter/btffilter/filter/btf/btftest"
)

func funcID(t testing.TB, s *btf.Spec, name string) btf.TypeID {
	t.Helper()
	for i := range s.Types {
		if s.Types[i].Kind() == btf.KindFunc && s.Name(&s.Types[i]) == name {
			return s.FirstID() + btf.TypeID(i)
		}
	}
	t.Fatalf("no FUNC %s", name)
	return 0
}

func kinds(s *btf.Spec, ids []btf.TypeID) map[btf.Kind]int {
	k := map[btf.Kind]int{}
	for _, id := range ids {
		t, _ := s.Type(id)
		k[t.Kind()]++
	}
	return k
}

// TestMarkFixtures: queue_push shares its FUNC_PROTO with two others, so
// the proto stays until all three go; the marks are ascending and hold the
// FUNCs themselves.
func TestMarkFixtures(t *testing.T) {
	for _, dir := range []string{"x86_64/gcc", "x86_64/clang", "aarch64/gcc", "aarch64/clang"} {
		t.Run(dir, func(t *testing.T) {
			base := btftest.Load(t, "../../../testdata/"+dir+"/base.btf", nil)
			for _, tc := range []struct {
				funcs      []string
				wantProtos int
			}{
				{[]string{"queue_push"}, 0},
				{[]string{"queue_push", "queue_push_front", "queue_remove"}, 1},
				{[]string{"wide_middle", "packed_first"}, 2},
			} {
				var ids []btf.TypeID
				for _, f := range tc.funcs {
					ids = append(ids, funcID(t, base, f))
				}
				marked, err := Mark(base, ids, nil)
				if err != nil {
					t.Fatal(err)
				}
				k := kinds(base, marked)
				if k[btf.KindFunc] != len(ids) || k[btf.KindFuncProto] != tc.wantProtos {
					t.Errorf("%v: marked %v, want %d FUNCs and %d FUNC_PROTOs", tc.funcs, k, len(ids), tc.wantProtos)
				}
				in := map[btf.TypeID]bool{}
				for i, id := range marked {
					if i > 0 && id <= marked[i-1] {
						t.Errorf("%v: marks %v are not ascending", tc.funcs, marked)
					}
					in[id] = true
				}
				for _, id := range ids {
					if !in[id] {
						t.Errorf("%v: FUNC [%d] is not marked", tc.funcs, id)
					}
				}
			}
		})
	}
}

func TestMarkDeclTag(t *testing.T) {
	base := btftest.Load(t, "../../../testdata/x86_64/clang/base.btf", nil)
	var fn btf.TypeID
	for i := range base.Types {
		tt := &base.Types[i]
		if tt.Kind() == btf.KindDeclTag {
			if target, _ := base.Type(btf.TypeID(tt.SizeType)); target != nil && target.Kind() == btf.KindFunc {
				fn = btf.TypeID(tt.SizeType)
				break
			}
		}
	}
	if fn == 0 {
		t.Fatal("clang fixture has no DECL_TAG on a FUNC")
	}
	marked, err := Mark(base, []btf.TypeID{fn}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if k := kinds(base, marked); k[btf.KindDeclTag] == 0 {
		t.Fatalf("marked %v: the FUNC's DECL_TAG stays", k)
	}
}

func TestReferencedProtoStays(t *testing.T) {
	base := btftest.Load(t, "../../../testdata/x86_64/gcc/base.btf", nil)
	id := funcID(t, base, "wide_middle")
	proto := btf.TypeID(base.Types[id-1].SizeType)
	marked, err := Mark(base, []btf.TypeID{id}, map[btf.TypeID]bool{proto: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(marked) != 1 || marked[0] != id {
		t.Fatalf("marked %v, want only the FUNC %d", marked, id)
	}
}

func TestMarkRejectsNonFunc(t *testing.T) {
	base := btftest.Load(t, "../../../testdata/x86_64/gcc/base.btf", nil)
	if _, err := Mark(base, []btf.TypeID{1}, nil); err == nil {
		t.Fatal("removing an INT was accepted")
	}
	if _, err := Mark(base, []btf.TypeID{base.NextID()}, nil); err == nil {
		t.Fatal("removing a type past the end was accepted")
	}
}
