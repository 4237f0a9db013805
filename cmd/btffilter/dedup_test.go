package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/btffilter/btffilter/filter/btf/btftest"
)

// TestDedupOnlyRealVmlinux: the shipped 7.2 vmlinux holds 17 identical
// FUNC_PROTOs (docs/facts.md §10); --dedup-only merges them, and the result stays
// sorted and is idempotent.
func TestDedupOnlyRealVmlinux(t *testing.T) {
	k := realKernel(t, "7.2-amd64")
	out := filepath.Join(t.TempDir(), "vmlinux")
	f := jsonReport(t, "--dedup-only", "-o", out, k.Vmlinux).Files[0]
	if f.TypesBefore != 118487 || f.TypesAfter != 118470 || f.Merged != 17 || len(f.Removed) != 0 || !f.Written {
		t.Fatalf("report: %+v", f)
	}
	if !sorted(btftest.Load(t, out, nil)) {
		t.Fatal("output is not sorted")
	}
	checkOnlyBTFChanged(t, k.Vmlinux, out)
	if g := jsonReport(t, "--dedup-only", out).Files[0]; g.Merged != 0 || g.Written {
		t.Fatalf("second run: %+v", g)
	}
}

// TestDedupOnlyFixtures: modules deduplicated against their base in the same
// run; the base has nothing to merge.
func TestDedupOnlyFixtures(t *testing.T) {
	dir := t.TempDir()
	vml := copyFile(t, fixtureBase, dir)
	mod := copyFile(t, fixtureModule, dir)
	rep := jsonReport(t, "--dedup-only", vml, mod)
	if rep.Files[0].Merged != 0 || rep.Files[0].Written {
		t.Errorf("vmlinux-like: %+v", rep.Files[0])
	}
	// Whatever the module merges, it must still load against the base.
	funcNames(t, mod, btftest.Load(t, vml, nil))
	t.Logf("module: %d -> %d types, %d merged", rep.Files[1].TypesBefore, rep.Files[1].TypesAfter, rep.Files[1].Merged)
}

func TestDedupOnlyExcludesRemoval(t *testing.T) {
	for _, args := range [][]string{{"--drop", "x"}, {"--rules", "abi"}} {
		_, stderr, code := runCLI(t, append(append([]string{"--dedup-only"}, args...), fixtureModule)...)
		if code != 2 || !strings.Contains(stderr, "cannot be combined") {
			t.Errorf("%v: exit %d: %s", args, code, stderr)
		}
	}
}
