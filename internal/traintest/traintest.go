// Package traintest holds the tiny training configurations and helpers
// that the tests of the packages built on the trainer (pictures,
// modelgraph, commands) share: models small enough to train a few steps in
// a test.
package traintest

import (
	"testing"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/datasets"
	"github.com/iresnet/iresnet/estimator"
	"github.com/iresnet/iresnet/graph"
	"github.com/iresnet/iresnet/trainer"
)

// Toy is a 2-block dense i-ResNet on 8gaussians with ActNorm and EMA,
// 12 steps of batch 64.
func Toy(seed uint64) trainer.Config {
	return trainer.Config{
		Data: datasets.SourceConfig{Name: "8gaussians"},
		Model: trainer.ModelConfig{DenseFlow: &blocks.DenseFlowConfig{Dim: 2, Blocks: 2, Hidden: []int{8}, ActNorm: true,
			Lipschitz: blocks.Lipschitz{Coeff: 0.9, Act: graph.ELU}}},
		Terms: 3, Gradient: estimator.NeumannGradient,
		Optim:     trainer.Optim{LR: 3e-3, Warmup: 3, ClipNorm: 10, EMADecay: 0.9},
		BatchSize: 64, Steps: 12, EvalEvery: 5, EvalSize: 300, EvalBatch: 128,
		LogEvery: 2, SaveEvery: 4, Seed: seed,
	}
}

// Image is a 2-scale multi-scale i-ResNet on the 8×8 IDX images in dir
// (imagetest.TinyMNIST), one block per scale, 6 steps of batch 16, without
// EMA.
func Image(dir string) trainer.Config {
	return trainer.Config{
		Data: datasets.SourceConfig{Name: "mnist", Dir: dir, LogitAlpha: 1e-6},
		Model: trainer.ModelConfig{MultiScale: &blocks.MultiScaleConfig{
			Channels: 1, Height: 8, Width: 8, Scales: 2, Blocks: 1, Hidden: []int{4, 4},
			InitSqueeze: true, ActNorm: true, Lipschitz: blocks.Lipschitz{Act: graph.ELU}}},
		Terms: 2, Gradient: estimator.NeumannGradient, Optim: trainer.Optim{LR: 1e-3},
		BatchSize: 16, Steps: 6, EvalSize: 32, EvalBatch: 16, EvalEvery: 3, LogEvery: 3, SaveEvery: 3, Seed: 1,
	}
}

// New builds a trainer for cfg, closed when the test ends.
func New(t testing.TB, cfg trainer.Config) *trainer.Trainer {
	t.Helper()
	tr, err := trainer.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

// Steps runs n training steps.
func Steps(t testing.TB, tr *trainer.Trainer, n int) {
	t.Helper()
	for range n {
		if _, err := tr.Step(); err != nil {
			t.Fatal(err)
		}
	}
}
