package kbuild

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// installDir is where docs/kbuild.md installs the wrapper.
const installDir = "/usr/local/bin"

func snippet(t *testing.T, name string) string {
	t.Helper()
	s, err := Snippets()
	if err != nil {
		t.Fatal(err)
	}
	v, ok := s[name]
	if !ok {
		t.Fatalf("docs/kbuild.md has no snippet %q", name)
	}
	return v
}

// TestDocInstall runs the install snippet of docs/kbuild.md, into a scratch
// directory instead of /usr/local/bin, and runs what it built.
func TestDocInstall(t *testing.T) {
	dir := t.TempDir()
	cmdline := strings.ReplaceAll(snippet(t, "install"), installDir, dir)
	if out, err := exec.Command("sh", "-c", cmdline).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cmdline, err, out)
	}
	// pahole here is /bin/false: --version is its answer, status included.
	cmd := exec.Command(filepath.Join(dir, "btffilter-pahole"), "--version")
	cmd.Env = append(os.Environ(), "BTFFILTER_PAHOLE=/bin/false")
	got, err := cmd.CombinedOutput()
	want, werr := exec.Command("/bin/false", "--version").CombinedOutput()
	ee, ok := err.(*exec.ExitError)
	wee, wok := werr.(*exec.ExitError)
	if !ok || !wok || ee.ExitCode() != wee.ExitCode() || string(got) != string(want) {
		t.Fatalf("--version through /bin/false: %v %q, want %v %q", err, got, werr, want)
	}
}

// TestDocRelink: the command docs/kbuild.md gives for rerunning only the
// BTF steps of a built tree is the one scripts/build-kernel.sh runs before
// each variant.
func TestDocRelink(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	script, err := os.ReadFile(filepath.Join(root, "scripts", "build-kernel.sh"))
	if err != nil {
		t.Fatal(err)
	}
	want := snippet(t, "relink")
	if !strings.Contains(string(script), `(cd "$obj" && `+want+")") {
		t.Fatalf("scripts/build-kernel.sh does not run %q in the object tree", want)
	}
}

// TestDocReport: the sample report line has the form the wrapper prints
// (and WrapperReport reads).
func TestDocReport(t *testing.T) {
	l := snippet(t, "report")
	rest, ok := strings.CutPrefix(l, WrapperPrefix)
	if !ok || !summaryRE.MatchString(rest) {
		t.Fatalf("sample line %q is not a summary line", l)
	}
}

// docMake checks the make snippet against the make command lines a wrapper
// build ran (build.log's "## make" lines), -j and paths aside.
func docMake(t *testing.T, wrap *Variant) {
	data, err := os.ReadFile(wrap.Log)
	if err != nil {
		t.Fatal(err)
	}
	jobs := regexp.MustCompile(` -j[0-9]+`)
	var ran []string
	for _, l := range strings.Split(string(data), "\n") {
		c, ok := strings.CutPrefix(l, "## ")
		if !ok {
			continue
		}
		c = jobs.ReplaceAllString(c, "")
		c = regexp.MustCompile(`PAHOLE=\S+`).ReplaceAllString(c, "PAHOLE="+installDir+"/btffilter-pahole")
		c = regexp.MustCompile(`M=\S+`).ReplaceAllString(c, "M=/path/to/module")
		ran = append(ran, c)
	}
	if got, want := strings.Join(ran, "\n"), snippet(t, "make"); got != want {
		t.Fatalf("the build ran:\n%s\ndocs/kbuild.md says:\n%s", got, want)
	}
}

// docGrep runs the grep snippet on a wrapper build's log: it must find the
// wrapper's every line.
func docGrep(t *testing.T, wrap *Variant, want int) {
	cmd := exec.Command("sh", "-c", snippet(t, "grep"))
	cmd.Dir = wrap.Dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v", snippet(t, "grep"), err)
	}
	if n := strings.Count(string(out), "\n"); n != want || n == 0 {
		t.Fatalf("the snippet finds %d lines, the log has %d of the wrapper", n, want)
	}
}

// docMakeflags runs the MAKEFLAGS setting of the Debian snippet on a built
// tree: the kernel Makefile's PAHOLE must be the wrapper, as every make
// under debian/rules would see it.
func docMakeflags(t *testing.T, wrap *Variant) {
	s := snippet(t, "makeflags")
	assign, _, ok := strings.Cut(s, " ")
	if !ok || !strings.HasPrefix(assign, "MAKEFLAGS=") {
		t.Fatalf("makeflags snippet %q does not start with MAKEFLAGS=", s)
	}
	value := strings.Trim(strings.TrimPrefix(assign, "MAKEFLAGS="), "'")
	tree := wrap.Info["tree"]
	cmd := exec.Command("bash", sidChroot(t), "run", "env", "MAKEFLAGS="+value, "make", "-s", "--no-print-directory",
		"run-command", "KBUILD_RUN_COMMAND=echo $$PAHOLE")
	cmd.Dir = filepath.Join(tree, "obj")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make run-command with %s: %v\n%s", assign, err, out)
	}
	if got, want := strings.TrimSpace(string(out)), installDir+"/btffilter-pahole"; got != want {
		t.Fatalf("with %s the kernel's PAHOLE is %q, want %q", assign, got, want)
	}
}

// TestReadmeKbuild: the kernel-build commands of README.md are those of
// docs/kbuild.md, which the tests run.
func TestReadmeKbuild(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(data), "## In a kernel build\n")
	if !ok {
		t.Fatal("README.md has no section In a kernel build")
	}
	_, block, ok := strings.Cut(sec, "```\n")
	if !ok {
		t.Fatal("README.md, In a kernel build: no code block")
	}
	block, _, _ = strings.Cut(block, "```")
	known := map[string]bool{}
	for _, name := range []string{"install", "make"} {
		for _, l := range strings.Split(snippet(t, name), "\n") {
			known[l] = true
		}
	}
	for _, l := range strings.Split(strings.TrimSpace(block), "\n") {
		if !known[l] {
			t.Errorf("README.md: %q is no line of docs/kbuild.md's install or make snippets", l)
		}
	}
	for _, inline := range []string{snippet(t, "grep"), strings.SplitN(snippet(t, "makeflags"), " ", 2)[0]} {
		if !strings.Contains(sec, "`"+inline+"`") {
			t.Errorf("README.md does not quote %q as docs/kbuild.md does", inline)
		}
	}
}
