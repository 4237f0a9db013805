package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"
)

// sample is one run of one process, from its start to its exit.
type sample struct {
	wall time.Duration
	rss  int64 // peak resident set size in KiB, as ru_maxrss counts it
}

func (s sample) seconds() float64 { return s.wall.Seconds() }
func (s sample) rssMiB() float64  { return float64(s.rss) / 1024 }

func (s sample) String() string {
	return fmt.Sprintf("%.2f s, %.0f MiB", s.seconds(), s.rssMiB())
}

// ownPeakRSS returns this process's peak RSS in KiB (VmHWM). A child's
// ru_maxrss never reads below it: os/exec starts the child on this
// process's memory (clone with CLONE_VM, then exec), and exec folds the
// high-water mark of the memory it leaves into the child's maximum. A
// figure at or below this floor may be the bench's own, not the child's,
// so the bench keeps itself small (it decodes nothing large) and checks
// every figure against it.
func ownPeakRSS() (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			var kb int64
			if _, err := fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kb); err != nil {
				return 0, fmt.Errorf("/proc/self/status: %q: %w", l, err)
			}
			return kb, nil
		}
	}
	return 0, errors.New("/proc/self/status: no VmHWM")
}

// job is one side of a comparison: a command and what has to happen
// around each of its runs outside the timed region.
type job struct {
	name string
	argv []string
	dir  string // working directory; empty for the bench's own
	// before prepares a run (a fresh copy of an input to rewrite), so that
	// the preparation is not part of the run's time.
	before func() error
	// after checks that the run did its work (an output written, a file
	// replaced) and cleans up, also outside the timed region.
	after func() error
	// small marks a command whose peak RSS may be below the bench's own
	// (see ownPeakRSS): its figure is then an upper bound, not an error.
	small bool
}

// runner runs jobs. Their standard error goes to a file in the work
// directory, read only when a run fails: a pipe would need this process to
// drain it while the run is timed.
type runner struct {
	ctx     context.Context
	errFile string
}

// run runs j once. The wall time covers the process from fork to exit, the
// peak RSS is wait4's ru_maxrss: the largest of the process itself (over
// every program it executed) and of the descendants it waited for, so a
// wrapper that execs its command or waits for it reports the command's own
// peak when the command is the largest.
func (r runner) run(j job) (sample, error) {
	if j.before != nil {
		if err := j.before(); err != nil {
			return sample{}, fmt.Errorf("%s: preparing the run: %w", j.name, err)
		}
	}
	errf, err := os.Create(r.errFile)
	if err != nil {
		return sample{}, err
	}
	floor, err := ownPeakRSS()
	if err != nil {
		return sample{}, err
	}
	cmd := exec.CommandContext(r.ctx, j.argv[0], j.argv[1:]...)
	cmd.Dir = j.dir
	cmd.Stderr = errf
	start := time.Now()
	err = cmd.Run()
	wall := time.Since(start)
	errf.Close()
	if err != nil {
		return sample{}, fmt.Errorf("%s: %s: %w%s", j.name, strings.Join(j.argv, " "), err, r.errTail())
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return sample{}, fmt.Errorf("%s: no resource usage for %s", j.name, j.argv[0])
	}
	if ru.Maxrss <= floor && !j.small {
		return sample{}, fmt.Errorf("%s: peak RSS %d KiB is not above the bench's own (%d KiB), below which no child's ru_maxrss reads: it may not be the command's", j.name, ru.Maxrss, floor)
	}
	if j.after != nil {
		if err := j.after(); err != nil {
			return sample{}, fmt.Errorf("%s: after the run: %w", j.name, err)
		}
	}
	return sample{wall: wall, rss: ru.Maxrss}, nil
}

// errTail returns the end of the last run's standard error, for an error
// message.
func (r runner) errTail() string {
	b, err := os.ReadFile(r.errFile)
	if err != nil || len(b) == 0 {
		return ""
	}
	const max = 4000
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return "\n" + strings.TrimRight(string(b), "\n")
}

// order returns the order in which n sides run in run i (counted from 0):
// side 0 first in run 0, side 1 first in run 1, and so on round. Every
// side runs once per run, so a machine that slows down or speeds up over
// the measurement affects all sides alike; rotating the start means no side
// always runs right after the same other one (behind its page cache
// evictions or its dirty pages) and each goes first equally often.
func order(i, n int) []int {
	o := make([]int, n)
	for k := range o {
		o[k] = (i + k) % n
	}
	return o
}

// alternate runs every job runs times, in the order of order, and returns
// each job's samples. report, when not nil, is told of each sample as it
// comes, so that a long measurement shows its progress and its raw figures.
func (r runner) alternate(jobs []job, runs int, report func(run int, j job, s sample)) ([][]sample, error) {
	out := make([][]sample, len(jobs))
	for i := range runs {
		for _, k := range order(i, len(jobs)) {
			s, err := r.run(jobs[k])
			if err != nil {
				return nil, err
			}
			out[k] = append(out[k], s)
			if report != nil {
				report(i, jobs[k], s)
			}
		}
	}
	return out, nil
}

// medianSample is the median wall time and the median peak RSS of samples
// (each taken on its own: they need not come from the same run).
func medianSample(samples []sample) sample {
	walls := make([]float64, len(samples))
	rss := make([]float64, len(samples))
	for i, s := range samples {
		walls[i] = float64(s.wall)
		rss[i] = float64(s.rss)
	}
	return sample{wall: time.Duration(median(walls)), rss: int64(median(rss))}
}

// median returns the middle value of v, or the mean of the two middle
// values when their number is even; 0 for none.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// fit is the least-squares line y = intercept + slope·x and its
// coefficient of determination R².
type fit struct {
	slope, intercept, r2 float64
}

// leastSquares fits a line through the points (x[i], y[i]). It needs two
// different x at least; R² is 1 when every y is the same (the line fits
// exactly).
func leastSquares(x, y []float64) (fit, error) {
	if len(x) != len(y) {
		return fit{}, errors.New("least squares: as many x as y are needed")
	}
	n := float64(len(x))
	var sx, sy float64
	for i := range x {
		sx += x[i]
		sy += y[i]
	}
	mx, my := sx/n, sy/n
	var sxx, sxy, syy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		sxx += dx * dx
		sxy += dx * dy
		syy += dy * dy
	}
	if len(x) < 2 || sxx == 0 {
		return fit{}, errors.New("least squares: two different x at least are needed")
	}
	f := fit{slope: sxy / sxx}
	f.intercept = my - f.slope*mx
	if syy == 0 {
		f.r2 = 1
		return f, nil
	}
	var res float64
	for i := range x {
		d := y[i] - (f.intercept + f.slope*x[i])
		res += d * d
	}
	f.r2 = 1 - res/syy
	return f, nil
}
