package coupling

import (
	"math/rand/v2"

	"github.com/iresnet/iresnet/blocks"
	"github.com/pkg/errors"
	"gorgonia.org/tensor"
)

// GlowConfig describes Glow (Kingma & Dhariwal 2018, §3, Figure 2) on
// images (N, C, H, W): Levels levels, each a squeeze, then Steps steps of
// flow (ActNorm, channel mixing, channel-wise coupling), then, except at
// the last level, the split of half the channels to the latent. The paper's
// affine Glow mixes with the LU 1×1 convolution; its "additive coupling
// with reverse permutations" baseline (§5.1, the seed's "additive Glow")
// is Coupling: Additive with Mixing: Reverse. It is plain data, stored as
// JSON; the zero value of each field means the default in its comment.
type GlowConfig struct {
	Channels int `json:"channels"` // C ≥ 1
	Height   int `json:"height"`   // H ≥ 2, divisible by 2^Levels
	Width    int `json:"width"`    // W ≥ 2, divisible by 2^Levels
	// Levels L; 0 means 2 (what 28×28 allows; the paper used 3 on CIFAR-10).
	Levels int `json:"levels"`
	// Steps K of flow per level; 0 means 8 (the paper used 32).
	Steps int `json:"steps"`
	// HiddenChannels is the width of the coupling nets; 0 means 64 (the
	// paper used 512).
	HiddenChannels int `json:"hidden_channels"`
	// LevelHidden, when set, is the width of the coupling nets level by
	// level (one per level, each ≥ 1) in place of HiddenChannels, e.g. the
	// i-ResNet classifier's per-scale widths for the Glow-style
	// classifiers with the i-ResNet's head that Behrmann et al. (2019)
	// compare in their table "i-ResNets across tasks"; nil means
	// HiddenChannels at every level.
	LevelHidden []int `json:"level_hidden,omitempty"`
	// Coupling is Affine (zero value) or Additive.
	Coupling Kind `json:"coupling"`
	// Mixing is Conv1x1 (zero value) or Reverse.
	Mixing Mixing `json:"mixing"`
	// Scale bounds the affine log-scale; ScaleDefault means ScaleSigmoid.
	Scale ScaleFunc `json:"scale"`
	// NoSplit keeps every channel through every level (no factor-out), for
	// classifiers that read the whole final feature map, as the i-ResNet
	// classifiers of Behrmann et al. (2019, §5.1) do.
	NoSplit bool `json:"no_split"`
	// Dtype is the element type; the zero value means tensor.Float32.
	Dtype tensor.Dtype `json:"-"`
}

// GlowPaper returns the paper's CIFAR-10 configuration (Kingma & Dhariwal
// 2018, §5: L = 3, K = 32, 512 hidden channels, affine coupling, 1×1
// convolutions) for 3×32×32 images.
func GlowPaper() GlowConfig {
	return GlowConfig{Channels: 3, Height: 32, Width: 32, Levels: 3, Steps: 32, HiddenChannels: 512}
}

func (c GlowConfig) withDefaults() (GlowConfig, error) {
	var err error
	if c.Dtype, err = checkDtype(c.Dtype); err != nil {
		return c, err
	}
	if c.Levels == 0 {
		c.Levels = 2
	}
	if c.Steps == 0 {
		c.Steps = 8
	}
	if c.HiddenChannels == 0 {
		c.HiddenChannels = 64
	}
	c.Scale = c.Scale.or(ScaleSigmoid)
	switch {
	case c.Channels < 1 || c.Height < 1 || c.Width < 1:
		return c, errors.Errorf("coupling: Glow image (C, H, W) = (%d, %d, %d) must be positive", c.Channels, c.Height, c.Width)
	case c.Levels < 1 || c.Levels > 16:
		return c, errors.Errorf("coupling: Glow levels = %d must lie in [1, 16]", c.Levels)
	case c.Steps < 1 || c.Steps > maxLayers:
		return c, errors.Errorf("coupling: Glow steps = %d must lie in [1, %d]", c.Steps, maxLayers)
	case c.HiddenChannels < 1:
		return c, errors.Errorf("coupling: Glow hidden_channels = %d must be ≥ 1", c.HiddenChannels)
	case !enumValid(int(c.Coupling), len(kindNames)):
		return c, errors.Errorf("coupling: unknown Glow coupling kind %d", int(c.Coupling))
	case !enumValid(int(c.Mixing), len(mixingNames)):
		return c, errors.Errorf("coupling: unknown Glow mixing %d", int(c.Mixing))
	case !enumValid(int(c.Scale), len(scaleNames)):
		return c, errors.Errorf("coupling: unknown scale function %d", int(c.Scale))
	case c.LevelHidden != nil && len(c.LevelHidden) != c.Levels:
		return c, errors.Errorf("coupling: Glow level_hidden has %d widths for %d levels", len(c.LevelHidden), c.Levels)
	}
	for l, hc := range c.LevelHidden {
		if hc < 1 {
			return c, errors.Errorf("coupling: Glow level_hidden[%d] = %d must be ≥ 1", l, hc)
		}
	}
	h, w := c.Height, c.Width
	for l := 0; l < c.Levels; l++ {
		if h%2 != 0 || w%2 != 0 {
			return c, errors.Errorf("coupling: Glow level %d cannot squeeze a %d×%d image (odd size); use fewer levels (at most %d here) or pad", l, h, w, l)
		}
		h, w = h/2, w/2
	}
	return c, nil
}

// Validate reports the first invalid field of c, naming the value and the
// valid range.
func (c GlowConfig) Validate() error {
	_, err := c.withDefaults()
	return err
}

// NewGlow builds Glow with weights drawn from rng. Each coupling net's
// last convolution starts at zero, so the model starts as ActNorm and
// channel mixing only; initialize its ActNorm layers from data
// (InitFromBatch) before training.
func NewGlow(cfg GlowConfig, rng *rand.Rand) (*MultiScale, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	c, h, w := cfg.Channels, cfg.Height, cfg.Width
	m := &MultiScale{in: [3]int{c, h, w}}
	for l := 0; l < cfg.Levels; l++ {
		bs := []blocks.Bijector{blocks.Squeeze{}}
		c, h, w = 4*c, h/2, w/2
		hidden := cfg.HiddenChannels
		if cfg.LevelHidden != nil {
			hidden = cfg.LevelHidden[l]
		}
		for k := 0; k < cfg.Steps; k++ {
			step, err := glowStep(c, CouplingConfig{
				Kind: cfg.Coupling, Partition: Channels, Scale: cfg.Scale,
				Channels: c, Height: h, Width: w,
				HiddenChannels: hidden, ZeroInit: true, Dtype: cfg.Dtype,
			}, cfg.Mixing, rng)
			if err != nil {
				return nil, errors.Wrapf(err, "coupling: Glow level %d step %d", l, k)
			}
			bs = append(bs, step...)
		}
		chain, err := blocks.NewChain(bs...)
		if err != nil {
			return nil, err
		}
		split := l+1 < cfg.Levels && !cfg.NoSplit
		m.scales = append(m.scales, chain)
		m.shapes = append(m.shapes, [3]int{c, h, w})
		m.factor = append(m.factor, split)
		if split {
			c /= 2
		}
	}
	return m, nil
}

// glowStep returns one step of flow: ActNorm, mixing, coupling.
func glowStep(c int, cc CouplingConfig, mix Mixing, rng *rand.Rand) ([]blocks.Bijector, error) {
	a, err := blocks.NewActNorm(c, cc.Dtype)
	if err != nil {
		return nil, err
	}
	var mixer blocks.Bijector
	if mix == Conv1x1 {
		mixer, err = NewInvConv1x1(c, cc.Dtype, rng)
	} else {
		mixer, err = NewReverse(c)
	}
	if err != nil {
		return nil, err
	}
	cp, err := NewCoupling(cc, rng)
	if err != nil {
		return nil, err
	}
	return []blocks.Bijector{a, mixer, cp}, nil
}

// DenseGlowConfig describes Glow's step of flow on vectors (N, d), for the
// 2-D toy densities: Steps × (ActNorm, mixing, coupling of the second half
// of the features on the first). It is plain data, stored as JSON; the
// zero value of each field means the default in its comment.
type DenseGlowConfig struct {
	Dim      int       `json:"dim"`      // d ≥ 2
	Steps    int       `json:"steps"`    // steps of flow; 0 means 8
	Hidden   []int     `json:"hidden"`   // coupling MLP hidden widths; nil means [64, 64]
	Coupling Kind      `json:"coupling"` // Affine (zero value) or Additive
	Mixing   Mixing    `json:"mixing"`   // Conv1x1 (an LU-form d×d linear map; zero value) or Reverse
	Scale    ScaleFunc `json:"scale"`    // ScaleDefault means ScaleSigmoid
	// Dtype is the element type; the zero value means tensor.Float32.
	Dtype tensor.Dtype `json:"-"`
}

func (c DenseGlowConfig) withDefaults() (DenseGlowConfig, error) {
	var err error
	if c.Dtype, err = checkDtype(c.Dtype); err != nil {
		return c, err
	}
	if c.Steps == 0 {
		c.Steps = 8
	}
	if c.Hidden == nil {
		c.Hidden = []int{64, 64}
	}
	c.Scale = c.Scale.or(ScaleSigmoid)
	switch {
	case c.Dim < 2:
		return c, errors.Errorf("coupling: dense Glow needs dim ≥ 2, got %d", c.Dim)
	case c.Steps < 1 || c.Steps > maxLayers:
		return c, errors.Errorf("coupling: dense Glow steps = %d must lie in [1, %d]", c.Steps, maxLayers)
	case !enumValid(int(c.Coupling), len(kindNames)):
		return c, errors.Errorf("coupling: unknown dense Glow coupling kind %d", int(c.Coupling))
	case !enumValid(int(c.Mixing), len(mixingNames)):
		return c, errors.Errorf("coupling: unknown dense Glow mixing %d", int(c.Mixing))
	case !enumValid(int(c.Scale), len(scaleNames)):
		return c, errors.Errorf("coupling: unknown scale function %d", int(c.Scale))
	}
	for i, h := range c.Hidden {
		if h < 1 {
			return c, errors.Errorf("coupling: dense Glow hidden width %d is %d, must be ≥ 1", i, h)
		}
	}
	return c, nil
}

// Validate reports the first invalid field of c, naming the value and the
// valid range.
func (c DenseGlowConfig) Validate() error {
	_, err := c.withDefaults()
	return err
}

// NewDenseGlow builds the dense Glow with weights drawn from rng; block
// 3k+0, 3k+1, 3k+2 are step k's ActNorm, mixing and coupling. Initialize
// its ActNorm layers from data (InitFromBatch) before training.
func NewDenseGlow(cfg DenseGlowConfig, rng *rand.Rand) (*blocks.Chain, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	var bs []blocks.Bijector
	for k := 0; k < cfg.Steps; k++ {
		step, err := glowStep(cfg.Dim, CouplingConfig{
			Kind: cfg.Coupling, Partition: Halves, Scale: cfg.Scale,
			Dim: cfg.Dim, Hidden: cfg.Hidden, ZeroInit: true, Dtype: cfg.Dtype,
		}, cfg.Mixing, rng)
		if err != nil {
			return nil, errors.Wrapf(err, "coupling: dense Glow step %d", k)
		}
		bs = append(bs, step...)
	}
	return blocks.NewChain(bs...)
}
