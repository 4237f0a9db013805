// Command btffilter removes from Linux kernel BTF the functions whose
// signature BTF cannot describe, and rewrites .BTF in place. The command
// line contract is docs/cli.md.
package main

import (
	"context"
	"encoding/json"
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

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("btffilter", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		opts    filter.Options
		btfBase string
		jsonOut bool
		verbose bool
	)
	fs.StringVarP(&opts.Output, "output", "o", "", "write the result to `PATH` instead of rewriting FILE in place (one FILE)")
	fs.StringVarP(&opts.BaseBTF, "base-btf", "B", "", "base BTF for split (module) BTF: a vmlinux ELF or a raw blob such as /sys/kernel/btf/vmlinux")
	fs.StringVar(&btfBase, "btf_base", "", "alias of --base-btf, as pahole spells it")
	fs.StringArrayVar(&opts.Drop, "drop", nil, "remove functions matching `GLOB` (repeatable)")
	fs.StringArrayVar(&opts.Keep, "keep", nil, "never remove functions matching `GLOB` (repeatable)")
	fs.BoolVarP(&opts.DryRun, "dry-run", "n", false, "decide and report, write nothing")
	fs.BoolVarP(&jsonOut, "json", "j", false, "print the machine report (JSON) on stdout")
	fs.BoolVarP(&verbose, "verbose", "v", false, "print one line per removed function")
	fs.IntVar(&opts.Jobs, "jobs", runtime.GOMAXPROCS(0), "files worked on at once; the output is the same for any `N`")
	fs.StringVar(&opts.Rules, "rules", "", "judging rules: `LIST` of abi, signature, consistent, ambiguous; default; none; +rule/-rule adjust the default (default: all, or none when --drop is given)")
	fs.StringVar(&opts.DebugInfo, "debuginfo", "", "DWARF from a separate debug file, or a debug root (`PATH`, e.g. /usr/lib/debug) searched by build-id and module path")
	fs.StringVar(&opts.Arch, "arch", "", "calling convention of inputs that do not say (raw BTF): x86_64, arm64, riscv64")
	fs.StringVar(&opts.Kernel, "kernel", "", "kernel `RELEASE` whose trampoline the abi rule models, for inputs that do not say (default: every model of the architecture)")
	fs.BoolVar(&opts.StripSignature, "strip-signature", false, "allow rewriting signed modules, dropping their signature")
	fs.BoolVar(&opts.DedupOnly, "dedup-only", false, "only deduplicate the type graph (no rules, no DWARF)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: btffilter [flags] FILE...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if btfBase != "" {
		if opts.BaseBTF != "" && opts.BaseBTF != btfBase {
			fmt.Fprintln(stderr, "btffilter: --base-btf and --btf_base disagree")
			return 2
		}
		opts.BaseBTF = btfBase
	}
	// SIGINT and SIGTERM stop the run between files: a file being written
	// is finished, the others are left as they were.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := filter.Run(ctx, fs.Args(), opts)
	if err != nil {
		fmt.Fprintf(stderr, "btffilter: %v\n", err)
		return 1
	}
	for _, f := range rep.Files {
		if verbose && !jsonOut {
			for _, r := range f.Removed {
				fmt.Fprintf(stdout, "%s: skipping BTF encoding of function due to %s\n", r.Name, r.Reason)
			}
		}
		for _, w := range f.Warnings {
			fmt.Fprintf(stderr, "btffilter: %s: warning: %s\n", f.Path, w)
		}
		if f.Error != "" {
			fmt.Fprintf(stderr, "btffilter: %s\n", f.Error)
			continue
		}
		if !jsonOut {
			fmt.Fprintf(stdout, "%s: %s %s: %d -> %d types, %d -> %d bytes, %d functions removed, %d protected%s\n",
				f.Path, f.Format, f.Arch, f.TypesBefore, f.TypesAfter, f.BytesBefore, f.BytesAfter,
				len(f.Removed), len(f.Protected), writtenNote(f.Written, opts.DryRun))
		}
	}
	if jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(stderr, "btffilter: %v\n", err)
			return 1
		}
	}
	if rep.Failed() {
		return 1
	}
	return 0
}

func writtenNote(written, dry bool) string {
	switch {
	case dry:
		return " (dry run)"
	case written:
		return ""
	}
	return " (unchanged, not rewritten)"
}
