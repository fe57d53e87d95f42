package blocks_test

import (
	"math/rand/v2"
	"testing"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/estimator"
	"github.com/iresnet/iresnet/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// benchCase is a block and input shape for the issue-2 benchmarks, float32.
type benchCase struct {
	name  string
	shape []int
	build func(b *testing.B, rng *rand.Rand) *blocks.Residual
}

var benchCases = []benchCase{
	{"dense/d=2,h=64-64,N=500", []int{500, 2}, func(b *testing.B, rng *rand.Rand) *blocks.Residual {
		return benchMust(b)(blocks.NewDense(blocks.DenseConfig{Dim: 2, Hidden: []int{64, 64}, Lipschitz: blocks.Lipschitz{Act: graph.ELU}}, rng))
	}},
	{"dense/d=64,h=64-64,N=500", []int{500, 64}, func(b *testing.B, rng *rand.Rand) *blocks.Residual {
		return benchMust(b)(blocks.NewDense(blocks.DenseConfig{Dim: 64, Hidden: []int{64, 64}, Lipschitz: blocks.Lipschitz{Act: graph.ELU}}, rng))
	}},
	{"conv/16x14x14,h=32,N=64", []int{64, 16, 14, 14}, func(b *testing.B, rng *rand.Rand) *blocks.Residual {
		return benchMust(b)(blocks.NewConv(blocks.ConvConfig{Channels: 16, Height: 14, Width: 14, Hidden: 32, Lipschitz: blocks.Lipschitz{Act: graph.ELU}}, rng))
	}},
}

func benchMust(b *testing.B) func(*blocks.Residual, error) *blocks.Residual {
	return func(r *blocks.Residual, err error) *blocks.Residual {
		if err != nil {
			b.Fatal(err)
		}
		return r
	}
}

// benchGraph builds y = F(x) and its log-det, optionally with the gradient
// of Σ log-det w.r.t. every parameter, once; the benchmark re-runs it.
func benchGraph(b *testing.B, r *blocks.Residual, x *tensor.Dense, withLogDet, withGrad bool) (G.VM, *graph.Builder) {
	gb, err := graph.NewBuilder(tensor.Float32)
	if err != nil {
		b.Fatal(err)
	}
	xn, err := gb.Input("x", x)
	if err != nil {
		b.Fatal(err)
	}
	if !withLogDet {
		y, err := r.Branch(gb, xn)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := G.Add(xn, y); err != nil {
			b.Fatal(err)
		}
		return G.NewTapeMachine(gb.Graph()), gb
	}
	_, ld, err := r.ForwardWith(gb, xn, estimator.PowerSeries{Terms: 5})
	if err != nil {
		b.Fatal(err)
	}
	if withGrad {
		loss := G.Must(G.Sum(ld))
		one, _ := gb.Scalar("one", 1)
		var wrt G.Nodes
		for _, p := range gb.Params() {
			wrt = append(wrt, p.Node)
		}
		if _, err := graph.VJP(G.Nodes{loss}, G.Nodes{one}, wrt); err != nil {
			b.Fatal(err)
		}
	}
	return G.NewTapeMachine(gb.Graph()), gb
}

// BenchmarkForward times y = x + g(x) alone.
func BenchmarkForward(b *testing.B) {
	for _, c := range benchCases {
		b.Run(c.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 1))
			r := c.build(b, rng)
			x := randTensor(tensor.Float32, rng, c.shape...)
			m, _ := benchGraph(b, r, x, false, false)
			defer m.Close()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				m.Reset()
				if err := m.RunAll(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkForwardLogDetGrad times forward + 5-term power-series log-det
// (one probe) + gradient of Σ log-det w.r.t. all parameters: the
// second-order work of one training step for one block.
func BenchmarkForwardLogDetGrad(b *testing.B) {
	for _, c := range benchCases {
		b.Run(c.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 1))
			r := c.build(b, rng)
			x := randTensor(tensor.Float32, rng, c.shape...)
			m, gb := benchGraph(b, r, x, true, true)
			defer m.Close()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				gb.Resample(rng)
				m.Reset()
				if err := m.RunAll(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkInverse times the fixed-point inverse to the float32 default
// tolerance (1e-6).
func BenchmarkInverse(b *testing.B) {
	for _, c := range benchCases {
		b.Run(c.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 1))
			r := c.build(b, rng)
			x := randTensor(tensor.Float32, rng, c.shape...)
			y, err := blocks.Apply(r, x)
			if err != nil {
				b.Fatal(err)
			}
			if _, _, err := r.InverseWithStats(y); err != nil { // compile outside the timer
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			iters := 0
			for i := 0; i < b.N; i++ {
				_, st, err := r.InverseWithStats(y)
				if err != nil {
					b.Fatal(err)
				}
				iters += st.Iter
			}
			b.ReportMetric(float64(iters)/float64(b.N), "iters/op")
		})
	}
}
