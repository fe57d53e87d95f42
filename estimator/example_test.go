package estimator_test

import (
	"fmt"
	"math"

	"github.com/iresnet/iresnet/estimator"
	"github.com/iresnet/iresnet/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// linearBlock builds g(x) = x·A for A = [[0.3, 0.1], [-0.2, 0.4]], whose
// Jacobian is Aᵀ for every x, and returns the estimator's log-det.
func linearBlock(est estimator.Estimator, basisProbes bool) float64 {
	b, _ := graph.NewBuilder(tensor.Float64)
	x, _ := b.Input("x", tensor.New(tensor.WithShape(2, 2), tensor.WithBacking([]float64{1, 2, 1, 2})))
	a, _ := b.Input("A", tensor.New(tensor.WithShape(2, 2), tensor.WithBacking([]float64{0.3, 0.1, -0.2, 0.4})))
	gx := G.Must(G.Mul(x, a))
	ld, err := est.LogDet(b, x, gx)
	if err != nil {
		panic(err)
	}
	if basisProbes { // rows e₁ and e₂: Hutchinson becomes the exact trace
		copy(b.Noise()[0].Value.Data().([]float64), []float64{1, 0, 0, 1})
	}
	m := G.NewTapeMachine(b.Graph())
	defer m.Close()
	if err := m.RunAll(); err != nil {
		panic(err)
	}
	v := ld.Value().Data().([]float64)
	if basisProbes {
		return v[0] + v[1]
	}
	return v[0]
}

// ExampleExact compares the exact log-det of I + J for a 2×2 Jacobian with
// the truncated power series (with exact traces) and its error bound.
func ExampleExact() {
	exact := linearBlock(estimator.Exact{}, false)
	sigma := math.Sqrt(0.15 + math.Sqrt(0.0029)) // ‖A‖₂ from the eigenvalues of AᵀA
	fmt.Printf("exact            %.6f (log det [[1.3 -0.2] [0.1 1.4]] = %.6f)\n", exact, math.Log(1.3*1.4+0.02))
	for _, n := range []int{1, 2, 5, 10} {
		ps := linearBlock(estimator.PowerSeries{Terms: n}, true)
		fmt.Printf("power series n=%-2d %.6f  error %.1e ≤ bound %.1e\n", n, ps, math.Abs(ps-exact), estimator.WeakBound(sigma, 2, n))
	}
	// Output:
	// exact            0.609766 (log det [[1.3 -0.2] [0.1 1.4]] = 0.609766)
	// power series n=1  0.700000  error 9.0e-02 ≤ bound 3.0e-01
	// power series n=2  0.595000  error 1.5e-02 ≤ bound 9.4e-02
	// power series n=5  0.609422  error 3.4e-04 ≤ bound 4.6e-03
	// power series n=10 0.609768  error 2.0e-06 ≤ bound 4.9e-05
}
