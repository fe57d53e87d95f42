package trainer

import (
	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/estimator"
	"github.com/iresnet/iresnet/graph"
)

// DefaultToyConfig is the configuration cmd/train uses for 2-D toy
// densities: chosen to reach a good held-out NLL in a few minutes on two
// CPU cores (see the README for measured numbers).
func DefaultToyConfig() Config {
	return Config{
		Model: blocks.DenseFlowConfig{Dim: 2, Blocks: 10, Hidden: []int{64, 64, 64},
			Lipschitz: blocks.Lipschitz{Coeff: 0.9, Act: graph.ELU}},
		Terms: 5, Probes: 1, Gradient: estimator.NeumannGradient,
		BatchSize: 500, Steps: 5000, Seed: 1,
	}
}
