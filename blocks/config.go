package blocks

import (
	"math"
	"math/rand/v2"

	"github.com/iresnet/iresnet/estimator"
	"github.com/iresnet/iresnet/graph"
	"github.com/iresnet/iresnet/normalize"
	"github.com/pkg/errors"
	"gorgonia.org/tensor"
)

// Limits on model sizes, checked by the constructors, so that a corrupt or
// hostile configuration (a checkpoint's, a command line's) gets an error
// naming the field instead of an out-of-memory crash.
const (
	MaxBlocks = 1024 // residual blocks of a dense flow, or per scale
	MaxLayers = 16   // hidden layers of a residual block
	MaxWidth  = 8192 // data dimension, hidden width, channels
	MaxScales = 8    // scales of a multi-scale model
	MaxSide   = 4096 // image height and width
)

// Lipschitz configures what every residual block shares: the contraction
// coefficient, the activation, power iteration and the inverse.
// The zero value is usable; each field documents its default. Estimator
// and Dtype are not part of the JSON form; programs store them separately.
type Lipschitz struct {
	// Coeff is c in W̃ = W/max(1, σ̂/c); it must lie in (0, 1). 0 means 0.9,
	// the paper's choice (Behrmann et al. 2019, §5).
	Coeff float64 `json:"coeff"`
	// Act is the nonlinearity φ between layers (zero value: ReLU; the paper
	// uses ELU for density models, LipSwish is from Residual Flows).
	Act graph.Activation `json:"act"`
	// InputAct applies φ to the input before the first layer, as the
	// paper's density models do for every block but the first.
	InputAct bool `json:"input_act"`
	// InitPowerIters caps the power-iteration steps run at construction so
	// σ̂ is accurate from the start (it stops earlier once σ̂ changes by less
	// than 1e-4 relative); 0 means 200.
	InitPowerIters int `json:"init_power_iters"`
	// Estimator estimates the log-det; nil means estimator.PowerSeries{}
	// (5 terms, 1 Gaussian probe).
	Estimator estimator.Estimator `json:"-"`
	// Unconstrained switches spectral normalization off: the paper's
	// "vanilla" ResNet with the same architecture (Behrmann et al. 2019,
	// §5.1). Nothing keeps Lip(g) < 1, so the fixed-point inverse is
	// expected to fail, and does so with a *NotConvergedError; log-det
	// estimates are not valid either. For comparisons only.
	Unconstrained bool `json:"unconstrained"`
	// Inverse configures the fixed-point inverse.
	Inverse FixedPoint `json:"inverse"`
	// Dtype is the element type of the block's tensors; the zero value
	// means tensor.Float32 (the training path). Use tensor.Float64 to verify.
	Dtype tensor.Dtype `json:"-"`
}

func (l Lipschitz) withDefaults() (Lipschitz, error) {
	if l.Coeff == 0 {
		l.Coeff = 0.9
	}
	if !(l.Coeff > 0 && l.Coeff < 1) {
		return l, errors.Errorf("blocks: coefficient c = %v must lie in (0, 1)", l.Coeff)
	}
	if l.Act < graph.ReLU || l.Act > graph.Identity {
		return l, errors.Errorf("blocks: unknown activation %d", int(l.Act))
	}
	if l.InitPowerIters == 0 {
		l.InitPowerIters = 200
	}
	if l.InitPowerIters < 0 || l.InitPowerIters > 100000 {
		return l, errors.Errorf("blocks: InitPowerIters = %d must lie in [0, 100000]", l.InitPowerIters)
	}
	if l.Estimator == nil {
		l.Estimator = estimator.PowerSeries{}
	}
	if l.Dtype == (tensor.Dtype{}) {
		l.Dtype = tensor.Float32
	}
	if l.Dtype != tensor.Float32 && l.Dtype != tensor.Float64 {
		return l, errors.Errorf("blocks: dtype %v not supported (want float32 or float64)", l.Dtype)
	}
	var err error
	l.Inverse, err = l.Inverse.withDefaults(l.Dtype)
	return l, err
}

// initPowerTol is the relative change of σ̂ at which the construction-time
// power iteration stops: σ̂ converges from below, so this leaves at most
// about that much slack in ‖W̃‖ ≤ c until training iterations refine it.
const initPowerTol = 1e-4

// newResidual wraps a branch with the shared settings.
func newResidual(g branch, l Lipschitz) (*Residual, error) {
	for _, layer := range g.layers() {
		// Not converging within the cap is fine here: training advances
		// the iteration every step.
		var nc *normalize.NotConvergedError
		if _, err := layer.sn.Converge(layer.w, initPowerTol, l.InitPowerIters); err != nil && !errors.As(err, &nc) {
			return nil, err
		}
	}
	return &Residual{g: g, est: l.Estimator, fp: l.Inverse, dtype: l.Dtype}, nil
}

// uniformTensor returns a tensor of the given dtype and shape with entries
// drawn uniformly from [−bound, bound): PyTorch's default initialization
// for linear and conv layers with bound = 1/√fan_in.
func uniformTensor(dt tensor.Dtype, rng *rand.Rand, bound float64, shape ...int) *tensor.Dense {
	t := tensor.New(tensor.Of(dt), tensor.WithShape(shape...))
	data := make([]float64, t.Shape().TotalSize())
	for i := range data {
		data[i] = bound * (2*rng.Float64() - 1)
	}
	storeFloat64(t, data)
	return t
}

func fanInBound(fanIn int) float64 { return 1 / math.Sqrt(float64(fanIn)) }
