package blocks_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/graph"
	"gorgonia.org/tensor"
)

// TestCertifyConvBlock inflates a conv block's weights far past c, so the
// power-iteration σ̂ (stored before the inflation) no longer normalizes
// them, certifies, and checks that every layer's bound is at most c, that
// Bounds of the certified weights agrees, and that the block inverts.
func TestCertifyConvBlock(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	r, err := blocks.NewConv(blocks.ConvConfig{Channels: 2, Height: 6, Width: 6, Hidden: 4,
		Lipschitz: blocks.Lipschitz{Coeff: 0.7, Act: graph.ELU, Dtype: tensor.Float64}}, rng)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range r.SpectralLayers() {
		d := l.Weight.Data().([]float64)
		for i := range d {
			d[i] *= 4
		}
	}
	before, err := r.Bounds()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := r.Certify()
	if err != nil {
		t.Fatal(err)
	}
	after, err := r.Bounds()
	if err != nil {
		t.Fatal(err)
	}
	if len(cert.Layers) != 3 {
		t.Fatalf("%d layers certified, want 3", len(cert.Layers))
	}
	prod := 1.0
	for i, l := range cert.Layers {
		if l.Raw != before.Layers[i].Bound || l.Coeff != 0.7 {
			t.Errorf("layer %s: raw bound %g, Bounds before %g, c %g", l.Layer, l.Raw, before.Layers[i].Bound, l.Coeff)
		}
		if !(l.Bound <= 0.7*(1+1e-9)) || math.Abs(l.Bound-after.Layers[i].Bound) > 1e-12 {
			t.Errorf("layer %s: certified bound %.12g, Bounds after %.12g, want ≤ c = 0.7", l.Layer, l.Bound, after.Layers[i].Bound)
		}
		prod *= l.Bound
	}
	if math.Abs(prod-cert.Lipschitz) > 1e-12 || !(cert.Lipschitz <= 0.343*(1+1e-8)) {
		t.Errorf("Lipschitz bound %.12g, product of layers %.12g, want ≤ c³", cert.Lipschitz, prod)
	}
	x := tensor.New(tensor.WithShape(3, 2, 6, 6), tensor.WithBacking(randFloats(rng, 3*2*6*6)))
	y, err := blocks.Apply(r, x)
	if err != nil {
		t.Fatal(err)
	}
	back, err := r.Inverse(y)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range back.Data().([]float64) {
		if d := math.Abs(v - x.Data().([]float64)[i]); d > 1e-9 {
			t.Fatalf("F⁻¹(F(x))[%d] off by %g", i, d)
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

// BenchmarkCertify measures certifying every layer of the small MNIST
// density model (2 scales × 4 conv blocks, hidden 32, on 4×14×14 and
// 8×7×7) and of a dense toy model (10 blocks 2-64-64-64-2).
func BenchmarkCertify(b *testing.B) {
	lip := blocks.Lipschitz{Coeff: 0.9, Act: graph.ELU}
	models := []struct {
		name  string
		build func(rng *rand.Rand) ([]*blocks.Residual, error)
	}{
		{"mnist-small", func(rng *rand.Rand) ([]*blocks.Residual, error) {
			ms, err := blocks.NewMultiScale(blocks.MultiScaleConfig{Channels: 1, Height: 28, Width: 28, Scales: 2, Blocks: 4,
				Hidden: []int{32, 32}, InitSqueeze: true, ActNorm: true, Lipschitz: lip}, rng)
			if err != nil {
				return nil, err
			}
			return ms.Residuals(), nil
		}},
		{"toy", func(rng *rand.Rand) ([]*blocks.Residual, error) {
			c, err := blocks.NewDenseFlow(blocks.DenseFlowConfig{Dim: 2, Blocks: 10, Hidden: []int{64, 64, 64}, Lipschitz: lip}, rng)
			if err != nil {
				return nil, err
			}
			return c.Residuals(), nil
		}},
	}
	for _, m := range models {
		b.Run(m.name, func(b *testing.B) {
			rs, err := m.build(rand.New(rand.NewPCG(1, 1)))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				for _, r := range rs {
					if _, err := r.Certify(); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
