package ode_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/iresnet/iresnet/blocks/ode"
	"gorgonia.org/tensor"
)

// TestDefaultModelGradients checks, on the default toy configuration
// (hidden [64, 64, 64], softplus, 10 RK4 steps, one Gaussian probe), a few
// random gradient entries of every parameter against central differences,
// on the whole-graph machine a trainer compiles. The small conformance
// models might hide a compile-time hazard that a graph of this size (40
// dynamics evaluations, each with its VJP, differentiated again) hits.
func TestDefaultModelGradients(t *testing.T) {
	if testing.Short() {
		t.Skip("second-order graph of the default model; run without -short")
	}
	rng := rand.New(rand.NewPCG(81, 82))
	f, err := ode.NewFFJORD(ode.FFJORDConfig{Dim: 2, Dtype: tensor.Float64}, rng)
	if err != nil {
		t.Fatal(err)
	}
	x := randTensor(rng, 2, 2)
	r := randTensor(rng, 2, 2)
	loss, grads, _, params, m := lossGraph(t, f, x, r)
	defer m.Close()
	eval := func() float64 {
		m.Reset()
		if err := m.RunAll(); err != nil {
			t.Fatal(err)
		}
		return scalar(t, *loss)
	}
	eval()
	sym := make([][]float64, len(grads))
	for i, g := range grads {
		sym[i] = append([]float64(nil), (*g).Data().([]float64)...)
	}
	for i, p := range params {
		data := p.Value.Data().([]float64)
		for _, k := range rng.Perm(len(data))[:min(3, len(data))] {
			orig := data[k]
			data[k] = orig + gradStep
			lp := eval()
			data[k] = orig - gradStep
			lm := eval()
			data[k] = orig
			fd := (lp - lm) / (2 * gradStep)
			if diff := math.Abs(sym[i][k] - fd); diff > gradTol*(1+math.Abs(fd)) {
				t.Errorf("∂loss/∂%s[%d] = %.10g, central difference %.10g (diff %.3g)", p.Name, k, sym[i][k], fd, diff)
			}
		}
	}
}
