package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/btffilter/btffilter/elfio"
	"github.com/btffilter/btffilter/filter/btf"
	"github.com/btffilter/btffilter/filter/btf/btftest"
	"github.com/btffilter/btffilter/scripts/kernels"
)

// pickModules returns n module files of k spread over the sorted list, and
// for each the name of one FUNC of its own.
func pickModules(t *testing.T, k *kernels.Kernel, base *btf.Spec, n int) (files, funcs []string) {
	t.Helper()
	all, err := k.ModuleFiles()
	if err != nil {
		t.Fatal(err)
	}
	step := max(1, len(all)/n)
	for i := 0; i < len(all) && len(files) < n; i += step {
		f, err := elfio.Open(all[i])
		if err != nil {
			t.Fatal(err)
		}
		raw, err := f.BTF()
		if err != nil {
			t.Fatal(err)
		}
		s, err := btf.Decode(raw, base)
		if err != nil {
			t.Fatal(err)
		}
		for j := range s.Types {
			if s.Types[j].Kind() == btf.KindFunc {
				files = append(files, all[i])
				funcs = append(funcs, s.Name(&s.Types[j]))
				break
			}
		}
	}
	if len(files) < n {
		t.Fatalf("found %d modules with FUNCs, want %d", len(files), n)
	}
	return files, funcs
}

// TestDeterministicAndIdempotent runs a vmlinux and 50 of its modules through
// one run with --jobs 1 and with --jobs 2: the bytes must be identical; a
// second run over the output must change nothing.
func TestDeterministicAndIdempotent(t *testing.T) {
	k := realKernel(t, "6.1-amd64")
	base := btftest.Load(t, k.Vmlinux, nil)
	mods, funcs := pickModules(t, k, base, 50)
	args := []string{"--strip-signature", "--drop", "tcp_v4_connect"}
	for _, f := range funcs {
		args = append(args, "--drop", f)
	}
	dirs := map[string][]string{}
	for _, jobs := range []string{"1", "2"} {
		dir := t.TempDir()
		files := []string{copyAs(t, k.Vmlinux, dir, "vmlinux")}
		for _, m := range mods {
			files = append(files, copyModule(t, k, m, dir))
		}
		_, stderr, code := runCLI(t, append(append(append([]string{}, args...), "--jobs", jobs), files...)...)
		if code != 0 {
			t.Fatalf("--jobs %s: exit %d: %s", jobs, code, stderr)
		}
		dirs[jobs] = files
	}
	for i := range dirs["1"] {
		a, _ := os.ReadFile(dirs["1"][i])
		b, _ := os.ReadFile(dirs["2"][i])
		if !bytes.Equal(a, b) {
			t.Fatalf("%s differs between --jobs 1 and --jobs 2", filepath.Base(dirs["1"][i]))
		}
	}
	// Idempotence: nothing left to do, nothing rewritten.
	before := map[string]os.FileInfo{}
	for _, f := range dirs["1"] {
		st, _ := os.Stat(f)
		before[f] = st
	}
	stdout, stderr, code := runCLI(t, append(append([]string{}, args...), dirs["1"]...)...)
	if code != 0 {
		t.Fatalf("second run: exit %d: %s", code, stderr)
	}
	for _, f := range dirs["1"] {
		st, _ := os.Stat(f)
		if !st.ModTime().Equal(before[f].ModTime()) || st.Size() != before[f].Size() {
			t.Errorf("second run rewrote %s", f)
		}
	}
	if n := strings.Count(stdout, "unchanged, not rewritten"); n != len(dirs["1"]) {
		t.Errorf("second run: %d of %d files unchanged:\n%s", n, len(dirs["1"]), stdout)
	}
	t.Logf("vmlinux + %d modules: identical for --jobs 1 and 2; second run rewrote nothing", len(mods))
}
