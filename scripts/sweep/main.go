// Command sweep judges a real kernel as a packager would: `btffilter -n -j`
// with the default rules on the kernel's vmlinux and every module of its
// -dbg package, in one run, as one process. It prints, per kernel, how many
// files were processed and failed (with the first errors), the removals per
// rule, every removal by rule abi, the reasons' kinds for the others, and the
// process's wall time and peak RSS; with -out it keeps each kernel's JSON
// report.
//
//	go run ./scripts/sweep [-tags TAGS] [-bin BTFFILTER] [-jobs N] [-limit N] [-out DIR]
//
// The kernels are those of scripts/fetch-kernels.sh (package
// btffilter/scripts/kernels). A run over every module takes minutes per
// kernel: it is a measurement for a person, not a test.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/btffilter/btffilter/filter"
	"github.com/btffilter/btffilter/scripts/kernels"
)

func main() {
	tags := flag.String("tags", "7.2-s390x,7.2-ppc64el,7.2-riscv64", "kernels to sweep, comma-separated")
	bin := flag.String("bin", "", "btffilter binary (default: built from this checkout)")
	jobs := flag.Int("jobs", 2, "btffilter --jobs")
	limit := flag.Int("limit", 0, "judge only the first N modules (0: all)")
	out := flag.String("out", "", "directory for the JSON reports (default: none kept)")
	flag.Parse()
	if *bin == "" {
		dir, err := os.MkdirTemp("", "btffilter-sweep")
		if err != nil {
			fail(err)
		}
		defer os.RemoveAll(dir)
		*bin = filepath.Join(dir, "btffilter")
		if msg, err := exec.Command("go", "build", "-o", *bin, "github.com/btffilter/btffilter/cmd/btffilter").CombinedOutput(); err != nil {
			fail(fmt.Errorf("go build: %v\n%s", err, msg))
		}
	}
	for _, tag := range strings.Split(*tags, ",") {
		if err := sweep(tag, *bin, *jobs, *limit, *out); err != nil {
			fail(err)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "sweep:", err)
	os.Exit(1)
}

func sweep(tag, bin string, jobs, limit int, outDir string) error {
	k, err := kernels.Load(tag)
	if err != nil {
		return err
	}
	mods, err := k.DbgModuleFiles()
	if err != nil {
		return err
	}
	if limit > 0 && limit < len(mods) {
		mods = mods[:limit]
	}
	args := append([]string{"-n", "-j", "--jobs", fmt.Sprint(jobs), k.Vmlinux}, mods...)
	cmd := exec.Command(bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	runErr := cmd.Run()
	wall := time.Since(start)
	var rss int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = ru.Maxrss // KiB on Linux
	}
	var rep filter.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		return fmt.Errorf("%s: btffilter (%v) printed no JSON report: %v\n%s", tag, runErr, err, lastLines(stderr.String(), 10))
	}
	if outDir != "" {
		if err := os.MkdirAll(outDir, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(outDir, tag+".json"), stdout.Bytes(), 0o644); err != nil {
			return err
		}
	}
	summarize(os.Stdout, k, &rep, len(mods), wall, rss)
	return nil
}

func summarize(w *os.File, k *kernels.Kernel, rep *filter.Report, nmods int, wall time.Duration, rss int64) {
	var failed []string
	perRule := map[string]int{}
	perRuleVmlinux := map[string]int{}
	kinds := map[string]map[string]int{} // rule -> reason kind -> count
	var abi []string
	modulesWithRemovals := 0
	protected := 0
	for _, f := range rep.Files {
		if f.Error != "" {
			failed = append(failed, f.Error)
			continue
		}
		protected += len(f.Protected)
		if f.Format == "module" && len(f.Removed) > 0 {
			modulesWithRemovals++
		}
		for _, r := range f.Removed {
			perRule[r.Rule]++
			if f.Format != "module" {
				perRuleVmlinux[r.Rule]++
			}
			if kinds[r.Rule] == nil {
				kinds[r.Rule] = map[string]int{}
			}
			kinds[r.Rule][reasonKind(r.Reason)]++
			if r.Rule == "abi" {
				abi = append(abi, fmt.Sprintf("%s %s: %s", filepath.Base(f.Path), r.Name, r.Reason))
			}
		}
	}
	fmt.Fprintf(w, "== %s (%s): vmlinux and %d modules\n", k.Tag, k.Release, nmods)
	fmt.Fprintf(w, "files processed: %d of %d, failed: %d\n", len(rep.Files)-len(failed), len(rep.Files), len(failed))
	for i, e := range failed {
		if i == 10 {
			fmt.Fprintf(w, "  ... and %d more\n", len(failed)-10)
			break
		}
		fmt.Fprintf(w, "  %s\n", e)
	}
	fmt.Fprintf(w, "removed per rule (all files): %s\n", counts(perRule))
	fmt.Fprintf(w, "removed per rule (vmlinux): %s\n", counts(perRuleVmlinux))
	fmt.Fprintf(w, "modules with removals: %d; protected (rule fired, kept): %d\n", modulesWithRemovals, protected)
	rules := make([]string, 0, len(kinds))
	for r := range kinds {
		rules = append(rules, r)
	}
	sort.Strings(rules)
	for _, r := range rules {
		fmt.Fprintf(w, "  %s: %s\n", r, counts(kinds[r]))
	}
	slices.Sort(abi)
	for _, a := range abi {
		fmt.Fprintf(w, "  abi: %s\n", a)
	}
	fmt.Fprintf(w, "wall %.1fs, peak RSS %d MB\n", wall.Seconds(), rss/1024)
}

// reasonKind is the part of a reason before its details: "optimized
// parameters", "unexpected register usage for parameter", "arg".
func reasonKind(s string) string {
	if i := strings.IndexAny(s, ":("); i > 0 {
		s = s[:i]
	}
	return strings.TrimSpace(strings.TrimRight(strings.TrimSpace(s), "0123456789"))
}

func counts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
