package coupling_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/blocks/blockstest"
	"github.com/iresnet/iresnet/blocks/coupling"
	"gorgonia.org/tensor"
)

// float32Tol bounds the relative disagreement of float32 and float64
// evaluations of one model (outputs, log-dets, round trips): float32 has
// 24-bit mantissas (6e-8) and a few dozen operations compound it.
const float32Tol = 1e-4

// models builds each model in the requested dtype from the same seed, so
// both dtypes get the same weights.
var models = []struct {
	name  string
	build func(dt tensor.Dtype, rng *rand.Rand) (blocks.Bijector, error)
	shape []int
}{
	{"nice", func(dt tensor.Dtype, rng *rand.Rand) (blocks.Bijector, error) {
		return coupling.NewNICE(coupling.NICEConfig{Dim: 4, Layers: 3, Hidden: []int{8}, Dtype: dt}, rng)
	}, []int{3, 4}},
	{"realnvp-dense", func(dt tensor.Dtype, rng *rand.Rand) (blocks.Bijector, error) {
		return coupling.NewDenseRealNVP(coupling.DenseRealNVPConfig{Dim: 2, Layers: 4, Hidden: []int{8}, Dtype: dt}, rng)
	}, []int{3, 2}},
	{"realnvp", func(dt tensor.Dtype, rng *rand.Rand) (blocks.Bijector, error) {
		return coupling.NewRealNVP(coupling.RealNVPConfig{Channels: 1, Height: 4, Width: 4, Couplings: 2, FinalCouplings: 2, HiddenChannels: 4, ResBlocks: 1, Dtype: dt}, rng)
	}, []int{2, 1, 4, 4}},
	{"glow", func(dt tensor.Dtype, rng *rand.Rand) (blocks.Bijector, error) {
		return coupling.NewGlow(coupling.GlowConfig{Channels: 1, Height: 4, Width: 4, Steps: 2, HiddenChannels: 4, Dtype: dt}, rng)
	}, []int{2, 1, 4, 4}},
	{"glow-additive", func(dt tensor.Dtype, rng *rand.Rand) (blocks.Bijector, error) {
		return coupling.NewGlow(coupling.GlowConfig{Channels: 1, Height: 4, Width: 4, Steps: 2, HiddenChannels: 4, Coupling: coupling.Additive, Mixing: coupling.Reverse, Dtype: dt}, rng)
	}, []int{2, 1, 4, 4}},
	{"glow-dense", func(dt tensor.Dtype, rng *rand.Rand) (blocks.Bijector, error) {
		return coupling.NewDenseGlow(coupling.DenseGlowConfig{Dim: 3, Steps: 2, Hidden: []int{8}, Dtype: dt}, rng)
	}, []int{3, 3}},
}

// TestFloat32MatchesFloat64 builds every model in both dtypes with the
// same weights (perturbed identically, ActNorm initialized from the same
// batch) and checks that float32 outputs, log-dets and round trips agree
// with float64 ones.
func TestFloat32MatchesFloat64(t *testing.T) {
	for _, m := range models {
		t.Run(m.name, func(t *testing.T) {
			var ys, lds [2][]float64
			for i, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
				rng := rand.New(rand.NewPCG(9, 9))
				f, err := m.build(dt, rng)
				if err != nil {
					t.Fatal(err)
				}
				init, x := gaussian(dt, rng, m.shape), gaussian(dt, rng, m.shape)
				if di, ok := f.(blocks.DataInitializer); ok {
					if err := di.InitFromBatch(init); err != nil {
						t.Fatal(err)
					}
				}
				if tr, ok := f.(blocks.Tensorer); ok {
					for _, nt := range tr.Tensors() {
						if nt.Learnable {
							addNoise(nt.Value, 0.1, rng)
						}
					}
				}
				y, ld, err := blockstest.ForwardValues(f, x)
				if err != nil {
					t.Fatal(err)
				}
				ys[i], lds[i] = floats(y), floats(ld)
				xr, err := f.Inverse(y)
				if err != nil {
					t.Fatal(err)
				}
				if d := relDiff(floats(xr), floats(x)); d > float32Tol {
					t.Errorf("%v round trip off by %.3g (relative)", dt, d)
				}
			}
			if d := relDiff(ys[1], ys[0]); d > float32Tol {
				t.Errorf("float32 output differs from float64 by %.3g (relative)", d)
			}
			if d := relDiff(lds[1], lds[0]); d > float32Tol {
				t.Errorf("float32 log-det %v differs from float64 %v by %.3g (relative)", lds[1], lds[0], d)
			}
		})
	}
}

func gaussian(dt tensor.Dtype, rng *rand.Rand, shape []int) *tensor.Dense {
	t := tensor.New(tensor.Of(dt), tensor.WithShape(shape...))
	addNoise(t, 1, rng)
	return t
}

// addNoise adds N(0, sd²) draws to t; the draws do not depend on t's dtype.
func addNoise(t *tensor.Dense, sd float64, rng *rand.Rand) {
	switch d := t.Data().(type) {
	case []float64:
		for i := range d {
			d[i] += sd * rng.NormFloat64()
		}
	case []float32:
		for i := range d {
			d[i] += float32(sd * rng.NormFloat64())
		}
	}
}

func floats(t *tensor.Dense) []float64 {
	switch d := t.Data().(type) {
	case []float64:
		return append([]float64(nil), d...)
	case []float32:
		out := make([]float64, len(d))
		for i, v := range d {
			out[i] = float64(v)
		}
		return out
	}
	return nil
}

// relDiff returns max |a − b| / (1 + max |b|).
func relDiff(a, b []float64) float64 {
	var d, s float64
	for i := range b {
		d = math.Max(d, math.Abs(a[i]-b[i]))
		s = math.Max(s, math.Abs(b[i]))
	}
	if len(a) != len(b) || math.IsNaN(d) {
		return math.Inf(1)
	}
	return d / (1 + s)
}
