package rules

import (
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// Judging FUNCs in parallel. Every FUNC is judged on its own; what the
// judges share (the name indexes, the DWARF, the spec) is read-only, and
// what they learn on the way (pointer target names, what they could not
// judge) each keeps to itself. The FUNCs are cut into blocks in ID order,
// the workers take the next block as they finish one, and the blocks'
// verdicts and counts are put together in block order: the decision, its
// warnings included, is the one a single judge would reach.

// blockSize is how many FUNCs one block holds: enough that taking a block
// costs nothing next to judging it, few enough that two workers finish
// together.
const blockSize = 256

// block is what judging one block of FUNCs found.
type block struct {
	remove, protected []Verdict
	unreadable        []unreadableTarget // met in the block, in order
}

// fork returns a judge for another worker: c's indexes, its own caches
// and counts.
func (c *judge) fork() *judge {
	return &judge{in: c.in, byName: c.byName, syms: c.syms, frags: c.frags, unjudged: map[string]map[string]int{}}
}

// judgeBlocks calls judgeOne for each of n FUNCs, in blocks, on workers
// goroutines, and folds the forks' counts into c. A memory fault in a
// worker (a mapped file truncated meanwhile) is raised again in the
// caller's goroutine, whose guard reports the file as changed.
func judgeBlocks(c *judge, n, workers int, judgeOne func(c *judge, k int, b *block)) []block {
	blocks := make([]block, (n+blockSize-1)/blockSize)
	workers = min(workers, len(blocks))
	if workers <= 1 {
		for i := range blocks {
			runBlock(c, i, n, &blocks[i], judgeOne)
		}
		c.unreadable = mergeUnreadable(blocks)
		return blocks
	}
	forks := make([]*judge, workers)
	var next atomic.Int64
	var wg sync.WaitGroup
	var fault any
	var faultOnce sync.Once
	for w := range forks {
		forks[w] = c.fork()
		wg.Add(1)
		go func(f *judge) {
			defer wg.Done()
			defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
			defer func() {
				if r := recover(); r != nil {
					if _, ok := r.(interface{ Addr() uintptr }); !ok {
						panic(r)
					}
					faultOnce.Do(func() { fault = r })
					next.Store(int64(len(blocks)))
				}
			}()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(blocks) {
					return
				}
				runBlock(f, i, n, &blocks[i], judgeOne)
			}
		}(forks[w])
	}
	wg.Wait()
	if fault != nil {
		panic(fault)
	}
	for _, f := range forks {
		for rule, m := range f.unjudged {
			for why, k := range m {
				c.countUnjudged(rule, why, k)
			}
		}
	}
	c.unreadable = mergeUnreadable(blocks)
	return blocks
}

// runBlock judges block i of n FUNCs with judge c.
func runBlock(c *judge, i, n int, b *block, judgeOne func(c *judge, k int, b *block)) {
	c.unreadable = nil
	for k := i * blockSize; k < min((i+1)*blockSize, n); k++ {
		judgeOne(c, k, b)
	}
	b.unreadable = c.unreadable
}

// mergeUnreadable puts the blocks' unreadable targets in block order: the
// order one judge would have met them in.
func mergeUnreadable(blocks []block) []unreadableTarget {
	var all []unreadableTarget
	for _, b := range blocks {
		all = append(all, b.unreadable...)
	}
	return all
}
