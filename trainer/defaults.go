package trainer

import (
	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/datasets"
	"github.com/iresnet/iresnet/estimator"
	"github.com/iresnet/iresnet/graph"
)

// DefaultToyConfig is the configuration cmd/train uses for 2-D toy
// densities: the reference model of the paper's toy experiments (10 blocks
// of 2-64-64-64-2 with ELU, c = 0.9, 5 series terms, one probe, batch 500)
// trained with Adam at 3e-3 after 100 warm-up steps, the Neumann gradient
// and an EMA of the weights (decay 0.99) for evaluation. On 8gaussians it
// passes 3.00 nats of held-out NLL after about 1,250 steps, about 2.5
// minutes with OpenBLAS on two cores (see the README).
func DefaultToyConfig() Config {
	cfg, err := Config{
		Data: datasets.SourceConfig{Name: datasets.EightGaussians.String()},
		Model: ModelConfig{DenseFlow: &blocks.DenseFlowConfig{Dim: 2, Blocks: 10, Hidden: []int{64, 64, 64},
			Lipschitz: blocks.Lipschitz{Coeff: 0.9, Act: graph.ELU}}},
		Terms: 5, Probes: 1, Gradient: estimator.NeumannGradient,
		Optim:     Optim{Algorithm: Adam, LR: 3e-3, Warmup: 100, EMADecay: 0.99},
		BatchSize: 500, Steps: 2500, EvalEvery: 250, SaveEvery: 250, Seed: 1,
	}.WithDefaults()
	if err != nil {
		panic("trainer: invalid default configuration: " + err.Error())
	}
	return cfg
}
