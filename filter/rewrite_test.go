package filter

import (
	"testing"

	"github.com/btffilter/btffilter/filter/btf"
	"github.com/btffilter/btffilter/filter/btf/btftest"
	"github.com/btffilter/btffilter/filter/internal/check"
	"github.com/btffilter/btffilter/filter/internal/dedup"
)

// TestRewriteTypesComposesMaps removes a FUNC from a base and rebases its
// module onto the result: every old ID that survives maps to a type of the
// same kind and name, and the outputs pass the output checks.
func TestRewriteTypesComposesMaps(t *testing.T) {
	base := btftest.Load(t, "../testdata/x86_64/clang/base.btf", nil)
	mod := btftest.Load(t, "../testdata/x86_64/clang/module.btf", base)
	var fn btf.TypeID
	for i := range base.Types {
		if base.Types[i].Kind() == btf.KindFunc && base.Name(&base.Types[i]) == "queue_push" {
			fn = base.FirstID() + btf.TypeID(i)
		}
	}
	br, err := rewriteTypes(base, []btf.TypeID{fn}, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := check.Blob(br.spec.Encode())
	if err != nil {
		t.Fatal(err)
	}
	db, err := dedup.NewBase(br.spec)
	if err != nil {
		t.Fatal(err)
	}
	mr, err := rewriteTypes(mod, nil, nil, db, br.idMap)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := check.Split(mr.spec.Encode(), cb); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		old, new *btf.Spec
		m        *btf.IDMap
	}{{base, br.spec, br.idMap}, {mod, mr.spec, mr.idMap}} {
		kept := 0
		for id := btf.TypeID(1); id < c.old.NextID(); id++ {
			n, ok := c.m.Lookup(id)
			if !ok {
				continue
			}
			kept++
			ot, _ := c.old.Type(id)
			nt, err := c.new.Type(n)
			if err != nil || nt.Kind() != ot.Kind() || c.new.Name(nt) != c.old.Name(ot) {
				t.Fatalf("type %d %v %q maps to %d: %v", id, ot.Kind(), c.old.Name(ot), n, err)
			}
		}
		if kept == 0 {
			t.Fatal("nothing kept")
		}
	}
	if len(br.removed) == 0 {
		t.Fatal("queue_push was not removed")
	}
}
