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
	"syscall"

	"github.com/btffilter/btffilter/cmd/internal/cli"
	"github.com/btffilter/btffilter/filter"

	flag "github.com/spf13/pflag"
)

func main() {
	cli.SetMemoryLimit(os.Getenv)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs, flags := cli.NewFlagSet("btffilter", stderr)
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
	if err := flags.Finish(); err != nil {
		fmt.Fprintf(stderr, "btffilter: %v\n", err)
		return 2
	}
	opts, jsonOut, verbose := flags.Options, flags.JSON, flags.Verbose
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
				fmt.Fprintln(stdout, cli.RemovedLine(r))
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
			fmt.Fprintln(stdout, cli.SummaryLine(f, opts.DryRun))
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
