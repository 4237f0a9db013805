package dedup

import (
	"fmt"
	"slices"
	"testing"

	"github.com/btffilter/btffilter/filter/btf"
	"github.com/btffilter/btffilter/filter/btf/btftest"
	"github.com/btffilter/btffilter/filter/internal/check"
	"github.com/btffilter/btffilter/filter/internal/prune"
)

// The removal and rebasing that compaction does besides merging
// (Options.Remove, Options.BaseMap), on the fixtures, whose BTF has no
// duplicates: every kept type must read the same, in the same order.

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

// sameType checks that nt (in nspec) is ot (in ospec) with every type ID
// mapped through m and every string equal by content.
func sameType(ospec *btf.Spec, ot *btf.Type, nspec *btf.Spec, nt *btf.Type, m *btf.IDMap) error {
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

// checkKept checks every type of old against the result, in order: the
// removed ones map to nothing, the others to dense new IDs, unchanged.
func checkKept(t *testing.T, old *btf.Spec, removed []btf.TypeID, res *Result) {
	t.Helper()
	if res.Merged != 0 {
		t.Fatalf("%d types merged in BTF without duplicates", res.Merged)
	}
	gone := map[btf.TypeID]bool{}
	for _, id := range removed {
		gone[id] = true
	}
	want := res.Spec.FirstID()
	for i := range old.Types {
		id := old.FirstID() + btf.TypeID(i)
		n, ok := res.Map.Lookup(id)
		if gone[id] {
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

func TestRemove(t *testing.T) {
	for _, dir := range []string{"x86_64/gcc", "x86_64/clang", "aarch64/gcc", "aarch64/clang"} {
		t.Run(dir, func(t *testing.T) {
			base := btftest.Load(t, "../../../testdata/"+dir+"/base.btf", nil)
			for _, funcs := range [][]string{
				{"queue_push"},
				{"queue_push", "queue_push_front", "queue_remove"},
				{"wide_middle", "packed_first"},
			} {
				var ids []btf.TypeID
				for _, f := range funcs {
					ids = append(ids, funcID(t, base, f))
				}
				removed, err := prune.Mark(base, ids, nil)
				if err != nil {
					t.Fatal(err)
				}
				res, err := Dedup(base, Options{Remove: removed})
				if err != nil {
					t.Fatal(err)
				}
				checkKept(t, base, removed, res)
				raw := res.Spec.Encode()
				if _, err := check.Blob(raw); err != nil {
					t.Fatalf("%v: %v", funcs, err)
				}
				if len(raw) >= len(base.Encode()) {
					t.Errorf("%v: output did not shrink", funcs)
				}
				for _, f := range funcs {
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

// TestRemoveReferenced: a kept type may not refer to a removed one; the
// error names both, by the input's IDs.
func TestRemoveReferenced(t *testing.T) {
	base := btftest.Load(t, "../../../testdata/x86_64/gcc/base.btf", nil)
	id := funcID(t, base, "wide_middle")
	proto := btf.TypeID(base.Types[id-1].SizeType)
	_, err := Dedup(base, Options{Remove: []btf.TypeID{proto}})
	want := fmt.Sprintf("dedup: kept type [%d] refers to removed type [%d]", id, proto)
	if err == nil || err.Error() != want {
		t.Fatalf("error %v, want %q", err, want)
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
			removed, err := prune.Mark(base, ids, nil)
			if err != nil {
				t.Fatal(err)
			}
			bres, err := Dedup(base, Options{Remove: removed})
			if err != nil {
				t.Fatal(err)
			}
			cb, err := check.Blob(bres.Spec.Encode())
			if err != nil {
				t.Fatal(err)
			}
			nb, err := NewBase(bres.Spec)
			if err != nil {
				t.Fatal(err)
			}
			mres, err := Dedup(mod, Options{Base: nb, BaseMap: bres.Map})
			if err != nil {
				t.Fatal(err)
			}
			if mres.Spec.Base != bres.Spec || mres.Spec.FirstID() != bres.Spec.NextID() {
				t.Fatalf("module starts at %d on %p, base ends at %d (%p)", mres.Spec.FirstID(), mres.Spec.Base, bres.Spec.NextID(), bres.Spec)
			}
			checkKept(t, mod, nil, mres)
			if _, err := check.Split(mres.Spec.Encode(), cb); err != nil {
				t.Fatal(err)
			}
			if err := mres.Spec.CheckBaseFit(); err != nil {
				t.Fatal(err)
			}
			// Now drop a module FUNC too, in the same step.
			var mfn btf.TypeID
			for i := range mod.Types {
				if mod.Types[i].Kind() == btf.KindFunc {
					mfn = mod.FirstID() + btf.TypeID(i)
					break
				}
			}
			mremoved, err := prune.Mark(mod, []btf.TypeID{mfn}, nil)
			if err != nil {
				t.Fatal(err)
			}
			m2, err := Dedup(mod, Options{Base: nb, BaseMap: bres.Map, Remove: mremoved})
			if err != nil {
				t.Fatal(err)
			}
			checkKept(t, mod, mremoved, m2)
			if _, err := check.Split(m2.Spec.Encode(), cb); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestBaseStringCopied makes the module name a type like a removed base
// FUNC: the new base lost that string, so the module must carry it.
func TestBaseStringCopied(t *testing.T) {
	base := btftest.Load(t, "../../../testdata/x86_64/gcc/base.btf", nil)
	mod := btftest.Load(t, "../../../testdata/x86_64/gcc/module.btf", base)
	id := funcID(t, base, "packed_first")
	nameOff := base.Types[id-1].NameOff
	// A FWD in the module whose name is the base's "packed_first".
	mod.Types = append(mod.Types, btf.Type{NameOff: nameOff, Info: uint32(btf.KindFwd) << 24})
	removed, err := prune.Mark(base, []btf.TypeID{id}, nil)
	if err != nil {
		t.Fatal(err)
	}
	bres, err := Dedup(base, Options{Remove: removed})
	if err != nil {
		t.Fatal(err)
	}
	nb, err := NewBase(bres.Spec)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := nb.findString([]byte("packed_first")); ok {
		t.Fatal("the new base still has the removed FUNC's name")
	}
	mres, err := Dedup(mod, Options{Base: nb, BaseMap: bres.Map})
	if err != nil {
		t.Fatal(err)
	}
	last := &mres.Spec.Types[len(mres.Spec.Types)-1]
	if name := mres.Spec.Name(last); name != "packed_first" || last.NameOff < mres.Spec.StrBase() {
		t.Fatalf("name %q at %d (split strings start at %d)", name, last.NameOff, mres.Spec.StrBase())
	}
	checkKept(t, mod, nil, mres)
}

// TestAdoptRemovedBaseType: a module's function pointer names a base
// FUNC_PROTO that only a removed base FUNC used, so the new base drops it.
// Moving the module onto the new base adopts a copy of the prototype: the
// module grows by that one type, its pointer points at the copy, and the
// result loads on the new base.
func TestAdoptRemovedBaseType(t *testing.T) {
	base := btftest.Load(t, "../../../testdata/x86_64/gcc/base.btf", nil)
	mod := btftest.Load(t, "../../../testdata/x86_64/gcc/module.btf", base)
	fn := funcID(t, base, "wide_middle")
	proto := btf.TypeID(base.Types[fn-1].SizeType)
	removed, err := prune.Mark(base, []btf.TypeID{fn}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(removed, proto) {
		t.Fatalf("wide_middle's prototype [%d] is used elsewhere in the fixture; the test needs one only it uses", proto)
	}
	ptr := mod.NextID()
	mod.Types = append(mod.Types, btf.Type{Info: uint32(btf.KindPtr) << 24, SizeType: uint32(proto)})
	bres, err := Dedup(base, Options{Remove: removed})
	if err != nil {
		t.Fatal(err)
	}
	cb, err := check.Blob(bres.Spec.Encode())
	if err != nil {
		t.Fatal(err)
	}
	nb, err := NewBase(bres.Spec)
	if err != nil {
		t.Fatal(err)
	}
	mres, err := Dedup(mod, Options{Base: nb, BaseMap: bres.Map})
	if err != nil {
		t.Fatal(err)
	}
	if mres.Adopted != 1 || len(mres.Spec.Types) != len(mod.Types)+1 {
		t.Fatalf("adopted %d, %d types from %d; want 1 adopted and one type more", mres.Adopted, len(mres.Spec.Types), len(mod.Types))
	}
	if _, err := check.Split(mres.Spec.Encode(), cb); err != nil {
		t.Fatal(err)
	}
	np, ok := mres.Map.Lookup(ptr)
	if !ok {
		t.Fatal("the pointer is gone")
	}
	pt, _ := mres.Spec.Type(np)
	copyID := btf.TypeID(pt.SizeType)
	ct, err := mres.Spec.Type(copyID)
	if err != nil || ct.Kind() != btf.KindFuncProto || copyID < mres.Spec.FirstID() {
		t.Fatalf("the pointer points at [%d] %v (%v), want the module's copy of the prototype", copyID, ct, err)
	}
	// The copy reads as the old prototype: same return and parameters,
	// each mapped onto the new base.
	old := base.Types[proto-1]
	if err := sameType(base, &old, mres.Spec, ct, bres.Map); err != nil {
		t.Fatalf("the copy differs from the base's prototype: %v", err)
	}
}
