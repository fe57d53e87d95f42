package trainer

import (
	"math"
	"testing"
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
