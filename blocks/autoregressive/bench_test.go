package autoregressive_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/blocks/autoregressive"
	"github.com/iresnet/iresnet/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// benchStep builds the density loss −Σ log p(x) of f under a standard
// Gaussian base with its gradient w.r.t. every parameter (a training
// step's graph, float32), compiles it once, and times one run per
// iteration.
func benchStep(b *testing.B, f blocks.Bijector, n, d int) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := tensor.New(tensor.WithShape(n, d), tensor.WithBacking(make([]float32, n*d)))
	graph.Fill(x, graph.Gaussian, rng)
	if di, ok := f.(blocks.DataInitializer); ok {
		if err := di.InitFromBatch(x); err != nil {
			b.Fatal(err)
		}
	}
	start := time.Now()
	gb, err := graph.NewBuilder(tensor.Float32)
	if err != nil {
		b.Fatal(err)
	}
	xn, err := gb.Input("x", x)
	if err != nil {
		b.Fatal(err)
	}
	logp, _, err := blocks.Flow{F: f}.LogProb(gb, xn)
	if err != nil {
		b.Fatal(err)
	}
	loss := G.Must(G.Neg(G.Must(G.Sum(logp))))
	one, err := gb.Scalar("one", 1)
	if err != nil {
		b.Fatal(err)
	}
	var wrt G.Nodes
	for _, p := range gb.Params() {
		wrt = append(wrt, p.Node)
	}
	if _, err := graph.VJP(G.Nodes{loss}, G.Nodes{one}, wrt); err != nil {
		b.Fatal(err)
	}
	m := G.NewTapeMachine(gb.Graph())
	defer m.Close()
	build := time.Since(start)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.Reset()
		if err := m.RunAll(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(build.Seconds(), "build-s") // graph build and compile, once
}

// BenchmarkMAFStep2D times one forward and gradient of a 5-layer MAF
// (hidden [64, 64], ActNorm) on a 2-D batch of 500.
func BenchmarkMAFStep2D(b *testing.B) {
	maf, err := autoregressive.NewMAF(autoregressive.MAFConfig{Dim: 2, ActNorm: true}, rand.New(rand.NewPCG(3, 4)))
	if err != nil {
		b.Fatal(err)
	}
	benchStep(b, maf, 500, 2)
}

// BenchmarkMAFStepMNIST times one forward and gradient of the paper's MNIST
// MAF 5 (5 layers, one hidden layer of 1024, Papamakarios et al. 2017,
// §4.2) with ActNorm on flattened 784-D inputs, batch 16.
func BenchmarkMAFStepMNIST(b *testing.B) {
	maf, err := autoregressive.NewMAF(autoregressive.MAFConfig{Dim: 784, Hidden: []int{1024}, ActNorm: true}, rand.New(rand.NewPCG(5, 6)))
	if err != nil {
		b.Fatal(err)
	}
	benchStep(b, maf, 16, 784)
}

// BenchmarkMADEInverseMNIST times the sequential inverse (784 network
// passes) of one MADE layer of the MNIST model, batch 16.
func BenchmarkMADEInverseMNIST(b *testing.B) {
	made, err := autoregressive.NewMADE(autoregressive.MADEConfig{Dim: 784, Hidden: []int{1024}}, rand.New(rand.NewPCG(7, 8)))
	if err != nil {
		b.Fatal(err)
	}
	u := tensor.New(tensor.WithShape(16, 784), tensor.WithBacking(make([]float32, 16*784)))
	graph.Fill(u, graph.Gaussian, rand.New(rand.NewPCG(9, 10)))
	if _, err := made.Inverse(u); err != nil { // compile outside the timer
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := made.Inverse(u); err != nil {
			b.Fatal(err)
		}
	}
}
