// Package parallel splits loops over the available cores: the calling
// goroutine and up to GOMAXPROCS−1 helpers per loop, with work handed out
// in pieces so that a worker the scheduler (or a shared host) slows down
// takes fewer.
//
// A training step runs hundreds of such loops of a fraction of a
// millisecond each (the convolutions' phases), with short serial work in
// between. A helper started per loop arrives late: waking a parked thread,
// on a virtual machine an idle virtual CPU, took long enough that in about
// 40% of a classifier step's loops the caller had taken every piece before
// the helper came. So a helper that finishes a loop lingers: it watches for
// the next loop for as long as the one it finished had run (at most 300
// µs), and joins it, before its goroutine ends. Lingering costs at most
// about the CPU time the loops themselves took, and nothing at
// GOMAXPROCS = 1.
package parallel

import (
	"runtime"
	"sync/atomic"
	"time"
)

// region is one For call's loop, which workers join.
type region struct {
	n, grain, pieces int
	run              func(next func() (lo, hi int, ok bool))
	taken, finished  atomic.Int64
	seats            atomic.Int64  // helpers that may still join
	all              chan struct{} // closed when every piece is finished
	start            time.Time
}

// join reports whether a helper got a seat in r.
func (r *region) join() bool { return r.seats.Add(-1) >= 0 }

// work calls run with r's piece dispenser and counts the pieces taken.
func (r *region) work() {
	mine := int64(0)
	r.run(func() (lo, hi int, ok bool) {
		i := int(r.taken.Add(1)) - 1
		if i >= r.pieces {
			return 0, 0, false
		}
		mine++
		return i * r.grain, min((i+1)*r.grain, r.n), true
	})
	// run has returned, so the pieces it took are finished.
	if mine > 0 && r.finished.Add(mine) == int64(r.pieces) {
		close(r.all)
	}
}

// wait returns when every piece of r is finished. The pieces other
// workers still hold are usually a few microseconds from done, so it
// watches for them first, for at most waitSpin, rather than parking the
// goroutine at once: a parked caller is woken onto the helper's core,
// behind the lingering helper, and moves between cores at every loop.
func (r *region) wait() {
	deadline := time.Now().Add(waitSpin)
	for i := 0; r.finished.Load() != int64(r.pieces); i++ {
		pause()
		if i%64 == 63 && time.Now().After(deadline) {
			<-r.all
			return
		}
	}
}

// waitSpin is how long a caller watches for its helpers' last pieces
// before it parks.
const waitSpin = 50 * time.Microsecond

// offered is the latest region that wants helpers; lingering counts the
// helpers waiting for one.
var (
	offered   atomic.Pointer[region]
	lingering atomic.Int64
)

// linger is the longest a helper waits for the next region after finishing
// one before its goroutine ends; it waits as long as that region had run
// when it finished, if that is shorter.
const linger = 300 * time.Microsecond

// minLinger is the shortest region after which a helper lingers: loops
// shorter than that (the dense toy models' matrix products) ran as fast on
// the calling goroutine alone as with a helper joining them, and lingering
// after them cost CPU and some wall time.
const minLinger = 50 * time.Microsecond

// helper works on r, then on each region offered while it lingers.
func helper(r *region) {
	for r != nil {
		if r.join() {
			r.work()
		}
		last := r
		r = nil
		now := time.Now()
		ran := now.Sub(last.start)
		if ran < minLinger {
			return
		}
		lingering.Add(1)
		deadline := now.Add(min(linger, ran))
		for i := 0; ; i++ {
			if c := offered.Load(); c != nil && c != last {
				r = c
				break
			}
			pause()
			if i%64 == 63 {
				if time.Now().After(deadline) {
					break
				}
				runtime.Gosched()
			}
		}
		lingering.Add(-1)
	}
}

// For runs [0, n) in pieces of grain on up to GOMAXPROCS goroutines (the
// calling one among them, and lingering helpers or new ones), each of which
// calls run once with next, which hands out the next piece not yet taken
// until none is left. Workers that get more CPU take more pieces, which
// keeps both busy when other processes share the cores, and the calling
// goroutine waits only for pieces that another worker took: a worker that
// has not started by the time the pieces run out is not waited for (it
// finds none and returns, possibly after For has returned: run must not
// touch anything before its first call of next that may be gone by then).
func For(n, grain int, run func(next func() (lo, hi int, ok bool))) {
	grain = max(grain, 1)
	r := &region{n: n, grain: grain, pieces: (n + grain - 1) / grain, run: run, all: make(chan struct{})}
	workers := min(runtime.GOMAXPROCS(0), r.pieces)
	if workers > 1 {
		r.start = time.Now()
		r.seats.Store(int64(workers - 1))
		offered.Store(r)
		for w := lingering.Load(); w < int64(workers-1); w++ {
			go helper(r)
		}
	}
	r.work() // the calling goroutine is the first worker
	if r.pieces > 0 {
		r.wait()
	}
	offered.CompareAndSwap(r, nil)
}
