package graph

import (
	"hash"
	"strconv"

	"github.com/chewxy/hm"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// actDerivOp is a derivative of an activation times cotangents, in one
// pass: with inputs x, g₁, …, g_nf it evaluates f⁽ᵒʳᵈᵉʳ⁾(x) ⊙ g₁ ⊙ … ⊙ g_nf.
// It replaces the pair "f⁽ᵏ⁾(x) as a tensor, then a Hadamard product" that
// differentiating an activation would otherwise add to the graph, saving a
// tensor and a pass per derivative. The family is closed under
// differentiation:
//
//	∂/∂x   → actDerivOp{order+1, nf+1}(x, ḡ, g₁, …, g_nf)
//	∂/∂gᵢ  → actDerivOp{order, nf}(x, ḡ, g₁, …, gᵢ₋₁, gᵢ₊₁, …, g_nf)
//
// (ḡ the incoming cotangent). It is used for ReLU, whose derivatives cost
// about as little as reading a stored one; ELU uses eluYOp, which reads
// the activation's output instead of evaluating e^x, and the others keep
// f⁽ᵏ⁾(x) as a node that several products can share.
type actDerivOp struct {
	opBase
	act   Activation
	order int // ≥ 1
	nf    int // number of cotangent factors, ≥ 1
	dims  int
}

var _ G.SDOp = actDerivOp{}

// fusesDerivative reports whether differentiating act uses actDerivOp.
func fusesDerivative(act Activation) bool { return act == ReLU }

func (op actDerivOp) Arity() int { return 1 + op.nf }
func (op actDerivOp) Type() hm.Type {
	t := G.TensorType{Dims: op.dims, Of: hm.TypeVariable('a')}
	ts := make([]hm.Type, op.nf+2)
	for i := range ts {
		ts[i] = t
	}
	return hm.NewFnType(ts...)
}

func (op actDerivOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	if len(in) != op.Arity() {
		return nil, errors.Errorf("graph: %v takes %d inputs, got %d", op, op.Arity(), len(in))
	}
	s, ok := in[0].(tensor.Shape)
	if !ok {
		return nil, errors.Errorf("graph: %v: expected a shape, got %T", op, in[0])
	}
	return s.Clone(), nil
}

func (op actDerivOp) String() string {
	return op.act.String() + "^(" + strconv.Itoa(op.order) + ")·" + strconv.Itoa(op.nf) + "/" + strconv.Itoa(op.dims)
}
func (op actDerivOp) WriteHash(h hash.Hash) { hashString(h, op.String()) }
func (op actDerivOp) Hashcode() uint32      { return hashCode(op.String()) }
func (op actDerivOp) DiffWRT(n int) []bool {
	d := make([]bool, n)
	for i := range d {
		d[i] = i > 0 || op.order < maxActOrder
	}
	return d
}

func (op actDerivOp) Do(vals ...G.Value) (G.Value, error) {
	in, err := derivInputs(op.String(), op.Arity(), vals)
	if err != nil {
		return nil, err
	}
	return op.into(newLike(in[0], in[0].Shape()), in)
}

// UsePreallocDo writes into the machine's preallocated output.
func (op actDerivOp) UsePreallocDo(prealloc G.Value, vals ...G.Value) (G.Value, error) {
	in, err := derivInputs(op.String(), op.Arity(), vals)
	if err != nil {
		return nil, err
	}
	out, ok := derivOutput(prealloc, in)
	if !ok {
		return op.Do(vals...)
	}
	return op.into(out, in)
}

// derivInputs checks the inputs of a derivative op of the given arity: dense
// tensors of one shape and element type.
func derivInputs(name string, arity int, vals []G.Value) ([]*tensor.Dense, error) {
	if len(vals) != arity {
		return nil, errors.Errorf("graph: %v takes %d inputs, got %d", name, arity, len(vals))
	}
	in := make([]*tensor.Dense, len(vals))
	for i, v := range vals {
		d, err := denseOf(name, v)
		if err != nil {
			return nil, err
		}
		if i > 0 && (!d.Shape().Eq(in[0].Shape()) || d.Dtype() != in[0].Dtype()) {
			return nil, errors.Errorf("graph: %v: input %d is %v %v, input 0 is %v %v", name, i, d.Dtype(), d.Shape(), in[0].Dtype(), in[0].Shape())
		}
		in[i] = d
	}
	return in, nil
}

// derivOutput returns prealloc as the output of a derivative op with
// inputs in = {x, g₁, …, g_nf}, or false when it does not fit. The output
// may be one of the inputs (the tape machine hands over g₁'s buffer when
// nothing reads g₁ afterwards, see derivInPlace) where forFactors stays
// correct: each kernel reads every input at a position before writing it
// there, and with more than two factors o = g₁·g₂ is written first, so out
// may then only be g₁ or g₂; and never an input that appears twice.
func derivOutput(prealloc G.Value, in []*tensor.Dense) (*tensor.Dense, bool) {
	out, ok := prealloc.(*tensor.Dense)
	if !ok || !out.Shape().Eq(in[0].Shape()) || out.Dtype() != in[0].Dtype() {
		return nil, false
	}
	seen := 0
	for j, v := range in {
		if v != out {
			continue
		}
		if seen++; seen > 1 || (len(in) > 3 && (j == 0 || j > 2)) {
			return nil, false
		}
	}
	return out, true
}

// derivInPlace is the input whose buffer a derivative op (actDerivOp,
// eluYOp) may write its result to: the first cotangent factor, which in a
// backward pass usually has no other reader.
const derivInPlace = 1

// ReturnsPtr and OverwritesInput let the tape machine write the result in
// place of the first cotangent factor when nothing reads it afterwards.
func (op actDerivOp) ReturnsPtr() bool     { return true }
func (op actDerivOp) OverwritesInput() int { return derivInPlace }

func (op actDerivOp) into(out *tensor.Dense, in []*tensor.Dense) (G.Value, error) {
	switch out.Data().(type) {
	case []float32:
		actDeriv(op.act, op.order, out.Data().([]float32), dataOf[float32](in))
	case []float64:
		actDeriv(op.act, op.order, out.Data().([]float64), dataOf[float64](in))
	default:
		return nil, errors.Errorf("graph: %v: unsupported dtype %v", op, out.Dtype())
	}
	return out, nil
}

func dataOf[T Float](in []*tensor.Dense) [][]T {
	s := make([][]T, len(in))
	for i, d := range in {
		s[i] = d.Data().([]T)
	}
	return s
}

// actDeriv writes out = f⁽ᵒʳᵈᵉʳ⁾(in[0]) ⊙ in[1] ⊙ … ⊙ in[len(in)−1],
// in chunks of actChunk elements spread over the cores.
func actDeriv[T Float](act Activation, order int, out []T, in [][]T) {
	f := actFunc(act, order)
	forFactors(out, in, func(o, xs, g, e []T) {
		for i := range o {
			v := T(f(float64(xs[i]))) * g[i]
			if e != nil {
				v *= e[i]
			}
			o[i] = v
		}
	})
}

// forFactors splits out and the inputs in = {x, g₁, …, g_nf} of a
// derivative op into chunks of actChunk elements spread over the cores,
// multiplies all factors but the last two into out first when there are
// more than two, and calls kernel(o, x, g, e) per chunk to write
// o = h(x)·g·e (e nil when there is one factor).
func forFactors[T Float](out []T, in [][]T, kernel func(o, x, g, e []T)) {
	x, gs := in[0], in[1:]
	parallelFor(chunks(len(x)), func(lo, hi int) {
		lo, hi = lo*actChunk, min(hi*actChunk, len(x))
		o := out[lo:hi]
		g := make([][]T, len(gs))
		for i, gi := range gs {
			g[i] = gi[lo:hi]
		}
		if len(g) > 2 { // all but the last factor into o first
			mulInto(o, g[0], g[1])
			for _, gi := range g[2 : len(g)-1] {
				mulInto(o, o, gi)
			}
			g = [][]T{o, g[len(g)-1]}
		}
		var e []T
		if len(g) == 2 {
			e = g[1]
		}
		kernel(o, x[lo:hi], g[0], e)
	})
}

// mulInto writes out[i] = a[i]·b[i]; out may be a or b.
func mulInto[T Float](out, a, b []T) {
	a, b = a[:len(out)], b[:len(out)]
	for i := range out {
		out[i] = a[i] * b[i]
	}
}

func (op actDerivOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	if len(in) != op.Arity() {
		return nil, errors.Errorf("graph: %v takes %d inputs, got %d", op, op.Arity(), len(in))
	}
	d := make(G.Nodes, len(in))
	var err error
	if op.order < maxActOrder {
		xs := append(G.Nodes{in[0], grad}, in[1:]...)
		if d[0], err = G.ApplyOp(actDerivOp{act: op.act, order: op.order + 1, nf: op.nf + 1, dims: op.dims}, xs...); err != nil {
			return nil, errors.Wrapf(err, "graph: differentiating %v", op)
		}
	}
	for i := 1; i < len(in); i++ {
		xs := G.Nodes{in[0], grad}
		for j := 1; j < len(in); j++ {
			if j != i {
				xs = append(xs, in[j])
			}
		}
		if d[i], err = G.ApplyOp(actDerivOp{act: op.act, order: op.order, nf: op.nf, dims: op.dims}, xs...); err != nil {
			return nil, errors.Wrapf(err, "graph: differentiating %v", op)
		}
	}
	return d, nil
}
