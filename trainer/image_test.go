package trainer

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/datasets"
	"github.com/iresnet/iresnet/estimator"
	"github.com/iresnet/iresnet/graph"
	"github.com/iresnet/iresnet/internal/imagetest"
)

func imageConfig(dir string) Config {
	return Config{
		Data: datasets.SourceConfig{Name: "mnist", Dir: dir, LogitAlpha: 1e-6},
		Model: ModelConfig{MultiScale: &blocks.MultiScaleConfig{
			Channels: 1, Height: 8, Width: 8, Scales: 2, Blocks: 1, Hidden: []int{4, 4},
			InitSqueeze: true, ActNorm: true, Lipschitz: blocks.Lipschitz{Act: graph.ELU}}},
		Terms: 2, Gradient: estimator.NeumannGradient, Optim: Optim{LR: 1e-3},
		BatchSize: 16, Steps: 6, EvalSize: 32, EvalBatch: 16, EvalEvery: 3, LogEvery: 3, SaveEvery: 3, Seed: 1,
	}
}

// TestImageDensityTrainsAndResumes trains the multi-scale model on a tiny
// IDX dataset, reports bits/dim, and resumes exactly.
func TestImageDensityTrainsAndResumes(t *testing.T) {
	dir := imagetest.TinyMNIST(t)
	whole := newTrainer(t, imageConfig(dir))
	ev0, err := whole.Evaluate()
	if err != nil {
		t.Fatal(err)
	}
	steps(t, whole, 6)
	ev, err := whole.Evaluate()
	if err != nil {
		t.Fatal(err)
	}
	if math.IsNaN(ev.BPD) || ev.BPD <= 0 {
		t.Fatalf("bits/dim = %v", ev.BPD)
	}
	t.Logf("bits/dim %.3f → %.3f", ev0.BPD, ev.BPD)

	first := newTrainer(t, imageConfig(dir))
	steps(t, first, 3)
	path := filepath.Join(t.TempDir(), CheckpointFile)
	if err := first.Save(path); err != nil {
		t.Fatal(err)
	}
	resumed, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	defer resumed.Close()
	steps(t, resumed, 3)
	sameState(t, state(whole), state(resumed))
	x, err := resumed.Sample(2, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(x) != 2*64 {
		t.Errorf("samples have %d values, want 2×64", len(x))
	}
}

func TestImageSamplesAndReconstructions(t *testing.T) {
	tr := newTrainer(t, imageConfig(imagetest.TinyMNIST(t)))
	steps(t, tr, 2)
	m := tr.Trained()
	imgs, err := m.SampleImages(3, 0.8)
	if err != nil {
		t.Fatal(err)
	}
	if imgs.N != 3 || imgs.C != 1 || imgs.H != 8 || len(imgs.Pixels) != 3*64 {
		t.Fatalf("sample batch %+v", imgs)
	}
	held, err := m.HeldOut(4)
	if err != nil {
		t.Fatal(err)
	}
	r, err := m.Reconstruct(held.Points)
	if err != nil {
		t.Fatal(err)
	}
	if r.MaxAbsErr > 1e-3*(1+14) { // logit space reaches ±14 for α = 1e-6
		t.Errorf("reconstruction error %.3g", r.MaxAbsErr)
	}
	worst := 0.0
	for i := range r.Original.Pixels {
		worst = math.Max(worst, math.Abs(float64(r.Original.Pixels[i]-r.Reconstructed.Pixels[i])))
	}
	if got := r.MaxPixelError(); got != worst {
		t.Errorf("MaxPixelError %g, want %g", got, worst)
	}
	if worst > 1e-4 {
		t.Errorf("max pixel reconstruction error %.3g > 1e-4", worst)
	}
	if len(r.Stats) == 0 {
		t.Error("no fixed-point statistics")
	}
	t.Logf("max error %.3g (input space), %.3g (pixels)", r.MaxAbsErr, worst)
}

// TestClassifyAndHybrid trains the head (classification) and head + density
// (hybrid) for a few steps, and resumes the hybrid run exactly.
// TestLearnedPrior trains a density model with a learned prior: the prior
// moves, is saved and resumed exactly, and sampling draws from it.
func TestLearnedPrior(t *testing.T) {
	cfg := imageConfig(imagetest.TinyMNIST(t))
	cfg.Model.LearnedPrior = true
	whole := newTrainer(t, cfg)
	steps(t, whole, 6)
	moved := false
	for _, nt := range whole.tensors() {
		if nt.Name == "prior/mean" || nt.Name == "prior/logstd" {
			for _, v := range nt.Value.Data().([]float32) {
				moved = moved || v != 0
			}
		}
	}
	if !moved {
		t.Error("the learned prior did not move in 6 steps")
	}
	if _, err := whole.Trained().SampleImages(3, 0.7); err != nil {
		t.Fatal(err)
	}
	first := newTrainer(t, cfg)
	steps(t, first, 3)
	path := filepath.Join(t.TempDir(), CheckpointFile)
	if err := first.Save(path); err != nil {
		t.Fatal(err)
	}
	resumed, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	defer resumed.Close()
	steps(t, resumed, 3)
	sameState(t, state(whole), state(resumed))
}

func TestClassifyAndHybrid(t *testing.T) {
	dir := imagetest.TinyMNIST(t)
	for _, task := range []Task{Classify, Hybrid} {
		t.Run(task.String(), func(t *testing.T) {
			cfg := imageConfig(dir)
			cfg.Objective.Task = task
			whole := newTrainer(t, cfg)
			steps(t, whole, 6)
			ev, err := whole.Evaluate()
			if err != nil {
				t.Fatal(err)
			}
			if ev.Error < 0 || ev.Error > 1 {
				t.Errorf("test error %v", ev.Error)
			}
			if task == Hybrid && (math.IsNaN(ev.BPD) || ev.BPD <= 0) {
				t.Errorf("hybrid bits/dim %v", ev.BPD)
			}
			if task == Classify && ev.NLL != 0 {
				t.Errorf("a classifier reported an NLL of %v", ev.NLL)
			}
			t.Logf("%v: test error %.2f, bits/dim %.3f", task, ev.Error, ev.BPD)

			first := newTrainer(t, cfg)
			steps(t, first, 3)
			path := filepath.Join(t.TempDir(), CheckpointFile)
			if err := first.Save(path); err != nil {
				t.Fatal(err)
			}
			resumed, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			defer resumed.Close()
			steps(t, resumed, 3)
			sameState(t, state(whole), state(resumed))
		})
	}
}

// TestEarlyStopLineCarriesTheTaskMetric: a run stopped early (time limit)
// evaluates where it is, and that last metrics line holds the classifier's
// test error, or the density's bits/dim.
func TestEarlyStopLineCarriesTheTaskMetric(t *testing.T) {
	data := imagetest.TinyMNIST(t)
	for _, task := range []Task{Classify, Density} {
		cfg := imageConfig(data)
		cfg.Objective.Task = task
		tr := newTrainer(t, cfg)
		out := t.TempDir()
		if _, err := tr.Run(context.Background(), RunOptions{OutDir: out, TimeLimit: time.Nanosecond}); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(out, MetricsFile))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		var m Metric
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &m); err != nil {
			t.Fatal(err)
		}
		switch {
		case m.Step != 1:
			t.Errorf("%v: last line at step %d, want 1", task, m.Step)
		case task == Classify && (m.TestError == nil || m.TestNLL != nil):
			t.Errorf("classifier's last line %s", lines[len(lines)-1])
		case task == Density && (m.TestBPD == nil || m.TestError != nil):
			t.Errorf("density's last line %s", lines[len(lines)-1])
		}
	}
}
