package blockstest_test

import (
	"fmt"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/blocks/blockstest"
	"gorgonia.org/tensor"
)

// ExampleFiniteDifferenceLogDet computes the log-det of an ActNorm from a
// finite-difference Jacobian: with log-scales (0.5, −0.25) on 2×1×1
// inputs it is 0.5 − 0.25 for every row.
func ExampleFiniteDifferenceLogDet() {
	a, err := blocks.NewActNorm(2, tensor.Float64)
	if err != nil {
		panic(err)
	}
	for _, nt := range a.Tensors() {
		if nt.Name == "logscale" {
			copy(nt.Value.Data().([]float64), []float64{0.5, -0.25})
		}
	}
	x := tensor.New(tensor.WithShape(3, 2, 1, 1), tensor.WithBacking([]float64{1, 2, 3, 4, 5, 6}))
	ld, err := blockstest.FiniteDifferenceLogDet(a, x, blockstest.DefaultStep)
	if err != nil {
		panic(err)
	}
	for _, v := range ld {
		fmt.Printf("%.6f\n", v)
	}
	// Output:
	// 0.250000
	// 0.250000
	// 0.250000
}
