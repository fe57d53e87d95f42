package coupling_test

import (
	"math/rand/v2"
	"testing"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/blocks/coupling"
	"github.com/iresnet/iresnet/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// benchStep measures one forward pass and the gradient of the negative
// log-likelihood ½‖z‖² − log|det| (summed over the batch) w.r.t. every
// parameter, in float32 at batch 16 on 1×28×28 images: what a training
// step computes, without the optimizer update. The graph is built and
// compiled once, outside the timing.
func benchStep(b *testing.B, build func(rng *rand.Rand) (blocks.Bijector, error), shape []int) {
	rng := rand.New(rand.NewPCG(1, 1))
	f, err := build(rng)
	if err != nil {
		b.Fatal(err)
	}
	x := gaussian(tensor.Float32, rng, shape)
	if di, ok := f.(blocks.DataInitializer); ok {
		if err := di.InitFromBatch(x); err != nil {
			b.Fatal(err)
		}
	}
	gb, err := graph.NewBuilder(tensor.Float32)
	if err != nil {
		b.Fatal(err)
	}
	xn, err := gb.Input("x", x)
	if err != nil {
		b.Fatal(err)
	}
	z, ld, err := f.Forward(gb, xn)
	if err != nil {
		b.Fatal(err)
	}
	loss, err := nll(gb, z, ld)
	if err != nil {
		b.Fatal(err)
	}
	one, err := gb.Scalar("one", 1)
	if err != nil {
		b.Fatal(err)
	}
	var wrt G.Nodes
	for _, p := range gb.Params() {
		wrt = append(wrt, p.Node)
	}
	grads, err := graph.VJP(G.Nodes{loss}, G.Nodes{one}, wrt)
	if err != nil {
		b.Fatal(err)
	}
	m := G.NewTapeMachine(gb.Graph().ExactSubgraphRoots(append(G.Nodes{loss}, grads...)...))
	defer m.Close()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.Reset()
		if err := m.RunAll(); err != nil {
			b.Fatal(err)
		}
	}
}

// nll returns Σ_n (½‖z_n‖² − logDet_n), the negative log-likelihood under
// a standard Gaussian prior up to a constant.
func nll(b *graph.Builder, z, ld *G.Node) (*G.Node, error) {
	sq, err := G.Square(z)
	if err != nil {
		return nil, err
	}
	s, err := G.Sum(sq)
	if err != nil {
		return nil, err
	}
	half, err := b.Scalar("half", 0.5)
	if err != nil {
		return nil, err
	}
	if s, err = G.Mul(s, half); err != nil {
		return nil, err
	}
	l, err := G.Sum(ld)
	if err != nil {
		return nil, err
	}
	return G.Sub(s, l)
}

var mnistBatch = []int{16, 1, 28, 28}

func BenchmarkRealNVPStep(b *testing.B) {
	benchStep(b, func(rng *rand.Rand) (blocks.Bijector, error) {
		return coupling.NewRealNVP(coupling.RealNVPConfig{Channels: 1, Height: 28, Width: 28}, rng)
	}, mnistBatch)
}

func BenchmarkGlowAffineStep(b *testing.B) {
	benchStep(b, func(rng *rand.Rand) (blocks.Bijector, error) {
		return coupling.NewGlow(coupling.GlowConfig{Channels: 1, Height: 28, Width: 28}, rng)
	}, mnistBatch)
}

func BenchmarkGlowAdditiveReverseStep(b *testing.B) {
	benchStep(b, func(rng *rand.Rand) (blocks.Bijector, error) {
		return coupling.NewGlow(coupling.GlowConfig{Channels: 1, Height: 28, Width: 28, Coupling: coupling.Additive, Mixing: coupling.Reverse}, rng)
	}, mnistBatch)
}

func BenchmarkNICEMNISTStep(b *testing.B) {
	benchStep(b, func(rng *rand.Rand) (blocks.Bijector, error) {
		return coupling.NewNICE(coupling.NICEMNIST(), rng)
	}, mnistBatch)
}
