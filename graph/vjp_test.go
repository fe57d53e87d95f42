package graph

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// fdRelTol is the bound on relative error between a symbolic gradient and a
// central finite difference with step fdStep in float64: the truncation error
// is O(h²) ≈ 1e-10 and the rounding error O(ε/h) ≈ 1e-11, leaving margin.
const (
	fdStep   = 1e-5
	fdRelTol = 1e-6
)

func randDense(rng *rand.Rand, scale float64, shape ...int) *tensor.Dense {
	n := 1
	for _, s := range shape {
		n *= s
	}
	data := make([]float64, n)
	for i := range data {
		data[i] = scale * rng.NormFloat64()
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))
}

// secondOrderGraph builds f = Σ_rows (vᵀJv − ½ vᵀJ²v) for g(x) = tanh(x·W1)·W2
// using two VJPs on one graph, and the gradient of f w.r.t. W1 and W2.
func secondOrderGraph(t *testing.T, x, v, w1, w2 *tensor.Dense) (g *G.ExprGraph, f *G.Node, grads G.Nodes, ws G.Nodes) {
	t.Helper()
	g = G.NewGraph()
	xn := G.NewMatrix(g, G.Float64, G.WithShape(x.Shape()...), G.WithName("x"), G.WithValue(x))
	vn := G.NewMatrix(g, G.Float64, G.WithShape(v.Shape()...), G.WithName("v"), G.WithValue(v))
	w1n := G.NewMatrix(g, G.Float64, G.WithShape(w1.Shape()...), G.WithName("w1"), G.WithValue(w1))
	w2n := G.NewMatrix(g, G.Float64, G.WithShape(w2.Shape()...), G.WithName("w2"), G.WithValue(w2))
	h := G.Must(G.Tanh(G.Must(G.Mul(xn, w1n))))
	gx := G.Must(G.Mul(h, w2n))
	vj, err := VJP(G.Nodes{gx}, G.Nodes{vn}, G.Nodes{xn})
	if err != nil {
		t.Fatal(err)
	}
	vjj, err := VJP(G.Nodes{gx}, G.Nodes{vj[0]}, G.Nodes{xn})
	if err != nil {
		t.Fatal(err)
	}
	t1 := G.Must(G.Sum(G.Must(G.HadamardProd(vj[0], vn))))
	t2 := G.Must(G.Sum(G.Must(G.HadamardProd(vjj[0], vn))))
	half := G.NewScalar(g, G.Float64, G.WithName("half"), G.WithValue(0.5))
	f = G.Must(G.Sub(t1, G.Must(G.Mul(half, t2))))
	one := G.NewScalar(g, G.Float64, G.WithName("one"), G.WithValue(1.0))
	ws = G.Nodes{w1n, w2n}
	grads, err = VJP(G.Nodes{f}, G.Nodes{one}, ws)
	if err != nil {
		t.Fatal(err)
	}
	return g, f, grads, ws
}

// explicitSecondOrder computes Σ_rows (vᵀJv − ½vᵀJ²v) from explicitly built
// Jacobians J = W1 diag(1 − tanh²(x·W1)) W2 (row-vector convention).
func explicitSecondOrder(x, v, w1, w2 *tensor.Dense) float64 {
	n, d := x.Shape()[0], x.Shape()[1]
	hid := w1.Shape()[1]
	W1 := mat.NewDense(d, hid, w1.Data().([]float64))
	W2 := mat.NewDense(hid, d, w2.Data().([]float64))
	X := mat.NewDense(n, d, x.Data().([]float64))
	V := mat.NewDense(n, d, v.Data().([]float64))
	total := 0.0
	for r := 0; r < n; r++ {
		var pre mat.VecDense
		pre.MulVec(W1.T(), X.RowView(r))
		D := mat.NewDiagDense(hid, nil)
		for i := 0; i < hid; i++ {
			th := math.Tanh(pre.AtVec(i))
			D.SetDiag(i, 1-th*th)
		}
		var J, tmp, J2 mat.Dense
		tmp.Mul(W1, D)
		J.Mul(&tmp, W2) // y = x·J, so vᵀ-products use row vectors
		J2.Mul(&J, &J)
		vr := V.RowView(r)
		var a, b mat.VecDense
		a.MulVec(&J, vr)
		b.MulVec(&J2, vr)
		total += mat.Dot(vr, &a) - 0.5*mat.Dot(vr, &b)
	}
	return total
}

func TestSecondVJPMatchesExplicitAndFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	const n, d, hid = 3, 4, 5
	x := randDense(rng, 1, n, d)
	v := randDense(rng, 1, n, d)
	w1 := randDense(rng, 0.5, d, hid)
	w2 := randDense(rng, 0.5, hid, d)
	g, f, grads, _ := secondOrderGraph(t, x, v, w1, w2)
	m := G.NewTapeMachine(g)
	defer m.Close()
	run := func() float64 {
		m.Reset()
		if err := m.RunAll(); err != nil {
			t.Fatal(err)
		}
		return f.Value().Data().(float64)
	}
	got := run()
	want := explicitSecondOrder(x, v, w1, w2)
	if math.Abs(got-want) > fdRelTol*math.Max(1, math.Abs(want)) {
		t.Fatalf("vᵀJv − ½vᵀJ²v = %.12g, explicit Jacobian gives %.12g (diff %g)", got, want, got-want)
	}
	symbolic := [][]float64{
		append([]float64(nil), grads[0].Value().Data().([]float64)...),
		append([]float64(nil), grads[1].Value().Data().([]float64)...),
	}
	for wi, w := range []*tensor.Dense{w1, w2} {
		data := w.Data().([]float64)
		for i := range data {
			orig := data[i]
			data[i] = orig + fdStep
			fp := run()
			data[i] = orig - fdStep
			fm := run()
			data[i] = orig
			fd := (fp - fm) / (2 * fdStep)
			sym := symbolic[wi][i]
			if err := math.Abs(sym - fd); err > fdRelTol*math.Max(1e-2, math.Abs(fd)) {
				t.Errorf("∂f/∂w%d[%d] = %.10g, finite difference %.10g (diff %g)", wi+1, i, sym, fd, err)
			}
		}
	}
}
