package coupling_test

import (
	"os"
	"testing"

	"github.com/iresnet/iresnet/graph"
)

func TestMain(m *testing.M) {
	graph.UseFastBLAS()
	os.Exit(m.Run())
}
