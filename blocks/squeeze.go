package blocks

import (
	"github.com/iresnet/iresnet/graph"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Squeeze is the 2×2 space-to-depth permutation (N, C, H, W) →
// (N, 4C, H/2, W/2) of Dinh et al. (2017) used between the scales of a
// multi-scale i-ResNet. It preserves volume: its log-det is 0.
type Squeeze struct{}

// Forward implements Bijector.
func (Squeeze) Forward(b *graph.Builder, x *G.Node) (y, logDet *G.Node, err error) {
	if y, err = graph.Squeeze(x); err != nil {
		return nil, nil, err
	}
	if logDet, err = zeroLogDet(b, x.Shape()[0]); err != nil {
		return nil, nil, err
	}
	return y, logDet, nil
}

// Inverse implements Bijector.
func (Squeeze) Inverse(y *tensor.Dense) (*tensor.Dense, error) {
	return graph.UnsqueezeTensor(y)
}

// SplitChannels splits x (N, C, ...) with even C into its first and second
// halves of channels, the factor-out between scales of a multi-scale model.
func SplitChannels(x *G.Node) (a, b *G.Node, err error) {
	s := x.Shape()
	if s.Dims() < 2 || s[1]%2 != 0 {
		return nil, nil, errors.Errorf("blocks: SplitChannels needs an even channel count, got shape %v", s)
	}
	h := s[1] / 2
	if a, err = G.Slice(x, nil, G.S(0, h)); err != nil {
		return nil, nil, errors.Wrap(err, "blocks: SplitChannels")
	}
	if b, err = G.Slice(x, nil, G.S(h, 2*h)); err != nil {
		return nil, nil, errors.Wrap(err, "blocks: SplitChannels")
	}
	return a, b, nil
}

// MergeChannels concatenates a and b along the channel axis; it inverts
// SplitChannels.
func MergeChannels(a, b *G.Node) (*G.Node, error) {
	out, err := G.Concat(1, a, b)
	if err != nil {
		return nil, errors.Wrapf(err, "blocks: MergeChannels of %v and %v", a.Shape(), b.Shape())
	}
	return out, nil
}

// SplitTensor splits a tensor (N, C, ...) into channel halves.
func SplitTensor(x *tensor.Dense) (a, b *tensor.Dense, err error) {
	s := x.Shape()
	if s.Dims() < 2 || s[1]%2 != 0 {
		return nil, nil, errors.Errorf("blocks: SplitTensor needs an even channel count, got shape %v", s)
	}
	n, c := s[0], s[1]
	inner := s.TotalSize() / (n * c)
	h := c / 2
	half := append([]int{n, h}, s[2:]...)
	a = tensor.New(tensor.Of(x.Dtype()), tensor.WithShape(half...))
	b = tensor.New(tensor.Of(x.Dtype()), tensor.WithShape(half...))
	xd := toFloat64(x)
	ad, bd := make([]float64, n*h*inner), make([]float64, n*h*inner)
	for i := 0; i < n; i++ {
		copy(ad[i*h*inner:(i+1)*h*inner], xd[i*c*inner:(i*c+h)*inner])
		copy(bd[i*h*inner:(i+1)*h*inner], xd[(i*c+h)*inner:(i+1)*c*inner])
	}
	storeFloat64(a, ad)
	storeFloat64(b, bd)
	return a, b, nil
}

// MergeTensor concatenates two tensors (N, C₁, ...) and (N, C₂, ...) along
// the channel axis.
func MergeTensor(a, b *tensor.Dense) (*tensor.Dense, error) {
	out, err := tensor.Concat(1, a, b)
	if err != nil {
		return nil, errors.Wrapf(err, "blocks: MergeTensor of %v and %v", a.Shape(), b.Shape())
	}
	return out.(*tensor.Dense), nil
}
