package ode_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/blocks/ode"
	"github.com/iresnet/iresnet/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// BenchmarkFFJORDStep2D times one forward and gradient of the density loss
// −Σ log p(x) (float32, batch 500) of the default 2-D FFJORD: hidden
// [64, 64, 64], softplus, 10 RK4 steps, one Gaussian Hutchinson probe
// resampled every iteration, as in a training step. The graph is built and
// compiled once, outside the timer.
func BenchmarkFFJORDStep2D(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	cnf, err := ode.NewFFJORD(ode.FFJORDConfig{Dim: 2}, rng)
	if err != nil {
		b.Fatal(err)
	}
	const n = 500
	x := tensor.New(tensor.WithShape(n, 2), tensor.WithBacking(make([]float32, n*2)))
	graph.Fill(x, graph.Gaussian, rng)
	start := time.Now()
	gb, err := graph.NewBuilder(tensor.Float32)
	if err != nil {
		b.Fatal(err)
	}
	xn, err := gb.Input("x", x)
	if err != nil {
		b.Fatal(err)
	}
	logp, _, err := blocks.Flow{F: cnf}.LogProb(gb, xn)
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
		gb.Resample(rng)
		m.Reset()
		if err := m.RunAll(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(build.Seconds(), "build-s") // graph build and compile, once
}

// BenchmarkFFJORDInverse2D times the inverse (sampling direction) of the
// default 2-D FFJORD on a batch of 500.
func BenchmarkFFJORDInverse2D(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	cnf, err := ode.NewFFJORD(ode.FFJORDConfig{Dim: 2}, rng)
	if err != nil {
		b.Fatal(err)
	}
	z := tensor.New(tensor.WithShape(500, 2), tensor.WithBacking(make([]float32, 1000)))
	graph.Fill(z, graph.Gaussian, rng)
	if _, err := cnf.Inverse(z); err != nil { // compile outside the timer
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := cnf.Inverse(z); err != nil {
			b.Fatal(err)
		}
	}
}
