package graph

import (
	"hash"
	"math"
	"strconv"

	"github.com/chewxy/hm"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Activation is a pointwise nonlinearity with Lipschitz constant at most 1,
// the kind an i-ResNet block may use without breaking contractivity.
type Activation int

// The activations of Behrmann et al. (2019) and Chen et al. (2019).
const (
	ReLU     Activation = iota // max(0, x)
	ELU                        // x for x > 0, eˣ − 1 otherwise (α = 1)
	LipSwish                   // x·σ(x)/1.1, Chen et al. 2019, §4.2 (β = 1)
	Softplus                   // log(1 + eˣ)
	Identity                   // x; for linear residual branches in tests
)

var activationNames = [...]string{"relu", "elu", "lipswish", "softplus", "identity"}

// String returns the activation's lower-case name.
func (a Activation) String() string {
	if a < 0 || int(a) >= len(activationNames) {
		return "Activation(" + strconv.Itoa(int(a)) + ")"
	}
	return activationNames[a]
}

// ParseActivation returns the activation with the given name.
func ParseActivation(s string) (Activation, error) {
	for i, n := range activationNames {
		if n == s {
			return Activation(i), nil
		}
	}
	return 0, errors.Errorf("graph: unknown activation %q (known: relu, elu, lipswish, softplus, identity)", s)
}

// lipSwishScale is 1.1, the constant that makes x·σ(x) 1-Lipschitz
// (its derivative peaks at about 1.0998; Chen et al. 2019, §4.2).
const lipSwishScale = 1.1

// maxActOrder is the highest derivative order an actOp evaluates. Order 2 is
// needed for the gradient of a VJP (second-order reverse mode); order 3 lets
// that gradient be differentiated once more.
const maxActOrder = 3

// actOp evaluates the order-th derivative of an activation pointwise.
// Its symbolic derivative is grad ⊙ (order+1)-th derivative, so an
// activation is differentiable as many times as maxActOrder allows.
type actOp struct {
	opBase
	act   Activation
	order int
	dims  int
}

var _ G.SDOp = actOp{}

func (op actOp) Arity() int    { return 1 }
func (op actOp) Type() hm.Type { return sameType(op.dims) }
func (op actOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	if len(in) != 1 {
		return nil, errors.Errorf("graph: %v takes 1 input, got %d", op, len(in))
	}
	s, ok := in[0].(tensor.Shape)
	if !ok {
		return nil, errors.Errorf("graph: %v: expected a shape, got %T", op, in[0])
	}
	return s.Clone(), nil
}

func (op actOp) String() string {
	return op.act.String() + "^(" + strconv.Itoa(op.order) + ")/" + strconv.Itoa(op.dims)
}
func (op actOp) WriteHash(h hash.Hash) { hashString(h, op.String()) }
func (op actOp) Hashcode() uint32      { return hashCode(op.String()) }
func (op actOp) DiffWRT(int) []bool    { return []bool{op.order < maxActOrder} }

func (op actOp) Do(vals ...G.Value) (G.Value, error) {
	if len(vals) != 1 {
		return nil, errors.Errorf("graph: %v takes 1 input, got %d", op, len(vals))
	}
	x, err := denseOf(op.String(), vals[0])
	if err != nil {
		return nil, err
	}
	return op.into(newLike(x, x.Shape()), x)
}

// ReturnsPtr and OverwritesInput let the tape machine compute the
// activation in place, in x's buffer, when nothing reads x afterwards
// (each element is read before it is written).
func (op actOp) ReturnsPtr() bool     { return true }
func (op actOp) OverwritesInput() int { return 0 }

// UsePreallocDo writes into the machine's preallocated output, which may
// be x itself.
func (op actOp) UsePreallocDo(prealloc G.Value, vals ...G.Value) (G.Value, error) {
	if len(vals) != 1 {
		return nil, errors.Errorf("graph: %v takes 1 input, got %d", op, len(vals))
	}
	x, err := denseOf(op.String(), vals[0])
	if err != nil {
		return nil, err
	}
	out, ok := prealloc.(*tensor.Dense)
	if !ok || !out.Shape().Eq(x.Shape()) || out.Dtype() != x.Dtype() {
		return op.Do(vals...)
	}
	return op.into(out, x)
}

func (op actOp) into(out, x *tensor.Dense) (G.Value, error) {
	f := actFunc(op.act, op.order)
	switch xd := x.Data().(type) {
	case []float32:
		od := out.Data().([]float32)
		parallelFor(chunks(len(xd)), func(lo, hi int) {
			lo, hi = lo*actChunk, min(hi*actChunk, len(xd))
			if actKernel32(op.act, op.order, xd[lo:hi], od[lo:hi]) {
				return
			}
			for i, v := range xd[lo:hi] {
				od[lo+i] = float32(f(float64(v)))
			}
		})
	case []float64:
		od := out.Data().([]float64)
		parallelFor(chunks(len(xd)), func(lo, hi int) {
			lo, hi = lo*actChunk, min(hi*actChunk, len(xd))
			for i, v := range xd[lo:hi] {
				od[lo+i] = f(v)
			}
		})
	default:
		return nil, errors.Errorf("graph: %v: unsupported dtype %v", op, x.Dtype())
	}
	return out, nil
}

// actChunk is the number of elements a goroutine takes at a time; smaller
// tensors are evaluated on the calling goroutine.
const actChunk = 16384

func chunks(n int) int { return (n + actChunk - 1) / actChunk }

func (op actOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	if op.order >= maxActOrder {
		return nil, errors.Errorf("graph: %v: derivatives beyond order %d are not implemented", op, maxActOrder)
	}
	if op.act == ELU && op.order == 0 {
		dx, err := G.ApplyOp(eluYOp{nf: 1, dims: op.dims}, out, grad)
		if err != nil {
			return nil, errors.Wrapf(err, "graph: differentiating %v", op)
		}
		return G.Nodes{dx}, nil
	}
	if fusesDerivative(op.act) {
		dx, err := G.ApplyOp(actDerivOp{act: op.act, order: op.order + 1, nf: 1, dims: op.dims}, in[0], grad)
		if err != nil {
			return nil, errors.Wrapf(err, "graph: differentiating %v", op)
		}
		return G.Nodes{dx}, nil
	}
	d, err := G.ApplyOp(actOp{act: op.act, order: op.order + 1, dims: op.dims}, in[0])
	if err != nil {
		return nil, errors.Wrapf(err, "graph: differentiating %v", op)
	}
	dx, err := G.HadamardProd(grad, d)
	if err != nil {
		return nil, errors.Wrapf(err, "graph: differentiating %v", op)
	}
	return G.Nodes{dx}, nil
}

// Activate returns act applied pointwise to x. The node is differentiable
// three times, enough for the gradient of a vector-Jacobian product.
func Activate(act Activation, x *G.Node) (*G.Node, error) {
	if act < 0 || int(act) >= len(activationNames) {
		return nil, errors.Errorf("graph: unknown activation %d", int(act))
	}
	if act == Identity {
		return x, nil
	}
	return G.ApplyOp(actOp{act: act, dims: x.Dims()}, x)
}

// ActivationFunc returns the order-th derivative (0 ≤ order ≤ 3) of act as a
// float64 function, the scalar reference the graph op evaluates.
func ActivationFunc(act Activation, order int) func(float64) float64 {
	return actFunc(act, order)
}

func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

func actFunc(act Activation, order int) func(float64) float64 {
	switch act {
	case ReLU:
		switch order {
		case 0:
			return func(x float64) float64 { return math.Max(x, 0) }
		case 1:
			return func(x float64) float64 {
				if x > 0 {
					return 1
				}
				return 0
			}
		default:
			return func(float64) float64 { return 0 }
		}
	case ELU:
		return func(x float64) float64 {
			if x > 0 {
				switch order {
				case 0:
					return x
				case 1:
					return 1
				default:
					return 0
				}
			}
			if order == 0 {
				if x < -0.5 { // no cancellation here; Expm1 is 4× slower
					return math.Exp(x) - 1
				}
				return math.Expm1(x)
			}
			return math.Exp(x)
		}
	case Softplus:
		switch order {
		case 0:
			return func(x float64) float64 {
				if x > 30 {
					return x
				}
				return math.Log1p(math.Exp(x))
			}
		case 1:
			return sigmoid
		case 2:
			return func(x float64) float64 { s := sigmoid(x); return s * (1 - s) }
		default:
			return func(x float64) float64 { s := sigmoid(x); return s * (1 - s) * (1 - 2*s) }
		}
	case LipSwish:
		return func(x float64) float64 {
			s := sigmoid(x)
			ds := s * (1 - s)
			var v float64
			switch order {
			case 0:
				v = x * s
			case 1:
				v = s + x*ds
			case 2:
				v = 2*ds + x*ds*(1-2*s)
			default:
				v = ds * (3*(1-2*s) + x*(1-6*s+6*s*s))
			}
			return v / lipSwishScale
		}
	default: // Identity
		switch order {
		case 0:
			return func(x float64) float64 { return x }
		case 1:
			return func(float64) float64 { return 1 }
		default:
			return func(float64) float64 { return 0 }
		}
	}
}

// MarshalText implements encoding.TextMarshaler, so configurations store
// activations by name.
func (a Activation) MarshalText() ([]byte, error) {
	if a < 0 || int(a) >= len(activationNames) {
		return nil, errors.Errorf("graph: unknown activation %d", int(a))
	}
	return []byte(a.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (a *Activation) UnmarshalText(b []byte) error {
	v, err := ParseActivation(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}
