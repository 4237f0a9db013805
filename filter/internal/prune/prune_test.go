package prune

import (
	"fmt"
	"testing"

	"github.com/btffilter/btffilter/filter/btf"
	"github.com/btffilter/btffilter/filter/btf/btftest"
	"github.com/btffilter/btffilter/filter/internal/check"
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

// sameType checks that nt (in ns) is ot (in os) with every type ID mapped
// through m and every string equal by content.
func sameType(ospec *btf.Spec, ot *btf.Type, nspec *btf.Spec, nt *btf.Type, m *IDMap) error {
	if ot.Info != nt.Info || len(ot.Extra) != len(nt.Extra) {
		return fmt.Errorf("info %#x/%#x or length differs", ot.Info, nt.Info)
	}
	a, b := ot.Clone(), nt.Clone()
	var strs [2][]string
	for i, p := range []struct {
		s *btf.Spec
		t *btf.Type
	}{{ospec, &a}, {nspec, &b}} {
		p.t.VisitStrings(func(w *uint32) {
			str, err := p.s.Str(*w)
			if err != nil {
				str = "<" + err.Error() + ">"
			}
			strs[i] = append(strs[i], str)
			*w = 0
		})
	}
	if fmt.Sprint(strs[0]) != fmt.Sprint(strs[1]) {
		return fmt.Errorf("strings %q became %q", strs[0], strs[1])
	}
	var err error
	a.VisitTypeIDs(func(w *uint32) {
		n, ok := m.Lookup(btf.TypeID(*w))
		if !ok && err == nil {
			err = fmt.Errorf("refers to removed type %d", *w)
		}
		*w = uint32(n)
	})
	if err != nil {
		return err
	}
	if fmt.Sprint(a) != fmt.Sprint(b) {
		return fmt.Errorf("%v became %v", a, b)
	}
	return nil
}

// checkKept checks every kept type of old against new, in order.
func checkKept(t *testing.T, old *btf.Spec, res *Result) {
	t.Helper()
	removed := map[btf.TypeID]bool{}
	for _, id := range res.Removed {
		removed[id] = true
	}
	want := res.Spec.FirstID()
	for i := range old.Types {
		id := old.FirstID() + btf.TypeID(i)
		n, ok := res.Map.Lookup(id)
		if removed[id] {
			if ok {
				t.Errorf("removed type %d still maps to %d", id, n)
			}
			continue
		}
		if !ok || n != want {
			t.Fatalf("kept type %d maps to %d (%v), want %d: order or density broken", id, n, ok, want)
		}
		want++
		nt, err := res.Spec.Type(n)
		if err != nil {
			t.Fatal(err)
		}
		if err := sameType(old, &old.Types[i], res.Spec, nt, res.Map); err != nil {
			t.Errorf("type %d -> %d: %v", id, n, err)
		}
	}
	if want != res.Spec.NextID() {
		t.Errorf("new spec has %d types, kept %d", len(res.Spec.Types), want-res.Spec.FirstID())
	}
}

func kinds(s *btf.Spec, ids []btf.TypeID) map[btf.Kind]int {
	k := map[btf.Kind]int{}
	for _, id := range ids {
		t, _ := s.Type(id)
		k[t.Kind()]++
	}
	return k
}

func TestRemoveFixtures(t *testing.T) {
	for _, dir := range []string{"x86_64/gcc", "x86_64/clang", "aarch64/gcc", "aarch64/clang"} {
		t.Run(dir, func(t *testing.T) {
			base := btftest.Load(t, "../../../testdata/"+dir+"/base.btf", nil)
			// queue_push shares its FUNC_PROTO with two others: the
			// proto stays. kfunc_acquire is tagged (clang): its
			// DECL_TAG goes with it.
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
				res, err := Remove(base, ids, Options{})
				if err != nil {
					t.Fatal(err)
				}
				k := kinds(base, res.Removed)
				if k[btf.KindFunc] != len(ids) || k[btf.KindFuncProto] != tc.wantProtos {
					t.Errorf("%v: removed %v, want %d FUNCs and %d FUNC_PROTOs", tc.funcs, k, len(ids), tc.wantProtos)
				}
				checkKept(t, base, res)
				raw := res.Spec.Encode()
				if _, err := check.Blob(raw); err != nil {
					t.Fatalf("%v: %v", tc.funcs, err)
				}
				if len(raw) >= len(base.Encode()) {
					t.Errorf("%v: output did not shrink", tc.funcs)
				}
				for _, f := range tc.funcs {
					for i := range res.Spec.Types {
						if res.Spec.Name(&res.Spec.Types[i]) == f {
							t.Errorf("%s is still there", f)
						}
					}
				}
			}
		})
	}
}

func TestRemoveDeclTag(t *testing.T) {
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
	res, err := Remove(base, []btf.TypeID{fn}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if k := kinds(base, res.Removed); k[btf.KindDeclTag] == 0 {
		t.Fatalf("removed %v: the FUNC's DECL_TAG stayed", k)
	}
	checkKept(t, base, res)
}

func TestReferencedProtoStays(t *testing.T) {
	base := btftest.Load(t, "../../../testdata/x86_64/gcc/base.btf", nil)
	id := funcID(t, base, "wide_middle")
	proto := btf.TypeID(base.Types[id-1].SizeType)
	res, err := Remove(base, []btf.TypeID{id}, Options{Referenced: map[btf.TypeID]bool{proto: true}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Removed) != 1 {
		t.Fatalf("removed %v, want only the FUNC", res.Removed)
	}
}

func TestRemoveRejectsNonFunc(t *testing.T) {
	base := btftest.Load(t, "../../../testdata/x86_64/gcc/base.btf", nil)
	if _, err := Remove(base, []btf.TypeID{1}, Options{}); err == nil {
		t.Fatal("removing an INT was accepted")
	}
	if _, err := Remove(base, []btf.TypeID{base.NextID()}, Options{}); err == nil {
		t.Fatal("removing a type past the end was accepted")
	}
}

// TestRebaseSplit filters the base and moves the module onto it: every module
// type must read the same, and strings only the removed FUNCs had in the base
// must be copied into the module when the module uses them.
func TestRebaseSplit(t *testing.T) {
	for _, dir := range []string{"x86_64/gcc", "aarch64/clang"} {
		t.Run(dir, func(t *testing.T) {
			base := btftest.Load(t, "../../../testdata/"+dir+"/base.btf", nil)
			mod := btftest.Load(t, "../../../testdata/"+dir+"/module.btf", base)
			var ids []btf.TypeID
			for _, f := range []string{"queue_push", "wide_middle", "packed_first"} {
				ids = append(ids, funcID(t, base, f))
			}
			bres, err := Remove(base, ids, Options{})
			if err != nil {
				t.Fatal(err)
			}
			cb, err := check.Blob(bres.Spec.Encode())
			if err != nil {
				t.Fatal(err)
			}
			mres, err := Rebase(mod, Options{NewBase: bres.Spec, BaseMap: bres.Map})
			if err != nil {
				t.Fatal(err)
			}
			if mres.Spec.FirstID() != bres.Spec.NextID() {
				t.Fatalf("module starts at %d, base ends at %d", mres.Spec.FirstID(), bres.Spec.NextID())
			}
			checkKept(t, mod, mres)
			if _, err := check.Split(mres.Spec.Encode(), cb); err != nil {
				t.Fatal(err)
			}
			if err := mres.Spec.CheckBaseFit(); err != nil {
				t.Fatal(err)
			}
			// Now drop a module FUNC too.
			mfn := btf.TypeID(0)
			for i := range mod.Types {
				if mod.Types[i].Kind() == btf.KindFunc {
					mfn = mod.FirstID() + btf.TypeID(i)
					break
				}
			}
			m2, err := Remove(mod, []btf.TypeID{mfn}, Options{NewBase: bres.Spec, BaseMap: bres.Map})
			if err != nil {
				t.Fatal(err)
			}
			checkKept(t, mod, m2)
			if _, err := check.Split(m2.Spec.Encode(), cb); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestBaseStringCopied makes the module name a type like a removed base FUNC:
// the new base lost that string, so the module must carry it.
func TestBaseStringCopied(t *testing.T) {
	base := btftest.Load(t, "../../../testdata/x86_64/gcc/base.btf", nil)
	mod := btftest.Load(t, "../../../testdata/x86_64/gcc/module.btf", base)
	id := funcID(t, base, "packed_first")
	nameOff := base.Types[id-1].NameOff
	// A FWD in the module whose name is the base's "packed_first".
	mod.Types = append(mod.Types, btf.Type{NameOff: nameOff, Info: uint32(btf.KindFwd) << 24})
	bres, err := Remove(base, []btf.TypeID{id}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := StringIndex(bres.Spec)["packed_first"]; ok {
		t.Fatal("the new base still has the removed FUNC's name")
	}
	mres, err := Rebase(mod, Options{NewBase: bres.Spec, BaseMap: bres.Map})
	if err != nil {
		t.Fatal(err)
	}
	last := &mres.Spec.Types[len(mres.Spec.Types)-1]
	if name := mres.Spec.Name(last); name != "packed_first" || last.NameOff < mres.Spec.StrBase() {
		t.Fatalf("name %q at %d (split strings start at %d)", name, last.NameOff, mres.Spec.StrBase())
	}
	checkKept(t, mod, mres)
}
