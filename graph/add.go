package graph

import (
	"hash"
	"strconv"

	"github.com/chewxy/hm"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/iresnet/iresnet/graph/internal/convasm"
)

// addOp is a + b for two tensors of one shape: the sum of a node's
// cotangents in VJP. Unlike gorgonia's Add it runs on an AVX-512 kernel
// in float32 and splits large tensors over the cores; like it, the tape
// machine may compute it in place of a when nothing reads a afterwards.
type addOp struct {
	opBase
	dims int
}

var _ G.SDOp = addOp{}

// addNodes returns a + b, with addOp where it applies (equal shapes of at
// least one dimension) and gorgonia's Add otherwise.
func addNodes(a, b *G.Node) (*G.Node, error) {
	if a.Dims() < 1 || !a.Shape().Eq(b.Shape()) || a.Dtype() != b.Dtype() {
		return G.Add(a, b)
	}
	return G.ApplyOp(addOp{dims: a.Dims()}, a, b)
}

func (op addOp) Arity() int    { return 2 }
func (op addOp) Type() hm.Type { return binaryType(op.dims, op.dims, op.dims) }
func (op addOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	if len(in) != 2 {
		return nil, errors.Errorf("graph: %v takes 2 inputs, got %d", op, len(in))
	}
	s, ok := in[0].(tensor.Shape)
	if !ok {
		return nil, errors.Errorf("graph: %v: expected a shape, got %T", op, in[0])
	}
	return s.Clone(), nil
}

func (op addOp) String() string        { return "add/" + strconv.Itoa(op.dims) }
func (op addOp) WriteHash(h hash.Hash) { hashString(h, op.String()) }
func (op addOp) Hashcode() uint32      { return hashCode(op.String()) }
func (op addOp) DiffWRT(int) []bool    { return []bool{true, true} }

// ReturnsPtr and OverwritesInput let the tape machine add in place of a.
func (op addOp) ReturnsPtr() bool     { return true }
func (op addOp) OverwritesInput() int { return 0 }

func (op addOp) Do(vals ...G.Value) (G.Value, error) {
	in, err := derivInputs(op.String(), 2, vals)
	if err != nil {
		return nil, err
	}
	return op.into(newLike(in[0], in[0].Shape()), in[0], in[1])
}

// UsePreallocDo writes into the machine's preallocated output, which may
// be a or b (each element is read before it is written).
func (op addOp) UsePreallocDo(prealloc G.Value, vals ...G.Value) (G.Value, error) {
	in, err := derivInputs(op.String(), 2, vals)
	if err != nil {
		return nil, err
	}
	out, ok := prealloc.(*tensor.Dense)
	if !ok || !out.Shape().Eq(in[0].Shape()) || out.Dtype() != in[0].Dtype() {
		return op.Do(vals...)
	}
	return op.into(out, in[0], in[1])
}

func (op addOp) into(out, a, b *tensor.Dense) (G.Value, error) {
	switch ad := a.Data().(type) {
	case []float32:
		addKernel(out.Data().([]float32), ad, b.Data().([]float32))
	case []float64:
		addKernel(out.Data().([]float64), ad, b.Data().([]float64))
	default:
		return nil, errors.Errorf("graph: %v: unsupported dtype %v", op, a.Dtype())
	}
	return out, nil
}

// addKernel writes out = a + b in chunks of actChunk elements spread over
// the cores; out may be a or b.
func addKernel[T Float](out, a, b []T) {
	parallelFor(chunks(len(out)), func(lo, hi int) {
		lo, hi = lo*actChunk, min(hi*actChunk, len(out))
		o, x, y := out[lo:hi], a[lo:hi], b[lo:hi]
		done := 0
		if o32, ok := any(o).([]float32); ok && avx512 {
			if done = len(o) &^ 15; done > 0 {
				convasm.AddF32(done, &any(x).([]float32)[0], &any(y).([]float32)[0], &o32[0])
			}
		}
		for i := done; i < len(o); i++ {
			o[i] = x[i] + y[i]
		}
	})
}

func (op addOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	return G.Nodes{grad, grad}, nil
}
