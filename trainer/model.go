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
	_ Trunk = (*coupling.MultiScale)(nil) // Glow and Real NVP on images
)

// build constructs the configured architecture with weights drawn from rng.
func (m ModelConfig) build(rng *rand.Rand) (Model, error) {
	a, ok := m.architecture()
	if !ok {
		return nil, errors.New("trainer: the model needs exactly one architecture")
	}
	f, err := a.build(rng)
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

// architecture is one of ModelConfig's choices: its name, the shape of a
// sample it takes (before any flattening), its own check and its
// constructor.
type architecture struct {
	name     string
	shape    []int
	validate func() error
	build    func(*rand.Rand) (Model, error)
}

// architecture returns the one architecture m sets, and false when it sets
// none or several.
func (m ModelConfig) architecture() (architecture, bool) {
	var set []architecture
	add := func(ok bool, a func() architecture) {
		if ok {
			set = append(set, a())
		}
	}
	none := func() error { return nil } // checked by the constructor and ModelConfig.validate
	add(m.DenseFlow != nil, func() architecture {
		d := m.DenseFlow.Dim
		if d == 0 {
			d = 2 // blocks.DenseFlowConfig's default
		}
		return architecture{"dense flow", []int{d}, none, func(r *rand.Rand) (Model, error) { return blocks.NewDenseFlow(*m.DenseFlow, r) }}
	})
	add(m.MultiScale != nil, func() architecture {
		c := m.MultiScale
		return architecture{"multi-scale", []int{c.Channels, c.Height, c.Width}, none, func(r *rand.Rand) (Model, error) { return blocks.NewMultiScale(*c, r) }}
	})
	add(m.NICE != nil, func() architecture {
		c := m.NICE
		shape := []int{c.Dim}
		if c.Channels > 0 {
			shape = []int{c.Channels, c.Height, c.Width}
		}
		return architecture{"nice", shape, c.Validate, func(r *rand.Rand) (Model, error) { return coupling.NewNICE(*c, r) }}
	})
	add(m.DenseRealNVP != nil, func() architecture {
		c := m.DenseRealNVP
		return architecture{"dense real nvp", []int{c.Dim}, c.Validate, func(r *rand.Rand) (Model, error) { return coupling.NewDenseRealNVP(*c, r) }}
	})
	add(m.RealNVP != nil, func() architecture {
		c := m.RealNVP
		return architecture{"real nvp", []int{c.Channels, c.Height, c.Width}, c.Validate, func(r *rand.Rand) (Model, error) { return coupling.NewRealNVP(*c, r) }}
	})
	add(m.DenseGlow != nil, func() architecture {
		c := m.DenseGlow
		return architecture{"dense glow", []int{c.Dim}, c.Validate, func(r *rand.Rand) (Model, error) { return coupling.NewDenseGlow(*c, r) }}
	})
	add(m.Glow != nil, func() architecture {
		c := m.Glow
		return architecture{"glow", []int{c.Channels, c.Height, c.Width}, c.Validate, func(r *rand.Rand) (Model, error) { return coupling.NewGlow(*c, r) }}
	})
	add(m.MAF != nil, func() architecture {
		c := m.MAF
		return architecture{"maf", []int{c.Dim}, c.Validate, func(r *rand.Rand) (Model, error) { return autoregressive.NewMAF(*c, r) }}
	})
	add(m.FFJORD != nil, func() architecture {
		c := m.FFJORD
		return architecture{"ffjord", []int{c.Dim}, c.Validate, func(r *rand.Rand) (Model, error) {
			cnf, err := ode.NewFFJORD(*c, r)
			if err != nil {
				return nil, err
			}
			return blocks.NewChain(cnf)
		}}
	})
	if len(set) != 1 {
		return architecture{}, false
	}
	return set[0], true
}

// inputShape returns the shape of one sample the model takes.
func (m ModelConfig) inputShape() []int {
	if len(m.Flatten) > 0 {
		return m.Flatten
	}
	a, _ := m.architecture()
	return a.shape
}

// InputShape returns the shape of one sample the model takes: (d) for
// vector models, (C, H, W) for image models.
func (m ModelConfig) InputShape() []int { return append([]int(nil), m.inputShape()...) }
