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

// gradRelTol is issue 2's bound on the relative error of the symbolic
// gradient against central differences (h = 1e-6, float64), measured as
// |sym − fd| / max(|fd|, gradFloor).
const (
	gradRelTol = 1e-5
	gradStep   = 1e-6
	gradFloor  = 1e-3
)

// TestLogDetGradientFiniteDifferences differentiates a density-style loss
// Σ_n (log-det_n + ⟨y_n, r_n⟩) of ActNorm → residual → residual with fixed
// probes w.r.t. every parameter (conv and dense weights through spectral
// normalization, biases, ActNorm scale and shift) and compares with central
// finite differences. The power iteration vectors stay fixed, as they do
// within a training step.
func TestLogDetGradientFiniteDifferences(t *testing.T) {
	ests := []estimator.Estimator{
		estimator.PowerSeries{Terms: 3, Probes: 2},
		estimator.RussianRoulette{MaxTerms: 4},
		estimator.Exact{},
	}
	cases := []struct {
		name  string
		shape []int
		build func(l blocks.Lipschitz, rng *rand.Rand) ([]blocks.Bijector, error)
	}{
		{"dense", []int{3, 3}, func(l blocks.Lipschitz, rng *rand.Rand) ([]blocks.Bijector, error) {
			a, err := blocks.NewActNorm(3, l.Dtype)
			if err != nil {
				return nil, err
			}
			l.Act = graph.ELU
			r1, err := blocks.NewDense(blocks.DenseConfig{Dim: 3, Hidden: []int{5}, Lipschitz: l}, rng)
			if err != nil {
				return nil, err
			}
			l.Act, l.InputAct = graph.LipSwish, true
			r2, err := blocks.NewDense(blocks.DenseConfig{Dim: 3, Hidden: []int{4, 4}, Lipschitz: l}, rng)
			return []blocks.Bijector{a, r1, r2}, err
		}},
		{"conv", []int{2, 1, 4, 4}, func(l blocks.Lipschitz, rng *rand.Rand) ([]blocks.Bijector, error) {
			a, err := blocks.NewActNorm(1, l.Dtype)
			if err != nil {
				return nil, err
			}
			l.Act = graph.Softplus
			r, err := blocks.NewConv(blocks.ConvConfig{Channels: 4, Height: 2, Width: 2, Hidden: 3, Lipschitz: l}, rng)
			return []blocks.Bijector{a, blocks.Squeeze{}, r}, err
		}},
	}
	for _, c := range cases {
		for _, est := range ests {
			t.Run(c.name+"/"+est.(interface{ String() string }).String(), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(9, 9))
				bs, err := c.build(blocks.Lipschitz{Coeff: 0.9, Estimator: est, Dtype: tensor.Float64}, rng)
				if err != nil {
					t.Fatal(err)
				}
				model, err := blocks.NewChain(bs...)
				if err != nil {
					t.Fatal(err)
				}
				x := tensor.New(tensor.WithShape(c.shape...), tensor.WithBacking(randFloats(rng, size(c.shape))))
				if err := model.InitFromBatch(x); err != nil {
					t.Fatal(err)
				}
				// Move ActNorm off its data-dependent optimum so its
				// gradient is not special.
				for _, nt := range model.Tensors() {
					if nt.Learnable {
						for i, v := range nt.Value.Data().([]float64) {
							nt.Value.Data().([]float64)[i] = v + 0.1*rng.NormFloat64()
						}
					}
				}
				b, _ := graph.NewBuilder(tensor.Float64)
				xn, _ := b.Input("x", x)
				y, ld, err := model.Forward(b, xn)
				if err != nil {
					t.Fatal(err)
				}
				r := tensor.New(tensor.WithShape(y.Shape()...), tensor.WithBacking(randFloats(rng, y.Shape().TotalSize())))
				rn, _ := b.Input("r", r)
				fit, err := graph.DotPerSample(y, rn)
				if err != nil {
					t.Fatal(err)
				}
				loss := G.Must(G.Sum(G.Must(G.Add(ld, fit))))
				one, _ := b.Scalar("one", 1)
				params := b.Params()
				wrt := make(G.Nodes, len(params))
				for i, p := range params {
					wrt[i] = p.Node
				}
				grads, err := graph.VJP(G.Nodes{loss}, G.Nodes{one}, wrt)
				if err != nil {
					t.Fatal(err)
				}
				b.Resample(rng) // probes and roulette weights stay fixed from here
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
					if g == nil {
						t.Fatalf("no gradient for %s", params[i].Name)
					}
					sym[i] = append([]float64(nil), g.Value().Data().([]float64)...)
				}
				checked := 0
				for i, p := range params {
					data := p.Value.Data().([]float64)
					for j := range data {
						orig := data[j]
						data[j] = orig + gradStep
						fp := run()
						data[j] = orig - gradStep
						fm := run()
						data[j] = orig
						fd := (fp - fm) / (2 * gradStep)
						if d := math.Abs(sym[i][j]-fd) / math.Max(math.Abs(fd), gradFloor); d > gradRelTol {
							t.Errorf("∂loss/∂%s[%d] = %.9g, finite difference %.9g (relative error %.2g)", p.Name, j, sym[i][j], fd, d)
						}
						checked++
					}
				}
				t.Logf("%d parameters in %d tensors checked", checked, len(params))
			})
		}
	}
}

func randFloats(rng *rand.Rand, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = rng.NormFloat64()
	}
	return out
}
