package main

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"text/tabwriter"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/btffilter/btffilter/scripts/kernels"
)

// growthModules is how many modules of the first kernel the growth section
// runs, spread over their sizes.
const growthModules = 8

// point is one input of the growth section and its median run.
type point struct {
	name   string
	module bool // judged on the first kernel's vmlinux (-B)
	bytes  int64
	s      sample
}

func (p point) mib() float64 { return float64(p.bytes) / (1 << 20) }

// pickBySize returns the indices of n of sizes, ascending by size, spread
// evenly on a logarithmic scale from the smallest to the largest: module
// sizes span three orders of magnitude, most of them near the bottom, so an
// even spread by rank would leave the large ones out.
func pickBySize(sizes []int64, n int) []int {
	idx := make([]int, len(sizes))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case sizes[a] < sizes[b]:
			return -1
		case sizes[a] > sizes[b]:
			return 1
		}
		return 0
	})
	if n >= len(idx) {
		return idx
	}
	if n == 1 {
		return idx[len(idx)-1:]
	}
	lo, hi := math.Log(float64(max(sizes[idx[0]], 1))), math.Log(float64(max(sizes[idx[len(idx)-1]], 1)))
	taken := make([]bool, len(idx))
	var picked []int
	for t := range n {
		want := lo + (hi-lo)*float64(t)/float64(n-1)
		best := -1
		for r, i := range idx {
			if taken[r] {
				continue
			}
			d := math.Abs(math.Log(float64(max(sizes[i], 1))) - want)
			if best < 0 || d < math.Abs(math.Log(float64(max(sizes[idx[best]], 1)))-want) {
				best = r
			}
		}
		taken[best] = true
		picked = append(picked, best)
	}
	slices.Sort(picked)
	out := make([]int, len(picked))
	for k, r := range picked {
		out[k] = idx[r]
	}
	return out
}

// growthSection measures btffilter -n against the size of its input:
// modules of the first kernel spread over the size range, each judged on
// that kernel's vmlinux (-B, so every one of these runs also loads the
// base's .BTF), and each vmlinux alone. It prints the medians and
// least-squares lines of wall time and peak RSS against input size, and
// draws them.
func (b *bench) growthSection() error {
	k0, err := kernels.Load(b.tags[0])
	if err != nil {
		return err
	}
	mods, err := k0.DbgModuleFiles()
	if err != nil {
		return err
	}
	sizes := make([]int64, len(mods))
	for i, m := range mods {
		if sizes[i], err = fileSize(m); err != nil {
			return err
		}
	}
	var pts []point
	var jobs []job
	for _, i := range pickBySize(sizes, growthModules) {
		rel, err := filepath.Rel(k0.DbgModules, mods[i])
		if err != nil {
			return err
		}
		pts = append(pts, point{name: rel, module: true, bytes: sizes[i]})
		jobs = append(jobs, job{name: rel, argv: []string{b.bin, "-n", "-B", k0.Vmlinux, mods[i]}})
	}
	for _, tag := range b.tags {
		k, err := kernels.Load(tag)
		if err != nil {
			return err
		}
		size, err := fileSize(k.Vmlinux)
		if err != nil {
			return err
		}
		name := tag + " vmlinux"
		pts = append(pts, point{name: name, bytes: size})
		jobs = append(jobs, job{name: name, argv: []string{b.bin, "-n", k.Vmlinux}})
	}
	b.section("growth: btffilter -n on %d inputs of increasing size (modules with -B %s): %s of each, rotating", len(jobs), k0.Vmlinux, runsText(b.runs))
	s, err := b.r.alternate(jobs, b.runs, b.progress)
	if err != nil {
		return err
	}
	for i := range pts {
		pts[i].s = medianSample(s[i])
	}
	w := tabwriter.NewWriter(b.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "  input\t      bytes\tmedian wall s\tmedian peak RSS MiB")
	for _, p := range pts {
		fmt.Fprintf(w, "  %s\t%11d\t%13.2f\t%19.0f\n", p.name, p.bytes, p.s.seconds(), p.s.rssMiB())
	}
	w.Flush()

	fits := []struct {
		what string
		pts  []point
	}{
		{fmt.Sprintf("all %d inputs", len(pts)), pts},
		{fmt.Sprintf("the %d modules (each run also loads the -B base)", len(pts)-len(b.tags)), pts[:len(pts)-len(b.tags)]},
	}
	var timeFit, rssFit fit
	for k, f := range fits {
		t, r, err := fitPoints(f.pts)
		if err != nil {
			return err
		}
		fmt.Fprintf(b.out, "  least squares over %s:\n", f.what)
		fmt.Fprintf(b.out, "    wall = %.4f s/MiB x input + %.2f s (R² %.3f)\n", t.slope, t.intercept, t.r2)
		fmt.Fprintf(b.out, "    peak RSS = %.3f MiB/MiB x input + %.0f MiB (R² %.3f)\n", r.slope, r.intercept, r.r2)
		if k == 0 {
			timeFit, rssFit = t, r
			b.growth = fmt.Sprintf("growth over %s: %.4f s/MiB (R² %.3f), %.3f MiB RSS/MiB (R² %.3f)", f.what, t.slope, t.r2, r.slope, r.r2)
		}
	}
	if err := writePlot(b.plot, pts, timeFit, rssFit); err != nil {
		return err
	}
	fmt.Fprintf(b.out, "  plot: %s\n", b.plot)
	return nil
}

// plainTicks are gonum's default ticks labelled with as few digits as
// their values need ("250", not "250.00").
type plainTicks struct{}

func (plainTicks) Ticks(min, max float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = strconv.FormatFloat(ts[i].Value, 'f', -1, 64)
		}
	}
	return ts
}

// fitPoints fits wall time and peak RSS against input size in MiB.
func fitPoints(pts []point) (fit, fit, error) {
	var x, t, r []float64
	for _, p := range pts {
		x = append(x, p.mib())
		t = append(t, p.s.seconds())
		r = append(r, p.s.rssMiB())
	}
	tf, err := leastSquares(x, t)
	if err != nil {
		return fit{}, fit{}, err
	}
	rf, err := leastSquares(x, r)
	if err != nil {
		return fit{}, fit{}, err
	}
	return tf, rf, nil
}

// writePlot draws wall time and peak RSS against input size, side by side
// in one PNG, each with its least-squares line over all points.
func writePlot(path string, pts []point, timeFit, rssFit fit) error {
	panel := func(title, ylabel string, y func(point) float64, f fit) (*plot.Plot, error) {
		p := plot.New()
		p.Title.Text = title
		p.X.Label.Text = "input MiB"
		p.Y.Label.Text = ylabel
		p.X.Min, p.Y.Min = 0, 0
		p.X.Tick.Marker, p.Y.Tick.Marker = plainTicks{}, plainTicks{}
		var mods, vms plotter.XYs
		for _, q := range pts {
			xy := plotter.XY{X: q.mib(), Y: y(q)}
			if q.module {
				mods = append(mods, xy)
			} else {
				vms = append(vms, xy)
			}
		}
		line := plotter.NewFunction(func(x float64) float64 { return f.intercept + f.slope*x })
		line.Color = color.RGBA{R: 128, G: 128, B: 128, A: 255}
		line.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(plotter.NewGrid(), line)
		p.Legend.Add(fmt.Sprintf("least squares, R² %.3f", f.r2), line)
		for _, s := range []struct {
			name  string
			xys   plotter.XYs
			shape draw.GlyphDrawer
			c     color.Color
		}{
			{"module (-B vmlinux)", mods, draw.CircleGlyph{}, color.RGBA{B: 200, A: 255}},
			{"vmlinux", vms, draw.SquareGlyph{}, color.RGBA{R: 200, A: 255}},
		} {
			if len(s.xys) == 0 {
				continue
			}
			sc, err := plotter.NewScatter(s.xys)
			if err != nil {
				return nil, err
			}
			sc.Shape, sc.Color, sc.Radius = s.shape, s.c, vg.Points(3)
			p.Add(sc)
			p.Legend.Add(s.name, sc)
		}
		p.Legend.Top, p.Legend.Left = true, true
		return p, nil
	}
	tp, err := panel("btffilter -n: wall time", "median wall s", func(q point) float64 { return q.s.seconds() }, timeFit)
	if err != nil {
		return err
	}
	rp, err := panel("btffilter -n: peak RSS", "median peak RSS MiB", func(q point) float64 { return q.s.rssMiB() }, rssFit)
	if err != nil {
		return err
	}
	img := vgimg.New(12*vg.Inch, 4.5*vg.Inch)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Inch / 2, PadTop: vg.Inch / 8, PadBottom: vg.Inch / 8, PadLeft: vg.Inch / 8, PadRight: vg.Inch / 8}
	canvases := plot.Align([][]*plot.Plot{{tp, rp}}, tiles, dc)
	tp.Draw(canvases[0][0])
	rp.Draw(canvases[0][1])
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
