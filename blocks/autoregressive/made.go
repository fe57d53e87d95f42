package autoregressive

import (
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/graph"
	"github.com/iresnet/iresnet/internal/dense"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Compile-time conformance checks.
var (
	_ blocks.Bijector = (*MADE)(nil)
	_ blocks.Tensorer = (*MADE)(nil)
)

// Limits on MADE sizes, checked by Validate.
const (
	// MaxDim caps the data dimension D (a guard, not a method limit: the
	// inverse needs D network evaluations).
	MaxDim = 1 << 16
	// MaxHidden caps the width of a hidden layer.
	MaxHidden = 1 << 16
	// MaxHiddenLayers caps the number of hidden layers.
	MaxHiddenLayers = 64
)

// MADEConfig configures one MADE layer on vectors (N, Dim). It is plain data,
// stored as JSON in checkpoints; the zero value of a field means the default
// in its comment. Dtype is not part of the JSON form.
type MADEConfig struct {
	// Dim is the data dimension D, in [1, MaxDim].
	Dim int `json:"dim"`
	// Hidden lists the hidden widths, each in [1, MaxHidden], at most
	// MaxHiddenLayers of them; nil means [64, 64]. An empty non-nil list
	// is a linear autoregressive map (inputs connect straight to outputs
	// through a strictly triangular mask).
	Hidden []int `json:"hidden"`
	// Act is the nonlinearity between layers; the zero value is ReLU, the
	// choice of Papamakarios et al. (2017, §4).
	Act graph.Activation `json:"act"`
	// Order is the autoregressive order: Order[i] is the input that comes
	// i-th, so output Order[i] depends on inputs Order[0..i−1] only. It must
	// be a permutation of 0..Dim−1; nil means the identity 0, 1, …, D−1.
	Order []int `json:"order,omitempty"`
	// RandomDegrees draws the hidden units' degrees uniformly from
	// [min degree of the layer below, D−1] with the rng given to NewMADE
	// (Germain et al. 2015, §4). When false they cycle through that range
	// deterministically (unit j gets lo + j mod (D − lo)), so every degree
	// is present whenever the layer is at least D − 1 wide.
	RandomDegrees bool `json:"random_degrees"`
	// Dtype is the element type of the parameters: tensor.Float32 (the zero
	// value) or tensor.Float64.
	Dtype tensor.Dtype `json:"-"`
}

// WithDefaults returns the configuration with zero fields set to their
// defaults. It does not validate.
func (c MADEConfig) WithDefaults() MADEConfig {
	if c.Hidden == nil {
		c.Hidden = []int{64, 64}
	}
	if c.Order == nil && c.Dim >= 1 && c.Dim <= MaxDim {
		c.Order = identityOrder(c.Dim)
	}
	if c.Dtype == (tensor.Dtype{}) {
		c.Dtype = tensor.Float32
	}
	return c
}

// Validate reports the first field of c (after defaults) that is out of
// range, naming the value and the valid range.
func (c MADEConfig) Validate() error {
	c = c.WithDefaults()
	if c.Dim < 1 || c.Dim > MaxDim {
		return errors.Errorf("autoregressive: made dim %d must lie in [1, %d]", c.Dim, MaxDim)
	}
	if len(c.Hidden) > MaxHiddenLayers {
		return errors.Errorf("autoregressive: made has %d hidden layers, at most %d allowed", len(c.Hidden), MaxHiddenLayers)
	}
	for i, h := range c.Hidden {
		if h < 1 || h > MaxHidden {
			return errors.Errorf("autoregressive: made hidden width %d is %d, must lie in [1, %d]", i, h, MaxHidden)
		}
	}
	if c.Act < graph.ReLU || c.Act > graph.Identity {
		return errors.Errorf("autoregressive: unknown activation %d (want %d..%d)", int(c.Act), int(graph.ReLU), int(graph.Identity))
	}
	if len(c.Order) != c.Dim {
		return errors.Errorf("autoregressive: made order has %d entries, want dim = %d", len(c.Order), c.Dim)
	}
	seen := make([]bool, c.Dim)
	for i, o := range c.Order {
		if o < 0 || o >= c.Dim {
			return errors.Errorf("autoregressive: made order[%d] = %d must lie in [0, %d]", i, o, c.Dim-1)
		}
		if seen[o] {
			return errors.Errorf("autoregressive: made order lists input %d twice; it must be a permutation of 0..%d", o, c.Dim-1)
		}
		seen[o] = true
	}
	if c.Dtype != tensor.Float32 && c.Dtype != tensor.Float64 {
		return errors.Errorf("autoregressive: dtype %v not supported (want float32 or float64)", c.Dtype)
	}
	return nil
}

func identityOrder(d int) []int {
	o := make([]int, d)
	for i := range o {
		o[i] = i
	}
	return o
}

// MADE is a masked autoencoder for distribution estimation with Gaussian
// conditionals (Germain et al. 2015, §4), used as the affine autoregressive
// bijector of Papamakarios et al. (2017, §3.1) on inputs (N, D):
//
//	h⁰ = x,  hˡ = φ(hˡ⁻¹·(Wˡ ⊙ Mˡ) + bˡ),
//	μ = hᴸ·(W_μ ⊙ M_out) + b_μ,  α = hᴸ·(W_α ⊙ M_out) + b_α,
//	u = (x − μ) ⊙ exp(−α),       log|det ∂u/∂x| = −Σ_i α_i  (per row).
//
// The masks M are constant inputs of the graph, so the gradient of every
// masked weight is zero and the triangular structure survives training.
// Inverse is the sequential pass in the order (see [MADE.Inverse]).
type MADE struct {
	dim    int
	order  []int
	act    graph.Activation
	dtype  tensor.Dtype
	ws, bs []*tensor.Dense // hidden layers: W (in, out), b (out)
	masks  []*tensor.Dense // hidden masks (in, out), then the output mask (in, D)
	wMu    *tensor.Dense   // (H_last, D)
	wAlpha *tensor.Dense   // (H_last, D)
	bMu    *tensor.Dense   // (D)
	bAlpha *tensor.Dense   // (D)
}

// NewMADE returns a MADE with weights drawn uniformly from ±1/√fan_in (and
// hidden degrees, when cfg.RandomDegrees, drawn) from rng.
func NewMADE(cfg MADEConfig, rng *rand.Rand) (*MADE, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if rng == nil {
		return nil, errors.New("autoregressive: NewMADE needs a random source")
	}
	cfg = cfg.WithDefaults()
	d := cfg.Dim
	m := &MADE{dim: d, order: append([]int(nil), cfg.Order...), act: cfg.Act, dtype: cfg.Dtype}
	inDeg := InputDegrees(cfg.Order)
	prev := inDeg
	in := d
	for _, h := range cfg.Hidden {
		deg := hiddenDegrees(prev, h, d, cfg.RandomDegrees, rng)
		m.masks = append(m.masks, maskTensor(cfg.Dtype, prev, deg, false))
		bound := 1 / math.Sqrt(float64(in))
		m.ws = append(m.ws, dense.Uniform(cfg.Dtype, rng, bound, in, h))
		m.bs = append(m.bs, dense.Uniform(cfg.Dtype, rng, bound, h))
		prev, in = deg, h
	}
	m.masks = append(m.masks, maskTensor(cfg.Dtype, prev, inDeg, true))
	bound := 1 / math.Sqrt(float64(in))
	m.wMu = dense.Uniform(cfg.Dtype, rng, bound, in, d)
	m.wAlpha = dense.Uniform(cfg.Dtype, rng, bound, in, d)
	m.bMu = dense.Uniform(cfg.Dtype, rng, bound, d)
	m.bAlpha = dense.Uniform(cfg.Dtype, rng, bound, d)
	return m, nil
}

// InputDegrees returns the degree of each input under order: input order[i]
// has degree i+1 (Germain et al. 2015, §4).
func InputDegrees(order []int) []int {
	deg := make([]int, len(order))
	for i, o := range order {
		deg[o] = i + 1
	}
	return deg
}

// hiddenDegrees assigns degrees in [lo, d−1] to width units, lo the least
// degree below. With d = 1 there is no such range and every unit gets
// degree 0: it sees no input, and the single output depends on nothing.
func hiddenDegrees(prev []int, width, d int, random bool, rng *rand.Rand) []int {
	lo := d
	for _, p := range prev {
		lo = min(lo, p)
	}
	lo = max(lo, 1)
	deg := make([]int, width)
	if d == 1 {
		return deg
	}
	span := d - lo // degrees lo..d−1
	for j := range deg {
		if random {
			deg[j] = lo + rng.IntN(span)
		} else {
			deg[j] = lo + j%span
		}
	}
	return deg
}

// maskTensor returns the (len(inDeg), len(outDeg)) mask with entry 1 where
// the output may see the input: outDeg ≥ inDeg for hidden layers, and
// outDeg > inDeg (strict) for the output layer.
func maskTensor(dt tensor.Dtype, inDeg, outDeg []int, strict bool) *tensor.Dense {
	data := make([]float64, len(inDeg)*len(outDeg))
	for i, a := range inDeg {
		for j, b := range outDeg {
			if b > a || (!strict && b == a) {
				data[i*len(outDeg)+j] = 1
			}
		}
	}
	t := tensor.New(tensor.Of(dt), tensor.WithShape(len(inDeg), len(outDeg)))
	dense.Store(t, data)
	return t
}

// Dim returns the data dimension D.
func (m *MADE) Dim() int { return m.dim }

// Order returns the autoregressive order (a copy).
func (m *MADE) Order() []int { return append([]int(nil), m.order...) }

func hiddenName(i int) string { return "fc" + strconv.Itoa(i) }

func (m *MADE) checkShape(s tensor.Shape) error {
	if s.Dims() != 2 || s[1] != m.dim {
		return errors.Errorf("autoregressive: made of dim %d got shape %v, want (N, %d)", m.dim, s, m.dim)
	}
	return nil
}

// maskedLinear builds h·(W ⊙ M) + b with W and b registered as parameters
// "w", "b" and the mask as the input "mask" (prefixed by suffix) in b's
// current scope.
func maskedLinear(b *graph.Builder, h *G.Node, w, bias, mask *tensor.Dense, suffix string) (*G.Node, error) {
	wn, err := b.Param("w"+suffix, w)
	if err != nil {
		return nil, err
	}
	bn, err := b.Param("b"+suffix, bias)
	if err != nil {
		return nil, err
	}
	mn, err := b.Input("mask"+suffix, mask)
	if err != nil {
		return nil, err
	}
	wm, err := G.HadamardProd(wn, mn)
	if err != nil {
		return nil, errors.Wrap(err, "autoregressive: W ⊙ M")
	}
	out, err := G.Mul(h, wm)
	if err != nil {
		return nil, errors.Wrap(err, "autoregressive: h·(W ⊙ M)")
	}
	return graph.AddBias(out, bn)
}

// conditionals builds μ(x) and α(x), both (N, D).
func (m *MADE) conditionals(b *graph.Builder, x *G.Node) (mu, alpha *G.Node, err error) {
	if err := m.checkShape(x.Shape()); err != nil {
		return nil, nil, err
	}
	h := x
	for i := range m.ws {
		err := b.Scoped(hiddenName(i), func() error {
			var err error
			if h, err = maskedLinear(b, h, m.ws[i], m.bs[i], m.masks[i], ""); err != nil {
				return err
			}
			h, err = graph.Activate(m.act, h)
			return err
		})
		if err != nil {
			return nil, nil, errors.Wrapf(err, "autoregressive: made layer %s", hiddenName(i))
		}
	}
	outMask := m.masks[len(m.masks)-1]
	err = b.Scoped("out", func() error {
		var err error
		if mu, err = maskedLinear(b, h, m.wMu, m.bMu, outMask, "_mu"); err != nil {
			return err
		}
		alpha, err = maskedLinear(b, h, m.wAlpha, m.bAlpha, outMask, "_alpha")
		return err
	})
	if err != nil {
		return nil, nil, errors.Wrap(err, "autoregressive: made output layer")
	}
	return mu, alpha, nil
}

// Forward implements blocks.Bijector: u = (x − μ(x)) ⊙ exp(−α(x)) and
// log|det ∂u/∂x| = −Σ_i α_i(x) per row, for x (N, D).
func (m *MADE) Forward(b *graph.Builder, x *G.Node) (y, logDet *G.Node, err error) {
	mu, alpha, err := m.conditionals(b, x)
	if err != nil {
		return nil, nil, err
	}
	diff, err := G.Sub(x, mu)
	if err != nil {
		return nil, nil, errors.Wrap(err, "autoregressive: x − μ")
	}
	negAlpha, err := G.Neg(alpha)
	if err != nil {
		return nil, nil, errors.Wrap(err, "autoregressive: −α")
	}
	scale, err := G.Exp(negAlpha)
	if err != nil {
		return nil, nil, errors.Wrap(err, "autoregressive: exp(−α)")
	}
	if y, err = G.HadamardProd(diff, scale); err != nil {
		return nil, nil, errors.Wrap(err, "autoregressive: (x − μ)·exp(−α)")
	}
	if logDet, err = graph.SumPerSample(negAlpha); err != nil {
		return nil, nil, errors.Wrap(err, "autoregressive: −Σα")
	}
	return y, logDet, nil
}

// Tensors implements blocks.Tensorer: "fc<i>/w", "fc<i>/b" and the state
// "fc<i>/mask" per hidden layer, then "out/w_mu", "out/b_mu", "out/w_alpha",
// "out/b_alpha" and the output mask "out/mask". The learnable names are
// those of the parameters Forward registers. Masks are state, stored so that
// a checkpoint restores random degrees exactly.
func (m *MADE) Tensors() []blocks.NamedTensor {
	var out []blocks.NamedTensor
	for i := range m.ws {
		p := hiddenName(i) + "/"
		out = append(out,
			blocks.NamedTensor{Name: p + "w", Value: m.ws[i], Learnable: true},
			blocks.NamedTensor{Name: p + "b", Value: m.bs[i], Learnable: true},
			blocks.NamedTensor{Name: p + "mask", Value: m.masks[i]},
		)
	}
	return append(out,
		blocks.NamedTensor{Name: "out/w_mu", Value: m.wMu, Learnable: true},
		blocks.NamedTensor{Name: "out/b_mu", Value: m.bMu, Learnable: true},
		blocks.NamedTensor{Name: "out/w_alpha", Value: m.wAlpha, Learnable: true},
		blocks.NamedTensor{Name: "out/b_alpha", Value: m.bAlpha, Learnable: true},
		blocks.NamedTensor{Name: "out/mask", Value: m.masks[len(m.masks)-1]},
	)
}
