package trainer

import (
	"testing"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/datasets"
	"github.com/iresnet/iresnet/estimator"
	"github.com/iresnet/iresnet/graph"
)

// referenceConfig is issue 3's reference model: 10 blocks, widths
// 2-64-64-64-2, ELU, c = 0.9, 5 series terms, one Hutchinson vector,
// batch 500, float32. A PyTorch 1.13 CPU implementation takes about 120 ms
// per training step on the project's 2-core machines.
func referenceConfig() Config {
	return Config{
		Data: datasets.SourceConfig{Name: "8gaussians"},
		Model: ModelConfig{DenseFlow: &blocks.DenseFlowConfig{Dim: 2, Blocks: 10, Hidden: []int{64, 64, 64},
			Lipschitz: blocks.Lipschitz{Coeff: 0.9, Act: graph.ELU}}},
		Terms: 5, Probes: 1, BatchSize: 500, Seed: 1,
	}
}

// BenchmarkTrainStep times one training step (batch, power iteration,
// forward, 5-term log-det, gradients, Adam) of the default toy
// configuration and of the reference configuration.
func BenchmarkTrainStep(b *testing.B) {
	graph.UseFastBLAS()
	for _, c := range []struct {
		name string
		cfg  Config
	}{{"default", DefaultToyConfig()}, {"reference", referenceConfig()}, {"reference-neumann", neumann(referenceConfig())}} {
		b.Run(c.name, func(b *testing.B) {
			tr, err := New(c.cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer tr.Close()
			if _, err := tr.Step(); err != nil { // ActNorm init and warm caches
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := tr.Step(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func neumann(c Config) Config {
	c.Gradient = estimator.NeumannGradient
	return c
}
