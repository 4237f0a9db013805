package gcpace

import (
	"runtime/debug"
	"testing"
)

// current reads GOGC's percent without changing it.
func current() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// TestTight: overlapping holds share one lowering of GOGC, the last one
// restores what the first found, and a collector turned off stays off.
func TestTight(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	for _, c := range []struct{ set, during int }{{100, 50}, {300, 150}, {1, 1}, {-1, -1}} {
		debug.SetGCPercent(c.set)
		r1 := Tight()
		r2 := Tight()
		if got := current(); got != c.during {
			t.Errorf("GOGC %d: %d while two holds last, want %d", c.set, got, c.during)
		}
		r1()
		if got := current(); got != c.during {
			t.Errorf("GOGC %d: %d while one hold lasts, want %d", c.set, got, c.during)
		}
		r2()
		if got := current(); got != c.set {
			t.Errorf("GOGC %d: %d after the holds", c.set, got)
		}
	}
}

// TestPause: a pause turns the collector off and gives back what it found;
// a Tight held meanwhile wins until it ends, and the pause then resumes.
func TestPause(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	for _, set := range []int{100, 300, -1} {
		debug.SetGCPercent(set)
		p := Pause()
		if got := current(); got != -1 {
			t.Errorf("GOGC %d: %d while paused, want off", set, got)
		}
		r := Tight()
		if got, want := current(), halved(set); got != want {
			t.Errorf("GOGC %d: %d while paused and tight, want %d", set, got, want)
		}
		r()
		if got := current(); got != -1 {
			t.Errorf("GOGC %d: %d once the tight hold ended, want off", set, got)
		}
		p()
		if got := current(); got != set {
			t.Errorf("GOGC %d: %d after the pause", set, got)
		}
	}
}
