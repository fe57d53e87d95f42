package blocks

import (
	"math/rand/v2"

	"github.com/pkg/errors"
)

// DenseFlowConfig describes a stack of dense residual blocks on vectors,
// the model of the paper's 2-D toy experiments (Behrmann et al. 2019, §5.1,
// Figure 1). It is plain data, stored as JSON in checkpoints. The zero
// value of each field means the default in its comment.
type DenseFlowConfig struct {
	Dim     int   `json:"dim"`      // data dimension d; 0 means 2
	Blocks  int   `json:"blocks"`   // residual blocks; 0 means 10
	Hidden  []int `json:"hidden"`   // hidden widths of each block; nil means [64, 64, 64]
	ActNorm bool  `json:"act_norm"` // ActNorm before every residual block
	Lipschitz
}

// WithDefaults returns the configuration with zero fields set to their
// defaults, or an error naming an invalid field.
func (c DenseFlowConfig) WithDefaults() (DenseFlowConfig, error) {
	if c.Dim == 0 {
		c.Dim = 2
	}
	if c.Blocks == 0 {
		c.Blocks = 10
	}
	if c.Hidden == nil {
		c.Hidden = []int{64, 64, 64}
	}
	if c.Dim < 1 || c.Dim > MaxWidth || c.Blocks < 1 || c.Blocks > MaxBlocks {
		return c, errors.Errorf("blocks: dense flow needs dim in [1, %d] and blocks in [1, %d], got %d and %d", MaxWidth, MaxBlocks, c.Dim, c.Blocks)
	}
	if len(c.Hidden) > MaxLayers {
		return c, errors.Errorf("blocks: %d hidden layers per block, at most %d", len(c.Hidden), MaxLayers)
	}
	for i, h := range c.Hidden {
		if h < 1 || h > MaxWidth {
			return c, errors.Errorf("blocks: hidden width %d is %d, must lie in [1, %d]", i, h, MaxWidth)
		}
	}
	l, err := c.Lipschitz.withDefaults()
	if err != nil {
		return c, err
	}
	c.Lipschitz = l
	return c, nil
}

// NewDenseFlow builds the chain described by cfg with weights drawn from rng.
// Block i is residual block i/2 when ActNorm is on (ActNorm at even indices).
func NewDenseFlow(cfg DenseFlowConfig, rng *rand.Rand) (*Chain, error) {
	cfg, err := cfg.WithDefaults()
	if err != nil {
		return nil, err
	}
	var bs []Bijector
	for i := 0; i < cfg.Blocks; i++ {
		if cfg.ActNorm {
			a, err := NewActNorm(cfg.Dim, cfg.Dtype)
			if err != nil {
				return nil, err
			}
			bs = append(bs, a)
		}
		r, err := NewDense(DenseConfig{Dim: cfg.Dim, Hidden: cfg.Hidden, Lipschitz: cfg.Lipschitz}, rng)
		if err != nil {
			return nil, errors.Wrapf(err, "blocks: residual block %d", i)
		}
		bs = append(bs, r)
	}
	return NewChain(bs...)
}

// Residuals returns the residual blocks of the chain (recursively) in
// forward order.
func (c *Chain) Residuals() []*Residual {
	var out []*Residual
	for _, bl := range c.blocks {
		switch v := bl.(type) {
		case *Residual:
			out = append(out, v)
		case *Chain:
			out = append(out, v.Residuals()...)
		}
	}
	return out
}

// ActNorms returns the ActNorm layers of the chain (recursively).
func (c *Chain) ActNorms() []*ActNorm {
	var out []*ActNorm
	for _, bl := range c.blocks {
		switch v := bl.(type) {
		case *ActNorm:
			out = append(out, v)
		case *Chain:
			out = append(out, v.ActNorms()...)
		}
	}
	return out
}
