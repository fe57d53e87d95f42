package parallel

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
)

// TestForCoversEachIndexOnce checks that every index of [0, n) is handed
// out exactly once, in pieces of grain, whatever the number of workers: a
// piece handed out twice, or one lost when the calling goroutine stops
// waiting early, shows as a count other than 1.
func TestForCoversEachIndexOnce(t *testing.T) {
	for _, procs := range []int{1, 2, 7} {
		old := runtime.GOMAXPROCS(procs)
		for _, c := range []struct{ n, grain int }{{0, 1}, {1, 1}, {5, 0}, {10, 3}, {1000, 7}, {4096, 4096}, {3, 10}} {
			seen := make([]atomic.Int32, c.n)
			For(c.n, c.grain, func(next func() (lo, hi int, ok bool)) {
				for lo, hi, ok := next(); ok; lo, hi, ok = next() {
					g := max(c.grain, 1)
					if lo%g != 0 || hi-lo > g || hi <= lo {
						t.Errorf("procs %d n %d grain %d: piece [%d, %d)", procs, c.n, c.grain, lo, hi)
					}
					for i := lo; i < hi; i++ {
						seen[i].Add(1)
					}
				}
			})
			// For has returned, so every piece must be done.
			for i := range seen {
				if got := seen[i].Load(); got != 1 {
					t.Fatalf("procs %d n %d grain %d: index %d run %d times", procs, c.n, c.grain, i, got)
				}
			}
		}
		runtime.GOMAXPROCS(old)
	}
}

// TestForBackToBackAndNested runs thousands of short loops in a row, the
// case lingering helpers are for, some of them nested inside another's
// pieces, and checks each covered its range exactly once: a helper that
// took a piece of a finished loop, or of the wrong one, shows.
func TestForBackToBackAndNested(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	for round := range 2000 {
		n := 1 + round%37
		var sum atomic.Int64
		For(n, 1+round%3, func(next func() (lo, hi int, ok bool)) {
			for lo, hi, ok := next(); ok; lo, hi, ok = next() {
				for i := lo; i < hi; i++ {
					if round%10 == 0 { // a nested loop per index
						For(5, 2, func(next func() (lo, hi int, ok bool)) {
							for lo, hi, ok := next(); ok; lo, hi, ok = next() {
								sum.Add(int64(hi - lo))
							}
						})
						sum.Add(int64(i) - 5)
					}
					sum.Add(int64(i))
				}
			}
		})
		want := int64(n * (n - 1) / 2)
		if round%10 == 0 {
			want *= 2
		}
		if got := sum.Load(); got != want {
			t.Fatalf("round %d (n %d): sum of indices %d, want %d", round, n, got, want)
		}
	}
}

// ExampleFor squares a slice in pieces of 256 elements, which the calling
// goroutine and its helpers take as they come.
func ExampleFor() {
	xs := make([]float64, 1000)
	for i := range xs {
		xs[i] = float64(i)
	}
	For(len(xs), 256, func(next func() (lo, hi int, ok bool)) {
		for lo, hi, ok := next(); ok; lo, hi, ok = next() {
			for i := lo; i < hi; i++ {
				xs[i] *= xs[i]
			}
		}
	})
	fmt.Println(xs[3], xs[999])
	// Output: 9 998001
}
