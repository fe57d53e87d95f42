package blocks

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
)

// TestEachConcurrentlyFirstError checks that every item runs once and that
// the error returned is the lowest failing index's, however the items were
// scheduled.
func TestEachConcurrentlyFirstError(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	for range 20 {
		var runs [9]atomic.Int32
		err := eachConcurrently(len(runs), func(i int) error {
			runs[i].Add(1)
			if i == 3 || i == 7 {
				return fmt.Errorf("item %d failed", i)
			}
			return nil
		})
		if err == nil || err.Error() != "item 3 failed" {
			t.Fatalf("got %v, want item 3's error", err)
		}
		for i := range runs {
			if n := runs[i].Load(); n != 1 {
				t.Fatalf("item %d ran %d times", i, n)
			}
		}
	}
	if err := eachConcurrently(0, func(int) error { return fmt.Errorf("never") }); err != nil {
		t.Errorf("no items: %v", err)
	}
}
