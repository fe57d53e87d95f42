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

// addInto adds v to o, on the AVX-512 kernel in float32.
func addInto[T Float](o, v []T) {
	v = v[:len(o)]
	done := 0
	if o32, ok := any(o).([]float32); ok && avx512 {
		if done = len(o) &^ 15; done > 0 {
			convasm.AddF32(done, &o32[0], &any(v).([]float32)[0], &o32[0])
		}
	}
	for i := done; i < len(o); i++ {
		o[i] += v[i]
	}
}

// addScalar writes o[j] = x[j] + v, on the AVX-512 kernel in float32.
func addScalar[T Float](o, x []T, v T) {
	x = x[:len(o)]
	done := 0
	if o32, ok := any(o).([]float32); ok && avx512 {
		if done = len(o) &^ 15; done > 0 {
			convasm.AddScalarF32(done, &any(x).([]float32)[0], float32(v), &o32[0])
		}
	}
	for j := done; j < len(o); j++ {
		o[j] = x[j] + v
	}
}

// sumFast returns the sum of v: on the AVX-512 kernel in float32 (64
// partial sums), with sum4 elsewhere.
func sumFast[T Float](v []T) T {
	if v32, ok := any(v).([]float32); ok && avx512 && len(v) >= 16 {
		done := len(v) &^ 15
		s := T(convasm.SumF32(done, &v32[0]))
		return s + sum4(v[done:])
	}
	return sum4(v)
}

// sum4 returns the sum of v, accumulated in four partial sums so that the
// adds do not wait on each other.
func sum4[T Float](v []T) T {
	var s0, s1, s2, s3 T
	i := 0
	for ; i+3 < len(v); i += 4 {
		s0 += v[i]
		s1 += v[i+1]
		s2 += v[i+2]
		s3 += v[i+3]
	}
	for ; i < len(v); i++ {
		s0 += v[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func channelKernel[T Float](sum bool, n, c, inner int, in, out []T) {
	if inner == 1 { // (N, C): whole rows at a time
		for b := 0; b < n; b++ {
			if sum {
				addInto(out[:c], in[b*c:(b+1)*c])
			} else {
				copy(out[b*c:(b+1)*c], in[:c])
			}
		}
		return
	}
	// Channels [lo, hi), each summed over the batch in order (the sum of a
	// channel does not depend on how the channels are split).
	channels := func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			for b := 0; b < n; b++ {
				off := (b*c + ch) * inner
				if sum {
					out[ch] += sumFast(in[off : off+inner])
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
	if n*c*inner < actChunk {
		channels(0, c)
		return
	}
	parallelFor(c, channels)
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
// and b (C), as one op: its derivative passes the cotangent to x unchanged
// and sums it over every axis but the channels for b.
func AddBias(x, b *G.Node) (*G.Node, error) {
	if b.Dims() != 1 || x.Dims() < 2 || b.Shape()[0] != x.Shape()[1] {
		return nil, errors.Errorf("graph: cannot add a bias of shape %v along the channels of %v", b.Shape(), x.Shape())
	}
	return G.ApplyOp(biasOp{shape: x.Shape().Clone()}, x, b)
}

// biasOp adds a per-channel vector b (C) to a batched tensor x (N, C, ...).
type biasOp struct {
	opBase
	shape tensor.Shape // x's shape
}

var _ G.SDOp = biasOp{}

func (op biasOp) Arity() int { return 2 }
func (op biasOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	full := G.TensorType{Dims: op.shape.Dims(), Of: a}
	return hm.NewFnType(full, G.TensorType{Dims: 1, Of: a}, full)
}

func (op biasOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	if len(in) != 2 {
		return nil, errors.Errorf("graph: %v takes 2 inputs", op)
	}
	return op.shape.Clone(), nil
}

func (op biasOp) String() string        { return fmt.Sprintf("addBias%v", op.shape) }
func (op biasOp) WriteHash(h hash.Hash) { hashString(h, op.String()) }
func (op biasOp) Hashcode() uint32      { return hashCode(op.String()) }
func (op biasOp) DiffWRT(int) []bool    { return []bool{true, true} }

func (op biasOp) Do(vals ...G.Value) (G.Value, error) {
	x, b, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	return op.into(newLike(x, op.shape), x, b)
}

// ReturnsPtr and OverwritesInput let the tape machine add the bias in
// place, in x's buffer, when nothing reads x afterwards.
func (op biasOp) ReturnsPtr() bool     { return true }
func (op biasOp) OverwritesInput() int { return 0 }

// UsePreallocDo writes into the machine's preallocated output, which may
// be x itself (the kernel reads each element of x where it writes it).
func (op biasOp) UsePreallocDo(prealloc G.Value, vals ...G.Value) (G.Value, error) {
	x, b, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, ok := prealloc.(*tensor.Dense)
	if !ok || !out.Shape().Eq(op.shape) || out.Dtype() != x.Dtype() || out == b {
		return op.Do(vals...)
	}
	return op.into(out, x, b)
}

func (op biasOp) inputs(vals []G.Value) (x, b *tensor.Dense, err error) {
	return channelInputs(op.String(), "bias", op.shape, vals)
}

// channelInputs checks the inputs of an op on a batched tensor x of the
// given shape (N, C, ...) and a per-channel vector v (C), called what in
// errors, and returns them.
func channelInputs(op, what string, shape tensor.Shape, vals []G.Value) (x, v *tensor.Dense, err error) {
	if len(vals) != 2 {
		return nil, nil, errors.Errorf("graph: %s takes 2 inputs, got %d", op, len(vals))
	}
	if x, err = denseOf(op, vals[0]); err != nil {
		return nil, nil, err
	}
	if v, err = denseOf(op, vals[1]); err != nil {
		return nil, nil, err
	}
	if err = checkShape(op, "input", x, shape); err != nil {
		return nil, nil, err
	}
	if err = checkShape(op, what, v, shape[1:2]); err != nil {
		return nil, nil, err
	}
	if x.Dtype() != v.Dtype() {
		return nil, nil, errors.Errorf("graph: %s: input is %v, %s %v", op, x.Dtype(), what, v.Dtype())
	}
	return x, v, nil
}

func (op biasOp) into(out, x, b *tensor.Dense) (G.Value, error) {
	n, c := op.shape[0], op.shape[1]
	inner := op.shape.TotalSize() / (n * c)
	switch xd := x.Data().(type) {
	case []float32:
		biasKernel(n, c, inner, xd, b.Data().([]float32), out.Data().([]float32))
	case []float64:
		biasKernel(n, c, inner, xd, b.Data().([]float64), out.Data().([]float64))
	default:
		return nil, errors.Errorf("graph: %v: unsupported dtype %v", op, x.Dtype())
	}
	return out, nil
}

// biasKernel writes out[i, ch, ...] = x[i, ch, ...] + b[ch], spreading the
// batch over the cores when it is large.
func biasKernel[T Float](n, c, inner int, x, b, out []T) {
	row := c * inner
	body := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			xr, or := x[i*row:(i+1)*row], out[i*row:(i+1)*row]
			if inner == 1 {
				b := b[:len(or)]
				for j, v := range xr {
					or[j] = v + b[j]
				}
				continue
			}
			for ch, v := range b {
				xs, os := xr[ch*inner:(ch+1)*inner], or[ch*inner:(ch+1)*inner]
				addScalar(os, xs, v)
			}
		}
	}
	if n*row < actChunk {
		body(0, n)
		return
	}
	per := max(1, actChunk/row)
	parallelFor((n+per-1)/per, func(lo, hi int) { body(lo*per, min(hi*per, n)) })
}

func (op biasOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	db, err := G.ApplyOp(channelOp{shape: op.shape, sum: true}, grad)
	if err != nil {
		return nil, errors.Wrapf(err, "graph: differentiating %v", op)
	}
	return G.Nodes{grad, db}, nil
}
