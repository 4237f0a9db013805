// Command btffilter removes from Linux kernel BTF the functions whose
// signature BTF cannot describe, and rewrites .BTF in place. The command
// line contract is docs/cli.md; `btffilter --man` prints the manual page.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"

	"github.com/btffilter/btffilter/filter"

	flag "github.com/spf13/pflag"
)

// defaultMemoryLimit is the soft heap limit when GOMEMLIMIT is not set. A
// vmlinux is read whole (about 590 MB) and Go's default GC target would let
// the heap grow to twice the live data; with this limit the whole 6.1
// vmlinux is judged within 1 GB peak RSS, at the cost of more GC cycles.
const defaultMemoryLimit = 800 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// cli is the command line: the filter's options and how to report.
type cli struct {
	opts    filter.Options
	btfBase string
	jsonOut bool
	verbose bool
	man     bool
}

// examples end --help and make the manual page's EXAMPLES section.
var examples = []struct{ what, cmd string }{
	{"Filter a vmlinux in place with the default rules, then its modules against it in the same run:",
		"btffilter /boot/vmlinux-$(uname -r) /lib/modules/$(uname -r)"},
	{"A stripped, signed module tree, its DWARF taken from the unpacked -dbg package:",
		"btffilter --strip-signature --debuginfo linux-image-dbg/ -B vmlinux lib/modules/VER/"},
	{"One prebuilt module, judged against the running kernel's BTF, without writing:",
		"btffilter -n -v -B /sys/kernel/btf/vmlinux mymodule.ko"},
}

func flags(c *cli, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("btffilter", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.SortFlags = false
	o := &c.opts
	fs.StringVarP(&o.Output, "output", "o", "", "write the result to `PATH` instead of rewriting FILE in place (one FILE)")
	fs.StringVarP(&o.BaseBTF, "base-btf", "B", "", "base BTF of split (module) BTF when no vmlinux is in the run: `PATH` of a vmlinux ELF, or of a raw blob such as /sys/kernel/btf/vmlinux")
	fs.StringVar(&c.btfBase, "btf_base", "", "the same as --base-btf `PATH`, spelt as pahole spells it")
	fs.StringVar(&o.DebugInfo, "debuginfo", "", "DWARF from a separate debug file, or from a debug root searched by build-id and module path (/usr/lib/debug, an unpacked -dbg package): `PATH`")
	fs.StringVar(&o.Arch, "arch", "", "architecture `NAME` of inputs that do not say (raw BTF): x86_64, arm64, riscv64, s390x, ppc64, ... and their Debian and GNU spellings; may not contradict a file's")
	fs.StringVar(&o.Kernel, "kernel", "", "kernel `RELEASE` whose trampoline the abi rule models, for inputs that do not say (default: every model of the architecture)")
	fs.StringVar(&o.Rules, "rules", "", "judging rules: `LIST` of abi, signature, consistent, ambiguous; default; none; +rule/-rule adjust the default (default: all, or none when --drop is given)")
	fs.StringArrayVar(&o.Drop, "drop", nil, "remove functions matching `GLOB` (repeatable)")
	fs.StringArrayVar(&o.Keep, "keep", nil, "never remove functions matching `GLOB` (repeatable)")
	fs.BoolVarP(&o.DryRun, "dry-run", "n", false, "decide and check everything, write nothing")
	fs.BoolVarP(&c.jsonOut, "json", "j", false, "print the machine report (JSON) on stdout")
	fs.BoolVarP(&c.verbose, "verbose", "v", false, "print one line per removed function, as pahole does")
	fs.IntVar(&o.Jobs, "jobs", runtime.GOMAXPROCS(0), "files worked on at once; the output is the same for any `N`")
	fs.BoolVar(&o.StripSignature, "strip-signature", false, "allow rewriting signed modules, dropping their signature")
	fs.BoolVar(&o.Sync, "fsync", false, "make every rewritten file durable (fsync it and its directory) before exiting, as for an installed tree; without it, the file system writes back in its own time (the replacement is atomic either way)")
	fs.BoolVar(&o.DedupOnly, "dedup-only", false, "only deduplicate the type graph (no rules, no DWARF)")
	fs.BoolVar(&o.Check, "check", false, "predict, for each module, whether the kernel will accept its BTF at load time against its base; write nothing (exit 1 when one would be refused)")
	fs.BoolVar(&c.man, "man", false, "print the manual page (roff) and exit")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: btffilter [flags] FILE|DIR...")
		fs.PrintDefaults()
		fmt.Fprintln(stderr, "\nexamples:")
		for _, e := range examples {
			fmt.Fprintf(stderr, "  %s\n    %s\n", e.what, e.cmd)
		}
	}
	return fs
}

func run(args []string, stdout, stderr io.Writer) int {
	c := &cli{}
	fs := flags(c, stderr)
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		fmt.Fprintf(stderr, "btffilter: %v (see btffilter --help)\n", err)
		return 2
	}
	if c.man {
		writeMan(stdout, fs)
		return 0
	}
	if c.btfBase != "" {
		if c.opts.BaseBTF != "" && c.opts.BaseBTF != c.btfBase {
			fmt.Fprintln(stderr, "btffilter: --base-btf and --btf_base disagree")
			return 2
		}
		c.opts.BaseBTF = c.btfBase
	}
	bar := newProgress(stderr, c.jsonOut)
	c.opts.Progress = bar.update
	// SIGINT and SIGTERM stop the run between files: nothing is written,
	// the files not reached are reported as such.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := filter.Run(ctx, fs.Args(), c.opts)
	bar.finish()
	if err != nil {
		fmt.Fprintf(stderr, "btffilter: %v\n", err)
		if errors.As(err, new(*filter.UsageError)) {
			return 2
		}
		return 1
	}
	// A warning many files share (a tree of signed modules: "module
	// signature stripped") is said once, with how many files it concerns.
	shared := map[string]int{}
	for _, f := range rep.Files {
		for _, w := range f.Warnings {
			shared[w]++
		}
	}
	var sharedOrder []string
	for _, f := range rep.Files {
		if c.verbose && !c.jsonOut {
			for _, r := range f.Removed {
				fmt.Fprintf(stdout, "%s: skipping BTF encoding of function due to %s\n", r.Name, r.Reason)
			}
		}
		for _, w := range f.Warnings {
			switch n := shared[w]; {
			case n > 1:
				sharedOrder = append(sharedOrder, w)
				shared[w] = -n
			case n == 1:
				fmt.Fprintf(stderr, "btffilter: %s: warning: %s\n", f.Path, w)
			}
		}
		if f.Error != "" {
			fmt.Fprintf(stderr, "btffilter: %s\n", f.Error)
			continue
		}
		if a := f.Acceptance; a != nil && !c.jsonOut {
			switch a.Verdict {
			case "refused":
				fmt.Fprintf(stdout, "%s: refused: %s\n", f.Path, a.Reason)
			case "base":
				fmt.Fprintf(stdout, "%s: base\n", f.Path)
			default:
				fmt.Fprintf(stdout, "%s: ok\n", f.Path)
			}
			continue
		}
		if !c.jsonOut {
			fmt.Fprintf(stdout, "%s: %s %s: %d -> %d types, %d -> %d bytes, %d functions removed, %d protected%s\n",
				f.Path, f.Format, f.Arch, f.TypesBefore, f.TypesAfter, f.BytesBefore, f.BytesAfter,
				len(f.Removed), len(f.Protected), writtenNote(f, c.opts.DryRun))
		}
	}
	for _, w := range sharedOrder {
		fmt.Fprintf(stderr, "btffilter: warning: %s (%d files; the report, --json, names them)\n", w, -shared[w])
	}
	if c.jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(stderr, "btffilter: %v\n", err)
			return 1
		}
	} else if len(rep.Files) > 1 && !c.opts.Check {
		if err := writeSummary(stdout, rep.Summary); err != nil {
			fmt.Fprintf(stderr, "btffilter: %v\n", err)
			return 1
		}
	}
	return rep.ExitStatus()
}

func writtenNote(f *filter.FileReport, dry bool) string {
	switch {
	case dry:
		return " (dry run)"
	case f.Written:
		return ""
	case f.Changed:
		return " (not written)"
	}
	return " (unchanged, not rewritten)"
}
