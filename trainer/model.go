package trainer

import (
	"math/rand/v2"

	"github.com/iresnet/iresnet/blocks"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Model is what the trainer needs of a model: a bijector whose residual
// blocks take the log-det estimator of each graph, with spectrally
// normalized layers, data-initialized ActNorms and checkpointable tensors.
// *blocks.Chain (dense flows) and *blocks.MultiScale (images) implement it.
type Model interface {
	blocks.EstimatedBijector
	blocks.NormUpdater
	blocks.DataInitializer
	blocks.Tensorer
	Residuals() []*blocks.Residual
	ActNorms() []*blocks.ActNorm
	// InverseWithStats inverts and reports each residual block's
	// fixed-point iterations, keyed by its scope path.
	InverseWithStats(y *tensor.Dense) (*tensor.Dense, map[string]blocks.FixedPointStats, error)
	// InverseLenient inverts, handing on the last iterate of a block that
	// does not converge (blocks.Chain.InverseLenient).
	InverseLenient(y *tensor.Dense) (*tensor.Dense, map[string]blocks.FixedPointStats, error)
}

// A Trunk is a model whose last feature map a classifier head reads:
// what the classify and hybrid objectives need.
type Trunk interface {
	Model
	// FinalShape is (C, H, W) of the feature map.
	FinalShape() [3]int
	// FeatureMap extracts the feature map from the latent of Forward.
	FeatureMap(z *G.Node) (*G.Node, error)
	// FeatureTensor is FeatureMap on a computed latent.
	FeatureTensor(z *tensor.Dense) (*tensor.Dense, error)
}

var (
	_ Model = (*blocks.Chain)(nil)
	_ Trunk = (*blocks.MultiScale)(nil)
)

// build constructs the configured architecture with weights drawn from rng.
func (m ModelConfig) build(rng *rand.Rand) (Model, error) {
	switch m.kind() {
	case "dense flow":
		return blocks.NewDenseFlow(*m.DenseFlow, rng)
	case "multi-scale":
		return blocks.NewMultiScale(*m.MultiScale, rng)
	}
	return nil, errors.New("trainer: the model needs exactly one architecture (dense_flow or multi_scale)")
}

// inputShape returns the shape of one sample the model takes.
func (m ModelConfig) inputShape() []int {
	switch {
	case m.DenseFlow != nil:
		d := m.DenseFlow.Dim
		if d == 0 {
			d = 2 // blocks.DenseFlowConfig's default
		}
		return []int{d}
	case m.MultiScale != nil:
		return []int{m.MultiScale.Channels, m.MultiScale.Height, m.MultiScale.Width}
	}
	return nil
}
