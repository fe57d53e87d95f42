// Package parallel splits loops over the available cores: one level of
// goroutines per loop, the calling goroutine among them, with work handed
// out in pieces so that a worker the scheduler (or a shared host) slows
// down takes fewer.
package parallel

import (
	"runtime"
	"sync/atomic"
)

// For runs [0, n) in pieces of grain on up to GOMAXPROCS goroutines (the
// calling one among them), each of which calls run once with next, which
// hands out the next piece not yet taken until none is left. Workers that
// get more CPU take more pieces, which keeps both busy when other processes
// share the cores, and the calling goroutine waits only for pieces that
// another worker took: a worker that has not started by the time the pieces
// run out is not waited for (it finds none and returns).
func For(n, grain int, run func(next func() (lo, hi int, ok bool))) {
	grain = max(grain, 1)
	pieces := (n + grain - 1) / grain
	var taken, finished atomic.Int64
	workers := min(runtime.GOMAXPROCS(0), pieces)
	all := make(chan struct{}) // closed when every piece is finished
	worker := func() {
		mine := int64(0)
		run(func() (lo, hi int, ok bool) {
			i := int(taken.Add(1)) - 1
			if i >= pieces {
				return 0, 0, false
			}
			mine++
			return i * grain, min((i+1)*grain, n), true
		})
		// run has returned, so the pieces it took are finished.
		if mine > 0 && finished.Add(mine) == int64(pieces) {
			close(all)
		}
	}
	for w := 1; w < workers; w++ {
		go worker()
	}
	worker() // the calling goroutine is the first worker
	if pieces > 0 {
		<-all
	}
}

// Pieces calls body(k, lo, hi) for each piece k of [0, n) cut into pieces
// of size elements (the last one possibly shorter), concurrently as For
// hands them out. Which piece covers which range does not depend on the
// number of cores, so per-piece results combined in k's order are the same
// on every machine.
func Pieces(n, size int, body func(k, lo, hi int)) {
	size = max(size, 1)
	For(n, size, func(next func() (lo, hi int, ok bool)) {
		for lo, hi, ok := next(); ok; lo, hi, ok = next() {
			body(lo/size, lo, hi)
		}
	})
}
