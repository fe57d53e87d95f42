package autoregressive

import (
	"math/rand/v2"
	"slices"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/graph"
	"github.com/pkg/errors"
	"gorgonia.org/tensor"
)

// MaxLayers caps the number of MADE layers of a MAF.
const MaxLayers = 1024

// MAFConfig configures a masked autoregressive flow on vectors (N, Dim)
// (Papamakarios et al. 2017, §3): Layers MADE layers, the order reversed
// between consecutive layers, with ActNorm after each MADE when ActNorm is
// set. It is plain data, stored as JSON in checkpoints; the zero value of a
// field means the default in its comment. Dtype is not part of the JSON form.
type MAFConfig struct {
	// Dim is the data dimension D, in [1, MaxDim].
	Dim int `json:"dim"`
	// Layers is the number of MADE layers, in [1, MaxLayers]; 0 means 5,
	// the paper's MAF 5 (§4).
	Layers int `json:"layers"`
	// Hidden lists the hidden widths of every MADE; nil means [64, 64].
	Hidden []int `json:"hidden"`
	// Act is the nonlinearity inside each MADE; the zero value is ReLU.
	Act graph.Activation `json:"act"`
	// ActNorm inserts blocks.ActNorm after every MADE layer. It stands in
	// for the paper's batch normalization between layers (§3.1): both are
	// per-dimension affine maps; ActNorm's scale and shift are learned
	// parameters initialized from the first batch (InitFromBatch), not
	// running batch statistics, so the model is the same map in training
	// and evaluation.
	ActNorm bool `json:"act_norm"`
	// RandomDegrees draws hidden degrees from the rng (see MADEConfig).
	RandomDegrees bool `json:"random_degrees"`
	// Dtype is the element type: tensor.Float32 (zero value) or Float64.
	Dtype tensor.Dtype `json:"-"`
}

// WithDefaults returns the configuration with zero fields set to their
// defaults. It does not validate.
func (c MAFConfig) WithDefaults() MAFConfig {
	if c.Layers == 0 {
		c.Layers = 5
	}
	if c.Hidden == nil {
		c.Hidden = []int{64, 64}
	}
	if c.Dtype == (tensor.Dtype{}) {
		c.Dtype = tensor.Float32
	}
	return c
}

// Validate reports the first field of c (after defaults) that is out of
// range, naming the value and the valid range.
func (c MAFConfig) Validate() error {
	c = c.WithDefaults()
	if c.Layers < 1 || c.Layers > MaxLayers {
		return errors.Errorf("autoregressive: maf layers %d must lie in [1, %d]", c.Layers, MaxLayers)
	}
	if err := c.made(nil).Validate(); err != nil {
		return errors.Wrap(err, "autoregressive: maf")
	}
	return nil
}

// made returns the configuration of one MADE layer with the given order.
func (c MAFConfig) made(order []int) MADEConfig {
	return MADEConfig{Dim: c.Dim, Hidden: c.Hidden, Act: c.Act, Order: order, RandomDegrees: c.RandomDegrees, Dtype: c.Dtype}
}

// NewMAF returns the masked autoregressive flow described by cfg, with
// weights (and random degrees) drawn from rng, as a blocks.Chain: MADE layer
// i uses the identity order for even i and the reversed order for odd i
// (Papamakarios et al. 2017, §3: "reverse the order of the inputs between
// layers"). With cfg.ActNorm the chain is [MADE₀, ActNorm₀, MADE₁, …], so
// Tensors() names them "block<2i>/…" and "block<2i+1>/…"; call
// InitFromBatch on the chain before training. Without it the MADE layers
// are "block<i>/…".
//
// Forward is one network pass per layer; Inverse runs D passes per layer.
func NewMAF(cfg MAFConfig, rng *rand.Rand) (*blocks.Chain, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	order := identityOrder(cfg.Dim)
	var bs []blocks.Bijector
	for i := 0; i < cfg.Layers; i++ {
		m, err := NewMADE(cfg.made(slices.Clone(order)), rng)
		if err != nil {
			return nil, errors.Wrapf(err, "autoregressive: maf layer %d", i)
		}
		bs = append(bs, m)
		if cfg.ActNorm {
			a, err := blocks.NewActNorm(cfg.Dim, cfg.Dtype)
			if err != nil {
				return nil, errors.Wrapf(err, "autoregressive: maf actnorm %d", i)
			}
			bs = append(bs, a)
		}
		slices.Reverse(order)
	}
	return blocks.NewChain(bs...)
}
