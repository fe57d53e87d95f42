package main

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/iresnet/iresnet/trainer"
)

// TestApplicableFlagsAreKept: the flags that do apply pass, and mean what
// they say; -probes reaches FFJORD's trace estimator.
func TestApplicableFlagsAreKept(t *testing.T) {
	cases := []struct {
		args  []string
		check func(trainer.Config) bool
	}{
		{[]string{"-estimator", "roulette", "-terms", "30", "-probes", "2"},
			func(c trainer.Config) bool {
				return c.Estimator == trainer.RussianRoulette && c.Terms == 30 && c.Probes == 2
			}},
		{[]string{"-estimator", "exact"}, func(c trainer.Config) bool { return c.Estimator == trainer.ExactLogDet }},
		{[]string{"-model", "ffjord", "-probes", "3"}, func(c trainer.Config) bool { return c.Model.FFJORD.Probes == 3 }},
		{[]string{"-model", "ffjord", "-estimator", "exact"}, func(c trainer.Config) bool { return c.Estimator == trainer.ExactLogDet }},
		{[]string{"-data", "mnist", "-task", "classify", "-power-iters", "2"}, func(c trainer.Config) bool { return c.PowerIters == 2 }},
		{[]string{"-data", "mnist", "-task", "hybrid", "-terms", "8"}, func(c trainer.Config) bool { return c.Terms == 8 }},
	}
	for _, c := range cases {
		_, cfg, _, err := configure(c.args, io.Discard)
		if err != nil {
			t.Errorf("%v: %v", c.args, err)
			continue
		}
		if !c.check(cfg) {
			t.Errorf("%v: configuration %+v", c.args, cfg)
		}
	}
	// The FFJORD preset itself is not changed by a run's -probes.
	_, cfg, _, err := configure([]string{"-model", "ffjord"}, io.Discard)
	if err != nil || cfg.Model.FFJORD.Probes > 1 {
		t.Errorf("-model ffjord: probes %d, %v", cfg.Model.FFJORD.Probes, err)
	}
}

// TestEvalSizeBeyondTestSet: on images the held-out set is the test set,
// so an -eval-size larger than it is refused with the size there is,
// instead of evaluating fewer images than asked under the asked number.
func TestEvalSizeBeyondTestSet(t *testing.T) {
	if testing.Short() {
		t.Skip("loads MNIST and builds the small density model")
	}
	var out, errb bytes.Buffer
	err := run([]string{"-data", "mnist", "-eval-size", "20000", "-steps", "1", "-quiet", "-out", t.TempDir()}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "-eval-size 20000: the mnist test set has 10000 images; pass -eval-size 10000 or less") {
		t.Errorf("error %v", err)
	}
}

// TestWarmupNote: a warm-up longer than the run is named, with the share
// of -lr the run ends at; one that fits, or a cosine schedule (refused
// elsewhere), gets no note.
func TestWarmupNote(t *testing.T) {
	n := warmupNote(trainer.Optim{Warmup: 100, LR: 0.003}, 40)
	for _, want := range []string{"warms up over 100 steps", "the run has 40", "40% of -lr 0.003", "N < 40"} {
		if !strings.Contains(n, want) {
			t.Errorf("note %q lacks %q", n, want)
		}
	}
	for _, c := range []struct {
		o     trainer.Optim
		steps int
	}{{trainer.Optim{Warmup: 100}, 100}, {trainer.Optim{Warmup: 100}, 5000}, {trainer.Optim{}, 1}, {trainer.Optim{Warmup: 100, DecaySteps: 50}, 50}} {
		if n := warmupNote(c.o, c.steps); n != "" {
			t.Errorf("%+v, %d steps: note %q", c.o, c.steps, n)
		}
	}
}
