package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/btffilter/btffilter/filter"
	"github.com/btffilter/btffilter/scripts/kernels"
)

// treeRuns runs bin over whole trees of each kernel and prints a row per
// run.
func treeRuns(bin string, tags []string) error {
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "kernel\trun\tfiles\tfailed\tchanged\tremoved by rule\twall s\tpeak RSS MB\t")
	for _, tag := range tags {
		k, err := kernels.Load(tag)
		if err != nil {
			return err
		}
		runs := []struct {
			name string
			args []string
		}{
			{"vmlinux + -dbg modules", []string{"-n", "-j", k.Vmlinux, k.DbgModules}},
			{"-dbg modules, -B", []string{"-n", "-j", "-B", k.Vmlinux, k.DbgModules}},
			{"image modules, --debuginfo, -B", []string{"-n", "-j", "--strip-signature", "--debuginfo", filepath.Join(k.Dir, "dbg"), "-B", k.Vmlinux, k.Modules}},
		}
		var reports []*filter.Report
		for _, r := range runs {
			rep, wall, rss, err := runReport(bin, r.args)
			if err != nil {
				return fmt.Errorf("%s, %s: %w", tag, r.name, err)
			}
			s := rep.Summary
			var rules []string
			for _, n := range s.Rules() {
				rules = append(rules, fmt.Sprintf("%s %d", n, s.Removed[n]))
			}
			fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%d\t%s\t%.1f\t%.0f\t\n", tag, r.name, s.Files, s.Failed, s.Changed,
				strings.Join(rules, ", "), wall.Seconds(), float64(rss)/1024)
			w.Flush()
			reports = append(reports, rep)
		}
		same, differ := sameDecisions(reports[1], reports[2])
		fmt.Fprintf(w, "%s\tstripped vs unstripped modules: %d modules decide the same, %d differ%s\t\t\t\t\t\t\t\n", tag, same, len(differ), firstFew(differ))
		w.Flush()
	}
	return w.Flush()
}

// sameDecisions compares two module runs file by file (a module's path
// below the tree's kernel/ directory, compression suffix aside): how many
// removed the same functions for the same reasons, and which did not.
func sameDecisions(a, b *filter.Report) (int, []string) {
	key := func(p string) string {
		if i := strings.LastIndex(p, "/kernel/"); i >= 0 {
			p = p[i+len("/kernel/"):]
		}
		for _, s := range []string{".xz", ".zst", ".gz"} {
			p = strings.TrimSuffix(p, s)
		}
		return p
	}
	decided := func(r *filter.Report) map[string]string {
		m := map[string]string{}
		for _, f := range r.Files {
			var d []string
			for _, v := range f.Removed {
				d = append(d, v.Name+"/"+v.Rule+"/"+v.Reason)
			}
			m[key(f.Path)] = f.Error + strings.Join(d, "\n")
		}
		return m
	}
	da, db := decided(a), decided(b)
	same := 0
	var differ []string
	for p, d := range da {
		if e, ok := db[p]; ok && e == d {
			same++
		} else {
			differ = append(differ, p)
		}
	}
	for p := range db {
		if _, ok := da[p]; !ok {
			differ = append(differ, p+" (only stripped)")
		}
	}
	return same, differ
}

func firstFew(s []string) string {
	if len(s) == 0 {
		return ""
	}
	if len(s) > 5 {
		s = append(s[:5:5], "...")
	}
	return " (" + strings.Join(s, ", ") + ")"
}

// runReport runs bin with args (which include -j) and decodes its report.
// A run in which files failed is still a run to report (exit status 1).
func runReport(bin string, args []string) (*filter.Report, time.Duration, int64, error) {
	cmd := exec.Command(bin, args...)
	var out, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() > 1 {
		return nil, 0, 0, fmt.Errorf("%v\n%s", err, stderr.String())
	}
	var rep filter.Report
	if err := json.Unmarshal([]byte(out.String()), &rep); err != nil {
		return nil, 0, 0, fmt.Errorf("report: %w", err)
	}
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	var rss int64
	if ru != nil {
		rss = ru.Maxrss
	}
	return &rep, wall, rss, nil
}
