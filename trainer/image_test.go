package trainer

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/datasets"
	"github.com/iresnet/iresnet/estimator"
	"github.com/iresnet/iresnet/graph"
)

// tinyMNIST writes a small IDX dataset of 8×8 images (bright squares at
// random places) into a temporary folder.
func tinyMNIST(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 1))
	for _, split := range []datasets.Split{datasets.Train, datasets.Test} {
		n := 64
		im := &datasets.Images{N: n, C: 1, H: 8, W: 8, Pixels: make([]uint8, n*64), Labels: make([]int, n), Classes: 10}
		for i := 0; i < n; i++ {
			y, x := rng.IntN(6), rng.IntN(6)
			for dy := 0; dy < 3; dy++ {
				for dx := 0; dx < 3; dx++ {
					im.Pixels[i*64+(y+dy)*8+x+dx] = 200
				}
			}
			im.Labels[i] = rng.IntN(10)
		}
		if err := datasets.WriteMNIST(dir, split, im, false); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func imageConfig(dir string) Config {
	return Config{
		Images: &ImageConfig{Dir: dir, LogitAlpha: 1e-6, Model: blocks.MultiScaleConfig{
			Channels: 1, Height: 8, Width: 8, Scales: 2, Blocks: 1, Hidden: []int{4, 4},
			InitSqueeze: true, ActNorm: true, Lipschitz: blocks.Lipschitz{Act: graph.ELU}}},
		Terms: 2, Gradient: estimator.NeumannGradient, Optim: Optim{LR: 1e-3},
		BatchSize: 16, Steps: 6, EvalSize: 32, EvalBatch: 16, EvalEvery: 3, LogEvery: 3, SaveEvery: 3, Seed: 1,
	}
}

// TestImageDensityTrainsAndResumes trains the multi-scale model on a tiny
// IDX dataset, reports bits/dim, and resumes exactly.
func TestImageDensityTrainsAndResumes(t *testing.T) {
	dir := tinyMNIST(t)
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
	x, err := resumed.Sample(2)
	if err != nil {
		t.Fatal(err)
	}
	if x.Shape().TotalSize() != 2*64 {
		t.Errorf("samples have shape %v", x.Shape())
	}
}

func TestImageSamplesAndReconstructions(t *testing.T) {
	tr := newTrainer(t, imageConfig(tinyMNIST(t)))
	steps(t, tr, 2)
	imgs, err := tr.SampleImages(3, 0.8)
	if err != nil {
		t.Fatal(err)
	}
	if imgs.N != 3 || imgs.C != 1 || imgs.H != 8 || len(imgs.Pixels) != 3*64 {
		t.Fatalf("sample batch %+v", imgs)
	}
	r, err := tr.Reconstruct(4)
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
func TestClassifyAndHybrid(t *testing.T) {
	dir := tinyMNIST(t)
	for _, task := range []Task{Classify, Hybrid} {
		t.Run(task.String(), func(t *testing.T) {
			cfg := imageConfig(dir)
			cfg.Images.Task = task
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
