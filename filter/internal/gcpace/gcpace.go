// Package gcpace holds the changes the stages make to the process's garbage
// collector for a while: a lower target while a large structure that stays
// live is built (Tight), and no collection at all while what is allocated is
// nearly all kept (Pause). Holds of either kind may overlap, from any
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
	cur    int // the percent in force while a hold lasts
)

// Tight makes the collector aim at half its growth (GOGC 100 becomes 50)
// until the returned function is called. It is for a structure that stays
// live while it is built (cilium/ebpf's inflated types): under the default
// target the heap would reach up to twice its size before it is collected.
// It wins over Pause: while both are held, the collector runs, at half its
// growth.
func Tight() (restore func()) { return hold(&tight, 50) }

// Pause turns the collector off until the returned function is called
// (unless a Tight is held). It is for a stretch that allocates little but
// what it keeps, a decoding: a collection meanwhile finds hardly any
// garbage, and costs the marking of a heap that only grows, much of it in
// the allocating goroutine's own assists. A soft memory limit (GOMEMLIMIT,
// debug.SetMemoryLimit) still holds while it is paused.
func Pause() (restore func()) { return hold(&paused, -1) }

// hold counts a holder in n; guess is what the hold sets under the default
// GOGC, so that the first holder reads the setting in the same call that
// usually makes it. Setting -1 waits for a collection under way to end, so
// a Tight never sets it.
func hold(n *int, guess int) func() {
	mu.Lock()
	defer mu.Unlock()
	if tight+paused == 0 {
		saved, cur = debug.SetGCPercent(guess), guess
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

// apply sets the percent the current holds ask for, when it is not in
// force yet; mu is held.
func apply() {
	want := saved
	switch {
	case tight > 0:
		want = halved(saved)
	case paused > 0:
		want = -1
	}
	if want != cur {
		debug.SetGCPercent(want)
		cur = want
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
