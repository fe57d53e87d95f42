package trainer

import (
	"math"
	"testing"
)

// TestSampleTemperatureAndLogProb checks that Sample returns n × 2 float64
// values that LogProb takes as they are, that a temperature near 0 maps
// every draw close to the single point F⁻¹(0), and that a lower
// temperature shrinks the spread (mean distance from F⁻¹(0), the model
// being bi-Lipschitz) and raises log p of the samples on average.
func TestSampleTemperatureAndLogProb(t *testing.T) {
	tr := newTrainer(t, tinyConfig(5))
	steps(t, tr, 4)
	const n = 400
	cold, err := tr.Sample(n, 1e-4)
	if err != nil {
		t.Fatal(err)
	}
	if len(cold) != 2*n {
		t.Fatalf("Sample(%d, 1e-4) gave %d values, want %d", n, len(cold), 2*n)
	}
	spread := func(x []float64) float64 {
		var s float64
		for i := 0; i < len(x); i += 2 {
			s += math.Hypot(x[i]-cold[0], x[i+1]-cold[1])
		}
		return s / float64(len(x)/2)
	}
	meanLogP := func(x []float64) float64 {
		lp, err := tr.LogProb(x)
		if err != nil {
			t.Fatal(err)
		}
		if len(lp) != len(x)/2 {
			t.Fatalf("LogProb of %d points gave %d values", len(x)/2, len(lp))
		}
		var s float64
		for _, v := range lp {
			s += v
		}
		return s / float64(len(lp))
	}
	half, err := tr.Sample(n, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	full, err := tr.Sample(n, 1)
	if err != nil {
		t.Fatal(err)
	}
	if sc, sh, sf := spread(cold), spread(half), spread(full); !(sc < 0.01*sf && sh < 0.75*sf) {
		t.Errorf("mean distance from F⁻¹(0): %g at T = 1e-4, %g at T = 0.5, %g at T = 1; want increasing", sc, sh, sf)
	}
	if lh, lf := meanLogP(half), meanLogP(full); !(lh > lf) {
		t.Errorf("mean log p: %g at T = 0.5, %g at T = 1; want higher at the lower temperature", lh, lf)
	}
}
