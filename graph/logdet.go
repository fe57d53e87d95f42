package graph

import (
	"hash"

	"github.com/chewxy/hm"
	"github.com/pkg/errors"
	"gonum.org/v1/gonum/mat"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// logDetOp maps a batch of square matrices J (N, d, d) to log|det(I + J_n)|
// (N) by LU decomposition in float64. With grad set it is instead the
// derivative map (J, ḡ) ↦ ḡ_n (I + J_n)⁻ᵀ, which is not differentiable again.
type logDetOp struct {
	opBase
	grad bool
}

var _ G.SDOp = logDetOp{}

func (op logDetOp) Arity() int {
	if op.grad {
		return 2
	}
	return 1
}

func (op logDetOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	m := G.TensorType{Dims: 3, Of: a}
	v := G.TensorType{Dims: 1, Of: a}
	if op.grad {
		return hm.NewFnType(m, v, m)
	}
	return hm.NewFnType(m, v)
}

func (op logDetOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	if len(in) != op.Arity() {
		return nil, errors.Errorf("graph: %v takes %d inputs", op, op.Arity())
	}
	s, ok := in[0].(tensor.Shape)
	if !ok || s.Dims() != 3 || s[1] != s[2] {
		return nil, errors.Errorf("graph: %v needs (N, d, d), got %v", op, in[0])
	}
	if op.grad {
		return s.Clone(), nil
	}
	return tensor.Shape{s[0]}, nil
}

func (op logDetOp) String() string {
	if op.grad {
		return "logDetIPlusGrad"
	}
	return "logDetIPlus"
}
func (op logDetOp) WriteHash(h hash.Hash) { hashString(h, op.String()) }
func (op logDetOp) Hashcode() uint32      { return hashCode(op.String()) }
func (op logDetOp) DiffWRT(n int) []bool {
	if op.grad {
		return []bool{false, false}
	}
	return []bool{true}
}

func (op logDetOp) Do(vals ...G.Value) (G.Value, error) {
	if len(vals) != op.Arity() {
		return nil, errors.Errorf("graph: %v takes %d inputs", op, op.Arity())
	}
	j, err := denseOf(op.String(), vals[0])
	if err != nil {
		return nil, err
	}
	s := j.Shape()
	n, d := s[0], s[1]
	jd := toFloat64(j)
	var gd []float64
	if op.grad {
		g, err := denseOf(op.String(), vals[1])
		if err != nil {
			return nil, err
		}
		gd = toFloat64(g)
	}
	var out []float64
	if op.grad {
		out = make([]float64, n*d*d)
	} else {
		out = make([]float64, n)
	}
	var failed error
	for b := 0; b < n; b++ {
		a := mat.NewDense(d, d, append([]float64(nil), jd[b*d*d:(b+1)*d*d]...))
		for i := 0; i < d; i++ {
			a.Set(i, i, a.At(i, i)+1)
		}
		var lu mat.LU
		lu.Factorize(a)
		if !op.grad {
			ld, _ := lu.LogDet()
			out[b] = ld
			continue
		}
		var inv mat.Dense
		if err := lu.SolveTo(&inv, false, eye(d)); err != nil {
			failed = errors.Wrapf(err, "graph: %v: I + J is singular for sample %d", op, b)
			break
		}
		for r := 0; r < d; r++ {
			for c := 0; c < d; c++ {
				out[b*d*d+r*d+c] = gd[b] * inv.At(c, r) // (I+J)⁻ᵀ
			}
		}
	}
	if failed != nil {
		return nil, failed
	}
	if op.grad {
		return fromFloat64(j.Dtype(), out, n, d, d), nil
	}
	return fromFloat64(j.Dtype(), out, n), nil
}

func (op logDetOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	if op.grad {
		return nil, errors.Errorf("graph: %v is not differentiable", op)
	}
	d, err := G.ApplyOp(logDetOp{grad: true}, in[0], grad)
	if err != nil {
		return nil, errors.Wrap(err, "graph: differentiating logDetIPlus")
	}
	return G.Nodes{d}, nil
}

// LogDetIPlus returns log|det(I + J_n)| (N) for a batch of Jacobians J
// (N, d, d), computed by LU decomposition in float64. It is differentiable
// once: ∂/∂J log|det(I+J)| = (I+J)⁻ᵀ.
func LogDetIPlus(j *G.Node) (*G.Node, error) {
	return G.ApplyOp(logDetOp{}, j)
}

func eye(d int) *mat.Dense {
	m := mat.NewDense(d, d, nil)
	for i := 0; i < d; i++ {
		m.Set(i, i, 1)
	}
	return m
}

// toFloat64 returns t's data as float64 (a copy for float32).
func toFloat64(t *tensor.Dense) []float64 {
	switch d := t.Data().(type) {
	case []float64:
		return d
	case []float32:
		out := make([]float64, len(d))
		for i, v := range d {
			out[i] = float64(v)
		}
		return out
	}
	return nil
}

// fromFloat64 builds a tensor of dtype dt and the given shape from data.
func fromFloat64(dt tensor.Dtype, data []float64, shape ...int) *tensor.Dense {
	if dt == tensor.Float32 {
		f := make([]float32, len(data))
		for i, v := range data {
			f[i] = float32(v)
		}
		return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(f))
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))
}
