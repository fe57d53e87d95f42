package graph

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// poolOp is one of a pair of linear maps between batched per-channel values
// (N, C) and batched maps (N, C, ...): the mean over every axis after the
// channel axis (spread=false, global average pooling), and its adjoint,
// which spreads each value evenly over those axes, divided by their size
// (spread=true). Each is the other's adjoint, so the pair is closed under
// differentiation.
type poolOp struct {
	opBase
	shape  tensor.Shape // the full shape (N, C, ...)
	spread bool
}

var _ G.SDOp = poolOp{}

// inner is the number of spatial positions H·W·… averaged over.
func (op poolOp) inner() int { return op.shape.TotalSize() / (op.shape[0] * op.shape[1]) }

func (op poolOp) Arity() int { return 1 }
func (op poolOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	pooled := G.TensorType{Dims: 2, Of: a}
	full := G.TensorType{Dims: op.shape.Dims(), Of: a}
	if op.spread {
		return hm.NewFnType(pooled, full)
	}
	return hm.NewFnType(full, pooled)
}

func (op poolOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	if len(in) != 1 {
		return nil, errors.Errorf("graph: %v takes 1 input", op)
	}
	if op.spread {
		return op.shape.Clone(), nil
	}
	return tensor.Shape{op.shape[0], op.shape[1]}, nil
}

func (op poolOp) String() string {
	if op.spread {
		return fmt.Sprintf("spatialSpread%v", op.shape)
	}
	return fmt.Sprintf("spatialMean%v", op.shape)
}
func (op poolOp) WriteHash(h hash.Hash) { hashString(h, op.String()) }
func (op poolOp) Hashcode() uint32      { return hashCode(op.String()) }
func (op poolOp) DiffWRT(int) []bool    { return []bool{true} }

func (op poolOp) Do(vals ...G.Value) (G.Value, error) {
	if len(vals) != 1 {
		return nil, errors.Errorf("graph: %v takes 1 input", op)
	}
	in, err := denseOf(op.String(), vals[0])
	if err != nil {
		return nil, err
	}
	n, c := op.shape[0], op.shape[1]
	var out *tensor.Dense
	if op.spread {
		if err := checkShape(op.String(), "input", in, []int{n, c}); err != nil {
			return nil, err
		}
		out = newLike(in, op.shape)
	} else {
		if err := checkShape(op.String(), "input", in, op.shape); err != nil {
			return nil, err
		}
		out = newLike(in, []int{n, c})
	}
	switch d := in.Data().(type) {
	case []float32:
		poolKernel(op.spread, n*c, op.inner(), d, out.Data().([]float32))
	case []float64:
		poolKernel(op.spread, n*c, op.inner(), d, out.Data().([]float64))
	default:
		return nil, errors.Errorf("graph: %v: unsupported dtype %v", op, in.Dtype())
	}
	return out, nil
}

// poolKernel averages each of the rows segments of length inner of in into
// out (spread=false), or writes in[r]/inner to each of the inner entries of
// segment r of out (spread=true).
func poolKernel[T Float](spread bool, rows, inner int, in, out []T) {
	k := 1 / T(inner)
	for r := 0; r < rows; r++ {
		if spread {
			v := in[r] * k
			o := out[r*inner : (r+1)*inner]
			for i := range o {
				o[i] = v
			}
			continue
		}
		s := T(0)
		for _, v := range in[r*inner : (r+1)*inner] {
			s += v
		}
		out[r] = s * k
	}
}

func (op poolOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	d, err := G.ApplyOp(poolOp{shape: op.shape, spread: !op.spread}, grad)
	if err != nil {
		return nil, errors.Wrapf(err, "graph: differentiating %v", op)
	}
	return G.Nodes{d}, nil
}

// SpatialMean returns the mean of x (N, C, H, W, …) over every axis after the
// channel axis: global average pooling to (N, C),
//
//	out[n, c] = (1/(H·W·…)) Σ_{h,w,…} x[n, c, h, w, …].
//
// Its derivative is [SpatialSpread], and that one's is SpatialMean, so the
// pair can be differentiated any number of times.
func SpatialMean(x *G.Node) (*G.Node, error) {
	s := x.Shape()
	if s.Dims() < 3 || s.TotalSize() == 0 {
		return nil, errors.Errorf("graph: SpatialMean needs (N, C, H, …), got %v", s)
	}
	return G.ApplyOp(poolOp{shape: s.Clone()}, x)
}

// SpatialSpread is the adjoint of [SpatialMean]: it maps v (N, C) to the
// batched shape (N, C, H, W, …) with
//
//	out[n, c, h, w, …] = v[n, c] / (H·W·…).
func SpatialSpread(v *G.Node, shape tensor.Shape) (*G.Node, error) {
	vs := v.Shape()
	if shape.Dims() < 3 || shape.TotalSize() == 0 || vs.Dims() != 2 || vs[0] != shape[0] || vs[1] != shape[1] {
		return nil, errors.Errorf("graph: cannot spread %v over the spatial axes of %v", vs, shape)
	}
	return G.ApplyOp(poolOp{shape: shape.Clone(), spread: true}, v)
}
