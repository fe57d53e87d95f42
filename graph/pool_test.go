package graph_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/iresnet/iresnet/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func poolRand(rng *rand.Rand, shape ...int) *tensor.Dense {
	t := tensor.New(tensor.Of(tensor.Float64), tensor.WithShape(shape...))
	for i, d := 0, t.Data().([]float64); i < len(d); i++ {
		d[i] = rng.NormFloat64()
	}
	return t
}

func poolDot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func poolRun(t *testing.T, b *graph.Builder) {
	t.Helper()
	m := G.NewTapeMachine(b.Graph())
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
}

// TestPoolValues checks SpatialMean and SpatialSpread against direct loops.
func TestPoolValues(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	const n, c, h, w = 2, 3, 4, 5
	x := poolRand(rng, n, c, h, w)
	v := poolRand(rng, n, c)
	b, _ := graph.NewBuilder(tensor.Float64)
	xn, _ := b.Input("x", x)
	vn, _ := b.Input("v", v)
	mean := G.Must(graph.SpatialMean(xn))
	spread := G.Must(graph.SpatialSpread(vn, x.Shape()))
	poolRun(t, b)
	xd, vd := x.Data().([]float64), v.Data().([]float64)
	md, sd := mean.Value().Data().([]float64), spread.Value().Data().([]float64)
	if !mean.Shape().Eq(tensor.Shape{n, c}) || !spread.Shape().Eq(x.Shape()) {
		t.Fatalf("shapes %v and %v", mean.Shape(), spread.Shape())
	}
	for r := 0; r < n*c; r++ {
		s := 0.0
		for i := 0; i < h*w; i++ {
			s += xd[r*h*w+i]
			if got, want := sd[r*h*w+i], vd[r]/(h*w); math.Abs(got-want) > 1e-15 {
				t.Fatalf("spread[%d] = %v, want %v", r*h*w+i, got, want)
			}
		}
		if got, want := md[r], s/(h*w); math.Abs(got-want) > 1e-14 {
			t.Fatalf("mean[%d] = %v, want %v", r, got, want)
		}
	}
}

// TestPoolOpsAreAdjoint checks ⟨SpatialSpread(v), X⟩ = ⟨v, SpatialMean(X)⟩.
func TestPoolOpsAreAdjoint(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, shape := range [][]int{{3, 4, 2, 5}, {2, 3, 1, 1}, {2, 2, 3, 2, 2}} {
		b, _ := graph.NewBuilder(tensor.Float64)
		x, _ := b.Input("x", poolRand(rng, shape...))
		v, _ := b.Input("v", poolRand(rng, shape[0], shape[1]))
		sv := G.Must(graph.SpatialSpread(v, tensor.Shape(shape)))
		mx := G.Must(graph.SpatialMean(x))
		poolRun(t, b)
		lhs := poolDot(sv.Value().Data().([]float64), x.Value().Data().([]float64))
		rhs := poolDot(v.Value().Data().([]float64), mx.Value().Data().([]float64))
		if math.Abs(lhs-rhs) > 1e-12*math.Max(1, math.Abs(lhs)) {
			t.Errorf("%v: ⟨spread(v), X⟩ = %.15g but ⟨v, mean(X)⟩ = %.15g", shape, lhs, rhs)
		}
	}
}

// TestPoolSecondOrderGradient differentiates f(x) = ⟨∇_x Σ r⊙mean(x)³, u⟩,
// whose graph holds both ops of the pair, and compares with central
// differences of f.
func TestPoolSecondOrderGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	shape := []int{2, 3, 2, 3}
	x := poolRand(rng, shape...)
	b, _ := graph.NewBuilder(tensor.Float64)
	xn, _ := b.Input("x", x)
	rn, _ := b.Input("r", poolRand(rng, 2, 3))
	un, _ := b.Input("u", poolRand(rng, shape...))
	one, _ := b.Scalar("one", 1)
	m := G.Must(graph.SpatialMean(xn))
	cube := G.Must(G.HadamardProd(G.Must(G.HadamardProd(m, m)), m))
	inner := G.Must(G.Sum(G.Must(G.HadamardProd(cube, rn))))
	g1, err := graph.VJP(G.Nodes{inner}, G.Nodes{one}, G.Nodes{xn})
	if err != nil {
		t.Fatal(err)
	}
	f := G.Must(G.Sum(G.Must(G.HadamardProd(g1[0], un))))
	g2, err := graph.VJP(G.Nodes{f}, G.Nodes{one}, G.Nodes{xn})
	if err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(b.Graph())
	defer vm.Close()
	run := func() float64 {
		vm.Reset()
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		return f.Value().Data().(float64)
	}
	run()
	sym := append([]float64(nil), g2[0].Value().Data().([]float64)...)
	const h = 1e-5
	xd := x.Data().([]float64)
	for i := range xd {
		orig := xd[i]
		xd[i] = orig + h
		fp := run()
		xd[i] = orig - h
		fm := run()
		xd[i] = orig
		fd := (fp - fm) / (2 * h)
		if d := math.Abs(fd - sym[i]); d > 1e-6*math.Max(1, math.Abs(fd)) {
			t.Errorf("∂f/∂x[%d] = %.10g, finite difference %.10g", i, sym[i], fd)
		}
	}
}

func TestPoolRejectsBadShapes(t *testing.T) {
	b, _ := graph.NewBuilder(tensor.Float64)
	v, _ := b.Input("v", tensor.New(tensor.Of(tensor.Float64), tensor.WithShape(2, 3)))
	if _, err := graph.SpatialMean(v); err == nil {
		t.Error("SpatialMean of a matrix: no error")
	}
	if _, err := graph.SpatialSpread(v, tensor.Shape{2, 4, 3, 3}); err == nil {
		t.Error("SpatialSpread with a channel mismatch: no error")
	}
}
