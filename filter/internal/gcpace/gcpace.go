// Package gcpace holds the changes the stages make to the process's garbage
// collector for a while: a lower target while a large structure that stays
// live is built (Tight), and no collection at all while one that is nothing
// but live data is (Pause). Holds of either kind may overlap, from any
// goroutine; the setting the first hold found is restored when the last one
// ends, and a collector turned off (GOGC=off) stays off.
package gcpace

import (
	"runtime/debug"
	"sync"
)

var (
	mu     sync.Mutex
	tight  int // holders of Tight
	paused int // holders of Pause
	saved  int // the GOGC percent the first holder found
)

// Tight makes the collector aim at half its growth (GOGC 100 becomes 50)
// until the returned function is called. It is for a structure that stays
// live while it is built (cilium/ebpf's inflated types): under the default
// target the heap would reach up to twice its size before it is collected.
// It wins over Pause: while both are held, the collector runs, at half its
// growth.
func Tight() (restore func()) { return hold(&tight) }

// Pause turns the collector off until the returned function is called
// (unless a Tight is held). It is for a short stretch that allocates only
// what it keeps, a decoding: a collection meanwhile finds no garbage, and
// costs the marking of a heap that only grows, much of it in the allocating
// goroutine's own assists. A soft memory limit (GOMEMLIMIT,
// debug.SetMemoryLimit) still holds while it is paused.
func Pause() (restore func()) { return hold(&paused) }

func hold(n *int) func() {
	mu.Lock()
	defer mu.Unlock()
	if tight+paused == 0 {
		// Read by setting: what the hold sets is applied below.
		saved = debug.SetGCPercent(-1)
	}
	*n++
	apply()
	return func() {
		mu.Lock()
		defer mu.Unlock()
		*n--
		apply()
	}
}

// apply sets the percent the current holds ask for; mu is held.
func apply() {
	switch {
	case tight > 0:
		debug.SetGCPercent(halved(saved))
	case paused > 0 && saved >= 0:
		debug.SetGCPercent(-1)
	default:
		debug.SetGCPercent(saved)
	}
}

// halved is half of the GOGC percent p; off (negative) and 0 stay as
// they are.
func halved(p int) int {
	if p <= 1 {
		return p
	}
	return p / 2
}
