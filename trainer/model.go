package trainer

import (
	"math/rand/v2"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/blocks/autoregressive"
	"github.com/iresnet/iresnet/blocks/coupling"
	"github.com/iresnet/iresnet/blocks/ode"
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
}

// A statsInverter reports each residual block's fixed-point iterations
// (keyed by scope path) when it inverts, and can hand on the last iterate of
// a block that does not converge (blocks.Chain.InverseLenient). Models
// without fixed-point inverses need not be one.
type statsInverter interface {
	InverseWithStats(y *tensor.Dense) (*tensor.Dense, map[string]blocks.FixedPointStats, error)
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
	f, err := m.buildFamily(rng)
	if err != nil || len(m.Flatten) == 0 {
		return f, err
	}
	return blocks.NewChain(coupling.Flatten{Shape: m.Flatten}, f)
}

// dim returns the size of one sample the model takes.
func (m ModelConfig) dim() int {
	d := 1
	for _, s := range m.inputShape() {
		d *= s
	}
	return d
}

func (m ModelConfig) buildFamily(rng *rand.Rand) (Model, error) {
	switch m.kind() {
	case "dense flow":
		return blocks.NewDenseFlow(*m.DenseFlow, rng)
	case "multi-scale":
		return blocks.NewMultiScale(*m.MultiScale, rng)
	case "nice":
		return coupling.NewNICE(*m.NICE, rng)
	case "dense real nvp":
		return coupling.NewDenseRealNVP(*m.DenseRealNVP, rng)
	case "real nvp":
		return coupling.NewRealNVP(*m.RealNVP, rng)
	case "dense glow":
		return coupling.NewDenseGlow(*m.DenseGlow, rng)
	case "glow":
		return coupling.NewGlow(*m.Glow, rng)
	case "maf":
		return autoregressive.NewMAF(*m.MAF, rng)
	case "ffjord":
		cnf, err := ode.NewFFJORD(*m.FFJORD, rng)
		if err != nil {
			return nil, err
		}
		return blocks.NewChain(cnf)
	}
	return nil, errors.New("trainer: the model needs exactly one architecture")
}

// inputShape returns the shape of one sample the model takes.
func (m ModelConfig) inputShape() []int {
	if len(m.Flatten) > 0 {
		return m.Flatten
	}
	switch {
	case m.DenseFlow != nil:
		d := m.DenseFlow.Dim
		if d == 0 {
			d = 2 // blocks.DenseFlowConfig's default
		}
		return []int{d}
	case m.MultiScale != nil:
		return []int{m.MultiScale.Channels, m.MultiScale.Height, m.MultiScale.Width}
	case m.NICE != nil:
		if m.NICE.Channels > 0 {
			return []int{m.NICE.Channels, m.NICE.Height, m.NICE.Width}
		}
		return []int{m.NICE.Dim}
	case m.DenseRealNVP != nil:
		return []int{m.DenseRealNVP.Dim}
	case m.RealNVP != nil:
		return []int{m.RealNVP.Channels, m.RealNVP.Height, m.RealNVP.Width}
	case m.DenseGlow != nil:
		return []int{m.DenseGlow.Dim}
	case m.Glow != nil:
		return []int{m.Glow.Channels, m.Glow.Height, m.Glow.Width}
	case m.MAF != nil:
		return []int{m.MAF.Dim}
	case m.FFJORD != nil:
		return []int{m.FFJORD.Dim}
	}
	return nil
}

// InputShape returns the shape of one sample the model takes: (d) for
// vector models, (C, H, W) for image models.
func (m ModelConfig) InputShape() []int { return append([]int(nil), m.inputShape()...) }
