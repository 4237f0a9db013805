// Command bench measures whole processes: the wall time and peak RSS of a
// command from its start to its exit, against a reference measured in the
// same invocation, the two sides alternating run by run so that a machine
// that slows down or speeds up meanwhile affects both alike. It prints the
// median of each side and their ratio.
//
//	go run ./scripts/bench -old OLD -new NEW [-runs N] [-tags TAGS]
//
// compares two btffilter binaries (OLD, the reference; NEW) on the -n run
// of each kernel's vmlinux (the real Debian kernels of docs/testing.md,
// fetched by scripts/fetch-kernels.sh).
//
//	go run ./scripts/bench -trees -new NEW [-tags TAGS]
//
// runs NEW once over each kernel's vmlinux and whole unstripped module
// tree (-n, default rules), and over the stripped, signed module tree of
// the image package with --debuginfo and -B, and prints what each run did
// (files, failures, removals per rule) with its wall time and peak RSS.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/btffilter/btffilter/scripts/kernels"
)

func main() {
	oldBin := flag.String("old", "", "the reference btffilter binary")
	newBin := flag.String("new", "", "the btffilter binary measured against it")
	runs := flag.Int("runs", 5, "runs of each side (at least 5 for a median that means something)")
	tags := flag.String("tags", "6.1-amd64,7.2-amd64", "kernels whose vmlinux is measured")
	trees := flag.Bool("trees", false, "run -new over whole module trees (see the package comment)")
	flag.Parse()
	if *trees && *newBin != "" {
		if err := treeRuns(*newBin, strings.Split(*tags, ",")); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if *oldBin == "" || *newBin == "" || *runs < 1 {
		fmt.Fprintln(os.Stderr, "usage: go run ./scripts/bench -old OLD -new NEW [-runs N] [-tags TAGS]")
		os.Exit(2)
	}
	var cases []benchCase
	for _, tag := range strings.Split(*tags, ",") {
		k, err := kernels.Load(tag)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		cases = append(cases, benchCase{
			name: tag + " vmlinux -n",
			ref:  side{"old", []string{*oldBin, "-n", k.Vmlinux}},
			cur:  side{"new", []string{*newBin, "-n", k.Vmlinux}},
		})
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "case\tside\tmedian wall s\tmedian peak RSS MB\t")
	for _, c := range cases {
		r, err := c.measure(*runs)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		fmt.Fprintf(w, "%s\t%s\t%.2f\t%.0f\t\n", c.name, c.ref.name, r.ref.wall.Seconds(), r.ref.rssMB())
		fmt.Fprintf(w, "\t%s\t%.2f\t%.0f\t\n", c.cur.name, r.cur.wall.Seconds(), r.cur.rssMB())
		fmt.Fprintf(w, "\tratio\t%.2fx\t%.2fx\t\n", r.cur.wall.Seconds()/r.ref.wall.Seconds(), r.cur.rssMB()/r.ref.rssMB())
	}
	w.Flush()
}

// side is one command of a case.
type side struct {
	name string
	argv []string
}

// benchCase is a command measured against a reference.
type benchCase struct {
	name     string
	ref, cur side
}

// sample is the median of one side's runs.
type sample struct {
	wall time.Duration
	rss  int64 // KiB
}

func (s sample) rssMB() float64 { return float64(s.rss) / 1024 }

type result struct{ ref, cur sample }

// measure runs the two sides alternately, runs times each, and returns
// each side's medians.
func (c benchCase) measure(runs int) (result, error) {
	var walls [2][]time.Duration
	var rss [2][]int64
	for i := 0; i < runs; i++ {
		for j, s := range []side{c.ref, c.cur} {
			wall, kb, err := run(s.argv)
			if err != nil {
				return result{}, fmt.Errorf("%s, %s: %w", c.name, s.name, err)
			}
			walls[j] = append(walls[j], wall)
			rss[j] = append(rss[j], kb)
		}
	}
	med := func(j int) sample { return sample{median(walls[j]), median(rss[j])} }
	return result{med(0), med(1)}, nil
}

// run runs argv to its end and returns its wall time and the peak RSS of
// the process and its descendants (wait4's ru_maxrss).
func run(argv []string) (time.Duration, int64, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %w\n%s", strings.Join(argv, " "), err, stderr.String())
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, 0, fmt.Errorf("no resource usage for %s", argv[0])
	}
	return wall, ru.Maxrss, nil
}

func median[T int64 | time.Duration](v []T) T {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
