package dedup

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/btffilter/btffilter/filter/btf"
	"github.com/btffilter/btffilter/filter/btf/btftest"
	"github.com/btffilter/btffilter/filter/internal/check"
	"github.com/btffilter/btffilter/scripts/kernels"
)

// kernelBTF returns the decoded .BTF of a real kernel's vmlinux.
func kernelBTF(t testing.TB, tag string) (*kernels.Kernel, *btf.Spec) {
	t.Helper()
	k, err := kernels.Load(tag)
	if err != nil {
		t.Fatalf("%v (run scripts/fetch-kernels.sh)", err)
	}
	return k, btftest.Load(t, k.Vmlinux, nil)
}

func TestVmlinuxTwice(t *testing.T) {
	if testing.Short() {
		t.Skip("real kernels are not read in -short mode")
	}
	for _, tag := range []string{"6.1-amd64", "7.2-amd64"} {
		t.Run(tag, func(t *testing.T) {
			_, v := kernelBTF(t, tag)
			both, err := Concat(v, v)
			if err != nil {
				t.Fatal(err)
			}
			merged := compareWithLibbpf(t, both)
			t.Logf("%d types, %d merged", len(both.Types), merged)
		})
	}
}

// someModules returns n modules of a kernel, spread over the sorted list so
// that the choice is stable.
func someModules(t testing.TB, k *kernels.Kernel, n int) []string {
	t.Helper()
	mods, err := k.ModuleFiles()
	if err != nil {
		t.Fatal(err)
	}
	if len(mods) < n {
		t.Fatalf("%s: only %d modules", k.Tag, len(mods))
	}
	step := len(mods) / n
	out := make([]string, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, mods[i*step+step/2])
	}
	return out
}

// TestModulesStandalone compares with libbpf on modules made standalone
// (their split BTF with the base types they use copied in), one by one and
// 16 concatenated.
func TestModulesStandalone(t *testing.T) {
	if testing.Short() {
		t.Skip("real kernels are not read in -short mode")
	}
	withDups := 0
	for _, tag := range []string{"6.1-amd64", "7.2-amd64"} {
		k, v := kernelBTF(t, tag)
		var alone []*btf.Spec
		for _, path := range someModules(t, k, 16) {
			m := btftest.Load(t, path, v)
			s, err := Standalone(m)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			alone = append(alone, s)
			t.Run(tag+"/"+filepath.Base(path), func(t *testing.T) {
				merged := compareWithLibbpf(t, s)
				if merged > 0 {
					withDups++
				}
				t.Logf("%d types, %d merged", len(s.Types), merged)
			})
		}
		t.Run(tag+"/16-modules", func(t *testing.T) {
			all, err := Concat(alone...)
			if err != nil {
				t.Fatal(err)
			}
			merged := compareWithLibbpf(t, all)
			if merged == 0 {
				t.Fatal("nothing merged in 16 concatenated modules")
			}
			t.Logf("%d types, %d merged", len(all.Types), merged)
		})
	}
	// Most 6.1 modules were deduplicated against their base already; the
	// 7.2 ones repeat base typedefs (docs/facts.md §10).
	if withDups < 16 {
		t.Errorf("only %d of 32 standalone modules had duplicates", withDups)
	}
	t.Logf("%d of 32 standalone modules had duplicates", withDups)
}

// sortedByName reports whether s lists its anonymous types first, then
// the named ones by name (docs/facts.md §6).
func sortedByName(s *btf.Spec) bool {
	prev, named := "", false
	for i := range s.Types {
		n := s.Name(&s.Types[i])
		if n == "" {
			if named {
				return false
			}
			continue
		}
		if named && n < prev {
			return false
		}
		prev, named = n, true
	}
	return true
}

// TestVmlinuxFacts checks the figures of docs/facts.md §10: the shipped 7.2
// vmlinux holds 17 identical FUNC_PROTOs and stays sorted, and vmlinux
// concatenated with itself dedups to vmlinux plus the second copy's VARs
// and DATASECs.
func TestVmlinuxFacts(t *testing.T) {
	if testing.Short() {
		t.Skip("real kernels are not read in -short mode")
	}
	_, v := kernelBTF(t, "7.2-amd64")
	once, err := Dedup(v, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Types) != 118487 || len(once.Spec.Types) != 118470 {
		t.Errorf("7.2 vmlinux: %d types dedup to %d, want 118487 to 118470", len(v.Types), len(once.Spec.Types))
	}
	for i := range v.Types {
		n, _ := once.Map.Lookup(v.FirstID() + btf.TypeID(i))
		if n != v.FirstID()+btf.TypeID(i) && v.Types[i].Kind() != btf.KindFuncProto {
			old := v.Types[i]
			if nt, _ := once.Spec.Type(n); nt == nil || nt.Kind() != old.Kind() {
				t.Errorf("type [%d] %v merged into a different kind", i+1, old.Kind())
			}
		}
	}
	if !sortedByName(v) || !sortedByName(once.Spec) {
		t.Errorf("sorted input %v, sorted output %v", sortedByName(v), sortedByName(once.Spec))
	}
	checkOutput(t, v, once, nil, true)

	both, err := Concat(v, v)
	if err != nil {
		t.Fatal(err)
	}
	twice, err := Dedup(both, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sameInPlace(t, both.Encode(), nil, Options{}, twice)
	vars := 0
	for i := range v.Types {
		if k := v.Types[i].Kind(); k == btf.KindVar || k == btf.KindDatasec {
			vars++
		}
	}
	if len(twice.Spec.Types) != len(once.Spec.Types)+vars {
		t.Errorf("vmlinux twice dedups to %d types, want %d + %d VARs and DATASECs", len(twice.Spec.Types), len(once.Spec.Types), vars)
	}
	t.Logf("7.2: %d -> %d types; twice: %d -> %d (%d VAR/DATASEC kept twice)", len(v.Types), len(once.Spec.Types), len(both.Types), len(twice.Spec.Types), vars)
}

// shape describes t with each referenced type replaced by its kind and
// name, so that a reference to a split TYPEDEF and one to an equal base
// TYPEDEF read the same.
func shape(s *btf.Spec, t *btf.Type) string {
	c := t.Clone()
	var refs []string
	c.VisitTypeIDs(func(p *uint32) {
		r, err := s.Type(btf.TypeID(*p))
		switch {
		case err != nil:
			refs = append(refs, err.Error())
		case r == nil:
			refs = append(refs, "void")
		default:
			refs = append(refs, r.Kind().String()+" "+s.Name(r))
		}
		*p = 0
	})
	return describe(s, &c) + " -> " + strings.Join(refs, ", ")
}

// TestSplitModules dedups 7.2 modules' split BTF on their base with both
// implementations. libbpf 1.7 misses base TYPEDEFs (docs/facts.md §10), so it may
// keep more: every type we keep must be in its output, and what it keeps
// beyond ours is listed by kind.
func TestSplitModules(t *testing.T) {
	if testing.Short() {
		t.Skip("real kernels are not read in -short mode")
	}
	k, v := kernelBTF(t, "7.2-amd64")
	base, err := check.Blob(v.Encode())
	if err != nil {
		t.Fatal(err)
	}
	prepared, err := NewBase(base.Spec)
	if err != nil {
		t.Fatal(err)
	}
	rawBase := base.Spec.Encode()
	extra := map[string]int{}
	for _, path := range someModules(t, k, 4) {
		m := btftest.Load(t, path, base.Spec)
		res, err := Dedup(m, Options{Base: prepared})
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		checkOutput(t, m, res, base, true)
		sameInPlace(t, m.Encode(), base.Spec, Options{Base: prepared}, res)
		theirsRaw, _ := libbpfDedup(t, m.Encode(), rawBase)
		theirs, err := btf.Decode(theirsRaw, base.Spec)
		if err != nil {
			t.Fatalf("libbpf's output for %s: %v", path, err)
		}
		have := map[string]int{}
		for i := range theirs.Types {
			have[shape(theirs, &theirs.Types[i])]++
		}
		for i := range res.Spec.Types {
			sh := shape(res.Spec, &res.Spec.Types[i])
			if have[sh] == 0 {
				t.Errorf("%s: type [%d] is not in libbpf's output: %s", path, res.Spec.FirstID()+btf.TypeID(i), sh)
				continue
			}
			have[sh]--
		}
		for sh, n := range have {
			if n > 0 {
				extra[strings.Fields(sh)[0]] += n
			}
		}
		t.Logf("%s: %d split types; ours %d, libbpf %d", filepath.Base(path), len(m.Types), len(res.Spec.Types), len(theirs.Types))
	}
	t.Logf("libbpf keeps beyond ours, by kind: %v", extra)
}
