package blocks

import (
	"math/rand/v2"
	"strconv"

	"github.com/iresnet/iresnet/estimator"
	"github.com/iresnet/iresnet/graph"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// MultiScaleConfig describes the multi-scale convolutional i-ResNet of
// Behrmann et al. (2019, §5.2, after Dinh et al. 2017): an optional initial
// squeeze, then Scales scale blocks, each a squeeze (except the first when
// InitSqueeze is off) followed by Blocks × (ActNorm, conv bottleneck
// residual block); between scales half of the channels are factored out and
// go straight to the Gaussian prior. The zero value of each field means the
// default in its comment.
type MultiScaleConfig struct {
	Channels    int   `json:"channels"`     // input C
	Height      int   `json:"height"`       // input H
	Width       int   `json:"width"`        // input W
	Scales      int   `json:"scales"`       // scale blocks; 0 means 3
	Blocks      int   `json:"blocks"`       // residual blocks per scale; 0 means 4
	Hidden      []int `json:"hidden"`       // bottleneck channels per scale; nil means 32 at every scale
	InitSqueeze bool  `json:"init_squeeze"` // squeeze the input before the first scale
	ActNorm     bool  `json:"act_norm"`     // ActNorm before every residual block
	// NoSplit keeps every channel through every scale instead of factoring
	// out half of them after each scale but the last. The paper's
	// classifiers work this way (Behrmann et al. 2019, §5.1): the head then
	// reads the whole representation, not the last quarter of it.
	NoSplit bool `json:"no_split"`
	// PadChannels > 0 appends that many zero channels after the initial
	// squeeze (PadChannels, the paper's injective padding inj_pad). The
	// model then classifies but is no density model: Forward's log-det
	// leaves the padding out, and the latent is larger than the image.
	PadChannels int `json:"pad_channels"`
	Lipschitz
}

// MultiScale is the multi-scale i-ResNet. Forward maps an image (N, C, H, W)
// to one latent vector (N, C·H·W): the factored-out halves of every scale,
// flattened and concatenated in order, then the final scale's output. The
// standard Gaussian prior on that vector is the model's base density, so
// Flow{F: model} is the density model; Inverse maps a latent vector back to
// an image.
type MultiScale struct {
	cfg    MultiScaleConfig
	scales []*Chain // each scale's blocks (squeeze included)
	shapes [][3]int // (C, H, W) at the output of each scale, before the split
	factor []bool   // whether half the channels leave after scale i
	in     [3]int   // input (C, H, W)
}

var (
	_ Bijector        = (*MultiScale)(nil)
	_ NormUpdater     = (*MultiScale)(nil)
	_ DataInitializer = (*MultiScale)(nil)
	_ Tensorer        = (*MultiScale)(nil)
)

// NewMultiScale builds the model with weights drawn from rng.
func NewMultiScale(cfg MultiScaleConfig, rng *rand.Rand) (*MultiScale, error) {
	l, err := cfg.Lipschitz.withDefaults()
	if err != nil {
		return nil, err
	}
	cfg.Lipschitz = l
	if cfg.Scales == 0 {
		cfg.Scales = 3
	}
	if cfg.Blocks == 0 {
		cfg.Blocks = 4
	}
	if cfg.Hidden == nil {
		cfg.Hidden = make([]int, cfg.Scales)
		for i := range cfg.Hidden {
			cfg.Hidden[i] = 32
		}
	}
	c, h, w := cfg.Channels, cfg.Height, cfg.Width
	switch {
	case c < 1 || h < 1 || w < 1 || c > MaxWidth || h > MaxSide || w > MaxSide:
		return nil, errors.Errorf("blocks: multi-scale input (C, H, W) = (%d, %d, %d) must be positive, with C ≤ %d and H, W ≤ %d", c, h, w, MaxWidth, MaxSide)
	case cfg.Scales < 1 || cfg.Blocks < 1 || cfg.Scales > MaxScales || cfg.Blocks > MaxBlocks:
		return nil, errors.Errorf("blocks: multi-scale needs 1 … %d scales and 1 … %d blocks per scale, got %d and %d", MaxScales, MaxBlocks, cfg.Scales, cfg.Blocks)
	case cfg.PadChannels < 0 || cfg.PadChannels > MaxWidth:
		return nil, errors.Errorf("blocks: multi-scale channel padding must lie in [0, %d], got %d", MaxWidth, cfg.PadChannels)
	case len(cfg.Hidden) != cfg.Scales:
		return nil, errors.Errorf("blocks: %d hidden widths for %d scales", len(cfg.Hidden), cfg.Scales)
	}
	for i, hw := range cfg.Hidden {
		if hw < 1 || hw > MaxWidth {
			return nil, errors.Errorf("blocks: hidden width %d of scale %d must lie in [1, %d]", hw, i, MaxWidth)
		}
	}
	m := &MultiScale{cfg: cfg, in: [3]int{c, h, w}}
	for s := 0; s < cfg.Scales; s++ {
		var bs []Bijector
		if s > 0 || cfg.InitSqueeze {
			if h%2 != 0 || w%2 != 0 {
				return nil, errors.Errorf("blocks: scale %d cannot squeeze a %d×%d image (odd size); pad the input", s, h, w)
			}
			bs = append(bs, Squeeze{})
			c, h, w = 4*c, h/2, w/2
		}
		if s == 0 && cfg.PadChannels > 0 {
			bs = append(bs, PadChannels{N: cfg.PadChannels})
			c += cfg.PadChannels
		}
		for k := 0; k < cfg.Blocks; k++ {
			if cfg.ActNorm {
				a, err := NewActNorm(c, l.Dtype)
				if err != nil {
					return nil, err
				}
				bs = append(bs, a)
			}
			ll := l
			ll.InputAct = k > 0 || s > 0 // the paper's blocks start with φ, except the very first
			r, err := NewConv(ConvConfig{Channels: c, Height: h, Width: w, Hidden: cfg.Hidden[s], Lipschitz: ll}, rng)
			if err != nil {
				return nil, errors.Wrapf(err, "blocks: scale %d block %d", s, k)
			}
			bs = append(bs, r)
		}
		chain, err := NewChain(bs...)
		if err != nil {
			return nil, err
		}
		m.scales = append(m.scales, chain)
		m.shapes = append(m.shapes, [3]int{c, h, w})
		split := s+1 < cfg.Scales && !cfg.NoSplit
		m.factor = append(m.factor, split)
		if split {
			if c%2 != 0 {
				return nil, errors.Errorf("blocks: scale %d has %d channels, cannot factor out half", s, c)
			}
			c /= 2
		}
	}
	return m, nil
}

// Config returns the configuration with defaults filled in.
func (m *MultiScale) Config() MultiScaleConfig { return m.cfg }

// Dim returns the size of the latent vector: the image's C·H·W, plus the
// padded channels with PadChannels.
func (m *MultiScale) Dim() int {
	s0 := m.shapes[0] // squeeze and factor-out keep the size; padding adds to it
	return s0[0] * s0[1] * s0[2]
}

// Scales returns each scale's chain, in forward order.
func (m *MultiScale) Scales() []*Chain { return append([]*Chain(nil), m.scales...) }

func scaleName(s int) string { return "scale" + strconv.Itoa(s) }

// Forward implements Bijector.
func (m *MultiScale) Forward(b *graph.Builder, x *G.Node) (y, logDet *G.Node, err error) {
	return m.ForwardWith(b, x, nil)
}

// ForwardWith implements EstimatedBijector.
func (m *MultiScale) ForwardWith(b *graph.Builder, x *G.Node, est estimator.Estimator) (y, logDet *G.Node, err error) {
	s := x.Shape()
	if s.Dims() != 4 || s[1] != m.in[0] || s[2] != m.in[1] || s[3] != m.in[2] {
		return nil, nil, errors.Errorf("blocks: multi-scale model for (C, H, W) = %v got input of shape %v", m.in, s)
	}
	n := s[0]
	var outs G.Nodes
	h := x
	for i, sc := range m.scales {
		var ld *G.Node
		err = b.Scoped(scaleName(i), func() error {
			var err error
			h, ld, err = sc.ForwardWith(b, h, est)
			return err
		})
		if err != nil {
			return nil, nil, errors.Wrapf(err, "blocks: scale %d", i)
		}
		if logDet == nil {
			logDet = ld
		} else if logDet, err = G.Add(logDet, ld); err != nil {
			return nil, nil, err
		}
		if m.factor[i] {
			var z *G.Node
			if z, h, err = SplitChannels(h); err != nil {
				return nil, nil, err
			}
			flat, err := G.Reshape(z, []int{n, z.Shape().TotalSize() / n})
			if err != nil {
				return nil, nil, err
			}
			outs = append(outs, flat)
		}
	}
	flat, err := G.Reshape(h, []int{n, h.Shape().TotalSize() / n})
	if err != nil {
		return nil, nil, err
	}
	outs = append(outs, flat)
	if len(outs) == 1 {
		return outs[0], logDet, nil
	}
	y, err = G.Concat(1, outs...)
	if err != nil {
		return nil, nil, errors.Wrap(err, "blocks: concatenating the latents")
	}
	return y, logDet, nil
}

// Inverse implements Bijector: y (N, C·H·W) back to images (N, C, H, W).
func (m *MultiScale) Inverse(y *tensor.Dense) (*tensor.Dense, error) {
	x, _, err := m.InverseWithStats(y)
	return x, err
}

// InverseWithStats inverts the model and reports every residual block's
// fixed-point iterations, keyed "scale<i>/block<j>".
func (m *MultiScale) InverseWithStats(y *tensor.Dense) (*tensor.Dense, map[string]FixedPointStats, error) {
	return m.invert(y, nil)
}

// InverseLenient inverts the model like InverseWithStats, except that a
// residual block whose fixed point does not converge hands its last iterate
// on (see [Chain.InverseLenient]). The error is a *FailedBlocksError naming
// every such block, keyed like the stats; the result is then not an inverse.
func (m *MultiScale) InverseLenient(y *tensor.Dense) (*tensor.Dense, map[string]FixedPointStats, error) {
	failed := &FailedBlocksError{}
	x, stats, err := m.invert(y, failed)
	if err == nil && len(failed.Blocks) > 0 {
		err = failed
	}
	return x, stats, err
}

func (m *MultiScale) invert(y *tensor.Dense, failed *FailedBlocksError) (*tensor.Dense, map[string]FixedPointStats, error) {
	s := y.Shape()
	if s.Dims() != 2 || s[1] != m.Dim() {
		return nil, nil, errors.Errorf("blocks: multi-scale inverse wants (N, %d), got %v", m.Dim(), s)
	}
	n := s[0]
	yd := toFloat64(y)
	// Cut the latent vector into its parts: factored halves, then the rest.
	var parts [][]float64
	var sizes []int
	for i, sh := range m.shapes {
		if m.factor[i] {
			sizes = append(sizes, sh[0]/2*sh[1]*sh[2])
		}
	}
	last := m.shapes[len(m.shapes)-1]
	sizes = append(sizes, last[0]*last[1]*last[2])
	off := 0
	for _, sz := range sizes {
		p := make([]float64, n*sz)
		for r := 0; r < n; r++ {
			copy(p[r*sz:(r+1)*sz], yd[r*m.Dim()+off:r*m.Dim()+off+sz])
		}
		parts = append(parts, p)
		off += sz
	}
	stats := map[string]FixedPointStats{}
	h := tensor.New(tensor.Of(y.Dtype()), tensor.WithShape(n, last[0], last[1], last[2]))
	storeFloat64(h, parts[len(parts)-1])
	zi := len(parts) - 2
	for i := len(m.scales) - 1; i >= 0; i-- {
		sh := m.shapes[i]
		if m.factor[i] {
			z := tensor.New(tensor.Of(y.Dtype()), tensor.WithShape(n, sh[0]/2, sh[1], sh[2]))
			storeFloat64(z, parts[zi])
			zi--
			var err error
			if h, err = MergeTensor(z, h); err != nil {
				return nil, stats, err
			}
		}
		var err error
		h, err = m.scales[i].invert(h, scaleName(i)+"/", stats, failed)
		if err != nil {
			return nil, stats, errors.Wrapf(err, "blocks: inverting scale %d", i)
		}
	}
	return h, stats, nil
}

// UpdateSpectralNorms implements NormUpdater.
func (m *MultiScale) UpdateSpectralNorms(iters int) error {
	return eachConcurrently(len(m.scales), func(i int) error {
		return errors.Wrapf(m.scales[i].UpdateSpectralNorms(iters), "blocks: scale %d", i)
	})
}

// InitFromBatch implements DataInitializer, pushing x through each scale
// (and its split) before initializing the next.
func (m *MultiScale) InitFromBatch(x *tensor.Dense) error {
	h := x
	for i, sc := range m.scales {
		if err := sc.InitFromBatch(h); err != nil {
			return errors.Wrapf(err, "blocks: scale %d", i)
		}
		var err error
		if h, err = Apply(sc, h); err != nil {
			return err
		}
		if m.factor[i] {
			if _, h, err = SplitTensor(h); err != nil {
				return err
			}
		}
	}
	return nil
}

// Tensors implements Tensorer, with names "scale<i>/block<j>/…".
func (m *MultiScale) Tensors() []NamedTensor {
	var out []NamedTensor
	for i, sc := range m.scales {
		for _, nt := range sc.Tensors() {
			nt.Name = scaleName(i) + "/" + nt.Name
			out = append(out, nt)
		}
	}
	return out
}

// Residuals returns every residual block, scale by scale.
func (m *MultiScale) Residuals() []*Residual {
	var out []*Residual
	for _, sc := range m.scales {
		out = append(out, sc.Residuals()...)
	}
	return out
}

// ActNorms returns every ActNorm layer, scale by scale.
func (m *MultiScale) ActNorms() []*ActNorm {
	var out []*ActNorm
	for _, sc := range m.scales {
		out = append(out, sc.ActNorms()...)
	}
	return out
}

// FinalShape returns (C, H, W) of the last scale's output: the feature map
// a classifier head reads. The latent vector of Forward ends with this map,
// flattened in (C, H, W) order.
func (m *MultiScale) FinalShape() [3]int { return m.shapes[len(m.shapes)-1] }

// FeatureMap returns, from the latent z (N, D) of Forward, the last
// scale's feature map (N, C, H, W) of FinalShape: what a classifier head
// reads.
func (m *MultiScale) FeatureMap(z *G.Node) (*G.Node, error) { return FinalFeatureMap(m, z) }

// FeatureTensor is FeatureMap on a computed latent.
func (m *MultiScale) FeatureTensor(z *tensor.Dense) (*tensor.Dense, error) {
	return FinalFeatureTensor(m, z)
}
