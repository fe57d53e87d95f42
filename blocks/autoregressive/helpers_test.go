package autoregressive_test

import (
	"math/rand/v2"
	"os"
	"testing"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func TestMain(m *testing.M) {
	graph.UseFastBLAS()
	os.Exit(m.Run())
}

// lossGradients returns, by parameter name, the gradient of
// Σ logDet + Σ y ⊙ r (r random) w.r.t. every parameter of f at x (float64).
func lossGradients(t *testing.T, f blocks.Bijector, x *tensor.Dense, rng *rand.Rand) map[string][]float64 {
	t.Helper()
	b, err := graph.NewBuilder(x.Dtype())
	if err != nil {
		t.Fatal(err)
	}
	xn, err := b.Input("x", x)
	if err != nil {
		t.Fatal(err)
	}
	y, ld, err := f.Forward(b, xn)
	if err != nil {
		t.Fatal(err)
	}
	rn, err := b.Input("r", randTensor(rng, y.Shape()...))
	if err != nil {
		t.Fatal(err)
	}
	fit := G.Must(G.Sum(G.Must(G.HadamardProd(y, rn))))
	loss := G.Must(G.Add(fit, G.Must(G.Sum(ld))))
	one, err := b.Scalar("one", 1)
	if err != nil {
		t.Fatal(err)
	}
	params := b.Params()
	wrt := make(G.Nodes, len(params))
	for i, p := range params {
		wrt[i] = p.Node
	}
	grads, err := graph.VJP(G.Nodes{loss}, G.Nodes{one}, wrt)
	if err != nil {
		t.Fatal(err)
	}
	m := G.NewTapeMachine(b.Graph())
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	out := map[string][]float64{}
	for i, g := range grads {
		if g == nil {
			t.Fatalf("no gradient for %s", params[i].Name)
		}
		out[params[i].Name] = append([]float64(nil), g.Value().Data().([]float64)...)
	}
	return out
}
