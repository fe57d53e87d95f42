package normalize_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/iresnet/iresnet/normalize"
	"gorgonia.org/tensor"
)

// ExampleSpectralNorm estimates ‖W‖₂ = 3 for W = diag(3, 1) by power
// iteration. Since σ̂ exceeds c = 0.9, the graph will use W·c/σ̂; for
// W = diag(0.5, 0.2) it stays as it is.
func ExampleSpectralNorm() {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, w := range [][]float64{{3, 0, 0, 1}, {0.5, 0, 0, 0.2}} {
		sn, err := normalize.NewDense(2, 2, 0.9, tensor.Float64, rng)
		if err != nil {
			fmt.Println(err)
			return
		}
		if _, err := sn.Converge(tensor.New(tensor.WithShape(2, 2), tensor.WithBacking(w)), 1e-12, 1000); err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("σ̂ = %.4g, scale = %.4g\n", sn.Sigma(), 1/max(1, sn.Sigma()/sn.Coeff()))
	}
	// Output:
	// σ̂ = 3, scale = 0.3
	// σ̂ = 0.5, scale = 1
}
