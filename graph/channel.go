package graph

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// channelOp is one of a pair of linear maps between per-channel vectors (C)
// and batched tensors (N, C, ...): broadcasting a vector along every axis but
// the channel axis (sum=false), and summing a tensor over every axis but the
// channel axis (sum=true). Each is the other's adjoint, so the pair is closed
// under differentiation.
type channelOp struct {
	opBase
	shape tensor.Shape // the batched shape (N, C, ...)
	sum   bool
}

var _ G.SDOp = channelOp{}

func (op channelOp) Arity() int { return 1 }
func (op channelOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	vec := G.TensorType{Dims: 1, Of: a}
	full := G.TensorType{Dims: op.shape.Dims(), Of: a}
	if op.sum {
		return hm.NewFnType(full, vec)
	}
	return hm.NewFnType(vec, full)
}

func (op channelOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	if len(in) != 1 {
		return nil, errors.Errorf("graph: %v takes 1 input", op)
	}
	if op.sum {
		return tensor.Shape{op.shape[1]}, nil
	}
	return op.shape.Clone(), nil
}

func (op channelOp) String() string {
	if op.sum {
		return fmt.Sprintf("channelSum%v", op.shape)
	}
	return fmt.Sprintf("channelBroadcast%v", op.shape)
}
func (op channelOp) WriteHash(h hash.Hash) { hashString(h, op.String()) }
func (op channelOp) Hashcode() uint32      { return hashCode(op.String()) }
func (op channelOp) DiffWRT(int) []bool    { return []bool{true} }

func (op channelOp) Do(vals ...G.Value) (G.Value, error) {
	if len(vals) != 1 {
		return nil, errors.Errorf("graph: %v takes 1 input", op)
	}
	in, err := denseOf(op.String(), vals[0])
	if err != nil {
		return nil, err
	}
	n, c := op.shape[0], op.shape[1]
	inner := op.shape.TotalSize() / (n * c)
	var out *tensor.Dense
	if op.sum {
		if err := checkShape(op.String(), "input", in, op.shape); err != nil {
			return nil, err
		}
		out = newLike(in, []int{c})
	} else {
		if err := checkShape(op.String(), "input", in, []int{c}); err != nil {
			return nil, err
		}
		out = newLike(in, op.shape)
	}
	switch d := in.Data().(type) {
	case []float32:
		channelKernel(op.sum, n, c, inner, d, out.Data().([]float32))
	case []float64:
		channelKernel(op.sum, n, c, inner, d, out.Data().([]float64))
	default:
		return nil, errors.Errorf("graph: %v: unsupported dtype %v", op, in.Dtype())
	}
	return out, nil
}

func channelKernel[T Float](sum bool, n, c, inner int, in, out []T) {
	for b := 0; b < n; b++ {
		for ch := 0; ch < c; ch++ {
			off := (b*c + ch) * inner
			if sum {
				s := T(0)
				for _, v := range in[off : off+inner] {
					s += v
				}
				out[ch] += s
				continue
			}
			v := in[ch]
			o := out[off : off+inner]
			for i := range o {
				o[i] = v
			}
		}
	}
}

func (op channelOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	d, err := G.ApplyOp(channelOp{shape: op.shape, sum: !op.sum}, grad)
	if err != nil {
		return nil, errors.Wrapf(err, "graph: differentiating %v", op)
	}
	return G.Nodes{d}, nil
}

// BroadcastChannels returns the per-channel vector v (C) repeated to the
// batched shape (N, C, ...): out[n, c, …] = v[c].
func BroadcastChannels(v *G.Node, shape tensor.Shape) (*G.Node, error) {
	if v.Dims() != 1 || shape.Dims() < 2 || v.Shape()[0] != shape[1] {
		return nil, errors.Errorf("graph: cannot broadcast %v along the channels of %v", v.Shape(), shape)
	}
	return G.ApplyOp(channelOp{shape: shape.Clone()}, v)
}

// SumChannels returns Σ over every axis but axis 1 of x (N, C, ...): a
// vector of shape (C).
func SumChannels(x *G.Node) (*G.Node, error) {
	if x.Dims() < 2 {
		return nil, errors.Errorf("graph: SumChannels needs (N, C, ...), got %v", x.Shape())
	}
	return G.ApplyOp(channelOp{shape: x.Shape(), sum: true}, x)
}

// AddBias returns x + b broadcast along the channel axis, for x (N, C, ...)
// and b (C).
func AddBias(x, b *G.Node) (*G.Node, error) {
	bb, err := BroadcastChannels(b, x.Shape())
	if err != nil {
		return nil, err
	}
	return G.Add(x, bb)
}
