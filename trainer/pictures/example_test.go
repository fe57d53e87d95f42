package pictures_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/datasets"
	"github.com/iresnet/iresnet/graph"
	"github.com/iresnet/iresnet/trainer"
	"github.com/iresnet/iresnet/trainer/pictures"
)

// ExampleToy trains a small i-ResNet on 8gaussians for a few steps and
// draws its pictures: the data, the model's density and samples, the three
// side by side, and the training curves read from the run's metrics.
func ExampleToy() {
	cfg := trainer.Config{
		Data: datasets.SourceConfig{Name: "8gaussians"},
		Model: trainer.ModelConfig{DenseFlow: &blocks.DenseFlowConfig{Dim: 2, Blocks: 2, Hidden: []int{16},
			Lipschitz: blocks.Lipschitz{Coeff: 0.9, Act: graph.ELU}}},
		BatchSize: 64, Steps: 6, EvalSize: 500, EvalEvery: 3, LogEvery: 2, Seed: 1,
	}
	t, err := trainer.New(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer t.Close()
	dir, _ := os.MkdirTemp("", "iresnet-pictures")
	defer os.RemoveAll(dir)
	if _, err := t.Run(context.Background(), trainer.RunOptions{OutDir: dir}); err != nil {
		fmt.Println(err)
		return
	}
	// A model opened from the checkpoint (trainer.Open) draws the same.
	paths, err := pictures.Toy(dir, t.Trained(), pictures.ToyOptions{Size: 64, Samples: 2000})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range paths {
		fmt.Println(filepath.Base(p))
	}
	// Output:
	// data.png
	// density.png
	// samples.png
	// panel.png
	// curves.png
}
