package graph

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/iresnet/iresnet/graph/internal/convasm"
)

// chanScaleOp multiplies a batched tensor x (N, C, ...) by a per-channel
// vector s (C): out[n, c, …] = x[n, c, …] · s[c]. It is what ActNorm's
// gorgonia HadamardProd with a broadcast scale computed, without writing
// the broadcast and with its gradient for s as one per-channel dot
// product ([chanDotOp]) instead of a product and a channel sum.
type chanScaleOp struct {
	opBase
	shape tensor.Shape // x's shape
}

var _ G.SDOp = chanScaleOp{}

func (op chanScaleOp) Arity() int { return 2 }
func (op chanScaleOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	full := G.TensorType{Dims: op.shape.Dims(), Of: a}
	return hm.NewFnType(full, G.TensorType{Dims: 1, Of: a}, full)
}

func (op chanScaleOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	if len(in) != 2 {
		return nil, errors.Errorf("graph: %v takes 2 inputs", op)
	}
	return op.shape.Clone(), nil
}

func (op chanScaleOp) String() string        { return fmt.Sprintf("scaleChannels%v", op.shape) }
func (op chanScaleOp) WriteHash(h hash.Hash) { hashString(h, op.String()) }
func (op chanScaleOp) Hashcode() uint32      { return hashCode(op.String()) }
func (op chanScaleOp) DiffWRT(int) []bool    { return []bool{true, true} }

func (op chanScaleOp) inputs(vals []G.Value) (x, s *tensor.Dense, err error) {
	return channelInputs(op.String(), "scale", op.shape, vals)
}

func (op chanScaleOp) Do(vals ...G.Value) (G.Value, error) {
	x, s, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	return op.into(newLike(x, op.shape), x, s)
}

// UsePreallocDo writes into the machine's preallocated output.
func (op chanScaleOp) UsePreallocDo(prealloc G.Value, vals ...G.Value) (G.Value, error) {
	x, s, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, ok := prealloc.(*tensor.Dense)
	if !ok || !out.Shape().Eq(op.shape) || out.Dtype() != x.Dtype() {
		return op.Do(vals...)
	}
	return op.into(out, x, s)
}

func (op chanScaleOp) into(out, x, s *tensor.Dense) (G.Value, error) {
	n, c := op.shape[0], op.shape[1]
	inner := op.shape.TotalSize() / (n * c)
	switch d := x.Data().(type) {
	case []float32:
		chanScaleKernel(n, c, inner, d, s.Data().([]float32), out.Data().([]float32))
	case []float64:
		chanScaleKernel(n, c, inner, d, s.Data().([]float64), out.Data().([]float64))
	default:
		return nil, errors.Errorf("graph: %v: unsupported dtype %v", op, x.Dtype())
	}
	return out, nil
}

// chanScaleKernel writes out = x · s[c] plane by plane, spread over the
// cores for large tensors, on the AVX-512 kernel in float32.
func chanScaleKernel[T Float](n, c, inner int, x, s, out []T) {
	planes := func(lo, hi int) {
		for p := lo; p < hi; p++ {
			o, xp, v := out[p*inner:(p+1)*inner], x[p*inner:(p+1)*inner], s[p%c]
			done := 0
			if o32, ok := any(o).([]float32); ok && avx512 {
				if done = len(o) &^ 15; done > 0 {
					convasm.MulScalarF32(done, &any(xp).([]float32)[0], float32(v), &o32[0])
				}
			}
			for i := done; i < len(o); i++ {
				o[i] = xp[i] * v
			}
		}
	}
	if n*c*inner < actChunk {
		planes(0, n*c)
		return
	}
	parallelFor(n*c, planes)
}

func (op chanScaleOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	dx, err := G.ApplyOp(op, grad, in[1])
	if err != nil {
		return nil, errors.Wrapf(err, "graph: differentiating %v", op)
	}
	ds, err := G.ApplyOp(chanDotOp(op), grad, in[0])
	if err != nil {
		return nil, errors.Wrapf(err, "graph: differentiating %v", op)
	}
	return G.Nodes{dx, ds}, nil
}

// chanDotOp is the per-channel dot product of two batched tensors a and b
// (N, C, ...): out[c] = Σ_{n, …} a[n, c, …] · b[n, c, …]. It is the
// gradient of [chanScaleOp] for the scale, and its own derivatives are
// chanScaleOps, so the pair is closed under differentiation.
type chanDotOp struct {
	opBase
	shape tensor.Shape // a's and b's shape
}

var _ G.SDOp = chanDotOp{}

func (op chanDotOp) Arity() int { return 2 }
func (op chanDotOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	full := G.TensorType{Dims: op.shape.Dims(), Of: a}
	return hm.NewFnType(full, full, G.TensorType{Dims: 1, Of: a})
}

func (op chanDotOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	if len(in) != 2 {
		return nil, errors.Errorf("graph: %v takes 2 inputs", op)
	}
	return tensor.Shape{op.shape[1]}, nil
}

func (op chanDotOp) String() string        { return fmt.Sprintf("channelDot%v", op.shape) }
func (op chanDotOp) WriteHash(h hash.Hash) { hashString(h, op.String()) }
func (op chanDotOp) Hashcode() uint32      { return hashCode(op.String()) }
func (op chanDotOp) DiffWRT(int) []bool    { return []bool{true, true} }

func (op chanDotOp) inputs(vals []G.Value) (a, b *tensor.Dense, err error) {
	if len(vals) != 2 {
		return nil, nil, errors.Errorf("graph: %v takes 2 inputs, got %d", op, len(vals))
	}
	if a, err = denseOf(op.String(), vals[0]); err != nil {
		return nil, nil, err
	}
	if b, err = denseOf(op.String(), vals[1]); err != nil {
		return nil, nil, err
	}
	for i, t := range []*tensor.Dense{a, b} {
		if err := checkShape(op.String(), fmt.Sprintf("input %d", i), t, op.shape); err != nil {
			return nil, nil, err
		}
	}
	if a.Dtype() != b.Dtype() {
		return nil, nil, errors.Errorf("graph: %v: inputs are %v and %v", op, a.Dtype(), b.Dtype())
	}
	return a, b, nil
}

func (op chanDotOp) Do(vals ...G.Value) (G.Value, error) {
	a, b, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	return op.into(newLike(a, []int{op.shape[1]}), a, b)
}

// UsePreallocDo writes every element of the machine's preallocated output.
func (op chanDotOp) UsePreallocDo(prealloc G.Value, vals ...G.Value) (G.Value, error) {
	a, b, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, ok := prealloc.(*tensor.Dense)
	if !ok || !out.Shape().Eq(tensor.Shape{op.shape[1]}) || out.Dtype() != a.Dtype() {
		return op.Do(vals...)
	}
	return op.into(out, a, b)
}

func (op chanDotOp) into(out, a, b *tensor.Dense) (G.Value, error) {
	n, c := op.shape[0], op.shape[1]
	inner := op.shape.TotalSize() / (n * c)
	switch d := a.Data().(type) {
	case []float32:
		chanDotKernel(n, c, inner, d, b.Data().([]float32), out.Data().([]float32))
	case []float64:
		chanDotKernel(n, c, inner, d, b.Data().([]float64), out.Data().([]float64))
	default:
		return nil, errors.Errorf("graph: %v: unsupported dtype %v", op, a.Dtype())
	}
	return out, nil
}

// chanDotKernel writes out[c] = Σ a·b over channel c of every image,
// adding the images in order, channels spread over the cores for large
// tensors.
func chanDotKernel[T Float](n, c, inner int, a, b, out []T) {
	channels := func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			var s T
			for i := 0; i < n; i++ {
				off := (i*c + ch) * inner
				s += dotFast(a[off:off+inner], b[off:off+inner])
			}
			out[ch] = s
		}
	}
	if n*c*inner < actChunk {
		channels(0, c)
		return
	}
	parallelFor(c, channels)
}

// dotFast returns Σ x[i]·y[i]: on the AVX-512 kernel in float32, with four
// partial sums elsewhere.
func dotFast[T Float](x, y []T) T {
	y = y[:len(x)]
	done := 0
	var s T
	if x32, ok := any(x).([]float32); ok && avx512 && len(x) >= 16 {
		done = len(x) &^ 15
		s = T(convasm.DotF32(done, &x32[0], &any(y).([]float32)[0]))
	}
	var s0, s1, s2, s3 T
	i := done
	for ; i+3 < len(x); i += 4 {
		s0 += x[i] * y[i]
		s1 += x[i+1] * y[i+1]
		s2 += x[i+2] * y[i+2]
		s3 += x[i+3] * y[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return s + (s0 + s1) + (s2 + s3)
}

func (op chanDotOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	scale := chanScaleOp(op)
	da, err := G.ApplyOp(scale, in[1], grad)
	if err != nil {
		return nil, errors.Wrapf(err, "graph: differentiating %v", op)
	}
	db, err := G.ApplyOp(scale, in[0], grad)
	if err != nil {
		return nil, errors.Wrapf(err, "graph: differentiating %v", op)
	}
	return G.Nodes{da, db}, nil
}

// ScaleChannels returns x (N, C, ...) with channel c multiplied by s[c]:
//
//	out[n, c, …] = x[n, c, …] · s[c].
//
// Its gradient for x scales the cotangent the same way; for s it is the
// per-channel dot product of the cotangent with x, an op whose own
// derivatives are ScaleChannels again, so it can be differentiated any
// number of times.
func ScaleChannels(x, s *G.Node) (*G.Node, error) {
	if s.Dims() != 1 || x.Dims() < 2 || s.Shape()[0] != x.Shape()[1] || x.Shape().TotalSize() == 0 {
		return nil, errors.Errorf("graph: cannot scale the channels of %v by a vector of shape %v", x.Shape(), s.Shape())
	}
	return G.ApplyOp(chanScaleOp{shape: x.Shape().Clone()}, x, s)
}
