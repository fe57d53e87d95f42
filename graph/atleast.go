package graph

import (
	"hash"
	"strconv"

	"github.com/chewxy/hm"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// atLeastOp computes max(x, lo) pointwise (step=false) or its derivative
// 1[x > lo] (step=true). It accepts scalars and tensors, which gorgonia's
// MaxBetween does not.
type atLeastOp struct {
	opBase
	lo   float64
	step bool
	t    hm.Type
}

var _ G.SDOp = atLeastOp{}

func (op atLeastOp) Arity() int    { return 1 }
func (op atLeastOp) Type() hm.Type { return hm.NewFnType(op.t, op.t) }
func (op atLeastOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	if len(in) != 1 {
		return nil, errors.Errorf("graph: %v takes 1 input", op)
	}
	if s, ok := in[0].(tensor.Shape); ok {
		return s.Clone(), nil
	}
	return tensor.ScalarShape(), nil
}
func (op atLeastOp) String() string {
	name := "atLeast"
	if op.step {
		name = "above"
	}
	return name + "(" + strconv.FormatFloat(op.lo, 'g', -1, 64) + ")"
}
func (op atLeastOp) WriteHash(h hash.Hash) { hashString(h, op.String()+op.t.String()) }
func (op atLeastOp) Hashcode() uint32      { return hashCode(op.String() + op.t.String()) }
func (op atLeastOp) DiffWRT(int) []bool    { return []bool{!op.step} }

func (op atLeastOp) f(x float64) float64 {
	if op.step {
		if x > op.lo {
			return 1
		}
		return 0
	}
	return max(x, op.lo)
}

func (op atLeastOp) Do(vals ...G.Value) (G.Value, error) {
	if len(vals) != 1 {
		return nil, errors.Errorf("graph: %v takes 1 input", op)
	}
	switch v := vals[0].(type) {
	case *G.F64:
		return G.NewF64(op.f(float64(*v))), nil
	case *G.F32:
		return G.NewF32(float32(op.f(float64(*v)))), nil
	case *tensor.Dense:
		out := newLike(v, v.Shape())
		switch d := v.Data().(type) {
		case []float64:
			o := out.Data().([]float64)
			for i, x := range d {
				o[i] = op.f(x)
			}
		case []float32:
			o := out.Data().([]float32)
			for i, x := range d {
				o[i] = float32(op.f(float64(x)))
			}
		default:
			return nil, errors.Errorf("graph: %v: unsupported dtype %v", op, v.Dtype())
		}
		return out, nil
	}
	return nil, errors.Errorf("graph: %v: unsupported value %T", op, vals[0])
}

func (op atLeastOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	mask, err := G.ApplyOp(atLeastOp{lo: op.lo, step: true, t: op.t}, in[0])
	if err != nil {
		return nil, errors.Wrapf(err, "graph: differentiating %v", op)
	}
	d, err := G.HadamardProd(grad, mask)
	if err != nil {
		return nil, errors.Wrapf(err, "graph: differentiating %v", op)
	}
	return G.Nodes{d}, nil
}

// AtLeast returns max(x, lo) pointwise, for scalar or tensor x. Its
// derivative is 1 where x > lo and 0 elsewhere.
func AtLeast(x *G.Node, lo float64) (*G.Node, error) {
	return G.ApplyOp(atLeastOp{lo: lo, t: x.Type()}, x)
}
