// Command btffilter-pahole stands in for pahole in a kernel build
// (make PAHOLE=/path/to/btffilter-pahole; docs/kbuild.md). It runs the real
// pahole with exactly the arguments it got and, when that run encoded BTF,
// filters what pahole wrote with the filter library: the ELF files in place
// (-J), or the detached raw file (--btf_encode_detached=FILE) judged with the
// DWARF of the ELF pahole read, on the --btf_base file when there is one.
// Every other run (--version, queries) is pahole itself: the wrapper execs
// it. The filter's options come from BTFFILTER_FLAGS, never from pahole's
// arguments; the real pahole is $BTFFILTER_PAHOLE, or the first pahole on
// PATH that is not this program. It reports on stderr, one line per file.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/btffilter/btffilter/cmd/internal/cli"
	"github.com/btffilter/btffilter/filter"

	"github.com/google/shlex"
	flag "github.com/spf13/pflag"
)

// prefix starts every line the wrapper prints, so that a build log can be
// searched for them.
const prefix = "btffilter-pahole: "

// activeEnv is set for the pahole the wrapper runs.
const activeEnv = "BTFFILTER_PAHOLE_ACTIVE"

func main() {
	cli.SetMemoryLimit(os.Getenv)
	os.Exit(run(os.Args[1:], os.Getenv, os.Stderr))
}

// run is the whole command. It returns only for encoding runs and errors:
// every other run replaces the process with pahole.
func run(args []string, getenv func(string) string, stderr io.Writer) int {
	fail := func(status int, format string, a ...any) int {
		fmt.Fprintf(stderr, prefix+format+"\n", a...)
		return status
	}
	if getenv(activeEnv) != "" {
		// The pahole this wrapper ran is a wrapper again (a copy found on
		// PATH): stop instead of running itself forever.
		return fail(1, "the pahole it runs is btffilter-pahole again; set BTFFILTER_PAHOLE to the real pahole")
	}
	pahole, err := findPahole(getenv)
	if err != nil {
		return fail(1, "%v", err)
	}
	os.Setenv(activeEnv, "1")
	c, perr := parseCall(args)
	if perr != nil || !c.encode {
		// Nothing to filter, or a command line pahole refuses: pahole
		// answers, byte for byte, with its own exit status.
		err := syscall.Exec(pahole, append([]string{pahole}, args...), os.Environ())
		return fail(1, "exec %s: %v", pahole, err)
	}
	flags, err := filterFlags(getenv("BTFFILTER_FLAGS"))
	if err != nil {
		return fail(2, "BTFFILTER_FLAGS: %v", err)
	}
	if status := runPahole(pahole, args); status != 0 {
		return status
	}
	opts := flags.Options
	opts.BaseBTF = c.base
	paths := c.files
	if c.detached != "" {
		if len(c.files) != 1 {
			return fail(1, "%s: pahole read %d files; the DWARF a detached BTF file is judged with must be one", c.detached, len(c.files))
		}
		opts.DebugInfo = c.files[0]
		paths = []string{c.detached}
	}
	if len(paths) == 0 {
		return fail(1, "pahole encoded BTF, but its command line names no file")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := filter.Run(ctx, paths, opts)
	if err != nil {
		return fail(1, "%v", err)
	}
	for _, f := range rep.Files {
		if flags.Verbose {
			for _, r := range f.Removed {
				fmt.Fprintf(stderr, "%s%s: %s\n", prefix, f.Path, cli.RemovedLine(r))
			}
		}
		for _, w := range f.Warnings {
			fmt.Fprintf(stderr, "%s%s: warning: %s\n", prefix, f.Path, w)
		}
		if f.Error != "" {
			fmt.Fprintf(stderr, "%s%s\n", prefix, f.Error)
			continue
		}
		fmt.Fprintf(stderr, "%s%s\n", prefix, cli.SummaryLine(f, opts.DryRun))
	}
	if rep.Failed() {
		return 1
	}
	return 0
}

// findPahole returns the real pahole: $BTFFILTER_PAHOLE, else the first
// executable named pahole on PATH that is not this program (a build that
// puts the wrapper on PATH as pahole must not run itself).
func findPahole(getenv func(string) string) (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("cannot find this program's own file: %w", err)
	}
	selfInfo, err := os.Stat(self)
	if err != nil {
		return "", fmt.Errorf("cannot find this program's own file: %w", err)
	}
	isSelf := func(fi os.FileInfo) bool { return os.SameFile(fi, selfInfo) }
	if p := getenv("BTFFILTER_PAHOLE"); p != "" {
		path, err := exec.LookPath(p)
		if err != nil {
			return "", fmt.Errorf("BTFFILTER_PAHOLE=%s: %w", p, err)
		}
		if fi, err := os.Stat(path); err == nil && isSelf(fi) {
			return "", fmt.Errorf("BTFFILTER_PAHOLE=%s is this wrapper, not pahole", p)
		}
		return path, nil
	}
	for _, dir := range filepath.SplitList(getenv("PATH")) {
		if dir == "" {
			dir = "."
		}
		path := filepath.Join(dir, "pahole")
		fi, err := os.Stat(path)
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 || isSelf(fi) {
			continue
		}
		return path, nil
	}
	return "", errors.New("no pahole on PATH other than this wrapper; set BTFFILTER_PAHOLE to the real one")
}

// filterFlags parses BTFFILTER_FLAGS: words split as a shell would (quotes,
// backslashes), then btffilter's own flags. The flags that name files are
// pahole's to set (the files it encoded, --btf_base, the DWARF it read), and
// the report is text on stderr, so those are refused.
func filterFlags(value string) (*cli.Flags, error) {
	words, err := shlex.Split(value)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", value, err)
	}
	fs, flags := cli.NewFlagSet("BTFFILTER_FLAGS", io.Discard)
	if err := fs.Parse(words); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, errors.New("--help: see docs/kbuild.md for the flags it takes")
		}
		return nil, err
	}
	if err := flags.Finish(); err != nil {
		return nil, err
	}
	for _, name := range []string{"output", "base-btf", "btf_base", "debuginfo"} {
		if fs.Changed(name) {
			return nil, fmt.Errorf("--%s: pahole's command line says which files are filtered", name)
		}
	}
	if fs.Changed("json") {
		return nil, errors.New("--json: the wrapper reports in text, on stderr")
	}
	if fs.Changed("check") {
		return nil, errors.New("--check: the wrapper filters what pahole encoded; run btffilter --check on the built modules")
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("%q: no file names here; the files are those pahole encoded", fs.Arg(0))
	}
	// Refused now, before pahole runs, rather than after its work.
	if err := flags.Options.Judging.Check(); err != nil {
		return nil, err
	}
	return flags, nil
}

// runPahole runs pahole with args and the wrapper's own standard streams and
// returns its exit status; a pahole killed by a signal gives 128+signal, as
// a shell reports it.
func runPahole(pahole string, args []string) int {
	cmd := exec.Command(pahole, args...)
	cmd.Args[0] = pahole
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	fmt.Fprintf(os.Stderr, "%srun %s: %v\n", prefix, pahole, err)
	return 1
}
