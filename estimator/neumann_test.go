package estimator_test

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

// TestNeumannGradientWithBasisProbes: with the basis vectors as probes both
// gradient modes are exact, so the Neumann gradient of Σ log-det must equal
// the central-difference gradient of the series value, for every parameter
// of ActNorm → residual (the ActNorm gradient flows through x).
func TestNeumannGradientWithBasisProbes(t *testing.T) {
	const d, points, terms = 3, 2, 4
	rng := rand.New(rand.NewPCG(11, 11))
	est := estimator.PowerSeries{Terms: terms, Gradient: estimator.NeumannGradient}
	a, err := blocks.NewActNorm(d, tensor.Float64)
	if err != nil {
		t.Fatal(err)
	}
	r := must(blocks.NewDense(blocks.DenseConfig{Dim: d, Hidden: []int{6}, Lipschitz: lip(est, graph.ELU)}, rng))(t)
	model, err := blocks.NewChain(a, r)
	if err != nil {
		t.Fatal(err)
	}
	for _, nt := range a.Tensors() {
		for i := range nt.Value.Data().([]float64) {
			nt.Value.Data().([]float64)[i] = 0.3 * rng.NormFloat64()
		}
	}
	// Rows p·d+i hold point p with probe e_i.
	xd := make([]float64, points*d*d)
	for p := 0; p < points; p++ {
		pt := randFloats(rng, d)
		for i := 0; i < d; i++ {
			copy(xd[(p*d+i)*d:], pt)
		}
	}
	x := tensor.New(tensor.WithShape(points*d, d), tensor.WithBacking(xd))
	b, _ := graph.NewBuilder(tensor.Float64)
	xn, _ := b.Input("x", x)
	_, ld, err := model.Forward(b, xn)
	if err != nil {
		t.Fatal(err)
	}
	loss := G.Must(G.Sum(ld))
	one, _ := b.Scalar("one", 1)
	var wrt G.Nodes
	for _, p := range b.Params() {
		wrt = append(wrt, p.Node)
	}
	grads, err := graph.VJP(G.Nodes{loss}, G.Nodes{one}, wrt)
	if err != nil {
		t.Fatal(err)
	}
	probe := b.Noise()[0].Value.Data().([]float64)
	clear(probe) // the probe holds a random draw from registration on
	for row := 0; row < points*d; row++ {
		probe[row*d+row%d] = 1
	}
	m := G.NewTapeMachine(b.Graph())
	defer m.Close()
	run := func() float64 {
		m.Reset()
		if err := m.RunAll(); err != nil {
			t.Fatal(err)
		}
		return loss.Value().Data().(float64)
	}
	run()
	sym := make([][]float64, len(grads))
	for i, g := range grads {
		if g == nil { // e.g. the last bias: J does not depend on it
			sym[i] = make([]float64, b.Params()[i].Value.Shape().TotalSize())
			continue
		}
		sym[i] = append([]float64(nil), g.Value().Data().([]float64)...)
	}
	for i, p := range b.Params() {
		data := p.Value.Data().([]float64)
		for j := range data {
			orig := data[j]
			data[j] = orig + gradStep
			fp := run()
			data[j] = orig - gradStep
			fm := run()
			data[j] = orig
			fd := (fp - fm) / (2 * gradStep)
			if e := math.Abs(sym[i][j]-fd) / math.Max(math.Abs(fd), gradFloor); e > gradRelTol {
				t.Errorf("∂/∂%s[%d]: Neumann %.9g, finite difference of the series %.9g (relative error %.2g)", p.Name, j, sym[i][j], fd, e)
			}
		}
	}
}

// TestNeumannValueMatchesSeries: the Neumann mode changes the gradient
// only; the value equals the power series for the same probes.
func TestNeumannValueMatchesSeries(t *testing.T) {
	c := blockCases[2] // dense d=4 linear
	var vals [2][]float64
	for i, mode := range []estimator.GradientMode{estimator.SeriesGradient, estimator.NeumannGradient} {
		rng := rand.New(rand.NewPCG(12, 12))
		r := c.build(t, estimator.PowerSeries{Terms: 5, Gradient: mode}, rng)
		x, _ := repeated(rng, 8, c.shape)
		g := newLogDetGraph(t, r, x, nil)
		g.b.Resample(rng)
		vals[i] = g.run(t)
	}
	for i := range vals[0] {
		if math.Abs(vals[0][i]-vals[1][i]) > 1e-12 {
			t.Errorf("row %d: series %.15g, Neumann %.15g", i, vals[0][i], vals[1][i])
		}
	}
}
