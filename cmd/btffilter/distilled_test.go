package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/btffilter/btffilter/elfio"
	"github.com/btffilter/btffilter/filter"
)

const fixtureDistilled = "../../testdata/modules/module-distilled.ko"

func sectionBytes(t *testing.T, path, name string) []byte {
	t.Helper()
	f, err := elfio.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.SectionData(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDistilledModule: a module that carries its distilled base is judged
// and rewritten on it without -B; its .BTF.base stays as it was; --check
// predicts its relocation onto a vmlinux.
func TestDistilledModule(t *testing.T) {
	rep := jsonReport(t, "-n", fixtureDistilled)
	if f := rep.Files[0]; f.Error != "" || f.Base != "its own distilled base (.BTF.base)" {
		t.Fatalf("without -B: error %q, base %q", f.Error, f.Base)
	}
	rep = jsonReport(t, "-n", "-B", fixtureBase, fixtureDistilled)
	if b := rep.Files[0].Base; !strings.Contains(b, "distilled") || !strings.Contains(b, fixtureBase+" is the kernel it relocates onto") {
		t.Fatalf("with -B: base %q", b)
	}

	out := filepath.Join(t.TempDir(), "out.ko")
	rep = jsonReport(t, "--drop", "mod_flush", "-o", out, fixtureDistilled)
	if f := rep.Files[0]; !f.Written || len(f.Removed) != 1 {
		t.Fatalf("--drop mod_flush: written %v, removed %v", f.Written, f.Removed)
	}
	if !bytes.Equal(sectionBytes(t, out, ".BTF.base"), sectionBytes(t, fixtureDistilled, ".BTF.base")) {
		t.Error(".BTF.base changed: removing a module function never needs to")
	}
	for _, tc := range []struct {
		name, file, base, want string
		code                   int
	}{
		{"the original, on its kernel", fixtureDistilled, fixtureBase, ": ok", 0},
		{"the rewritten module, on its kernel", out, fixtureBase, ": ok", 0},
		// The 32-bit arm build of the fixture kernel: its long is 4
		// bytes, so the distilled long relocates nowhere.
		{"on a kernel whose long has another size", out, "../../testdata/arm/gcc/base.o", `refused: relocation onto ../../testdata/arm/gcc/base.o: btf: type [`, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runCLI(t, "--check", "-B", tc.base, tc.file)
			if code != tc.code || !strings.Contains(stdout, tc.want) {
				t.Fatalf("exit %d, want %d and %q:\n%s%s", code, tc.code, tc.want, stdout, stderr)
			}
		})
	}
}

// TestDistilledBaseCorrupt: a .BTF.base that does not decode is one error
// naming the section; the file keeps its bytes.
func TestDistilledBaseCorrupt(t *testing.T) {
	dir := t.TempDir()
	p := copyFile(t, fixtureDistilled, dir)
	f, err := elfio.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	sec := f.Section(".BTF.base")
	data, _ := os.ReadFile(p)
	data[sec.Offset] ^= 0xff // the magic
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	expectFailure(t, p, "section .BTF.base: btf: at offset 0x0: bad magic", "--drop", "mod_flush")
}

// TestCheckPastRelease: a module of another release is refused for it,
// and its BTF is still checked on, as a forced load would have the kernel
// do (modprobe --force): the fit is reported after the release.
func TestCheckPastRelease(t *testing.T) {
	data, err := os.ReadFile(fixtureBase)
	if err != nil {
		t.Fatal(err)
	}
	other := bytes.Replace(data, []byte("Linux version 6.1.0-fixture-amd64 "), []byte("Linux version 6.1.0-fixturx-amd64 "), 1)
	if bytes.Equal(other, data) {
		t.Fatal("no linux_banner in the fixture")
	}
	base := filepath.Join(t.TempDir(), "vmlinux")
	if err := os.WriteFile(base, other, 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := runCLI(t, "--check", "-B", base, "../../testdata/modules/module.ko")
	if code != 1 || !strings.Contains(stdout, "refused: release: the module is for kernel 6.1.0-fixture-amd64") {
		t.Fatalf("exit %d:\n%s%s", code, stdout, stderr)
	}
	stdout, _, _ = runCLI(t, "-j", "--check", "-B", base, "../../testdata/modules/module.ko")
	var rep filter.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	a := rep.Files[0].Acceptance
	var names []string
	for _, c := range a.Checks {
		names = append(names, c.Name+"="+c.Result)
	}
	if len(a.Checks) < 4 || a.Checks[0].Name != "release" || a.Checks[0].Result == "ok" || a.Checks[2].Name != "fits its base" || a.Checks[2].Result != "ok" {
		t.Fatalf("checks %q", names)
	}
}
