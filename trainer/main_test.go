package trainer

import (
	"os"
	"runtime/debug"
	"testing"
)

// testMemoryLimit is the soft limit of the Go heap while this package's
// tests run, unless GOMEMLIMIT sets another: TestPaperPresets builds models
// of tens of millions of parameters one after the other, and with the
// default pacing (the next collection at twice the live heap) the garbage
// of one and the graphs of the next took the process to 5 GB; under the
// limit the collector runs before the heap passes it.
const testMemoryLimit = 2 << 30

func TestMain(m *testing.M) {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(testMemoryLimit)
	}
	os.Exit(m.Run())
}
