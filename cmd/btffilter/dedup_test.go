package main

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/btffilter/btffilter/filter/btf"
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

// TestDedupOnlyInvalid: with --dedup-only the input's validation runs beside
// the deduplication's string pass; a blob it rejects fails as it does when
// it is validated before anything else, with the same message, and nothing
// is written, whether the deduplication would have failed too or not.
func TestDedupOnlyInvalid(t *testing.T) {
	dir := t.TempDir()
	for name, bad := range map[string]func(b *btftest.Builder){
		// The kernel refuses a named PTR; the deduplication would not.
		"named-ptr": func(b *btftest.Builder) {
			i := b.Add("int", btf.KindInt, 0, false, 4, 1<<24|32)
			b.Add("p", btf.KindPtr, 0, false, uint32(i))
		},
		// A struct member whose type is void: refused by both.
		"void-member": func(b *btftest.Builder) {
			b.Add("s", btf.KindStruct, 1, false, 4, b.Str("m"), 0, 0)
		},
	} {
		b := btftest.NewBuilder(binary.LittleEndian, nil)
		bad(b)
		in := filepath.Join(dir, name+".btf")
		if err := os.WriteFile(in, b.Spec.Encode(), 0o644); err != nil {
			t.Fatal(err)
		}
		_, want, code := runCLI(t, "-n", in)
		if code != 1 || !strings.Contains(want, "section .BTF") {
			t.Fatalf("%s: -n: exit %d: %s", name, code, want)
		}
		out := filepath.Join(dir, name+".out")
		_, got, code := runCLI(t, "--dedup-only", "-o", out, in)
		if code != 1 || got != want {
			t.Errorf("%s: --dedup-only: exit %d: %q, want %q", name, code, got, want)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("%s: --dedup-only wrote %s (%v)", name, out, err)
		}
	}
}
