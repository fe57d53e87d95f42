package coupling

import (
	"strconv"

	"github.com/iresnet/iresnet/estimator"
	"github.com/iresnet/iresnet/internal/dense"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/graph"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// MultiScale is the multi-scale architecture of Dinh et al. (2017, §3.6)
// and Kingma & Dhariwal (2018, §3, Figure 2b): a sequence of scales, each a
// blocks.Chain on images; after every scale but the last (when it factors
// out), the first half of the channels (blocks.SplitChannels) leaves the
// flow and goes straight to the latent. Forward maps (N, C, H, W) to one
// latent vector (N, C·H·W): the factored-out halves, flattened in order,
// then the last scale's output; the log-det is the sum over scales.
// Inverse maps a latent vector back to images.
type MultiScale struct {
	in     [3]int
	scales []*blocks.Chain
	shapes [][3]int // (C, H, W) at the output of each scale, before the split
	factor []bool   // whether half the channels leave after scale i
}

var (
	_ blocks.Bijector          = (*MultiScale)(nil)
	_ blocks.EstimatedBijector = (*MultiScale)(nil)
	_ blocks.NormUpdater       = (*MultiScale)(nil)
	_ blocks.DataInitializer   = (*MultiScale)(nil)
	_ blocks.Tensorer          = (*MultiScale)(nil)
)

func scaleName(i int) string { return "scale" + strconv.Itoa(i) }

// Dim returns the size C·H·W of the latent vector.
func (m *MultiScale) Dim() int { return m.in[0] * m.in[1] * m.in[2] }

// InputShape returns the image shape (C, H, W) the model reads.
func (m *MultiScale) InputShape() [3]int { return m.in }

// Scales returns each scale's chain, in forward order.
func (m *MultiScale) Scales() []*blocks.Chain { return append([]*blocks.Chain(nil), m.scales...) }

// FinalShape returns (C, H, W) of the last scale's output, the end of the
// latent vector (a classifier head's input).
func (m *MultiScale) FinalShape() [3]int { return m.shapes[len(m.shapes)-1] }

// FeatureMap returns, from the latent z (N, C·H·W) of Forward, the last
// scale's output (N, C, H, W) of FinalShape: what the classifier head of
// Behrmann et al. (2019, §5.1) reads when Glow or Real NVP is trained as a
// classifier, in the latent layout of the i-ResNet (blocks.FinalFeatureMap).
// Without factor-out (GlowConfig.NoSplit) that is the whole latent.
func (m *MultiScale) FeatureMap(z *G.Node) (*G.Node, error) {
	f, err := blocks.FinalFeatureMap(m, z)
	return f, errors.Wrap(err, "coupling: multi-scale feature map")
}

// FeatureTensor is FeatureMap on a computed latent (N, C·H·W), e.g. to
// initialize a classifier head from a batch; it returns a new tensor.
func (m *MultiScale) FeatureTensor(z *tensor.Dense) (*tensor.Dense, error) {
	f, err := blocks.FinalFeatureTensor(m, z)
	return f, errors.Wrap(err, "coupling: multi-scale feature map")
}

// Forward implements blocks.Bijector.
func (m *MultiScale) Forward(b *graph.Builder, x *G.Node) (y, logDet *G.Node, err error) {
	s := x.Shape()
	if s.Dims() != 4 || s[1] != m.in[0] || s[2] != m.in[1] || s[3] != m.in[2] {
		return nil, nil, errors.Errorf("coupling: multi-scale model for (C, H, W) = %v got input of shape %v", m.in, s)
	}
	n := s[0]
	var outs G.Nodes
	h := x
	for i, sc := range m.scales {
		var ld *G.Node
		err = b.Scoped(scaleName(i), func() error {
			var err error
			h, ld, err = sc.Forward(b, h)
			return err
		})
		if err != nil {
			return nil, nil, errors.Wrapf(err, "coupling: scale %d", i)
		}
		if logDet == nil {
			logDet = ld
		} else if logDet, err = G.Add(logDet, ld); err != nil {
			return nil, nil, errors.Wrapf(err, "coupling: summing the log-det of scale %d", i)
		}
		if m.factor[i] {
			var z *G.Node
			if z, h, err = splitChannels(h); err != nil {
				return nil, nil, err
			}
			flat, err := reshape(z, n, z.Shape().TotalSize()/n)
			if err != nil {
				return nil, nil, errors.Wrap(err, "coupling: flattening a factored-out half")
			}
			outs = append(outs, flat)
		}
	}
	flat, err := reshape(h, n, h.Shape().TotalSize()/n)
	if err != nil {
		return nil, nil, errors.Wrap(err, "coupling: flattening the last scale")
	}
	if outs = append(outs, flat); len(outs) == 1 {
		return flat, logDet, nil
	}
	if y, err = G.Concat(1, outs...); err != nil {
		return nil, nil, errors.Wrap(err, "coupling: concatenating the latents")
	}
	return y, logDet, nil
}

// ForwardWith implements blocks.EstimatedBijector. Coupling flows have
// exact log-dets and no residual blocks, so est is not used: it is
// Forward.
func (m *MultiScale) ForwardWith(b *graph.Builder, x *G.Node, est estimator.Estimator) (y, logDet *G.Node, err error) {
	return m.Forward(b, x)
}

// UpdateSpectralNorms implements blocks.NormUpdater; coupling flows have no
// spectrally normalized layers, so it does nothing.
func (m *MultiScale) UpdateSpectralNorms(iters int) error { return nil }

// Residuals returns the residual blocks of the model: none. It is there so
// the model offers what a trainer asks of the i-ResNet models.
func (m *MultiScale) Residuals() []*blocks.Residual { return nil }

// Inverse implements blocks.Bijector: latents (N, C·H·W) back to images.
func (m *MultiScale) Inverse(y *tensor.Dense) (*tensor.Dense, error) {
	s := y.Shape()
	if s.Dims() != 2 || s[1] != m.Dim() {
		return nil, errors.Errorf("coupling: multi-scale inverse wants (N, %d), got %v", m.Dim(), s)
	}
	n, d := s[0], m.Dim()
	yd := dense.Float64s(y)
	// part returns columns [off, off+size) of every row, as (N, c, h, w).
	part := func(off int, sh [3]int) *tensor.Dense {
		size := sh[0] * sh[1] * sh[2]
		p := make([]float64, n*size)
		for r := 0; r < n; r++ {
			copy(p[r*size:(r+1)*size], yd[r*d+off:r*d+off+size])
		}
		return dense.New(y.Dtype(), p, n, sh[0], sh[1], sh[2])
	}
	offs := make([]int, len(m.scales)) // where each factored half starts
	off := 0
	for i, sh := range m.shapes {
		if m.factor[i] {
			offs[i] = off
			off += sh[0] / 2 * sh[1] * sh[2]
		}
	}
	h := part(off, m.FinalShape())
	for i := len(m.scales) - 1; i >= 0; i-- {
		var err error
		if m.factor[i] {
			sh := m.shapes[i]
			if h, err = blocks.MergeTensor(part(offs[i], [3]int{sh[0] / 2, sh[1], sh[2]}), h); err != nil {
				return nil, err
			}
		}
		if h, err = m.scales[i].Inverse(h); err != nil {
			return nil, errors.Wrapf(err, "coupling: inverting scale %d", i)
		}
	}
	return h, nil
}

// InitFromBatch implements blocks.DataInitializer: it initializes each
// scale's ActNorm layers from the batch x pushed through the scales before.
func (m *MultiScale) InitFromBatch(x *tensor.Dense) error {
	h := x
	for i, sc := range m.scales {
		if err := sc.InitFromBatch(h); err != nil {
			return errors.Wrapf(err, "coupling: scale %d", i)
		}
		if i+1 == len(m.scales) {
			break
		}
		var err error
		if h, err = blocks.Apply(sc, h); err != nil {
			return errors.Wrapf(err, "coupling: scale %d", i)
		}
		if m.factor[i] {
			if _, h, err = blocks.SplitTensor(h); err != nil {
				return err
			}
		}
	}
	return nil
}

// ActNorms returns every ActNorm layer, scale by scale, e.g. to save and
// restore their initialized flags with checkpoints.
func (m *MultiScale) ActNorms() []*blocks.ActNorm {
	var out []*blocks.ActNorm
	for _, sc := range m.scales {
		out = append(out, sc.ActNorms()...)
	}
	return out
}

// Tensors implements blocks.Tensorer, with names "scale<i>/block<j>/…".
func (m *MultiScale) Tensors() []blocks.NamedTensor {
	var out []blocks.NamedTensor
	for i, sc := range m.scales {
		for _, nt := range sc.Tensors() {
			nt.Name = scaleName(i) + "/" + nt.Name
			out = append(out, nt)
		}
	}
	return out
}
