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

// eluYOp is ELU's derivative times cotangents, computed from the
// activation's output y = ELU(x) rather than from x: below zero
// ELU′(x) = eˣ = y + 1, so no exponential is evaluated. With inputs
// y, g₁, …, g_nf it evaluates
//
//	h(y) ⊙ g₁ ⊙ … ⊙ g_nf,  h(y) = 1 for y > 0, y + 1 otherwise   (ELU′(x))
//	                      h(y) = 0 for y > 0, 1 otherwise       (step)
//
// where step = ∂h/∂y for the first kind; the derivative of step in y is
// zero almost everywhere. Gradients reaching y flow on to x through ELU's
// own derivative, which gives the higher derivatives by the chain rule
// (ELU″(x) = step(y)·ELU′(x)). The family is closed under differentiation:
//
//	∂/∂y   → eluYOp{step, nf+1}(y, ḡ, g₁, …, g_nf)   (none for step)
//	∂/∂gᵢ  → eluYOp{same kind, nf}(y, ḡ, g₁, …, gᵢ₋₁, gᵢ₊₁, …, g_nf)
type eluYOp struct {
	opBase
	step bool // h is the step [y ≤ 0] instead of ELU′
	nf   int  // number of cotangent factors, ≥ 1
	dims int
}

var _ G.SDOp = eluYOp{}

func (op eluYOp) Arity() int { return 1 + op.nf }
func (op eluYOp) Type() hm.Type {
	t := G.TensorType{Dims: op.dims, Of: hm.TypeVariable('a')}
	ts := make([]hm.Type, op.nf+2)
	for i := range ts {
		ts[i] = t
	}
	return hm.NewFnType(ts...)
}

func (op eluYOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	if len(in) != op.Arity() {
		return nil, errors.Errorf("graph: %v takes %d inputs, got %d", op, op.Arity(), len(in))
	}
	s, ok := in[0].(tensor.Shape)
	if !ok {
		return nil, errors.Errorf("graph: %v: expected a shape, got %T", op, in[0])
	}
	return s.Clone(), nil
}

func (op eluYOp) String() string {
	name := "elu'(y)"
	if op.step {
		name = "step(y)"
	}
	return name + "·" + strconv.Itoa(op.nf) + "/" + strconv.Itoa(op.dims)
}
func (op eluYOp) WriteHash(h hash.Hash) { hashString(h, op.String()) }
func (op eluYOp) Hashcode() uint32      { return hashCode(op.String()) }
func (op eluYOp) DiffWRT(n int) []bool {
	d := make([]bool, n)
	for i := range d {
		d[i] = i > 0 || !op.step
	}
	return d
}

func (op eluYOp) Do(vals ...G.Value) (G.Value, error) {
	in, err := derivInputs(op.String(), op.Arity(), vals)
	if err != nil {
		return nil, err
	}
	return op.into(newLike(in[0], in[0].Shape()), in)
}

// ReturnsPtr and OverwritesInput let the tape machine write the result in
// place of the first cotangent factor when nothing reads it afterwards.
func (op eluYOp) ReturnsPtr() bool     { return true }
func (op eluYOp) OverwritesInput() int { return derivInPlace }

// UsePreallocDo writes into the machine's preallocated output, which may
// be one of the inputs (see derivOutput).
func (op eluYOp) UsePreallocDo(prealloc G.Value, vals ...G.Value) (G.Value, error) {
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

func (op eluYOp) into(out *tensor.Dense, in []*tensor.Dense) (G.Value, error) {
	switch out.Data().(type) {
	case []float32:
		eluY(op.step, out.Data().([]float32), dataOf[float32](in))
	case []float64:
		eluY(op.step, out.Data().([]float64), dataOf[float64](in))
	default:
		return nil, errors.Errorf("graph: %v: unsupported dtype %v", op, out.Dtype())
	}
	return out, nil
}

// eluY writes out = h(in[0]) ⊙ in[1] ⊙ … (see eluYOp), with the AVX-512
// kernel for float32 where there is one.
func eluY[T Float](step bool, out []T, in [][]T) {
	// h(y) = above for y > 0, a·y + b otherwise.
	above, a, b := T(1), T(1), T(1)
	if step {
		above, a = 0, 0
	}
	forFactors(out, in, func(o, y, g, e []T) {
		done := 0
		if o32, ok := any(o).([]float32); ok && avx512 {
			var ep *float32
			if e != nil {
				ep = &any(e).([]float32)[0]
			}
			if done = len(o) &^ 15; done > 0 {
				convasm.EluOutF32(done, &any(y).([]float32)[0], &any(g).([]float32)[0], ep, &o32[0], float32(above), float32(a), float32(b))
			}
		}
		for i := done; i < len(o); i++ {
			h := above
			if !(y[i] > 0) {
				h = a*y[i] + b
			}
			v := h * g[i]
			if e != nil {
				v *= e[i]
			}
			o[i] = v
		}
	})
}

func (op eluYOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	if len(in) != op.Arity() {
		return nil, errors.Errorf("graph: %v takes %d inputs, got %d", op, op.Arity(), len(in))
	}
	d := make(G.Nodes, len(in))
	var err error
	if !op.step {
		xs := append(G.Nodes{in[0], grad}, in[1:]...)
		if d[0], err = G.ApplyOp(eluYOp{step: true, nf: op.nf + 1, dims: op.dims}, xs...); err != nil {
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
		if d[i], err = G.ApplyOp(eluYOp{step: op.step, nf: op.nf, dims: op.dims}, xs...); err != nil {
			return nil, errors.Wrapf(err, "graph: differentiating %v", op)
		}
	}
	return d, nil
}
