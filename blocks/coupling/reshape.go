package coupling

import (
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/iresnet/iresnet/blocks"

	"github.com/chewxy/hm"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// reshapeOp reshapes a tensor into a fresh copy. Gorgonia's Reshape
// returns a value that shares its input's memory while the tape machine
// treats the two as separate registers, so an in-place op on the
// reshaped value (a Hadamard product it is the last reader of) silently
// overwrites the input: Flatten followed by a coupling layer overwrote the
// graph's input x on every run. Copying costs one pass over the data. Its
// derivative is the reverse reshape, so it is differentiable any number of
// times.
type reshapeOp struct {
	from, to tensor.Shape
}

var _ G.SDOp = reshapeOp{}

func (op reshapeOp) Arity() int { return 1 }

func (op reshapeOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(G.TensorType{Dims: op.from.Dims(), Of: a}, G.TensorType{Dims: op.to.Dims(), Of: a})
}

func (op reshapeOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	if len(in) != 1 {
		return nil, errors.Errorf("coupling: %v takes 1 input, got %d", op, len(in))
	}
	return op.to.Clone(), nil
}

func (op reshapeOp) Do(vals ...G.Value) (G.Value, error) {
	if len(vals) != 1 {
		return nil, errors.Errorf("coupling: %v takes 1 input, got %d", op, len(vals))
	}
	in, ok := vals[0].(*tensor.Dense)
	if !ok {
		return nil, errors.Errorf("coupling: %v: expected a dense tensor, got %T", op, vals[0])
	}
	if !in.Shape().Eq(op.from) {
		return nil, errors.Errorf("coupling: %v: input has shape %v", op, in.Shape())
	}
	out := tensor.New(tensor.Of(in.Dtype()), tensor.WithShape(op.to...))
	if in.IsView() {
		in = in.Materialize().(*tensor.Dense)
	}
	switch d := in.Data().(type) {
	case []float32:
		copy(out.Data().([]float32), d)
	case []float64:
		copy(out.Data().([]float64), d)
	default:
		return nil, errors.Errorf("coupling: %v: unsupported dtype %v", op, in.Dtype())
	}
	return out, nil
}

func (op reshapeOp) ReturnsPtr() bool      { return false }
func (op reshapeOp) CallsExtern() bool     { return false }
func (op reshapeOp) OverwritesInput() int  { return -1 }
func (op reshapeOp) String() string        { return fmt.Sprintf("reshapeCopy%v→%v", op.from, op.to) }
func (op reshapeOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op reshapeOp) Hashcode() uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}
func (op reshapeOp) DiffWRT(int) []bool { return []bool{true} }

func (op reshapeOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	d, err := G.ApplyOp(reshapeOp{from: op.to, to: op.from}, grad)
	if err != nil {
		return nil, errors.Wrapf(err, "coupling: differentiating %v", op)
	}
	return G.Nodes{d}, nil
}

// reshape returns x with the given shape as a fresh value (see reshapeOp).
func reshape(x *G.Node, shape ...int) (*G.Node, error) {
	to := tensor.Shape(shape)
	if to.TotalSize() != x.Shape().TotalSize() {
		return nil, errors.Errorf("coupling: cannot reshape %v to %v", x.Shape(), to)
	}
	if x.Shape().Eq(to) {
		return x, nil
	}
	out, err := G.ApplyOp(reshapeOp{from: x.Shape().Clone(), to: to.Clone()}, x)
	return out, errors.Wrapf(err, "coupling: reshaping %v to %v", x.Shape(), to)
}

// splitChannels is blocks.SplitChannels with the channel axis kept when
// each half has a single channel: gorgonia's Slice drops an axis sliced to
// length 1, so the halves of a 2-channel tensor came back as (N, H, W).
func splitChannels(x *G.Node) (a, b *G.Node, err error) {
	if a, b, err = blocks.SplitChannels(x); err != nil {
		return nil, nil, err
	}
	half := x.Shape().Clone()
	half[1] /= 2
	if a, err = reshape(a, half...); err != nil {
		return nil, nil, err
	}
	if b, err = reshape(b, half...); err != nil {
		return nil, nil, err
	}
	return a, b, nil
}
