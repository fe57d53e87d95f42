package coupling

import (
	"math"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/graph"
	"github.com/iresnet/iresnet/internal/dense"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Scaling is NICE's diagonal scaling layer (Dinh et al. 2014, §3.3) on
// vectors (N, d):
//
//	y = x ⊙ exp(s),   log|det ∂y/∂x| = Σ_i s_i  (per row),
//
// with a learned log-scale s of shape (d), initialized to 0 (the
// identity). x = y ⊙ exp(−s) inverts it.
type Scaling struct {
	logScale *tensor.Dense
	inv      inverter
}

var (
	_ blocks.Bijector = (*Scaling)(nil)
	_ blocks.Tensorer = (*Scaling)(nil)
)

// NewScaling returns an identity scaling layer over dim ≥ 1 features. The
// zero dtype means tensor.Float32.
func NewScaling(dim int, dtype tensor.Dtype) (*Scaling, error) {
	dt, err := checkDtype(dtype)
	if err != nil {
		return nil, err
	}
	if dim < 1 {
		return nil, errors.Errorf("coupling: scaling width %d must be ≥ 1", dim)
	}
	return &Scaling{logScale: tensor.New(tensor.Of(dt), tensor.WithShape(dim))}, nil
}

func (l *Scaling) checkShape(s tensor.Shape) error {
	if d := l.logScale.Shape()[0]; s.Dims() != 2 || s[1] != d {
		return errors.Errorf("coupling: scaling over %d features got shape %v, want (N, %d)", d, s, d)
	}
	return nil
}

// Forward implements blocks.Bijector.
func (l *Scaling) Forward(b *graph.Builder, x *G.Node) (y, logDet *G.Node, err error) {
	if err := l.checkShape(x.Shape()); err != nil {
		return nil, nil, err
	}
	s, err := b.Param("logscale", l.logScale)
	if err != nil {
		return nil, nil, err
	}
	e, err := G.Exp(s)
	if err != nil {
		return nil, nil, errors.Wrap(err, "coupling: exp(s)")
	}
	eb, err := graph.BroadcastChannels(e, x.Shape())
	if err != nil {
		return nil, nil, err
	}
	if y, err = G.HadamardProd(x, eb); err != nil {
		return nil, nil, errors.Wrap(err, "coupling: x ⊙ exp(s)")
	}
	if logDet, err = constLogDet(b, s, x.Shape()); err != nil {
		return nil, nil, err
	}
	return y, logDet, nil
}

// Inverse implements blocks.Bijector.
func (l *Scaling) Inverse(y *tensor.Dense) (*tensor.Dense, error) {
	if err := l.checkShape(y.Shape()); err != nil {
		return nil, err
	}
	yd, s := dense.Float64s(y), dense.Float64s(l.logScale)
	for i := range yd {
		yd[i] *= math.Exp(-s[i%len(s)])
	}
	return dense.New(y.Dtype(), yd, y.Shape()...), nil
}

// Tensors implements blocks.Tensorer.
func (l *Scaling) Tensors() []blocks.NamedTensor {
	return []blocks.NamedTensor{{Name: "logscale", Value: l.logScale, Learnable: true}}
}

// Flatten reshapes images (N, C, H, W) (or any (N, ...)) of a fixed
// per-sample shape into vectors (N, C·H·W), so dense flows read images. It
// is a permutation-free relabelling: log|det| = 0.
type Flatten struct {
	Shape []int // per-sample input shape, e.g. (C, H, W)
}

var _ blocks.Bijector = Flatten{}

// Forward implements blocks.Bijector.
func (f Flatten) Forward(b *graph.Builder, x *G.Node) (y, logDet *G.Node, err error) {
	s := x.Shape()
	if s.Dims() < 2 || !sameInts(perSample(s), f.Shape) {
		return nil, nil, errors.Errorf("coupling: flatten for rows of shape %v got %v", f.Shape, s)
	}
	if y, err = reshape(x, s[0], s.TotalSize()/s[0]); err != nil {
		return nil, nil, errors.Wrap(err, "coupling: flatten")
	}
	if logDet, err = zeroLogDet(b, s[0]); err != nil {
		return nil, nil, err
	}
	return y, logDet, nil
}

// Inverse implements blocks.Bijector.
func (f Flatten) Inverse(y *tensor.Dense) (*tensor.Dense, error) {
	s := y.Shape()
	d := 1
	for _, v := range f.Shape {
		d *= v
	}
	if s.Dims() != 2 || s[1] != d {
		return nil, errors.Errorf("coupling: unflatten to rows of %v wants (N, %d), got %v", f.Shape, d, s)
	}
	return dense.New(y.Dtype(), dense.Float64s(y), append([]int{s[0]}, f.Shape...)...), nil
}
