package filter

import (
	"testing"

	"github.com/btffilter/btffilter/filter/btf"
	"github.com/btffilter/btffilter/filter/btf/btftest"
	"github.com/btffilter/btffilter/filter/internal/check"
)

// TestRewriteOneMap removes a FUNC from a base and moves its module onto
// the result: every old ID that survives maps, through the one map of each
// rewrite, to a type of the same kind and name, and the outputs pass the
// output checks.
func TestRewriteOneMap(t *testing.T) {
	base := btftest.Load(t, "../testdata/x86_64/clang/base.btf", nil)
	mod := btftest.Load(t, "../testdata/x86_64/clang/module.btf", base)
	var fn btf.TypeID
	for i := range base.Types {
		if base.Types[i].Kind() == btf.KindFunc && base.Name(&base.Types[i]) == "queue_push" {
			fn = base.FirstID() + btf.TypeID(i)
		}
	}
	br, err := rewrite(base, []btf.TypeID{fn}, nil, nil, 0, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(br.removed) == 0 {
		t.Fatal("queue_push was not removed")
	}
	cb, err := check.Blob(br.spec.Encode())
	if err != nil {
		t.Fatal(err)
	}
	nb := newBase("base", "", base, &BlobResult{Changed: true, Spec: br.spec, IDMap: br.idMap, checked: cb})
	mr, err := rewrite(mod, nil, nb, nil, 0, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verify(mr.spec.Encode(), nb, true, false); err != nil {
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
}

// TestRewritePadding: a fixed-size .BTF keeps its size exactly, and one that
// would not fit is refused.
func TestRewritePadding(t *testing.T) {
	base := btftest.Load(t, "../testdata/x86_64/gcc/base.btf", nil)
	size := base.EncodedLen()
	var fn btf.TypeID
	for i := range base.Types {
		if base.Types[i].Kind() == btf.KindFunc {
			fn = base.FirstID() + btf.TypeID(i)
			break
		}
	}
	rw, err := rewrite(base, []btf.TypeID{fn}, nil, nil, size, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(rw.spec.Encode()); n != size {
		t.Fatalf("padded result is %d bytes, want %d", n, size)
	}
	if _, err := rewrite(base, nil, nil, nil, 8, false, nil); err == nil {
		t.Fatal("a result larger than its fixed size was accepted")
	}
}
