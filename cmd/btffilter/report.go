package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/olekukonko/tablewriter"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/btffilter/btffilter/filter"
)

// progress is the bar a person at a terminal sees while a run works through
// its files. It draws nothing when stderr is not a terminal (a build log, a
// pipe) or with --json, whose output is for programs.
type progress struct {
	w   io.Writer
	bar *progressbar.ProgressBar
	on  bool
}

func newProgress(stderr io.Writer, jsonOut bool) *progress {
	f, ok := stderr.(*os.File)
	return &progress{w: stderr, on: ok && !jsonOut && term.IsTerminal(int(f.Fd()))}
}

// update is filter.Options.Progress.
func (p *progress) update(done, total int) {
	if !p.on || total < 2 {
		return
	}
	if p.bar == nil {
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetDescription("btffilter"),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish())
	}
	p.bar.Set(done)
}

// finish takes the bar off the terminal before the report is printed.
func (p *progress) finish() {
	if p.bar != nil {
		p.bar.Finish()
		p.bar.Clear()
	}
}

// writeSummary prints the table that ends a run of several files.
func writeSummary(w io.Writer, s *filter.Summary) error {
	t := tablewriter.NewWriter(w)
	changed := "rewritten"
	if s.DryRun {
		changed = "to rewrite (dry run)"
	}
	rows := [][]string{
		{"processed", strconv.Itoa(s.Files)},
		{changed, strconv.Itoa(s.Changed)},
		{"unchanged", strconv.Itoa(s.Unchanged)},
		{"failed", strconv.Itoa(s.Failed)},
	}
	if !s.DryRun && s.Written != s.Changed {
		rows = append(rows, []string{"written", strconv.Itoa(s.Written)})
	}
	if s.Ignored > 0 {
		rows = append(rows, []string{"ignored in directories (not modules)", strconv.Itoa(s.Ignored)})
	}
	total := 0
	for _, r := range s.Rules() {
		rows = append(rows, []string{"functions removed by " + r, strconv.Itoa(s.Removed[r])})
		total += s.Removed[r]
	}
	rows = append(rows,
		[]string{"functions removed", strconv.Itoa(total)},
		[]string{"functions protected", strconv.Itoa(s.Protected)},
		[]string{"BTF bytes saved", strconv.Itoa(s.BytesSaved)},
		[]string{"time", fmt.Sprintf("%.1f s", s.Seconds)})
	for _, r := range rows {
		if err := t.Append(r); err != nil {
			return err
		}
	}
	return t.Render()
}
