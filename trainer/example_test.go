package trainer_test

import (
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/datasets"
	"github.com/iresnet/iresnet/graph"
	"github.com/iresnet/iresnet/trainer"
)

// Example trains a small i-ResNet on 8gaussians for a few steps, saves a
// checkpoint, loads it back and samples from the model.
func Example() {
	cfg := trainer.Config{
		Data: datasets.SourceConfig{Name: "8gaussians"},
		Model: trainer.ModelConfig{DenseFlow: &blocks.DenseFlowConfig{Dim: 2, Blocks: 3, Hidden: []int{32, 32},
			Lipschitz: blocks.Lipschitz{Coeff: 0.9, Act: graph.ELU}}},
		BatchSize: 128, Steps: 5, EvalSize: 1000, Seed: 1,
	}
	t, err := trainer.New(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer t.Close()
	for i := 0; i < 5; i++ {
		if _, err := t.Step(); err != nil {
			fmt.Println(err)
			return
		}
	}
	dir, _ := os.MkdirTemp("", "iresnet-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, trainer.CheckpointFile)
	if err := t.Save(path); err != nil {
		fmt.Println(err)
		return
	}

	loaded, err := trainer.Load(path) // e.g. "runs/8gaussians/checkpoint.safetensors"
	if err != nil {
		fmt.Println(err)
		return
	}
	defer loaded.Close()
	samples, err := loaded.Sample(4, 1) // 4 points at temperature 1, through the fixed-point inverse
	if err != nil {
		fmt.Println(err)
		return
	}
	logp, err := loaded.LogProb(samples) // the same []float64 layout: 4 × 2 values
	if err != nil {
		fmt.Println(err)
		return
	}
	ev, err := loaded.Evaluate()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("resumed at step", loaded.Steps())
	fmt.Println("exact log-det:", ev.Exact, "finite NLL:", ev.NLL > 0 && ev.NLL < 20)
	fmt.Println("samples:", len(samples)/2, "points, log p of each:", len(logp))
	// Output:
	// resumed at step 5
	// exact log-det: true finite NLL: true
	// samples: 4 points, log p of each: 4
}

// ExampleOpen loads a trained model for inference — from a checkpoint file
// or a run folder such as runs/8gaussians written by cmd/train — and
// evaluates, inverts and samples it, without the trainer or the dataset.
func ExampleOpen() {
	dir, err := trainedRun() // a run folder with a checkpoint
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	m, err := trainer.Open(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	logp, err := m.LogProb([]float64{0, 0, 2, 2}) // two 2-D points
	if err != nil {
		fmt.Println(err)
		return
	}
	z, err := m.Forward([]float64{0.5, -1})
	if err != nil {
		fmt.Println(err)
		return
	}
	x, err := m.Inverse(z)
	if err != nil {
		fmt.Println(err)
		return
	}
	samples, err := m.Sample(3, 0.8)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("log p of %d points, finite: %v\n", len(logp), !math.IsNaN(logp[0]+logp[1]))
	fmt.Printf("F⁻¹(F(x)) = [%.3f %.3f]\n", x[0], x[1])
	fmt.Println("samples:", len(samples)/2)
	// Output:
	// log p of 2 points, finite: true
	// F⁻¹(F(x)) = [0.500 -1.000]
	// samples: 3
}

// trainedRun trains a small model for a few steps and saves it into a new
// temporary run folder.
func trainedRun() (string, error) {
	t, err := trainer.New(trainer.Config{
		Data: datasets.SourceConfig{Name: "8gaussians"},
		Model: trainer.ModelConfig{DenseFlow: &blocks.DenseFlowConfig{Dim: 2, Blocks: 2, Hidden: []int{16},
			Lipschitz: blocks.Lipschitz{Coeff: 0.9, Act: graph.ELU}}},
		BatchSize: 64, Steps: 3, EvalSize: 100, Seed: 1,
	})
	if err != nil {
		return "", err
	}
	defer t.Close()
	for i := 0; i < 3; i++ {
		if _, err := t.Step(); err != nil {
			return "", err
		}
	}
	dir, err := os.MkdirTemp("", "iresnet-example")
	if err != nil {
		return "", err
	}
	return dir, t.Save(filepath.Join(dir, trainer.CheckpointFile))
}
