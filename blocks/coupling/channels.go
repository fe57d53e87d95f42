package coupling

import (
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Channel-range ops. Splitting and merging channels with gorgonia's Slice
// and Concat gave wrong parameter gradients here (a coupling on two
// channels whose halves are single channels, measured against central
// differences: errors up to 15%): Slice's gradient op (sliceIncr) declares
// that it overwrites its first input, the forward tensor, and its
// preallocated form adds into a buffer it never clears. These ops copy
// into fresh tensors instead, and their derivatives are each other, so
// they are differentiable any number of times:
//
//	take(x)   = x[:, lo:hi]                      (N, C, ...) → (N, hi−lo, ...)
//	pad(g)    = zeros with g at [:, lo:hi]       (N, hi−lo, ...) → (N, C, ...)
//	concat(…) = the inputs along axis 1          Σ C_i channels
//
// take and pad are adjoint; concat's adjoint is a take per input.

// chanOp is take (pad false) or pad (pad true) of channels [lo, hi) of a
// batched shape.
type chanOp struct {
	full   tensor.Shape // (N, C, ...)
	lo, hi int
	pad    bool
}

var _ G.SDOp = chanOp{}

func (op chanOp) part() tensor.Shape {
	s := op.full.Clone()
	s[1] = op.hi - op.lo
	return s
}

func (op chanOp) in() tensor.Shape {
	if op.pad {
		return op.part()
	}
	return op.full
}

func (op chanOp) out() tensor.Shape {
	if op.pad {
		return op.full
	}
	return op.part()
}

func (op chanOp) Arity() int { return 1 }
func (op chanOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	t := G.TensorType{Dims: op.full.Dims(), Of: a}
	return hm.NewFnType(t, t)
}
func (op chanOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	if len(in) != 1 {
		return nil, errors.Errorf("coupling: %v takes 1 input, got %d", op, len(in))
	}
	return op.out().Clone(), nil
}
func (op chanOp) ReturnsPtr() bool     { return false }
func (op chanOp) CallsExtern() bool    { return false }
func (op chanOp) OverwritesInput() int { return -1 }
func (op chanOp) String() string {
	name := "takeChannels"
	if op.pad {
		name = "padChannels"
	}
	return fmt.Sprintf("%s[%d:%d]%v", name, op.lo, op.hi, op.full)
}
func (op chanOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op chanOp) Hashcode() uint32      { return strHash(op.String()) }
func (op chanOp) DiffWRT(int) []bool    { return []bool{true} }

func (op chanOp) Do(vals ...G.Value) (G.Value, error) {
	in, err := denseArg(op.String(), vals, 0, op.in())
	if err != nil {
		return nil, err
	}
	out := tensor.New(tensor.Of(in.Dtype()), tensor.WithShape(op.out()...))
	n, c := op.full[0], op.full[1]
	inner := op.full.TotalSize() / (n * c)
	w := (op.hi - op.lo) * inner
	for r := 0; r < n; r++ {
		full := r*c*inner + op.lo*inner
		part := r * w
		if op.pad {
			copyRange(out, full, in, part, w)
		} else {
			copyRange(out, part, in, full, w)
		}
	}
	return out, nil
}

func (op chanOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	adj := op
	adj.pad = !op.pad
	d, err := G.ApplyOp(adj, grad)
	if err != nil {
		return nil, errors.Wrapf(err, "coupling: differentiating %v", op)
	}
	return G.Nodes{d}, nil
}

// concatOp concatenates tensors (N, C_i, ...) along axis 1.
type concatOp struct {
	shapes []tensor.Shape
}

var _ G.SDOp = concatOp{}

func (op concatOp) full() tensor.Shape {
	s := op.shapes[0].Clone()
	for _, t := range op.shapes[1:] {
		s[1] += t[1]
	}
	return s
}

func (op concatOp) Arity() int { return len(op.shapes) }
func (op concatOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	t := G.TensorType{Dims: op.shapes[0].Dims(), Of: a}
	ts := make([]hm.Type, len(op.shapes)+1)
	for i := range ts {
		ts[i] = t
	}
	return hm.NewFnType(ts...)
}
func (op concatOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	if len(in) != len(op.shapes) {
		return nil, errors.Errorf("coupling: %v takes %d inputs, got %d", op, len(op.shapes), len(in))
	}
	return op.full(), nil
}
func (op concatOp) ReturnsPtr() bool      { return false }
func (op concatOp) CallsExtern() bool     { return false }
func (op concatOp) OverwritesInput() int  { return -1 }
func (op concatOp) String() string        { return fmt.Sprintf("concatChannels%v", op.shapes) }
func (op concatOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op concatOp) Hashcode() uint32      { return strHash(op.String()) }
func (op concatOp) DiffWRT(n int) []bool {
	out := make([]bool, n)
	for i := range out {
		out[i] = true
	}
	return out
}

func (op concatOp) Do(vals ...G.Value) (G.Value, error) {
	full := op.full()
	var out *tensor.Dense
	n := full[0]
	innerOf := func(s tensor.Shape) int { return s.TotalSize() / (s[0] * s[1]) }
	stride := full[1] * innerOf(full)
	off := 0
	for i, s := range op.shapes {
		in, err := denseArg(op.String(), vals, i, s)
		if err != nil {
			return nil, err
		}
		if out == nil {
			out = tensor.New(tensor.Of(in.Dtype()), tensor.WithShape(full...))
		}
		w := s[1] * innerOf(s)
		for r := 0; r < n; r++ {
			copyRange(out, r*stride+off, in, r*w, w)
		}
		off += w
	}
	return out, nil
}

func (op concatOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	full := op.full()
	ds := make(G.Nodes, len(op.shapes))
	lo := 0
	for i, s := range op.shapes {
		var err error
		if ds[i], err = G.ApplyOp(chanOp{full: full, lo: lo, hi: lo + s[1]}, grad); err != nil {
			return nil, errors.Wrapf(err, "coupling: differentiating %v", op)
		}
		lo += s[1]
	}
	return ds, nil
}

// denseArg returns vals[i] as a dense tensor of the given shape.
func denseArg(op string, vals []G.Value, i int, want tensor.Shape) (*tensor.Dense, error) {
	if i >= len(vals) {
		return nil, errors.Errorf("coupling: %s: missing input %d", op, i)
	}
	d, ok := vals[i].(*tensor.Dense)
	if !ok {
		return nil, errors.Errorf("coupling: %s: input %d is %T, want a dense tensor", op, i, vals[i])
	}
	if !d.Shape().Eq(want) {
		return nil, errors.Errorf("coupling: %s: input %d has shape %v, want %v", op, i, d.Shape(), want)
	}
	if d.IsView() {
		d = d.Materialize().(*tensor.Dense)
	}
	return d, nil
}

// copyRange copies n elements of src from offset so to dst at offset do.
func copyRange(dst *tensor.Dense, do int, src *tensor.Dense, so, n int) {
	switch d := dst.Data().(type) {
	case []float64:
		copy(d[do:do+n], src.Data().([]float64)[so:so+n])
	case []float32:
		copy(d[do:do+n], src.Data().([]float32)[so:so+n])
	default:
		panic("coupling: unsupported dtype " + dst.Dtype().String())
	}
}

func strHash(s string) uint32 {
	h := fnv.New32a()
	fmt.Fprint(h, s)
	return h.Sum32()
}

// splitChannels returns the first and second halves of the channels of x
// (N, C, ...) with C even, as fresh tensors.
func splitChannels(x *G.Node) (a, b *G.Node, err error) {
	s := x.Shape()
	if s.Dims() < 2 || s[1]%2 != 0 {
		return nil, nil, errors.Errorf("coupling: splitting channels needs an even channel count, got shape %v", s)
	}
	h := s[1] / 2
	if a, err = G.ApplyOp(chanOp{full: s.Clone(), lo: 0, hi: h}, x); err != nil {
		return nil, nil, errors.Wrap(err, "coupling: first half of the channels")
	}
	if b, err = G.ApplyOp(chanOp{full: s.Clone(), lo: h, hi: 2 * h}, x); err != nil {
		return nil, nil, errors.Wrap(err, "coupling: second half of the channels")
	}
	return a, b, nil
}

// concatChannels concatenates xs (N, C_i, ...) along axis 1.
func concatChannels(xs ...*G.Node) (*G.Node, error) {
	if len(xs) == 1 {
		return xs[0], nil
	}
	shapes := make([]tensor.Shape, len(xs))
	for i, x := range xs {
		shapes[i] = x.Shape().Clone()
		s0 := shapes[0]
		if s := shapes[i]; s.Dims() != s0.Dims() || s.Dims() < 2 || s[0] != s0[0] || !sameInts(s[2:], s0[2:]) {
			return nil, errors.Errorf("coupling: cannot concatenate channels of %v and %v", s0, s)
		}
	}
	out, err := G.ApplyOp(concatOp{shapes: shapes}, xs...)
	return out, errors.Wrap(err, "coupling: concatenating channels")
}
