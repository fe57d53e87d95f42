package estimator_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/iresnet/iresnet/estimator"
	"github.com/iresnet/iresnet/graph"
)

// TestRouletteWeights checks the term weights a Russian-roulette estimator
// draws: every nonzero weight of term k is 1/P(N ≥ k), and its mean over
// many draws is 1 (E[1[N ≥ k]]/P(N ≥ k) = 1), which is what makes the
// estimator unbiased.
func TestRouletteWeights(t *testing.T) {
	const n = 4000
	for _, e := range []estimator.RussianRoulette{{}, {Dist: estimator.Poisson, MinTerms: 2}} {
		t.Run(e.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, 3))
			r := blockCases[0].build(t, e, rng)
			x, _ := repeated(rng, n, blockCases[0].shape)
			g := newLogDetGraph(t, r, x, nil)
			var w *graph.Noise
			for _, nz := range g.b.Noise() {
				if nz.Value.Dims() == 2 && nz.Value.Shape()[0] == n && nz.Value.Shape()[1] == 20 {
					w = nz
				}
			}
			if w == nil {
				t.Fatal("no (N, MaxTerms) roulette weight input registered")
			}
			g.b.Resample(rng)
			data := w.Value.Data().([]float64)
			for k := 1; k <= 6; k++ {
				want := 1 / e.Survival(k)
				var col []float64
				for i := 0; i < n; i++ {
					v := data[i*20+k-1]
					if v != 0 && math.Abs(v-want) > 1e-12*want {
						t.Fatalf("term %d weight %v, want 0 or 1/P(N ≥ %d) = %v", k, v, k, want)
					}
					col = append(col, v)
				}
				mean, se := meanSE(col)
				if se == 0 {
					se = 1e-12
				}
				if math.Abs(mean-1) > statK*se {
					t.Errorf("term %d: mean weight %.4f ± %.4f, want 1", k, mean, se)
				}
			}
		})
	}
}

// TestPowerSeriesAveragesProbes sets every probe to the basis pattern; the
// average over m identical exact estimates must equal the truncated series.
func TestPowerSeriesAveragesProbes(t *testing.T) {
	c := blockCases[1] // dense d=8
	rng := rand.New(rand.NewPCG(4, 4))
	const terms, probes = 3, 3
	r := c.build(t, estimator.PowerSeries{Terms: terms, Probes: probes}, rng)
	d := size(c.shape)
	x, p := repeated(rng, d, c.shape)
	g := newLogDetGraph(t, r, x, nil)
	if len(g.b.Noise()) != probes {
		t.Fatalf("%d noise inputs, want %d probes", len(g.b.Noise()), probes)
	}
	for _, nz := range g.b.Noise() {
		v := nz.Value.Data().([]float64)
		clear(v)
		for i := 0; i < d; i++ {
			v[i*d+i] = 1
		}
	}
	est := 0.0
	for _, v := range g.run(t) {
		est += v
	}
	if want := truncatedSeries(jacobian(t, r, c.shape, p), terms); math.Abs(est-want) > fdJacTol {
		t.Errorf("mean over %d basis probes %.10g, explicit series %.10g", probes, est, want)
	}
}
