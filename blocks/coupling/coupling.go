package coupling

import (
	"math/rand/v2"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/graph"
	"github.com/iresnet/iresnet/internal/dense"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// CouplingConfig describes one coupling layer. It is plain data, stored as
// JSON; the zero value of each field means the default in its comment.
type CouplingConfig struct {
	Kind      Kind      `json:"kind"`      // Affine (zero value) or Additive
	Partition Partition `json:"partition"` // how x splits into x_a and x_b
	// Flip swaps the roles of the two parts: the mask's complement (or the
	// second half of the channels) conditions, the rest is transformed.
	// Consecutive layers flip so every entry gets transformed.
	Flip  bool      `json:"flip"`
	Scale ScaleFunc `json:"scale"` // Affine only: how s comes from the net; ScaleDefault means ScaleTanh
	// Dim is the width d of vector inputs (N, d), for Alternate and Halves;
	// it must be ≥ 2.
	Dim int `json:"dim,omitempty"`
	// Channels, Height, Width are (C, H, W) of image inputs, for
	// Checkerboard (H·W ≥ 2) and Channels (C even).
	Channels int `json:"channels,omitempty"`
	Height   int `json:"height,omitempty"`
	Width    int `json:"width,omitempty"`
	// Hidden lists the hidden widths of the MLP coupling net of vector
	// inputs; nil means [64, 64]. Each must be ≥ 1.
	Hidden []int `json:"hidden,omitempty"`
	// HiddenChannels is the width of the conv coupling net of images; 0
	// means 64.
	HiddenChannels int `json:"hidden_channels,omitempty"`
	// ResBlocks > 0 makes the conv net Real NVP's ResNet with that many
	// residual blocks; 0 is Glow's 3-layer net. At most 64.
	ResBlocks int `json:"res_blocks,omitempty"`
	// ZeroInit zero-initializes the net's output layer, so the layer
	// starts as the identity (Kingma & Dhariwal 2018, §3.3).
	ZeroInit bool `json:"zero_init"`
	// Dtype is the element type of the layer's tensors; the zero value
	// means tensor.Float32.
	Dtype tensor.Dtype `json:"-"`
}

// maxResBlocks bounds CouplingConfig.ResBlocks (Real NVP used 8 on
// CIFAR-10 and 2–4 on larger images).
const maxResBlocks = 64

func (c CouplingConfig) withDefaults() (CouplingConfig, error) {
	var err error
	if c.Dtype, err = checkDtype(c.Dtype); err != nil {
		return c, err
	}
	if c.Hidden == nil {
		c.Hidden = []int{64, 64}
	}
	if c.HiddenChannels == 0 {
		c.HiddenChannels = 64
	}
	if c.Kind == Affine {
		c.Scale = c.Scale.or(ScaleTanh)
	}
	return c, c.validate()
}

// Validate reports the first invalid field of c (after defaults), naming
// the value and the valid range.
func (c CouplingConfig) Validate() error {
	_, err := c.withDefaults()
	return err
}

func (c CouplingConfig) validate() error {
	switch {
	case !enumValid(int(c.Kind), len(kindNames)):
		return errors.Errorf("coupling: unknown kind %d", int(c.Kind))
	case !enumValid(int(c.Partition), len(partitionNames)):
		return errors.Errorf("coupling: unknown partition %d", int(c.Partition))
	case !enumValid(int(c.Scale), len(scaleNames)):
		return errors.Errorf("coupling: unknown scale function %d", int(c.Scale))
	case c.ResBlocks < 0 || c.ResBlocks > maxResBlocks:
		return errors.Errorf("coupling: res_blocks = %d must lie in [0, %d]", c.ResBlocks, maxResBlocks)
	case c.HiddenChannels < 1:
		return errors.Errorf("coupling: hidden_channels = %d must be ≥ 1", c.HiddenChannels)
	}
	for i, h := range c.Hidden {
		if h < 1 {
			return errors.Errorf("coupling: hidden width %d is %d, must be ≥ 1", i, h)
		}
	}
	if c.Partition.dense() {
		if c.Dim < 2 {
			return errors.Errorf("coupling: a %v coupling needs dim ≥ 2, got %d", c.Partition, c.Dim)
		}
		return nil
	}
	if c.Channels < 1 || c.Height < 1 || c.Width < 1 {
		return errors.Errorf("coupling: image (C, H, W) = (%d, %d, %d) must be positive", c.Channels, c.Height, c.Width)
	}
	if c.Partition == Checkerboard && c.Height*c.Width < 2 {
		return errors.Errorf("coupling: a checkerboard needs H·W ≥ 2, got %d×%d", c.Height, c.Width)
	}
	if c.Partition == Channels && c.Channels%2 != 0 {
		return errors.Errorf("coupling: a channel coupling needs an even channel count, got %d", c.Channels)
	}
	return nil
}

// Coupling is a coupling layer (Dinh et al. 2014, §3; Dinh et al. 2017,
// §3.2–3.4; Kingma & Dhariwal 2018, §3.3). With the input split into a
// conditioning part x_a and a transformed part x_b,
//
//	affine:   y_a = x_a,  y_b = x_b ⊙ exp(s(x_a)) + t(x_a),  log|det| = Σ s(x_a)
//	additive: y_a = x_a,  y_b = x_b + t(x_a),                 log|det| = 0
//
// per row, and x_b = (y_b − t(y_a)) ⊙ exp(−s(y_a)) inverts it exactly. s
// and t come from one net (an MLP for vectors, a conv net for images)
// whose output is split in two halves, s's raw value first; s is bounded
// by the layer's ScaleFunc. Mask partitions compute the net on b ⊙ x (b
// the binary mask) and apply s, t where b = 0 (Dinh et al. 2017, eq. 9).
type Coupling struct {
	cfg   CouplingConfig
	net   condNet
	alpha *tensor.Dense // ScaleTanh's factor α, one per channel of s
	inv   inverter
}

var (
	_ blocks.Bijector = (*Coupling)(nil)
	_ blocks.Tensorer = (*Coupling)(nil)
)

// NewCoupling returns a coupling layer with its net drawn from rng.
func NewCoupling(cfg CouplingConfig, rng *rand.Rand) (*Coupling, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	outs := 1
	if cfg.Kind == Affine {
		outs = 2
	}
	c := &Coupling{cfg: cfg}
	var width int // channels (or features) of x_b, and of s and t
	switch cfg.Partition {
	case Alternate, Halves:
		width = cfg.Dim
		c.net = newMLP(cfg.Dtype, append(append([]int{cfg.Dim}, cfg.Hidden...), outs*cfg.Dim), cfg.ZeroInit, rng)
	case Checkerboard:
		width = cfg.Channels
		c.net = newConvNet(cfg.Dtype, cfg.Channels, cfg.HiddenChannels, outs*width, cfg.ResBlocks, cfg.ZeroInit, rng)
	case Channels:
		width = cfg.Channels / 2
		c.net = newConvNet(cfg.Dtype, width, cfg.HiddenChannels, outs*width, cfg.ResBlocks, cfg.ZeroInit, rng)
	}
	if cfg.Kind == Affine && cfg.Scale == ScaleTanh {
		ones := make([]float64, width)
		for i := range ones {
			ones[i] = 1
		}
		c.alpha = dense.New(cfg.Dtype, ones, width)
	}
	return c, nil
}

// Config returns the layer's configuration with defaults filled in.
func (c *Coupling) Config() CouplingConfig { return c.cfg }

func (c *Coupling) inShape() []int {
	if c.cfg.Partition.dense() {
		return []int{c.cfg.Dim}
	}
	return []int{c.cfg.Channels, c.cfg.Height, c.cfg.Width}
}

func (c *Coupling) checkShape(s tensor.Shape) error {
	if s.Dims() < 2 || !sameInts(perSample(s), c.inShape()) {
		return errors.Errorf("coupling: %v coupling over %v got input of shape %v", c.cfg.Partition, c.inShape(), s)
	}
	return nil
}

// Forward implements blocks.Bijector.
func (c *Coupling) Forward(b *graph.Builder, x *G.Node) (y, logDet *G.Node, err error) {
	if err := c.checkShape(x.Shape()); err != nil {
		return nil, nil, err
	}
	return c.apply(b, x, false)
}

// Inverse implements blocks.Bijector; it is exact.
func (c *Coupling) Inverse(y *tensor.Dense) (*tensor.Dense, error) {
	if err := c.checkShape(y.Shape()); err != nil {
		return nil, err
	}
	return c.inv.run(c.cfg.Dtype, y, func(b *graph.Builder, yn *G.Node) (*G.Node, error) {
		x, _, err := c.apply(b, yn, true)
		return x, err
	})
}

// apply builds the forward map of v or, with inverse set, its inverse
// (then logDet is nil).
func (c *Coupling) apply(b *graph.Builder, v *G.Node, inverse bool) (out, logDet *G.Node, err error) {
	if c.cfg.Partition == Channels {
		xa, xb, err := splitChannels(v)
		if err != nil {
			return nil, nil, err
		}
		if c.cfg.Flip {
			xa, xb = xb, xa
		}
		s, t, err := c.params(b, xa, nil)
		if err != nil {
			return nil, nil, err
		}
		yb, err := c.transform(xb, s, t, inverse)
		if err != nil {
			return nil, nil, err
		}
		if c.cfg.Flip {
			out, err = blocks.MergeChannels(yb, xa)
		} else {
			out, err = blocks.MergeChannels(xa, yb)
		}
		if err != nil {
			return nil, nil, err
		}
		if !inverse {
			logDet, err = c.logDet(b, s, v.Shape()[0])
		}
		return out, logDet, err
	}
	mask, comask, err := c.masks(b, v.Shape())
	if err != nil {
		return nil, nil, err
	}
	cond, err := G.HadamardProd(v, mask)
	if err != nil {
		return nil, nil, errors.Wrap(err, "coupling: b ⊙ x")
	}
	s, t, err := c.params(b, cond, comask)
	if err != nil {
		return nil, nil, err
	}
	if out, err = c.transform(v, s, t, inverse); err != nil {
		return nil, nil, err
	}
	if !inverse {
		logDet, err = c.logDet(b, s, v.Shape()[0])
	}
	return out, logDet, err
}

// params returns s (nil for additive layers) and t from the net on cond,
// each multiplied by comask when it is not nil.
func (c *Coupling) params(b *graph.Builder, cond, comask *G.Node) (s, t *G.Node, err error) {
	var h *G.Node
	err = b.Scoped("net", func() error {
		var err error
		h, err = c.net.build(b, cond)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	t = h
	if c.cfg.Kind == Affine {
		var raw *G.Node
		if raw, t, err = splitChannels(h); err != nil {
			return nil, nil, err
		}
		if s, err = c.scale(b, raw); err != nil {
			return nil, nil, err
		}
		if comask != nil {
			if s, err = G.HadamardProd(s, comask); err != nil {
				return nil, nil, errors.Wrap(err, "coupling: masking s")
			}
		}
	}
	if comask != nil {
		if t, err = G.HadamardProd(t, comask); err != nil {
			return nil, nil, errors.Wrap(err, "coupling: masking t")
		}
	}
	return s, t, nil
}

// scale maps the net's raw output to the log-scale s.
func (c *Coupling) scale(b *graph.Builder, raw *G.Node) (*G.Node, error) {
	switch c.cfg.Scale {
	case ScaleTanh:
		alpha, err := b.Param("scale", c.alpha)
		if err != nil {
			return nil, err
		}
		ab, err := graph.BroadcastChannels(alpha, raw.Shape())
		if err != nil {
			return nil, err
		}
		th, err := G.Tanh(raw)
		if err != nil {
			return nil, errors.Wrap(err, "coupling: tanh")
		}
		s, err := G.HadamardProd(ab, th)
		return s, errors.Wrap(err, "coupling: α ⊙ tanh")
	case ScaleSigmoid:
		// log σ(h + 2) = −softplus(−h − 2)
		two, err := b.Scalar("two", 2)
		if err != nil {
			return nil, err
		}
		z, err := G.Add(raw, two)
		if err != nil {
			return nil, errors.Wrap(err, "coupling: h + 2")
		}
		if z, err = G.Neg(z); err != nil {
			return nil, err
		}
		if z, err = graph.Activate(graph.Softplus, z); err != nil {
			return nil, err
		}
		s, err := G.Neg(z)
		return s, errors.Wrap(err, "coupling: log σ")
	}
	return raw, nil
}

// transform returns x ⊙ exp(s) + t, or (x − t) ⊙ exp(−s) when inverse;
// s nil means s = 0.
func (c *Coupling) transform(x, s, t *G.Node, inverse bool) (*G.Node, error) {
	var err error
	if !inverse {
		if s != nil {
			e, err := G.Exp(s)
			if err != nil {
				return nil, errors.Wrap(err, "coupling: exp(s)")
			}
			if x, err = G.HadamardProd(x, e); err != nil {
				return nil, errors.Wrap(err, "coupling: x ⊙ exp(s)")
			}
		}
		out, err := G.Add(x, t)
		return out, errors.Wrap(err, "coupling: + t")
	}
	if x, err = G.Sub(x, t); err != nil {
		return nil, errors.Wrap(err, "coupling: y − t")
	}
	if s == nil {
		return x, nil
	}
	ns, err := G.Neg(s)
	if err != nil {
		return nil, err
	}
	e, err := G.Exp(ns)
	if err != nil {
		return nil, errors.Wrap(err, "coupling: exp(−s)")
	}
	out, err := G.HadamardProd(x, e)
	return out, errors.Wrap(err, "coupling: (y − t) ⊙ exp(−s)")
}

func (c *Coupling) logDet(b *graph.Builder, s *G.Node, n int) (*G.Node, error) {
	if s == nil {
		return zeroLogDet(b, n)
	}
	return graph.SumPerSample(s)
}

// masks returns the binary mask b (1 on x_a) and its complement 1 − b as
// inputs of the given batched shape.
func (c *Coupling) masks(b *graph.Builder, shape tensor.Shape) (mask, comask *G.Node, err error) {
	per := shape.TotalSize() / shape[0]
	m := make([]float64, shape.TotalSize())
	cm := make([]float64, len(m))
	for i := range m {
		j := i % per // index within the row
		var on bool
		switch c.cfg.Partition {
		case Alternate:
			on = j%2 == 0
		case Halves:
			on = j < c.cfg.Dim/2
		case Checkerboard:
			hw := j % (c.cfg.Height * c.cfg.Width)
			on = (hw/c.cfg.Width+hw%c.cfg.Width)%2 == 0
		}
		if on != c.cfg.Flip {
			m[i] = 1
		} else {
			cm[i] = 1
		}
	}
	if mask, err = b.Input("mask", dense.New(b.Dtype(), m, shape...)); err != nil {
		return nil, nil, err
	}
	if comask, err = b.Input("comask", dense.New(b.Dtype(), cm, shape...)); err != nil {
		return nil, nil, err
	}
	return mask, comask, nil
}

// Tensors implements blocks.Tensorer: the net's weights under "net/…" and
// ScaleTanh's factor as "scale".
func (c *Coupling) Tensors() []blocks.NamedTensor {
	var out []blocks.NamedTensor
	for _, nt := range c.net.tensors() {
		nt.Name = "net/" + nt.Name
		out = append(out, nt)
	}
	if c.alpha != nil {
		out = append(out, blocks.NamedTensor{Name: "scale", Value: c.alpha, Learnable: true})
	}
	return out
}
