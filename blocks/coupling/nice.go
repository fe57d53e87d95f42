package coupling

import (
	"math/rand/v2"

	"github.com/iresnet/iresnet/blocks"
	"github.com/pkg/errors"
	"gorgonia.org/tensor"
)

// maxLayers bounds the layer and step counts of every model here.
const maxLayers = 1024

// NICEConfig describes NICE (Dinh, Krueger & Bengio 2014, §3–§5): Layers
// additive coupling layers with alternating masks (§5.1: the roles of odd
// and even features swap from one layer to the next), each with an MLP
// coupling net of ReLU layers, then the diagonal scaling layer (§3.3).
// Images are flattened first. It is plain data, stored as JSON; the zero
// value of each field means the default in its comment.
type NICEConfig struct {
	// Dim is the width d ≥ 2 of vector inputs (N, d). With Channels > 0 the
	// input is an image (N, C, H, W) and Dim must be 0 or C·H·W.
	Dim      int `json:"dim,omitempty"`
	Channels int `json:"channels,omitempty"`
	Height   int `json:"height,omitempty"`
	Width    int `json:"width,omitempty"`
	// Layers is the number of coupling layers; 0 means 4 (the paper's).
	Layers int `json:"layers"`
	// Hidden lists the hidden widths of each coupling MLP; nil means
	// [64, 64, 64]. The paper used five layers of 1000 units on MNIST
	// (NICEMNIST).
	Hidden []int `json:"hidden"`
	// Dtype is the element type; the zero value means tensor.Float32.
	Dtype tensor.Dtype `json:"-"`
}

// NICEMNIST returns the paper's MNIST configuration (Dinh et al. 2014,
// §5.1): 4 coupling layers of 5 × 1000 ReLU units on 1×28×28 images.
func NICEMNIST() NICEConfig {
	return NICEConfig{Channels: 1, Height: 28, Width: 28, Layers: 4, Hidden: []int{1000, 1000, 1000, 1000, 1000}}
}

func (c NICEConfig) withDefaults() (NICEConfig, error) {
	var err error
	if c.Dtype, err = checkDtype(c.Dtype); err != nil {
		return c, err
	}
	if c.Layers == 0 {
		c.Layers = 4
	}
	if c.Hidden == nil {
		c.Hidden = []int{64, 64, 64}
	}
	if c.Channels != 0 || c.Height != 0 || c.Width != 0 {
		if c.Channels < 1 || c.Height < 1 || c.Width < 1 {
			return c, errors.Errorf("coupling: NICE image (C, H, W) = (%d, %d, %d) must be positive", c.Channels, c.Height, c.Width)
		}
		d := c.Channels * c.Height * c.Width
		if c.Dim != 0 && c.Dim != d {
			return c, errors.Errorf("coupling: NICE dim %d disagrees with the image's C·H·W = %d", c.Dim, d)
		}
		c.Dim = d
	}
	switch {
	case c.Dim < 2:
		return c, errors.Errorf("coupling: NICE needs dim ≥ 2, got %d", c.Dim)
	case c.Layers < 1 || c.Layers > maxLayers:
		return c, errors.Errorf("coupling: NICE layers = %d must lie in [1, %d]", c.Layers, maxLayers)
	}
	for i, h := range c.Hidden {
		if h < 1 {
			return c, errors.Errorf("coupling: NICE hidden width %d is %d, must be ≥ 1", i, h)
		}
	}
	return c, nil
}

// Validate reports the first invalid field of c, naming the value and the
// valid range.
func (c NICEConfig) Validate() error {
	_, err := c.withDefaults()
	return err
}

// NewNICE builds NICE with weights drawn from rng: block i < Layers is
// coupling layer i, the last block the scaling layer (after a Flatten
// block for images).
func NewNICE(cfg NICEConfig, rng *rand.Rand) (*blocks.Chain, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	var bs []blocks.Bijector
	if cfg.Channels > 0 {
		bs = append(bs, Flatten{Shape: []int{cfg.Channels, cfg.Height, cfg.Width}})
	}
	for i := 0; i < cfg.Layers; i++ {
		c, err := NewCoupling(CouplingConfig{
			Kind: Additive, Partition: Alternate, Flip: i%2 == 1,
			Dim: cfg.Dim, Hidden: cfg.Hidden, Dtype: cfg.Dtype,
		}, rng)
		if err != nil {
			return nil, errors.Wrapf(err, "coupling: NICE layer %d", i)
		}
		bs = append(bs, c)
	}
	s, err := NewScaling(cfg.Dim, cfg.Dtype)
	if err != nil {
		return nil, err
	}
	return blocks.NewChain(append(bs, s)...)
}
