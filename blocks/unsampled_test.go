package blocks_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/estimator"
	"github.com/iresnet/iresnet/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// logDetWithoutResample builds Flow.LogProb for one dense block with the
// given estimator and runs it once, never calling Resample, as a user who
// has not read the Builder's docs would. It returns the log-det per row.
func logDetWithoutResample(t *testing.T, est estimator.Estimator) []float64 {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 4))
	r, err := blocks.NewDense(blocks.DenseConfig{Dim: 2, Hidden: []int{16},
		Lipschitz: blocks.Lipschitz{Coeff: 0.9, Act: graph.ELU, Dtype: tensor.Float64, Estimator: est}}, rng)
	if err != nil {
		t.Fatal(err)
	}
	b, err := graph.NewBuilder(tensor.Float64)
	if err != nil {
		t.Fatal(err)
	}
	x, err := b.Input("x", tensor.New(tensor.WithShape(3, 2), tensor.WithBacking([]float64{0.3, -0.7, 1.2, 0.4, -0.5, -0.1})))
	if err != nil {
		t.Fatal(err)
	}
	_, logDet, err := blocks.Flow{F: r}.LogProb(b, x)
	if err != nil {
		t.Fatal(err)
	}
	m := G.NewTapeMachine(b.Graph())
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	return append([]float64(nil), logDet.Value().Data().([]float64)...)
}

// TestLogProbWithoutResampleIsAnEstimate checks that a log-det graph run
// before any Builder.Resample gives a genuine Hutchinson estimate, not the
// zero of unfilled probes: with 400 probes per row (registered inputs, each
// drawn at registration) it must agree with the exact log-det to within
// five standard errors of a Gaussian-probe trace estimate of a 2×2 Jacobian
// with norm ≤ 0.9 (per-probe standard deviation ≤ √2·‖J‖_F ≤ 1.8, so the
// mean's is ≤ 0.09), plus the 5-term truncation bound.
func TestLogProbWithoutResampleIsAnEstimate(t *testing.T) {
	exact := logDetWithoutResample(t, estimator.Exact{})
	est := logDetWithoutResample(t, estimator.PowerSeries{Probes: 400})
	tol := 5*0.09 + estimator.WeakBound(0.9, 2, 5)
	for i := range exact {
		if exact[i] == 0 || est[i] == 0 {
			t.Fatalf("row %d: log-det %g (exact %g); an unsampled probe must not give zero", i, est[i], exact[i])
		}
		if d := math.Abs(est[i] - exact[i]); d > tol {
			t.Errorf("row %d: estimate %g, exact %g: off by %g > %g", i, est[i], exact[i], d, tol)
		}
	}
}
