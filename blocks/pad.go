package blocks

import (
	"github.com/iresnet/iresnet/graph"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// PadChannels is injective channel padding (Jacobsen et al. 2018,
// i-RevNet), which the paper's classifiers use (Behrmann et al. 2019, §5.1;
// inj_pad in the authors' code): it appends N zero channels,
// (B, C, H, W) → (B, C+N, H, W), so that the residual blocks after it work
// in a wider space than the image.
//
// It is injective, not bijective. Inverse drops the padded channels (a left
// inverse), and Forward reports a log-det of 0, which is not a
// change-of-variables term: a model with padding classifies but has no
// density.
type PadChannels struct {
	N int // zero channels appended, ≥ 1
}

// Forward implements Bijector.
func (p PadChannels) Forward(b *graph.Builder, x *G.Node) (y, logDet *G.Node, err error) {
	s := x.Shape()
	if p.N < 1 || s.Dims() != 4 {
		return nil, nil, errors.Errorf("blocks: PadChannels{%d} needs N ≥ 1 and a (B, C, H, W) input, got %v", p.N, s)
	}
	if y, err = graph.PadChannels(x, p.N); err != nil {
		return nil, nil, errors.Wrap(err, "blocks: PadChannels")
	}
	if logDet, err = zeroLogDet(b, s[0]); err != nil {
		return nil, nil, err
	}
	return y, logDet, nil
}

// Inverse implements Bijector: it drops the last N channels. It does not
// check that they are zero; use Padding to measure what was dropped.
func (p PadChannels) Inverse(y *tensor.Dense) (*tensor.Dense, error) {
	s := y.Shape()
	if p.N < 1 || s.Dims() != 4 || s[1] <= p.N {
		return nil, errors.Errorf("blocks: PadChannels{%d} cannot unpad a tensor of shape %v", p.N, s)
	}
	x, _, err := p.split(y)
	return x, err
}

// Padding returns max |y| over the padded channels of y: 0 for an exact
// image of Forward, and the distance to the nearest one otherwise.
func (p PadChannels) Padding(y *tensor.Dense) (float64, error) {
	_, pad, err := p.split(y)
	if err != nil {
		return 0, err
	}
	return maxAbs(toFloat64(pad)), nil
}

func (p PadChannels) split(y *tensor.Dense) (x, pad *tensor.Dense, err error) {
	s := y.Shape()
	if s.Dims() != 4 || s[1] <= p.N {
		return nil, nil, errors.Errorf("blocks: PadChannels{%d} on a tensor of shape %v", p.N, s)
	}
	n, c, hw := s[0], s[1], s[2]*s[3]
	keep := c - p.N
	x = tensor.New(tensor.Of(y.Dtype()), tensor.WithShape(n, keep, s[2], s[3]))
	pad = tensor.New(tensor.Of(y.Dtype()), tensor.WithShape(n, p.N, s[2], s[3]))
	yd := toFloat64(y)
	xd, pd := make([]float64, n*keep*hw), make([]float64, n*p.N*hw)
	for i := 0; i < n; i++ {
		copy(xd[i*keep*hw:(i+1)*keep*hw], yd[i*c*hw:(i*c+keep)*hw])
		copy(pd[i*p.N*hw:(i+1)*p.N*hw], yd[(i*c+keep)*hw:(i+1)*c*hw])
	}
	storeFloat64(x, xd)
	storeFloat64(pad, pd)
	return x, pad, nil
}
