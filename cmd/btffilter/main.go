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
	"syscall"

	"github.com/btffilter/btffilter/cmd/internal/cli"
	"github.com/btffilter/btffilter/filter"

	flag "github.com/spf13/pflag"
)

func main() {
	cli.SetMemoryLimit(os.Getenv)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
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

// flags is the filter's flag set (cmd/internal/cli) with what only this
// command has: --man.
func flags(stderr io.Writer) (*flag.FlagSet, *cli.Flags, *bool) {
	fs, f := cli.NewFlagSet("btffilter", stderr)
	man := fs.Bool("man", false, "print the manual page (roff) and exit")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: btffilter [flags] FILE|DIR...")
		fs.PrintDefaults()
		fmt.Fprintln(stderr, "\nexamples:")
		for _, e := range examples {
			fmt.Fprintf(stderr, "  %s\n    %s\n", e.what, e.cmd)
		}
	}
	return fs, f, man
}

func run(args []string, stdout, stderr io.Writer) int {
	fs, c, man := flags(stderr)
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		fmt.Fprintf(stderr, "btffilter: %v (see btffilter --help)\n", err)
		return 2
	}
	if *man {
		writeMan(stdout, fs)
		return 0
	}
	if err := c.Finish(); err != nil {
		fmt.Fprintf(stderr, "btffilter: %v\n", err)
		return 2
	}
	bar := newProgress(stderr, c.JSON)
	c.Options.Progress = bar.update
	// SIGINT and SIGTERM stop the run between files: nothing is written,
	// the files not reached are reported as such.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := filter.Run(ctx, fs.Args(), c.Options)
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
		if c.Verbose && !c.JSON {
			for _, r := range f.Removed {
				fmt.Fprintln(stdout, cli.RemovedLine(r))
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
		if a := f.Acceptance; a != nil && !c.JSON {
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
		if !c.JSON {
			fmt.Fprintln(stdout, cli.SummaryLine(f, c.Options.DryRun))
		}
	}
	for _, w := range sharedOrder {
		fmt.Fprintf(stderr, "btffilter: warning: %s (%d files; the report, --json, names them)\n", w, -shared[w])
	}
	if c.JSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(stderr, "btffilter: %v\n", err)
			return 1
		}
	} else if len(rep.Files) > 1 && !c.Options.Check {
		if err := writeSummary(stdout, rep.Summary); err != nil {
			fmt.Fprintf(stderr, "btffilter: %v\n", err)
			return 1
		}
	}
	return rep.ExitStatus()
}
