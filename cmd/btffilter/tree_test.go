package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/creack/pty"
	flag "github.com/spf13/pflag"

	"github.com/btffilter/btffilter/filter"
)

// fixtureTree lays out, in a new directory, the fixture vmlinux and a
// module tree as /lib/modules/VER holds one: the fixture module plain and
// compressed three ways in subdirectories, and what a walk must pass over
// (a modules.dep, a build link out of the tree, a link to a module outside
// it). It returns the vmlinux and the tree.
func fixtureTree(t *testing.T) (vmlinux, tree string) {
	t.Helper()
	dir := t.TempDir()
	vmlinux = copyFile(t, fixtureBase, dir)
	tree = filepath.Join(dir, "lib", "modules", "6.1.0-fixture-amd64")
	for _, m := range []struct{ src, dst string }{
		{fixtureModule, "kernel/drivers/a/module.ko"},
		{fixtureModule + ".xz", "kernel/fs/b/module.ko.xz"},
		{fixtureModule + ".zst", "kernel/net/c/module.ko.zst"},
		{fixtureModule + ".gz", "kernel/net/d/module.ko.gz"},
	} {
		d := filepath.Join(tree, filepath.Dir(m.dst))
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		copyAs(t, m.src, d, filepath.Base(m.dst))
	}
	if err := os.WriteFile(filepath.Join(tree, "modules.dep"), []byte("kernel/drivers/a/module.ko:\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	outside := copyAs(t, fixtureModule, dir, "outside.ko")
	for link, target := range map[string]string{"build": "/", "kernel/outside.ko": outside} {
		if err := os.Symlink(target, filepath.Join(tree, link)); err != nil {
			t.Fatal(err)
		}
	}
	return vmlinux, tree
}

// treeHashes maps every regular file below dir (symbolic links aside) to
// its sha256.
func treeHashes(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	h := map[string][32]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		h[rel] = hashFile(t, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestTreeRun: a vmlinux and a module tree in one run give the same bytes
// as the same files listed one by one, for any --jobs; the walk passes over
// what is no module and follows no link; a second run changes nothing.
func TestTreeRun(t *testing.T) {
	drop := []string{"--drop", "queue_push_front", "--drop", "mod_flush"}
	var results []map[string][32]byte
	for _, tc := range []struct {
		name     string
		jobs     string
		explicit bool
	}{{"tree, 1 job", "1", false}, {"tree, 2 jobs", "2", false}, {"listed, 2 jobs", "2", true}} {
		vmlinux, tree := fixtureTree(t)
		args := append([]string{"-j", "--jobs", tc.jobs}, drop...)
		args = append(args, vmlinux)
		if tc.explicit {
			for _, m := range []string{"kernel/drivers/a/module.ko", "kernel/fs/b/module.ko.xz", "kernel/net/c/module.ko.zst", "kernel/net/d/module.ko.gz"} {
				args = append(args, filepath.Join(tree, m))
			}
		} else {
			args = append(args, tree)
		}
		rep := jsonReport(t, args...)
		s := rep.Summary
		wantIgnored := 3
		if tc.explicit {
			wantIgnored = 0
		}
		if s.Files != 5 || s.Changed != 5 || s.Written != 5 || s.Failed != 0 || s.Ignored != wantIgnored || s.Removed["drop"] != 5 {
			t.Errorf("%s: summary %+v, want 5 files changed and written, %d ignored, 5 dropped", tc.name, *s, wantIgnored)
		}
		got := treeHashes(t, filepath.Dir(vmlinux))
		results = append(results, got)
		if tc.explicit {
			continue
		}
		// A second run finds nothing to change.
		again := jsonReport(t, append(append([]string{"-j", "--jobs", tc.jobs}, drop...), vmlinux, tree)...)
		if again.Summary.Changed != 0 || again.Summary.Written != 0 {
			t.Errorf("%s: a second run changed %d files", tc.name, again.Summary.Changed)
		}
		if after := treeHashes(t, filepath.Dir(vmlinux)); !sameHashes(got, after) {
			t.Errorf("%s: a second run changed the files", tc.name)
		}
		if got["outside.ko"] != hashFile(t, fixtureModule) {
			t.Errorf("%s: the module outside the tree, reached through a link, was rewritten", tc.name)
		}
	}
	for i := 1; i < len(results); i++ {
		if !sameHashes(results[0], results[i]) {
			t.Errorf("run %d wrote other bytes than run 0:\n%v\n%v", i, results[0], results[i])
		}
	}
}

func sameHashes(a, b map[string][32]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestTreeNeedsBase: modules without their vmlinux or -B say what is
// missing.
func TestTreeNeedsBase(t *testing.T) {
	_, tree := fixtureTree(t)
	_, stderr, code := runCLI(t, "-n", tree)
	if code != 1 || strings.Count(stderr, "module BTF needs its base") != 4 {
		t.Fatalf("exit %d, want 1 and four modules needing their base:\n%s", code, stderr)
	}
}

// TestAllOrNothing: when one file of a run fails, at write time or when it
// is decoded, no file is replaced: the vmlinux and the modules that
// succeeded keep their bytes too, and each says why it was not written.
func TestAllOrNothing(t *testing.T) {
	for _, tc := range []struct {
		name   string
		module string
		spoil  func(t *testing.T, path string)
		want   string
	}{
		{"a read-only module", "kernel/fs/b/module.ko.xz", func(t *testing.T, p string) { os.Chmod(p, 0o444) }, "file is read-only"},
		{"a module that does not decode", "kernel/drivers/a/module.ko", func(t *testing.T, p string) {
			data, _ := os.ReadFile(p)
			os.WriteFile(p, data[:len(data)/2], 0o644)
		}, "malformed ELF"},
		{"a compressed module cut short", "kernel/net/c/module.ko.zst", func(t *testing.T, p string) {
			data, _ := os.ReadFile(p)
			os.WriteFile(p, data[:len(data)/2], 0o644)
		}, "zstd: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vmlinux, tree := fixtureTree(t)
			bad := filepath.Join(tree, tc.module)
			tc.spoil(t, bad)
			before := treeHashes(t, filepath.Dir(vmlinux))
			stdout, stderr, code := runCLI(t, "-j", "--drop", "queue_push_front", "--drop", "mod_flush", vmlinux, tree)
			if code != 1 || !strings.Contains(stderr, bad) || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, want 1 and an error naming %s (%s):\n%s", code, bad, tc.want, stderr)
			}
			if after := treeHashes(t, filepath.Dir(vmlinux)); !sameHashes(before, after) {
				t.Fatal("a file changed although the run failed")
			}
			// The four files that were not written share one warning,
			// said once with their count.
			if n := strings.Count(stderr, "not written: "+bad+" failed"); n != 1 || !strings.Contains(stderr, "(4 files; the report, --json, names them)") {
				t.Errorf("the shared warning is said %d times, or without its count:\n%s", n, stderr)
			}
			var rep filter.Report
			if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
				t.Fatal(err)
			}
			for _, f := range rep.Files {
				if f.Written {
					t.Errorf("%s reported written", f.Path)
				}
				if f.Error == "" && (len(f.Warnings) == 0 || !strings.Contains(f.Warnings[len(f.Warnings)-1], "not written: "+bad+" failed")) {
					t.Errorf("%s: warnings %q do not say why it was not written", f.Path, f.Warnings)
				}
			}
			if rep.Summary.Failed != 1 || rep.Summary.Written != 0 || rep.Summary.Changed != 4 {
				t.Errorf("summary %+v, want 1 failed, 4 changed, none written", *rep.Summary)
			}
			if entries, _ := filepath.Glob(filepath.Join(tree, "kernel/*/*/.*.tmp*")); len(entries) != 0 {
				t.Errorf("temporary files left: %v", entries)
			}
		})
	}
}

// TestProgressBar: on a terminal a multi-file run draws a progress bar on
// stderr; when stderr is a file, or with --json, it draws none.
func TestProgressBar(t *testing.T) {
	run := func(t *testing.T, stderr *os.File, args ...string) {
		t.Helper()
		vmlinux, tree := fixtureTree(t)
		var out strings.Builder
		code := run(append(append([]string{"-n", "--drop", "queue_push_front", "--jobs", "1"}, args...), vmlinux, tree), &out, stderr)
		if code != 0 {
			t.Fatalf("exit %d", code)
		}
	}
	read := func(t *testing.T, f *os.File) string {
		t.Helper()
		data, err := os.ReadFile(f.Name())
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	ptm, pts, err := pty.Open()
	if err != nil {
		t.Fatalf("open a pseudo-terminal: %v", err)
	}
	defer ptm.Close()
	got := make(chan string)
	go func() {
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := ptm.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		got <- b.String()
	}()
	run(t, pts)
	pts.Close()
	if s := <-got; !strings.Contains(s, "btffilter ") || !strings.Contains(s, "/5)") || !strings.Contains(s, "\r") {
		t.Errorf("on a terminal: no progress bar counting the 5 files on stderr:\n%q", s)
	}
	for _, args := range [][]string{nil, {"--json"}} {
		f, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
		if err != nil {
			t.Fatal(err)
		}
		run(t, f, args...)
		f.Close()
		if s := read(t, f); strings.Contains(s, "/5)") || strings.Contains(s, "\r") {
			t.Errorf("stderr is a file (%v): a progress bar was drawn:\n%q", args, s)
		}
	}
}

// TestSummaryTable: a run of several files ends with the table; its counts
// are the report's.
func TestSummaryTable(t *testing.T) {
	vmlinux, tree := fixtureTree(t)
	stdout, _, code := runCLI(t, "-n", "--drop", "queue_push_front", "--drop", "mod_flush", vmlinux, tree)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"processed", "to rewrite (dry run)", "functions removed by drop", "ignored in directories", "BTF bytes saved"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("the summary has no %q:\n%s", want, stdout)
		}
	}
}

// TestManPage: the manual page describes every flag --help lists, and man
// renders it.
func TestManPage(t *testing.T) {
	page, _, code := runCLI(t, "--man")
	if code != 0 {
		t.Fatalf("--man: exit %d", code)
	}
	fs := flags(&cli{}, os.Stderr)
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	sort.Strings(names)
	for _, n := range names {
		if !strings.Contains(page, `\fB\-\-`+roff(n)+`\fR`) {
			t.Errorf("--%s is in --help but not in the manual page", n)
		}
	}
	for _, sec := range []string{".SH EXIT STATUS", ".SH EXAMPLES", ".SH OPTIONS"} {
		if !strings.Contains(page, sec) {
			t.Errorf("the manual page has no %s", sec)
		}
	}
	man, err := exec.LookPath("man")
	if err != nil {
		t.Skip("man is not installed (scripts/setup.sh installs it): the page was checked, not rendered")
	}
	p := filepath.Join(t.TempDir(), "btffilter.1")
	if err := os.WriteFile(p, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(man, "-l", p)
	cmd.Env = append(os.Environ(), "MANPAGER=cat", "MANWIDTH=100", "LC_ALL=C.UTF-8")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "EXIT STATUS") || !strings.Contains(string(out), "--strip-signature") {
		t.Fatalf("man -l: %v\n%s", err, out)
	}
}
