package coupling

import (
	"math/rand/v2"

	"github.com/iresnet/iresnet/blocks"
	"github.com/pkg/errors"
	"gorgonia.org/tensor"
)

// RealNVPConfig describes the multi-scale Real NVP of Dinh, Sohl-Dickstein
// & Bengio (2017, §3.6) for images (N, C, H, W): every scale but the last
// is Couplings checkerboard affine couplings, a squeeze, Couplings
// channel-wise affine couplings, and the factor-out of half the channels;
// the last scale is FinalCouplings checkerboard couplings. Masks alternate
// from one coupling to the next. Coupling nets are ResNets (§4.1) without
// batch or weight normalization (see the package documentation). It is
// plain data, stored as JSON; the zero value of each field means the
// default in its comment.
type RealNVPConfig struct {
	Channels int `json:"channels"` // C ≥ 1
	Height   int `json:"height"`   // H ≥ 1, divisible by 2^(Scales−1)
	Width    int `json:"width"`    // W ≥ 1, divisible by 2^(Scales−1)
	// Scales is the number of scales; 0 means 2 (what 28×28 allows
	// before odd sizes; the paper used more on larger images).
	Scales int `json:"scales"`
	// Couplings per group (checkerboard, then channel-wise) of every scale
	// but the last; 0 means 3 (the paper's).
	Couplings int `json:"couplings"`
	// FinalCouplings of the last scale; 0 means 4 (the paper's).
	FinalCouplings int `json:"final_couplings"`
	// HiddenChannels is the width of the coupling ResNets; 0 means 64.
	HiddenChannels int `json:"hidden_channels"`
	// ResBlocks per coupling ResNet, in [1, 64]; 0 means 2 (the paper used
	// 8 on CIFAR-10).
	ResBlocks int `json:"res_blocks"`
	// Scale bounds the log-scale; ScaleDefault means ScaleTanh.
	Scale ScaleFunc `json:"scale"`
	// NoSplit keeps every channel through every scale (no factor-out), for
	// classifiers that read the whole final feature map, as the i-ResNet
	// classifiers of Behrmann et al. (2019, §5.1) do.
	NoSplit bool `json:"no_split,omitempty"`
	// Dtype is the element type; the zero value means tensor.Float32.
	Dtype tensor.Dtype `json:"-"`
}

func (c RealNVPConfig) withDefaults() (RealNVPConfig, error) {
	var err error
	if c.Dtype, err = checkDtype(c.Dtype); err != nil {
		return c, err
	}
	for _, f := range []struct {
		v   *int
		def int
	}{{&c.Scales, 2}, {&c.Couplings, 3}, {&c.FinalCouplings, 4}, {&c.HiddenChannels, 64}, {&c.ResBlocks, 2}} {
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	c.Scale = c.Scale.or(ScaleTanh)
	switch {
	case c.Channels < 1 || c.Height < 1 || c.Width < 1:
		return c, errors.Errorf("coupling: Real NVP image (C, H, W) = (%d, %d, %d) must be positive", c.Channels, c.Height, c.Width)
	case c.Scales < 1 || c.Scales > 16:
		return c, errors.Errorf("coupling: Real NVP scales = %d must lie in [1, 16]", c.Scales)
	case c.Couplings < 1 || c.Couplings > maxLayers:
		return c, errors.Errorf("coupling: Real NVP couplings = %d must lie in [1, %d]", c.Couplings, maxLayers)
	case c.FinalCouplings < 1 || c.FinalCouplings > maxLayers:
		return c, errors.Errorf("coupling: Real NVP final_couplings = %d must lie in [1, %d]", c.FinalCouplings, maxLayers)
	case c.HiddenChannels < 1:
		return c, errors.Errorf("coupling: Real NVP hidden_channels = %d must be ≥ 1", c.HiddenChannels)
	case c.ResBlocks < 1 || c.ResBlocks > maxResBlocks:
		return c, errors.Errorf("coupling: Real NVP res_blocks = %d must lie in [1, %d]", c.ResBlocks, maxResBlocks)
	case !enumValid(int(c.Scale), len(scaleNames)):
		return c, errors.Errorf("coupling: unknown scale function %d", int(c.Scale))
	}
	h, w := c.Height, c.Width
	for s := 0; s+1 < c.Scales; s++ {
		if h%2 != 0 || w%2 != 0 {
			return c, errors.Errorf("coupling: Real NVP scale %d cannot squeeze a %d×%d image (odd size); use fewer scales (at most %d here) or pad", s, h, w, s+1)
		}
		h, w = h/2, w/2
	}
	if h*w < 2 {
		return c, errors.Errorf("coupling: Real NVP's last scale is %d×%d, too small for a checkerboard", h, w)
	}
	return c, nil
}

// Validate reports the first invalid field of c, naming the value and the
// valid range.
func (c RealNVPConfig) Validate() error {
	_, err := c.withDefaults()
	return err
}

// NewRealNVP builds the multi-scale Real NVP with weights drawn from rng.
func NewRealNVP(cfg RealNVPConfig, rng *rand.Rand) (*MultiScale, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	c, h, w := cfg.Channels, cfg.Height, cfg.Width
	m := &MultiScale{in: [3]int{c, h, w}}
	for s := 0; s < cfg.Scales; s++ {
		last := s+1 == cfg.Scales
		var bs []blocks.Bijector
		add := func(n int, p Partition) error {
			for k := 0; k < n; k++ {
				l, err := NewCoupling(CouplingConfig{
					Kind: Affine, Partition: p, Flip: k%2 == 1, Scale: cfg.Scale,
					Channels: c, Height: h, Width: w,
					HiddenChannels: cfg.HiddenChannels, ResBlocks: cfg.ResBlocks, Dtype: cfg.Dtype,
				}, rng)
				if err != nil {
					return errors.Wrapf(err, "coupling: Real NVP scale %d, %v coupling %d", s, p, k)
				}
				bs = append(bs, l)
			}
			return nil
		}
		if last {
			if err := add(cfg.FinalCouplings, Checkerboard); err != nil {
				return nil, err
			}
		} else {
			if err := add(cfg.Couplings, Checkerboard); err != nil {
				return nil, err
			}
			bs = append(bs, blocks.Squeeze{})
			c, h, w = 4*c, h/2, w/2
			if err := add(cfg.Couplings, Channels); err != nil {
				return nil, err
			}
		}
		chain, err := blocks.NewChain(bs...)
		if err != nil {
			return nil, err
		}
		m.scales = append(m.scales, chain)
		m.shapes = append(m.shapes, [3]int{c, h, w})
		split := !last && !cfg.NoSplit
		m.factor = append(m.factor, split)
		if split {
			c /= 2
		}
	}
	return m, nil
}

// DenseRealNVPConfig describes Real NVP on vectors (N, d), the model of the
// paper's 2-D toy figures (Dinh et al. 2017, Figure 1): Layers affine
// couplings with alternating masks and MLP coupling nets. It is plain
// data, stored as JSON; the zero value of each field means the default in
// its comment.
type DenseRealNVPConfig struct {
	Dim    int   `json:"dim"`    // d ≥ 2
	Layers int   `json:"layers"` // coupling layers; 0 means 8
	Hidden []int `json:"hidden"` // MLP hidden widths; nil means [64, 64]
	// Scale bounds the log-scale; ScaleDefault means ScaleTanh.
	Scale ScaleFunc `json:"scale"`
	// Dtype is the element type; the zero value means tensor.Float32.
	Dtype tensor.Dtype `json:"-"`
}

func (c DenseRealNVPConfig) withDefaults() (DenseRealNVPConfig, error) {
	var err error
	if c.Dtype, err = checkDtype(c.Dtype); err != nil {
		return c, err
	}
	if c.Layers == 0 {
		c.Layers = 8
	}
	if c.Hidden == nil {
		c.Hidden = []int{64, 64}
	}
	c.Scale = c.Scale.or(ScaleTanh)
	switch {
	case c.Dim < 2:
		return c, errors.Errorf("coupling: dense Real NVP needs dim ≥ 2, got %d", c.Dim)
	case c.Layers < 1 || c.Layers > maxLayers:
		return c, errors.Errorf("coupling: dense Real NVP layers = %d must lie in [1, %d]", c.Layers, maxLayers)
	case !enumValid(int(c.Scale), len(scaleNames)):
		return c, errors.Errorf("coupling: unknown scale function %d", int(c.Scale))
	}
	for i, h := range c.Hidden {
		if h < 1 {
			return c, errors.Errorf("coupling: dense Real NVP hidden width %d is %d, must be ≥ 1", i, h)
		}
	}
	return c, nil
}

// Validate reports the first invalid field of c, naming the value and the
// valid range.
func (c DenseRealNVPConfig) Validate() error {
	_, err := c.withDefaults()
	return err
}

// NewDenseRealNVP builds the dense Real NVP with weights drawn from rng.
func NewDenseRealNVP(cfg DenseRealNVPConfig, rng *rand.Rand) (*blocks.Chain, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	bs := make([]blocks.Bijector, cfg.Layers)
	for i := range bs {
		if bs[i], err = NewCoupling(CouplingConfig{
			Kind: Affine, Partition: Alternate, Flip: i%2 == 1, Scale: cfg.Scale,
			Dim: cfg.Dim, Hidden: cfg.Hidden, Dtype: cfg.Dtype,
		}, rng); err != nil {
			return nil, errors.Wrapf(err, "coupling: dense Real NVP layer %d", i)
		}
	}
	return blocks.NewChain(bs...)
}
