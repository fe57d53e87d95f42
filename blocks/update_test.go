package blocks_test

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/graph"
	"gorgonia.org/tensor"
)

// TestConcurrentNormUpdatesMatchSequential checks that the multi-scale
// model's power iterations, which run block by block and layer by layer
// concurrently, leave every layer's u, v and σ̂ bit for bit where updating
// the layers one after another leaves them: layers that shared a scratch
// buffer or a vector across goroutines would not.
func TestConcurrentNormUpdatesMatchSequential(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	build := func() *blocks.MultiScale {
		l := blocks.Lipschitz{Coeff: 0.9, Act: graph.ELU, Dtype: tensor.Float64}
		m, err := blocks.NewMultiScale(blocks.MultiScaleConfig{Channels: 1, Height: 8, Width: 8, Scales: 2, Blocks: 3,
			Hidden: []int{6, 8}, InitSqueeze: true, Lipschitz: l}, rand.New(rand.NewPCG(7, 0)))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	concurrent, sequential := build(), build()
	for range 3 {
		if err := concurrent.UpdateSpectralNorms(2); err != nil {
			t.Fatal(err)
		}
		for _, r := range sequential.Residuals() {
			for _, l := range r.SpectralLayers() {
				if _, err := l.Norm.Update(l.Weight, 2); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	rc, rs := concurrent.Residuals(), sequential.Residuals()
	if len(rc) != 6 {
		t.Fatalf("%d residual blocks, want 6", len(rc))
	}
	for i := range rc {
		lc, ls := rc[i].SpectralLayers(), rs[i].SpectralLayers()
		for j := range lc {
			a, b := lc[j].Norm, ls[j].Norm
			if math.Float64bits(a.Sigma()) != math.Float64bits(b.Sigma()) {
				t.Errorf("block %d %s: σ̂ %.17g concurrently, %.17g one by one", i, lc[j].Name, a.Sigma(), b.Sigma())
			}
			for _, p := range [][2]*tensor.Dense{{a.U(), b.U()}, {a.V(), b.V()}} {
				x, y := p[0].Data().([]float64), p[1].Data().([]float64)
				for k := range x {
					if math.Float64bits(x[k]) != math.Float64bits(y[k]) {
						t.Fatalf("block %d %s: power-iteration vectors differ at %d: %v vs %v", i, lc[j].Name, k, x[k], y[k])
					}
				}
			}
		}
	}
}
