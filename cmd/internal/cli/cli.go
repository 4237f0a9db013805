// Package cli holds what the commands share: the filter's flags (the
// command line of btffilter, and BTFFILTER_FLAGS of btffilter-pahole, parsed
// by the same rules), the text lines of the report, and the heap limit. It
// turns words into filter.Options and reports into lines; it may not decide,
// read or write any file itself.
package cli

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/btffilter/btffilter/filter"

	flag "github.com/spf13/pflag"
)

// defaultMemoryLimit is the soft heap limit when GOMEMLIMIT is not set.
// Go's default GC target lets the heap grow to twice the live data; a
// Debian vmlinux never comes near this limit (its run peaks at about 200
// MB), but a much larger kernel (allyesconfig, several GB of DWARF) is
// held to it, at the cost of more GC cycles.
const defaultMemoryLimit = 800 << 20

// SetMemoryLimit sets the soft heap limit unless GOMEMLIMIT chose one.
func SetMemoryLimit(getenv func(string) string) {
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
}

// Flags are the parsed flags of a filter run (docs/cli.md).
type Flags struct {
	Options filter.Options
	JSON    bool
	Verbose bool

	btfBase string
}

// NewFlagSet returns the filter's flag set, named name, printing its errors
// and usage to out, and the Flags it fills. Call Flags.Finish after Parse.
func NewFlagSet(name string, out io.Writer) (*flag.FlagSet, *Flags) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.SortFlags = false
	f := &Flags{}
	o := &f.Options
	fs.StringVarP(&o.Output, "output", "o", "", "write the result to `PATH` instead of rewriting FILE in place (one FILE)")
	fs.StringVarP(&o.BaseBTF, "base-btf", "B", "", "base BTF of split (module) BTF when no vmlinux is in the run: `PATH` of a vmlinux ELF, or of a raw blob such as /sys/kernel/btf/vmlinux")
	fs.StringVar(&f.btfBase, "btf_base", "", "the same as --base-btf `PATH`, spelt as pahole spells it")
	fs.StringVar(&o.DebugInfo, "debuginfo", "", "DWARF from a separate debug file, or from a debug root searched by build-id and module path (/usr/lib/debug, an unpacked -dbg package): `PATH`")
	fs.StringVar(&o.Arch, "arch", "", "architecture `NAME` of inputs that do not say (raw BTF): x86_64, arm64, riscv64, s390x, ppc64, ... and their Debian and GNU spellings; may not contradict a file's")
	fs.StringVar(&o.Kernel, "kernel", "", "kernel `RELEASE` whose trampoline the abi rule models, for inputs that do not say (default: every model of the architecture)")
	fs.StringVar(&o.Rules, "rules", "", "judging rules: `LIST` of abi, signature, consistent, ambiguous; default; none; +rule/-rule adjust the default (default: all, or none when --drop is given)")
	fs.StringArrayVar(&o.Drop, "drop", nil, "remove functions matching `GLOB` (repeatable)")
	fs.StringArrayVar(&o.Keep, "keep", nil, "never remove functions matching `GLOB` (repeatable)")
	fs.BoolVarP(&o.DryRun, "dry-run", "n", false, "decide and check everything, write nothing")
	fs.BoolVarP(&f.JSON, "json", "j", false, "print the machine report (JSON) on stdout")
	fs.BoolVarP(&f.Verbose, "verbose", "v", false, "print one line per removed function, as pahole does")
	fs.IntVar(&o.Jobs, "jobs", runtime.GOMAXPROCS(0), "files worked on at once; the output is the same for any `N`")
	fs.BoolVar(&o.StripSignature, "strip-signature", false, "allow rewriting signed modules, dropping their signature")
	fs.BoolVar(&o.Sync, "fsync", false, "make every rewritten file durable (fsync it and its directory) before exiting, as for an installed tree; without it, the file system writes back in its own time (the replacement is atomic either way)")
	fs.BoolVar(&o.DedupOnly, "dedup-only", false, "only deduplicate the type graph (no rules, no DWARF)")
	fs.BoolVar(&o.Check, "check", false, "predict, for each module, whether the kernel will accept its BTF at load time against its base; write nothing (exit 1 when one would be refused)")
	return fs, f
}

// Finish completes the flags after Parse: --btf_base is an alias of
// --base-btf, and the two may not disagree.
func (f *Flags) Finish() error {
	if f.btfBase == "" {
		return nil
	}
	if f.Options.BaseBTF != "" && f.Options.BaseBTF != f.btfBase {
		return errors.New("--base-btf and --btf_base disagree")
	}
	f.Options.BaseBTF = f.btfBase
	return nil
}

// RemovedLine is the -v line of one removed function, as pahole words it.
func RemovedLine(r filter.Removed) string {
	return fmt.Sprintf("%s: skipping BTF encoding of function due to %s", r.Name, r.Reason)
}

// SummaryLine is the one line a processed file gets (docs/cli.md, "Output").
func SummaryLine(f *filter.FileReport, dryRun bool) string {
	return fmt.Sprintf("%s: %s %s: %d -> %d types, %d -> %d bytes, %d functions removed, %d protected%s",
		f.Path, f.Format, f.Arch, f.TypesBefore, f.TypesAfter, f.BytesBefore, f.BytesAfter,
		len(f.Removed), len(f.Protected), writtenNote(f, dryRun))
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
