// Command bench measures whole processes: the wall time and peak RSS of a
// command from its start to its exit, against a reference measured in the
// same invocation, the sides alternating run by run so that a machine that
// slows down or speeds up meanwhile affects them alike. It prints every
// run's figures, the median of each side and their ratio.
//
//	go run ./scripts/bench [-bin PATH] [-runs 5] [-module-runs 3]
//	    [-only vmlinux,modules,dedup,growth] [-modules N] [-plot FILE]
//	    [-tags 6.1-amd64,7.2-amd64]
//
// measures btffilter (PATH, or ./cmd/btffilter of this work tree built into
// a temporary directory) against the reference tools, on the real Debian
// kernels of docs/testing.md (scripts/fetch-kernels.sh):
//
//   - vmlinux: btffilter -n on each kernel's vmlinux, and btffilter
//     rewriting a fresh copy of it in place (and one on a loop-mounted XFS,
//     where the rewrite clones), against pahole 1.32 re-encoding the same
//     file (-J -j2 --btf_features=default, detached);
//   - modules: one btffilter -n --jobs 2 run over the first kernel's vmlinux
//     and its debug module tree, against pahole 1.32 encoding each module on
//     that vmlinux, two processes at a time;
//   - dedup: btffilter --dedup-only against libbpf's btf__dedup
//     (scripts/dedup-oracle) on each vmlinux's .BTF twice over and on 16
//     modules made standalone and concatenated, the outputs compared byte
//     for byte;
//   - growth: btffilter -n on modules spread over the size range (with -B
//     the first kernel's vmlinux) and on each vmlinux alone, with
//     least-squares lines of wall time and peak RSS against input size,
//     drawn into a PNG.
//
// pahole and libbpf run in the Debian sid chroot of scripts/sid-chroot.sh
// (created when missing; root). A summary table ends the output: each ratio
// with the target it is held against, PASS or MISS.
//
//	go run ./scripts/bench -old OLD -new NEW [-runs N] [-tags TAGS]
//
// compares two btffilter binaries (OLD, the reference; NEW) on the -n run
// of each kernel's vmlinux.
//
//	go run ./scripts/bench -trees [-bin PATH | -new PATH] [-tags TAGS]
//
// runs btffilter once over each kernel's vmlinux and whole unstripped module
// tree (-n, default rules), and over the stripped, signed module tree of
// the image package with --debuginfo and -B, and prints what each run did
// (files, failures, removals per rule) with its wall time and peak RSS.
package main

import (
	"context"
	"debug/buildinfo"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
)

// sections are the parts of the default mode, in the order they run.
var sections = []string{"vmlinux", "modules", "dedup", "growth"}

func main() {
	bin := flag.String("bin", "", "the btffilter binary to measure (default: build ./cmd/btffilter of this work tree)")
	oldBin := flag.String("old", "", "with -new: the reference btffilter binary")
	newBin := flag.String("new", "", "with -old: the btffilter binary measured against it; with -trees: the binary to run")
	runs := flag.Int("runs", 5, "runs of each side (a median of 5 at least is what the figures are held to)")
	moduleRuns := flag.Int("module-runs", 3, "runs of each side of the module tree, which takes the longest")
	only := flag.String("only", strings.Join(sections, ","), "sections to run: "+strings.Join(sections, ","))
	modules := flag.Int("modules", 0, "measure only this many debug modules in the modules section, evenly spread (0: all)")
	plotPath := flag.String("plot", filepath.Join(os.TempDir(), "btffilter-growth.png"), "where the growth section draws its PNG")
	tags := flag.String("tags", "6.1-amd64,7.2-amd64", "kernels whose vmlinux is measured; the first one's modules are")
	trees := flag.Bool("trees", false, "run btffilter over whole module trees (see the package comment)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, `usage: go run ./scripts/bench [-bin PATH] [-runs N] [-module-runs N] [-only LIST] [-modules N] [-plot FILE] [-tags TAGS]
       go run ./scripts/bench -old OLD -new NEW [-runs N] [-tags TAGS]
       go run ./scripts/bench -trees [-bin PATH | -new PATH] [-tags TAGS]`)
		flag.PrintDefaults()
	}
	flag.Parse()
	usage := func(msg string) {
		fmt.Fprintln(os.Stderr, "bench:", msg)
		flag.Usage()
		os.Exit(2)
	}
	if flag.NArg() > 0 {
		usage("unexpected arguments: " + strings.Join(flag.Args(), " "))
	}
	if *runs < 1 || *moduleRuns < 1 || *modules < 0 {
		usage("-runs and -module-runs must be at least 1, -modules not negative")
	}
	var selected []string
	for _, s := range strings.Split(*only, ",") {
		if !slices.Contains(sections, s) {
			usage(fmt.Sprintf("-only: unknown section %q", s))
		}
		selected = append(selected, s)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	b := &bench{
		runs: *runs, moduleRuns: *moduleRuns, modules: *modules,
		tags: strings.Split(*tags, ","), plot: *plotPath, out: os.Stdout,
	}
	var err error
	switch {
	case *oldBin != "" || *newBin != "" && !*trees:
		if *oldBin == "" || *newBin == "" || *trees || *bin != "" {
			usage("-old and -new go together, without -bin or -trees")
		}
		err = b.start(ctx, "", func() error {
			fmt.Fprintf(b.out, "%s of each side, alternating; medians\n", runsText(b.runs))
			return b.compareBuilds(*oldBin, *newBin)
		})
	case *trees:
		if *bin != "" && *newBin != "" {
			usage("-trees takes -bin or -new, not both")
		}
		err = b.start(ctx, *bin+*newBin, func() error { return treeRuns(b.bin, b.tags) })
	default:
		err = b.start(ctx, *bin, func() error { return b.measureAll(selected) })
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// bench is one invocation: where it works and what it found.
type bench struct {
	root       string // the repository's top directory
	bin        string // the btffilter measured
	built      bool   // bin was built from root by this invocation
	work       string // temporary directory, removed at the end
	runs       int
	moduleRuns int
	modules    int
	tags       []string
	plot       string
	out        io.Writer

	r       runner
	ch      chroot
	wrapper sample // the chroot wrapper alone
	rows    []row
	growth  string // the growth section's line for the summary
}

// start sets up the repository, the work directory and the binary (bin, or
// one built from the work tree when empty), runs f and removes the work
// directory, also when f fails or the run is interrupted.
func (b *bench) start(ctx context.Context, bin string, f func() error) error {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("go env GOMOD: %w", err)
	}
	g := strings.TrimSpace(string(gomod))
	if g == "" || g == os.DevNull {
		return errors.New("run from within the btffilter module (go run ./scripts/bench)")
	}
	b.root = filepath.Dir(g)
	b.work, err = os.MkdirTemp("", "btffilter-bench.")
	if err != nil {
		return err
	}
	defer os.RemoveAll(b.work)
	b.r = runner{ctx: ctx, errFile: filepath.Join(b.work, "stderr")}
	b.ch = newChroot(b.root)
	b.bin = bin
	if b.bin == "" {
		b.bin = filepath.Join(b.work, "btffilter")
		b.built = true
		if err := b.goBuild(b.bin, "./cmd/btffilter"); err != nil {
			return err
		}
	} else if b.bin, err = filepath.Abs(b.bin); err != nil {
		return err
	}
	err = f()
	switch {
	case ctx.Err() != nil && err != nil:
		return fmt.Errorf("interrupted (%w)", err)
	case ctx.Err() != nil:
		return errors.New("interrupted after the last figure")
	}
	return err
}

// goBuild builds package pkg of the repository into out.
func (b *bench) goBuild(out, pkg string) error {
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = b.root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s: %w", pkg, err)
	}
	return nil
}

// measureAll runs the selected sections and prints the summary.
func (b *bench) measureAll(selected []string) error {
	has := func(s string) bool { return slices.Contains(selected, s) }
	pahole := has("vmlinux") || has("modules")
	if pahole || has("dedup") {
		if err := b.ch.ensure(); err != nil {
			return err
		}
	}
	if err := b.printVersions(pahole, has("dedup")); err != nil {
		return err
	}
	fmt.Fprintf(b.out, "load before: %s\n", loadavg())
	if pahole {
		var err error
		if b.wrapper, err = b.ch.wrapperAlone(b.r); err != nil {
			return err
		}
		fmt.Fprintf(b.out, "chroot wrapper alone (sid-chroot.sh run true, median of 3): %.2f s, at most %.0f MiB; its time is in every pahole figure, not subtracted\n", b.wrapper.seconds(), b.wrapper.rssMiB())
	}
	for _, s := range sections {
		if !has(s) {
			continue
		}
		var err error
		switch s {
		case "vmlinux":
			err = b.vmlinuxSection()
		case "modules":
			err = b.modulesSection()
		case "dedup":
			err = b.dedupSection()
		case "growth":
			err = b.growthSection()
		}
		if err != nil {
			return err
		}
	}
	fmt.Fprintf(b.out, "\nload after: %s\n", loadavg())
	b.printSummary()
	return nil
}

// printVersions says what is measured: the machine, the toolchain, the
// binary and the reference tools.
func (b *bench) printVersions(pahole, libbpf bool) error {
	release, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	fmt.Fprintf(b.out, "machine: %d CPUs, Linux %s\n", runtime.NumCPU(), strings.TrimSpace(string(release)))
	fmt.Fprintf(b.out, "go: %s\n", runtime.Version())
	desc := b.bin
	if bi, err := buildinfo.ReadFile(b.bin); err == nil {
		desc += " (" + bi.GoVersion + ")"
	}
	if b.built {
		desc += ", built from " + b.root + " at " + gitRevision(b.root)
	}
	fmt.Fprintf(b.out, "btffilter: %s\n", desc)
	var env []string
	for _, v := range []string{"GOGC", "GOMEMLIMIT", "GOMAXPROCS"} {
		if s, ok := os.LookupEnv(v); ok {
			env = append(env, v+"="+s)
		}
	}
	if len(env) > 0 {
		fmt.Fprintf(b.out, "environment: %s\n", strings.Join(env, " "))
	}
	if pahole {
		v, err := b.ch.output("pahole", "--version")
		if err != nil {
			return err
		}
		fmt.Fprintf(b.out, "pahole: %s (sid chroot)\n", v)
	}
	if libbpf {
		v, err := b.ch.output("dpkg-query", "-W", "-f=${Version}", "libbpf-dev")
		if err != nil {
			return err
		}
		fmt.Fprintf(b.out, "libbpf: libbpf-dev %s (sid chroot), linked statically into dedup-oracle\n", v)
	}
	return nil
}

// gitRevision names the commit of the work tree at root, and says when the
// tree differs from it.
func gitRevision(root string) string {
	rev, err := exec.Command("git", "-C", root, "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "an unknown revision"
	}
	s := "commit " + strings.TrimSpace(string(rev))
	if st, err := exec.Command("git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
		s += " with uncommitted changes"
	}
	return s
}

// loadavg returns the first three fields of /proc/loadavg.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return strings.TrimSpace(string(b))
	}
	return strings.Join(f[:3], " ") + " (1, 5, 15 min)"
}

func (b *bench) section(format string, args ...any) {
	fmt.Fprintf(b.out, "\n== "+format+"\n", args...)
}

// commands prints each job's command line; a list of modules is shortened
// to its first few.
func (b *bench) commands(jobs []job) {
	const shown = 20
	for _, j := range jobs {
		argv := j.argv
		more := ""
		if len(argv) > shown {
			more = fmt.Sprintf(" ... (%d more arguments)", len(argv)-shown)
			argv = argv[:shown]
		}
		words := make([]string, len(argv))
		for i, a := range argv {
			words[i] = shellWord(a)
		}
		fmt.Fprintf(b.out, "  %s: %s%s\n", j.name, strings.Join(words, " "), more)
	}
}

// shellWord spells a as a shell would need it, so that a printed command
// line can be run again.
func shellWord(a string) string {
	if a != "" && strings.IndexFunc(a, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=,:+@%", r))
	}) < 0 {
		return a
	}
	if strings.ContainsFunc(a, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		// $'...' is the quoting of bash that spells control characters.
		var w strings.Builder
		w.WriteString("$'")
		for _, r := range a {
			switch {
			case r == '\n':
				w.WriteString(`\n`)
			case r == '\t':
				w.WriteString(`\t`)
			case r == '\'' || r == '\\':
				w.WriteByte('\\')
				w.WriteRune(r)
			case r < ' ' || r == 0x7f:
				fmt.Fprintf(&w, `\x%02x`, r)
			default:
				w.WriteRune(r)
			}
		}
		w.WriteByte('\'')
		return w.String()
	}
	return "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
}

func (b *bench) progress(run int, j job, s sample) {
	fmt.Fprintf(b.out, "  run %-4d %-40s %s\n", run+1, j.name, s)
}

func (b *bench) medians(jobs []job, meds []sample) {
	for i, j := range jobs {
		fmt.Fprintf(b.out, "  median   %-40s %s\n", j.name, meds[i])
	}
}

func runsText(n int) string {
	if n == 1 {
		return "1 run"
	}
	return fmt.Sprintf("%d runs", n)
}

// row is one line of the summary: a figure of btffilter against the
// reference's, and the target their ratio is held to (0: none).
type row struct {
	work      string
	runs      int
	unit      string
	ours, ref float64
	refName   string
	target    float64
}

func (b *bench) printSummary() {
	if len(b.rows) == 0 && b.growth == "" {
		return
	}
	fmt.Fprintln(b.out, "\n== summary (medians; ratio = btffilter / reference)")
	if len(b.rows) == 0 {
		fmt.Fprintln(b.out, b.growth)
		return
	}
	w := tabwriter.NewWriter(b.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "work\truns\tbtffilter\treference\tratio\ttarget\tverdict")
	for _, r := range b.rows {
		ratio := r.ours / r.ref
		target, verdict := "-", ""
		if r.target > 0 {
			target = fmt.Sprintf("<= %.2fx", r.target)
			verdict = "MISS"
			if ratio <= r.target {
				verdict = "PASS"
			}
		}
		fmt.Fprintf(w, "%s\t%d\t%s\t%s %s\t%.2fx\t%s\t%s\n", r.work, r.runs, figure(r.ours, r.unit), r.refName, figure(r.ref, r.unit), ratio, target, verdict)
	}
	w.Flush()
	if b.growth != "" {
		fmt.Fprintln(b.out, b.growth)
	}
}

func figure(v float64, unit string) string {
	if unit == "s" {
		return fmt.Sprintf("%.2f s", v)
	}
	return fmt.Sprintf("%.0f %s", v, unit)
}
