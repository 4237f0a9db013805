package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/btffilter/btffilter/cmd/internal/cli"
	"github.com/btffilter/btffilter/filter"

	"github.com/google/shlex"
)

// asWrapper makes the test binary run as the wrapper: the tests start it as
// a child with this variable set, so that its exit status, its standard
// streams and its own executable are real.
const asWrapper = "BTFFILTER_PAHOLE_TEST_AS_WRAPPER"

func TestMain(m *testing.M) {
	if os.Getenv(asWrapper) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// fakePahole is a stand-in for pahole: it prints its arguments on stdout
// and stderr, and exits with $FAKE_STATUS. An encoding run (-J) copies
// $FAKE_ELF over the last argument; --btf_encode_detached=FILE copies
// $FAKE_RAW to FILE. --version prints $FAKE_VERSION.
const fakePahole = `#!/bin/sh
PATH=/usr/bin:/bin
printf 'stdout:'; printf ' [%s]' "$@"; printf '\n'
printf 'stderr:'; printf ' [%s]' "$@" >&2; printf '\n' >&2
last= det= enc=
for a in "$@"; do
	case $a in
	--version) printf '%s\n' "${FAKE_VERSION:-v1.99}"; exit "${FAKE_STATUS:-0}" ;;
	--btf_encode_detached=*) det=${a#*=} ;;
	-J) enc=1 ;;
	esac
	last=$a
done
if [ -n "$det" ] && [ -n "${FAKE_RAW:-}" ]; then cp "$FAKE_RAW" "$det" || exit 99; fi
if [ -z "$det" ] && [ -n "$enc" ] && [ -n "${FAKE_ELF:-}" ]; then cp "$FAKE_ELF" "$last" || exit 99; fi
exit "${FAKE_STATUS:-0}"
`

// fixture is the gcc-built base object of testdata: DWARF, .BTF, and two
// functions the default rules remove (docs/rules.md).
var (
	fixtureELF = filepath.Join("..", "..", "testdata", "x86_64", "gcc", "base.o")
	fixtureRaw = filepath.Join("..", "..", "testdata", "x86_64", "gcc", "base.btf")
)

// writeFake puts fakePahole as dir/pahole.
func writeFake(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "pahole")
	if err := os.WriteFile(p, []byte(fakePahole), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

type outcome struct {
	stdout, stderr string
	status         int
}

// runCmd runs cmd and returns what it printed and its exit status.
func runCmd(t *testing.T, cmd *exec.Cmd) outcome {
	t.Helper()
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	var ee *exec.ExitError
	status := 0
	switch {
	case errors.As(err, &ee):
		status = ee.ExitCode()
	case err != nil:
		t.Fatalf("run %v: %v", cmd.Args, err)
	}
	return outcome{so.String(), se.String(), status}
}

// wrapper runs the test binary as the wrapper with args and env (added to
// a minimal environment: PATH only as given).
func wrapper(t *testing.T, env []string, args ...string) outcome {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, args...)
	cmd.Env = append([]string{asWrapper + "=1", "PATH=/nonexistent"}, env...)
	return runCmd(t, cmd)
}

// direct runs the fake pahole itself with the same args and env.
func direct(t *testing.T, pahole string, env []string, args ...string) outcome {
	t.Helper()
	cmd := exec.Command(pahole, args...)
	cmd.Args[0] = pahole
	cmd.Env = append([]string{"PATH=/usr/bin:/bin"}, env...)
	return runCmd(t, cmd)
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestPassThrough: a run that encodes nothing is pahole's own: the same
// bytes on stdout and stderr and the same exit status as running pahole
// directly, even when BTFFILTER_FLAGS is unusable (the filter is not asked).
func TestPassThrough(t *testing.T) {
	dir := t.TempDir()
	pahole := writeFake(t, dir)
	tests := []struct {
		name string
		args []string
		env  []string
	}{
		{"version", []string{"--version"}, nil},
		{"version status", []string{"--version"}, []string{"FAKE_STATUS=3", "FAKE_VERSION=v1.32"}},
		{"version beats -J", []string{"-J", "--version", "x.o"}, nil},
		{"query", []string{"-C", "task_struct", "vmlinux"}, nil},
		{"query failing", []string{"--sizes", "vmlinux"}, []string{"FAKE_STATUS=7"}},
		{"supported features", []string{"--supported_btf_features"}, nil},
		{"no arguments", nil, []string{"FAKE_STATUS=1"}},
		{"refused command line", []string{"--btf_enc", "x.o"}, []string{"FAKE_STATUS=64"}},
		{"after --", []string{"--", "-J"}, nil},
		{"bad flags ignored", []string{"--version"}, []string{"BTFFILTER_FLAGS=--rules foo 'unterminated"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := append([]string{"BTFFILTER_PAHOLE=" + pahole}, tt.env...)
			want := direct(t, pahole, env, tt.args...)
			got := wrapper(t, env, tt.args...)
			if got != want {
				t.Fatalf("wrapper %q:\n got %+v\nwant %+v", tt.args, got, want)
			}
			if !strings.HasPrefix(got.stdout, "stdout:") {
				t.Fatalf("the fake pahole did not run: %+v", got)
			}
		})
	}
}

// TestEncodeFilters: an encoding run filters what pahole wrote, in place
// (-J) or the detached raw file judged with the DWARF of the ELF pahole read,
// and the result is what the library makes of the same file; pahole's own
// output passes through, and the report is on stderr.
func TestEncodeFilters(t *testing.T) {
	dir := t.TempDir()
	pahole := writeFake(t, dir)
	tests := []struct {
		name     string
		args     func(d string) []string
		env      []string
		out      string // the file filtered, relative to the test's dir
		byHand   func(d string) filter.Options
		verbose  bool
		wantLine string
	}{
		{
			name: "in place",
			args: func(d string) []string {
				return []string{"-J", "--btf_gen_floats", "-j", "--lang_exclude=rust", filepath.Join(d, "vmlinux")}
			},
			env:      []string{"FAKE_ELF=" + fixtureELF},
			out:      "vmlinux",
			byHand:   func(string) filter.Options { return filter.Options{} },
			wantLine: "vmlinux x86_64: 108 -> 104 types",
		},
		{
			name: "detached",
			args: func(d string) []string {
				return []string{"-J", "-j2", "--btf_features=encode_force,var", "--btf_encode_detached=" + filepath.Join(d, "elf.BTF.1"), filepath.Join(d, "elf")}
			},
			env:      []string{"FAKE_RAW=" + fixtureRaw, "BTFFILTER_FLAGS=-v --rules default"},
			out:      "elf.BTF.1",
			byHand:   func(d string) filter.Options { return filter.Options{DebugInfo: filepath.Join(d, "elf")} },
			verbose:  true,
			wantLine: "raw : 108 -> 104 types",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := t.TempDir()
			// The ELF pahole reads: for -J the fake replaces it with the
			// fixture, for the detached run it is the fixture.
			copyFile(t, fixtureELF, filepath.Join(d, "elf"))
			copyFile(t, fixtureELF, filepath.Join(d, "vmlinux"))
			env := append([]string{"BTFFILTER_PAHOLE=" + pahole}, tt.env...)
			got := wrapper(t, env, tt.args(d)...)
			if got.status != 0 {
				t.Fatalf("wrapper: %+v", got)
			}
			if want := direct(t, pahole, nil, tt.args(t.TempDir())...).stdout; !strings.HasPrefix(got.stdout, "stdout:") || strings.Count(got.stdout, "\n") != strings.Count(want, "\n") {
				t.Errorf("pahole's stdout did not pass through: %q", got.stdout)
			}
			out := filepath.Join(d, tt.out)
			if !strings.Contains(got.stderr, prefix+out+": "+tt.wantLine) {
				t.Errorf("no summary line for %s in:\n%s", out, got.stderr)
			}
			// By hand: the fixture as pahole would have left it, then
			// the library with the same options.
			hand := filepath.Join(t.TempDir(), tt.out)
			src := fixtureELF
			if tt.out != "vmlinux" {
				src = fixtureRaw
			}
			copyFile(t, src, hand)
			rep, err := filter.Run(context.Background(), []string{hand}, tt.byHand(d))
			if err != nil || rep.Failed() {
				t.Fatalf("by hand: %v %+v", err, rep)
			}
			if !bytes.Equal(readFile(t, out), readFile(t, hand)) {
				t.Errorf("%s differs from the library's result on the same input", out)
			}
			var removed []string
			for _, r := range rep.Files[0].Removed {
				removed = append(removed, prefix+out+": "+cli.RemovedLine(r))
			}
			if len(removed) == 0 {
				t.Fatal("the fixture lost no function: the test proves nothing")
			}
			for _, l := range removed {
				if strings.Contains(got.stderr, l) != tt.verbose {
					t.Errorf("verbose %v, line %q present %v", tt.verbose, l, !tt.verbose)
				}
			}
		})
	}
}

// TestFailures: a pahole failure is passed on and nothing is filtered; a
// filter failure is one line and an exit status of 1, with pahole's output
// left as pahole wrote it; a bad BTFFILTER_FLAGS stops the run before
// pahole, with one line and status 2.
func TestFailures(t *testing.T) {
	dir := t.TempDir()
	pahole := writeFake(t, dir)
	tests := []struct {
		name       string
		env        []string
		content    string // the target file before the run ("" = the fixture)
		wantStatus int
		wantLine   string // the one line on stderr after pahole's own
		paholeRan  bool
	}{
		{"pahole fails", []string{"FAKE_STATUS=5", "FAKE_ELF=" + fixtureELF}, "", 5, "", true},
		{"not an ELF", nil, "not an object\n", 1, "", true},
		{"bad rule", []string{"BTFFILTER_FLAGS=--rules foo"}, "", 2, prefix + `BTFFILTER_FLAGS: --rules: unknown rule "foo"`, false},
		{"unterminated quote", []string{"BTFFILTER_FLAGS=--keep 'bpf_*"}, "", 2, prefix + "BTFFILTER_FLAGS: ", false},
		{"a file name", []string{"BTFFILTER_FLAGS=-v vmlinux"}, "", 2, prefix + `BTFFILTER_FLAGS: "vmlinux": no file names here`, false},
		{"output", []string{"BTFFILTER_FLAGS=-o x"}, "", 2, prefix + "BTFFILTER_FLAGS: --output: pahole's command line says", false},
		{"base", []string{"BTFFILTER_FLAGS=--btf_base vmlinux"}, "", 2, prefix + "BTFFILTER_FLAGS: --btf_base: pahole's command line says", false},
		{"json", []string{"BTFFILTER_FLAGS=--json"}, "", 2, prefix + "BTFFILTER_FLAGS: --json: the wrapper reports in text", false},
		{"unknown flag", []string{"BTFFILTER_FLAGS=--frobnicate"}, "", 2, prefix + "BTFFILTER_FLAGS: unknown flag: --frobnicate", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := t.TempDir()
			target := filepath.Join(d, "m.ko")
			if tt.content == "" {
				copyFile(t, fixtureELF, target)
			} else if err := os.WriteFile(target, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			before := readFile(t, target)
			if tt.name == "pahole fails" {
				// What pahole wrote before failing stays as it wrote it.
				before = readFile(t, fixtureELF)
			}
			env := append([]string{"BTFFILTER_PAHOLE=" + pahole}, tt.env...)
			got := wrapper(t, env, "-J", target)
			if got.status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %+v", got.status, tt.wantStatus, got)
			}
			if ran := strings.HasPrefix(got.stdout, "stdout:"); ran != tt.paholeRan {
				t.Fatalf("pahole ran: %v, want %v", ran, tt.paholeRan)
			}
			if !bytes.Equal(readFile(t, target), before) {
				t.Errorf("%s changed", target)
			}
			var own []string
			for _, l := range strings.Split(strings.TrimSuffix(got.stderr, "\n"), "\n") {
				if strings.HasPrefix(l, prefix) {
					own = append(own, l)
				}
			}
			switch {
			case tt.name == "pahole fails":
				if len(own) != 0 {
					t.Errorf("the wrapper spoke after a pahole failure: %q", own)
				}
			case len(own) != 1:
				t.Errorf("want one line of the wrapper, got %q", own)
			case tt.wantLine != "" && !strings.HasPrefix(own[0], tt.wantLine):
				t.Errorf("line %q, want it to start with %q", own[0], tt.wantLine)
			case tt.wantLine == "" && !strings.Contains(own[0], target):
				t.Errorf("line %q does not name %s", own[0], target)
			}
		})
	}
}

// TestFindPahole: without BTFFILTER_PAHOLE the real pahole is the first on
// PATH that is not the wrapper itself (here a symlink to it comes first);
// BTFFILTER_PAHOLE naming the wrapper, or no pahole at all, is an error.
func TestFindPahole(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	selfDir, realDir, emptyDir := t.TempDir(), t.TempDir(), t.TempDir()
	if err := os.Symlink(self, filepath.Join(selfDir, "pahole")); err != nil {
		t.Fatal(err)
	}
	writeFake(t, realDir)
	// Not executable: skipped like a missing file.
	if err := os.WriteFile(filepath.Join(emptyDir, "pahole"), []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		env        []string
		wantStatus int
		want       string // in stdout (the fake ran) or in stderr
	}{
		{"skips itself", []string{"PATH=" + strings.Join([]string{emptyDir, selfDir, realDir}, ":")}, 0, "v1.99"},
		{"variable wins", []string{"PATH=" + selfDir, "BTFFILTER_PAHOLE=" + filepath.Join(realDir, "pahole")}, 0, "v1.99"},
		{"variable names the wrapper", []string{"BTFFILTER_PAHOLE=" + filepath.Join(selfDir, "pahole")}, 1, "is this wrapper, not pahole"},
		{"only itself", []string{"PATH=" + selfDir + ":" + emptyDir}, 1, "no pahole on PATH other than this wrapper"},
		{"missing variable target", []string{"BTFFILTER_PAHOLE=" + filepath.Join(emptyDir, "nothing")}, 1, "BTFFILTER_PAHOLE="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := wrapper(t, tt.env, "--version")
			if got.status != tt.wantStatus || !strings.Contains(got.stdout+got.stderr, tt.want) {
				t.Fatalf("got %+v, want status %d and %q", got, tt.wantStatus, tt.want)
			}
			if tt.wantStatus != 0 && strings.Count(got.stderr, "\n") != 1 {
				t.Fatalf("want one line on stderr, got %q", got.stderr)
			}
		})
	}
}

// TestRecursion: a copy of the wrapper found as pahole stops with one line
// instead of running itself again and again.
func TestRecursion(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	copyFile(t, self, filepath.Join(dir, "pahole"))
	if err := os.Chmod(filepath.Join(dir, "pahole"), 0o755); err != nil {
		t.Fatal(err)
	}
	// The copy runs as the wrapper too: it is the test binary, and the
	// variable that makes it one reaches it.
	got := wrapper(t, []string{"PATH=" + dir, asWrapper + "=1"}, "--version")
	if got.status != 1 || !strings.Contains(got.stderr, "is btffilter-pahole again") {
		t.Fatalf("got %+v", got)
	}
}

// TestParseCall reads the command lines the kernel's build scripts use, and
// the corners of pahole's option syntax.
func TestParseCall(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want call
		err  string
	}{
		{"6.1 vmlinux", []string{"-J", "--btf_gen_floats", "-j", "--lang_exclude=rust", ".tmp_vmlinux.btf"},
			call{encode: true, files: []string{".tmp_vmlinux.btf"}}, ""},
		{"6.1 module, pahole 1.32 flags", []string{"-J", "--btf_gen_floats", "-j", "--lang_exclude=rust", "--skip_encoding_btf_inconsistent_proto", "--btf_gen_optimized", "--btf_base", "vmlinux", "drivers/net/dummy.ko"},
			call{encode: true, base: "vmlinux", files: []string{"drivers/net/dummy.ko"}}, ""},
		{"7.2 vmlinux", []string{"-J", "-j2", "--btf_features=encode_force,var,float", "--btf_features=attributes", "--lang_exclude=rust", "--btf_encode_detached=.tmp_vmlinux1.BTF.1", ".tmp_vmlinux1"},
			call{encode: true, detached: ".tmp_vmlinux1.BTF.1", files: []string{".tmp_vmlinux1"}}, ""},
		{"7.2 module", []string{"-J", "-j2", "--btf_base", "/o/vmlinux", "--btf_encode_detached=m.ko.BTF.1", "m.ko"},
			call{encode: true, detached: "m.ko.BTF.1", base: "/o/vmlinux", files: []string{"m.ko"}}, ""},
		{"detached alone", []string{"--btf_encode_detached", "out.btf", "in.o"},
			call{encode: true, detached: "out.btf", files: []string{"in.o"}}, ""},
		{"long form and abbreviation", []string{"--btf_encode", "--btf_ba=base", "x.o"},
			call{encode: true, base: "base", files: []string{"x.o"}}, ""},
		{"cluster", []string{"-Jj4", "x.o"}, call{encode: true, files: []string{"x.o"}}, ""},
		{"jobs takes no next word", []string{"-J", "-j", "x.o"}, call{encode: true, files: []string{"x.o"}}, ""},
		{"attached argument", []string{"-Ctask_struct", "-J", "x.o"}, call{encode: true, files: []string{"x.o"}}, ""},
		{"argument next word", []string{"-C", "-J", "x.o"}, call{files: []string{"x.o"}}, ""},
		{"version", []string{"--version"}, call{}, ""},
		{"version with -J", []string{"-J", "--version", "x.o"}, call{files: []string{"x.o"}}, ""},
		{"help short", []string{"-J?"}, call{}, ""},
		{"query", []string{"-C", "sk_buff", "vmlinux"}, call{files: []string{"vmlinux"}}, ""},
		{"ctf is not btf", []string{"-Z", "x.o"}, call{files: []string{"x.o"}}, ""},
		{"end of options", []string{"--", "-J"}, call{files: []string{"-J"}}, ""},
		{"unknown long option", []string{"-J", "--btf_new_thing", "x.o"}, call{encode: true, files: []string{"x.o"}}, ""},
		{"ambiguous", []string{"--btf_enc", "x.o"}, call{}, "ambiguous"},
		{"missing argument", []string{"-J", "--btf_base"}, call{}, "needs an argument"},
		{"flag with value", []string{"--btf_encode=yes", "x.o"}, call{}, "takes no argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseCall(tt.args)
			switch {
			case tt.err != "":
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
			case err != nil:
				t.Fatal(err)
			case !reflect.DeepEqual(got, tt.want):
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestFilterFlags: BTFFILTER_FLAGS is split as a shell splits words and
// read with btffilter's flags.
func TestFilterFlags(t *testing.T) {
	tests := []struct {
		value   string
		verbose bool
		opts    filter.Options
		err     string
	}{
		{"", false, filter.Options{}, ""},
		{"-v", true, filter.Options{}, ""},
		{`--rules default -v --keep 'bpf_*'`, true, filter.Options{Judging: filter.Judging{Rules: "default", Keep: []string{"bpf_*"}}}, ""},
		{`--drop "a b" --drop c\ d -n`, false, filter.Options{Judging: filter.Judging{Drop: []string{"a b", "c d"}}, DryRun: true}, ""},
		{"--kernel 6.1 --rules -signature", false, filter.Options{Judging: filter.Judging{Kernel: "6.1", Rules: "-signature"}}, ""},
		{"--kernel six", false, filter.Options{}, "--kernel"},
		{"--debuginfo /usr/lib/debug", false, filter.Options{}, "--debuginfo: pahole's command line says"},
		{"-B vmlinux", false, filter.Options{}, "--base-btf: pahole's command line says"},
		{"--help", false, filter.Options{}, "--help"},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			f, err := filterFlags(tt.value)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			f.Options.Jobs = 0
			if f.Verbose != tt.verbose || !reflect.DeepEqual(f.Options, tt.opts) {
				t.Fatalf("got verbose %v %+v, want %v %+v", f.Verbose, f.Options, tt.verbose, tt.opts)
			}
		})
	}
}

// TestDocFlags: the BTFFILTER_FLAGS example of docs/kbuild.md is accepted,
// and means what the text says: -v, and bpf_* never removed.
func TestDocFlags(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "kbuild.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(doc), "<!-- snippet: flags -->\n```\n")
	if !ok {
		t.Fatal("docs/kbuild.md has no flags snippet")
	}
	line, _, _ := strings.Cut(block, "\n")
	words, err := shlex.Split(line)
	if err != nil || len(words) == 0 {
		t.Fatalf("%q: %v", line, err)
	}
	value, ok := strings.CutPrefix(words[0], "BTFFILTER_FLAGS=")
	if !ok {
		t.Fatalf("%q does not set BTFFILTER_FLAGS first", line)
	}
	f, err := filterFlags(value)
	if err != nil {
		t.Fatalf("BTFFILTER_FLAGS=%s: %v", value, err)
	}
	if !f.Verbose || !reflect.DeepEqual(f.Options.Keep, []string{"bpf_*"}) {
		t.Fatalf("BTFFILTER_FLAGS=%s: verbose %v, keep %q", value, f.Verbose, f.Options.Keep)
	}
}
