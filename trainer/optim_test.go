package trainer

import (
	"math"
	"testing"

	"gorgonia.org/tensor"
)

func TestScheduledLR(t *testing.T) {
	warm := Optim{LR: 1e-3, Warmup: 100}
	cos := Optim{LR: 1e-3, Warmup: 100, DecaySteps: 1100}
	for _, c := range []struct {
		name string
		cfg  Optim
		t    int
		want float64
	}{
		{"warm-up start", warm, 1, 1e-5},
		{"warm-up middle", warm, 50, 5e-4},
		{"constant after warm-up", warm, 100, 1e-3},
		{"constant long after", warm, 1e6, 1e-3},
		{"cosine: warm-up unchanged", cos, 50, 5e-4},
		{"cosine: peak at the end of warm-up", cos, 100, 1e-3},
		{"cosine: half way", cos, 600, 5e-4},
		{"cosine: quarter way", cos, 350, 1e-3 * (1 + math.Sqrt2/2) / 2},
		{"cosine: end", cos, 1100, 0},
		{"cosine: past the end", cos, 5000, 0},
	} {
		if got := scheduledLR(c.cfg, c.t); math.Abs(got-c.want) > 1e-15 {
			t.Errorf("%s: lr(%d) = %.17g, want %.17g", c.name, c.t, got, c.want)
		}
	}
}

func TestDecayMustEndAfterWarmup(t *testing.T) {
	cfg := DefaultToyConfig()
	cfg.Optim.Warmup, cfg.Optim.DecaySteps = 100, 50
	if _, err := cfg.WithDefaults(); err == nil {
		t.Fatal("decay ending before the warm-up was accepted")
	}
}

// TestSGDMomentum checks two SGD updates by hand: v₁ = g₁, p₁ = p₀ − lr·v₁;
// v₂ = μv₁ + g₂ + wd·p₁, p₂ = p₁ − lr·v₂.
func TestSGDMomentum(t *testing.T) {
	p := tensor.New(tensor.WithShape(2), tensor.WithBacking([]float32{1, -2}))
	o := newOptimizer(Optim{Algorithm: SGD, LR: 0.1, Beta1: 0.9, WeightDecay: 0.01}, []*tensor.Dense{p})
	if _, _, err := o.step([][]float32{{0.5, 1}}); err != nil {
		t.Fatal(err)
	}
	// v₁ = g + wd·p₀ = (0.5+0.01, 1−0.02); p₁ = p₀ − 0.1·v₁.
	v1 := []float64{0.51, 0.98}
	p1 := []float64{1 - 0.1*v1[0], -2 - 0.1*v1[1]}
	if _, _, err := o.step([][]float32{{-1, 0}}); err != nil {
		t.Fatal(err)
	}
	g2 := []float64{-1, 0}
	for i, got := range p.Data().([]float32) {
		v2 := 0.9*v1[i] + g2[i] + 0.01*p1[i]
		if want := p1[i] - 0.1*v2; math.Abs(float64(got)-want) > 1e-6 {
			t.Errorf("p[%d] after two SGD steps = %.7g, want %.7g", i, got, want)
		}
	}
}
