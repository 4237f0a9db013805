package main

import (
	"bytes"
	"math"
	"os"
	"slices"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{9, 9, 1, 9, 100}, 9},
	} {
		in := slices.Clone(c.in)
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
		if !slices.Equal(in, c.in) {
			t.Errorf("median reordered its input: %v", c.in)
		}
	}
}

func TestMedianSample(t *testing.T) {
	// The wall and the RSS medians are taken independently.
	got := medianSample([]sample{
		{wall: 3 * time.Second, rss: 100},
		{wall: 1 * time.Second, rss: 300},
		{wall: 2 * time.Second, rss: 200},
		{wall: 9 * time.Second, rss: 50},
		{wall: 5 * time.Second, rss: 400},
	})
	if want := (sample{wall: 3 * time.Second, rss: 200}); got != want {
		t.Errorf("medianSample = %+v, want %+v", got, want)
	}
}

func TestLeastSquares(t *testing.T) {
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	// Exactly on a line.
	f, err := leastSquares([]float64{0, 1, 2, 3}, []float64{1, 3, 5, 7})
	if err != nil {
		t.Fatal(err)
	}
	if !near(f.slope, 2) || !near(f.intercept, 1) || !near(f.r2, 1) {
		t.Errorf("exact line: %+v", f)
	}
	// Scattered about y = x: mean x 1.5, mean y 1.5, Sxx 5, Sxy 5, Syy 9;
	// the residuals 1, -1, -1, 1 leave 4 of the 9 unexplained.
	f, err = leastSquares([]float64{0, 1, 2, 3}, []float64{1, 0, 1, 4})
	if err != nil {
		t.Fatal(err)
	}
	if !near(f.slope, 1) || !near(f.intercept, 0) || !near(f.r2, 1-4.0/9) {
		t.Errorf("noisy line: %+v, want slope 1, intercept 0, R² %v", f, 1-4.0/9)
	}
	// Flat: the line fits exactly.
	f, err = leastSquares([]float64{1, 2, 3}, []float64{4, 4, 4})
	if err != nil {
		t.Fatal(err)
	}
	if f.slope != 0 || f.intercept != 4 || f.r2 != 1 {
		t.Errorf("flat: %+v", f)
	}
	for _, x := range [][]float64{{1}, {2, 2, 2}} {
		if _, err := leastSquares(x, make([]float64, len(x))); err == nil {
			t.Errorf("leastSquares(%v): no error", x)
		}
	}
	if _, err := leastSquares([]float64{1, 2}, []float64{1}); err == nil {
		t.Error("x and y of different lengths: no error")
	}
}

func TestOrder(t *testing.T) {
	want := [][]int{{0, 1, 2}, {1, 2, 0}, {2, 0, 1}, {0, 1, 2}}
	first := make([]int, 3)
	for i, w := range want {
		got := order(i, 3)
		if !slices.Equal(got, w) {
			t.Errorf("order(%d, 3) = %v, want %v", i, got, w)
		}
		first[got[0]]++
	}
	if first[0] != 2 || first[1] != 1 || first[2] != 1 {
		t.Errorf("first sides over 4 runs: %v", first)
	}
	// Two sides: A B, B A, A B, ...
	for i := range 6 {
		got := order(i, 2)
		if got[0] != i%2 || got[1] != 1-i%2 {
			t.Errorf("order(%d, 2) = %v", i, got)
		}
	}
}

func TestAlternateRunsInOrder(t *testing.T) {
	// Each job records itself in before, which runs untimed right before
	// its run; the command itself is true(1).
	var seen []string
	mk := func(name string) job {
		return job{name: name, argv: []string{"true"}, before: func() error {
			seen = append(seen, name)
			return nil
		}}
	}
	r := runner{ctx: t.Context(), errFile: t.TempDir() + "/stderr"}
	s, err := r.alternate([]job{mk("a"), mk("b")}, 3, nil)
	if err != nil {
		t.Skipf("cannot run true: %v", err)
	}
	if want := []string{"a", "b", "b", "a", "a", "b"}; !slices.Equal(seen, want) {
		t.Errorf("run order %v, want %v", seen, want)
	}
	if len(s) != 2 || len(s[0]) != 3 || len(s[1]) != 3 {
		t.Fatalf("samples: %v", s)
	}
	for _, side := range s {
		for _, x := range side {
			if x.wall <= 0 || x.rss <= 0 {
				t.Errorf("sample %+v: no wall time or RSS", x)
			}
		}
	}
}

func TestPickBySize(t *testing.T) {
	sizes := []int64{1000, 10, 100000, 100, 1e6, 10000, 11, 12, 13}
	got := pickBySize(sizes, 6)
	// Log-spaced from 10 to 1e6: one per decade.
	want := []int{1, 3, 0, 5, 2, 4}
	if !slices.Equal(got, want) {
		t.Errorf("pickBySize = %v, want %v", got, want)
	}
	if got := pickBySize(sizes, 1); !slices.Equal(got, []int{4}) {
		t.Errorf("pickBySize(1) = %v, want the largest", got)
	}
	if got := pickBySize([]int64{5, 1}, 3); !slices.Equal(got, []int{1, 0}) {
		t.Errorf("pickBySize of fewer sizes than asked = %v", got)
	}
	// Sizes bunched together still give distinct picks.
	if got := pickBySize([]int64{10, 11, 12, 13, 1e6}, 4); len(got) != 4 || len(slices.Compact(slices.Sorted(slices.Values(got)))) != 4 {
		t.Errorf("pickBySize of bunched sizes = %v", got)
	}
}

func TestSpread(t *testing.T) {
	l := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}
	if got := spread(l, 3); !slices.Equal(got, []string{"a", "d", "g"}) {
		t.Errorf("spread = %v", got)
	}
	if got := spread(l, 10); !slices.Equal(got, l) {
		t.Errorf("spread of all = %v", got)
	}
}

func TestSameFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := dir + "/" + name
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	big := bytes.Repeat([]byte("btf"), 100000) // past one 64 KiB block
	a := write("a", big)
	b := write("b", slices.Clone(big))
	longer := write("longer", append(slices.Clone(big), 0))
	changed := slices.Clone(big)
	changed[len(changed)-1] ^= 1
	c := write("c", changed)
	empty1, empty2 := write("e1", nil), write("e2", nil)
	for _, tc := range []struct {
		x, y string
		want bool
	}{
		{a, b, true}, {a, longer, false}, {longer, a, false}, {a, c, false},
		{empty1, empty2, true}, {empty1, a, false},
	} {
		got, err := sameFiles(tc.x, tc.y)
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("sameFiles(%s, %s) = %v, want %v", tc.x, tc.y, got, tc.want)
		}
	}
}

func TestOwnPeakRSS(t *testing.T) {
	kb, err := ownPeakRSS()
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	if kb <= 0 {
		t.Errorf("ownPeakRSS = %d KiB", kb)
	}
}

func TestShellWord(t *testing.T) {
	for in, want := range map[string]string{
		"/tmp/a.btf":             "/tmp/a.btf",
		"--btf_features=default": "--btf_features=default",
		"":                       "''",
		"a b":                    "'a b'",
		"it's":                   `'it'\''s'`,
		"\n":                     `$'\n'`,
	} {
		if got := shellWord(in); got != want {
			t.Errorf("shellWord(%q) = %s, want %s", in, got, want)
		}
	}
}
