package graph

import (
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/iresnet/iresnet/graph/internal/convasm"
)

// eluTestPoints covers both branches of ELU, the range where e^x − 1 needs
// care (|x| small), the clamp of the kernels (x < −104), and ±Inf.
func eluTestPoints() []float32 {
	var x []float32
	for v := float32(-120); v < 40; v += 0.0371 {
		x = append(x, v)
	}
	for v := float32(1e-9); v < 1; v *= 1.7 {
		x = append(x, v, -v)
	}
	return append(x, 0, float32(math.Inf(-1)), float32(math.Inf(1)), -104, -103.9, -87.5, 88.7)
}

// TestEluKernel compares the AVX-512 ELU kernel with the float64
// reference to 3e-7 relative (≈ 2.5 ulp of float32), and checks that NaN
// stays NaN.
func TestEluKernel(t *testing.T) {
	if !convasm.AVX512 {
		t.Skip("no AVX-512")
	}
	x := eluTestPoints()
	n := len(x) &^ 15
	y := make([]float32, len(x))
	convasm.EluF32(n, &x[0], &y[0])
	f0 := ActivationFunc(ELU, 0)
	for i := range n {
		want := f0(float64(x[i]))
		if d := math.Abs(float64(y[i]) - want); float64(y[i]) != want && !(d <= 3e-7*math.Abs(want)) {
			t.Fatalf("EluF32(%g) = %g, want %g (rel. error %.3g)", x[i], y[i], want, d/math.Abs(want))
		}
	}
	nan := make([]float32, 16)
	nan[3] = float32(math.NaN())
	convasm.EluF32(16, &nan[0], &y[0])
	if !math.IsNaN(float64(y[3])) || y[0] != 0 {
		t.Errorf("EluF32 of NaN = %g (want NaN), of 0 = %g", y[3], y[0])
	}
}

// TestActDerivOpValues checks actDerivOp against f⁽ᵏ⁾(x)·Πgᵢ in float64 for
// ELU and ReLU (the graph uses it for ReLU), every order and up to four factors, in both element types,
// on tensors longer than one chunk and not a multiple of a vector, with the
// AVX-512 kernels on and off.
func TestActDerivOpValues(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const n = actChunk + 1000 + 7
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = 3 * rng.NormFloat64()
	}
	gs := [][]float64{randSlice(rng, n), randSlice(rng, n), randSlice(rng, n), randSlice(rng, n)}
	for _, mode := range []bool{true, false} {
		if mode && !convasm.AVX512 {
			continue
		}
		saved := avx512
		avx512 = mode
		for _, act := range []Activation{ELU, ReLU} {
			for order := 1; order <= maxActOrder; order++ {
				f := ActivationFunc(act, order)
				for nf := 1; nf <= 4; nf++ {
					op := actDerivOp{act: act, order: order, nf: nf, dims: 1}
					for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
						vals := []G.Value{denseOfType(dt, xs)}
						for _, g := range gs[:nf] {
							vals = append(vals, denseOfType(dt, g))
						}
						out, err := op.Do(vals...)
						if err != nil {
							t.Fatal(err)
						}
						got := asFloat64(out.(*tensor.Dense))
						tol := 1e-15
						if dt == tensor.Float32 {
							tol = 1e-6
						}
						for i := range xs {
							round := func(v float64) float64 { return v }
							if dt == tensor.Float32 {
								round = func(v float64) float64 { return float64(float32(v)) }
							}
							want := f(round(xs[i]))
							for _, g := range gs[:nf] {
								want *= round(g[i])
							}
							if d := math.Abs(got[i] - want); d > tol*math.Max(1, math.Abs(want)) {
								t.Fatalf("avx512=%v %v: %v at x=%g: %g, want %g", mode, dt, op, xs[i], got[i], want)
							}
						}
					}
				}
			}
		}
		avx512 = saved
	}
}

func denseOfType(dt tensor.Dtype, v []float64) *tensor.Dense {
	if dt == tensor.Float32 {
		return tensor.New(tensor.WithShape(len(v)), tensor.WithBacking(f32(v)))
	}
	return tensor.New(tensor.WithShape(len(v)), tensor.WithBacking(append([]float64(nil), v...)))
}

func asFloat64(d *tensor.Dense) []float64 {
	switch s := d.Data().(type) {
	case []float32:
		out := make([]float64, len(s))
		for i, v := range s {
			out[i] = float64(v)
		}
		return out
	default:
		return s.([]float64)
	}
}

// TestActDerivSecondOrder differentiates f = Σ(vᵀJv − ½vᵀJ²v) for
// g(x) = φ(x·W1)·W2, φ = ELU or ReLU, w.r.t. W1 and W2 (which evaluates φ's
// derivatives up to order 3 through actDerivOp for ReLU and eluYOp for
// ELU, nested up to three factors deep) and compares with central finite
// differences in float64.
func TestActDerivSecondOrder(t *testing.T) {
	for _, act := range []Activation{ELU, ReLU} {
		rng := rand.New(rand.NewPCG(7, 8))
		const n, d, hid = 3, 4, 6
		x := randDense(rng, 1, n, d)
		v := randDense(rng, 1, n, d)
		w1 := randDense(rng, 0.7, d, hid)
		w2 := randDense(rng, 0.7, hid, d)
		g := G.NewGraph()
		xn := G.NewMatrix(g, G.Float64, G.WithShape(n, d), G.WithName("x"), G.WithValue(x))
		vn := G.NewMatrix(g, G.Float64, G.WithShape(n, d), G.WithName("v"), G.WithValue(v))
		w1n := G.NewMatrix(g, G.Float64, G.WithShape(d, hid), G.WithName("w1"), G.WithValue(w1))
		w2n := G.NewMatrix(g, G.Float64, G.WithShape(hid, d), G.WithName("w2"), G.WithValue(w2))
		h, err := Activate(act, G.Must(G.Mul(xn, w1n)))
		if err != nil {
			t.Fatal(err)
		}
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
		f := G.Must(G.Sub(t1, G.Must(G.Mul(half, t2))))
		one := G.NewScalar(g, G.Float64, G.WithName("one"), G.WithValue(1.0))
		grads, err := VJP(G.Nodes{f}, G.Nodes{one}, G.Nodes{w1n, w2n})
		if err != nil {
			t.Fatal(err)
		}
		m := G.NewTapeMachine(g)
		run := func() float64 {
			m.Reset()
			if err := m.RunAll(); err != nil {
				t.Fatal(err)
			}
			return f.Value().Data().(float64)
		}
		run()
		sym := [][]float64{
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
				if e := math.Abs(sym[wi][i] - fd); e > fdRelTol*math.Max(1e-2, math.Abs(fd)) {
					t.Errorf("%v: ∂f/∂w%d[%d] = %.10g, finite difference %.10g", act, wi+1, i, sym[wi][i], fd)
				}
			}
		}
		m.Close()
	}
}

// TestEluYOpValues checks eluYOp against ELU′(x)·Πgᵢ and [x ≤ 0]·Πgᵢ
// computed from x in float64, with y = ELU(x) as its input, for up to four
// factors, in both element types, on tensors longer than one chunk and not
// a multiple of a vector, with the AVX-512 kernel on and off; and that a
// NaN in y stays NaN.
func TestEluYOpValues(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	const n = actChunk + 1000 + 7
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = 3 * rng.NormFloat64()
	}
	xs[5] = math.NaN()
	elu, d1 := ActivationFunc(ELU, 0), ActivationFunc(ELU, 1)
	ys := make([]float64, n)
	for i, x := range xs {
		ys[i] = elu(x)
	}
	gs := [][]float64{randSlice(rng, n), randSlice(rng, n), randSlice(rng, n), randSlice(rng, n)}
	for _, mode := range []bool{true, false} {
		if mode && !convasm.AVX512 {
			continue
		}
		saved := avx512
		avx512 = mode
		for _, step := range []bool{false, true} {
			for nf := 1; nf <= 4; nf++ {
				op := eluYOp{step: step, nf: nf, dims: 1}
				for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
					round := func(v float64) float64 { return v }
					tol := 1e-15
					if dt == tensor.Float32 {
						round = func(v float64) float64 { return float64(float32(v)) }
						tol = 2e-6
					}
					vals := []G.Value{denseOfType(dt, ys)}
					for _, g := range gs[:nf] {
						vals = append(vals, denseOfType(dt, g))
					}
					out, err := op.Do(vals...)
					if err != nil {
						t.Fatal(err)
					}
					got := asFloat64(out.(*tensor.Dense))
					for i, x := range xs {
						want := d1(x)
						if step {
							want = 0
							if x <= 0 {
								want = 1
							}
						}
						for _, g := range gs[:nf] {
							want *= round(g[i])
						}
						if math.IsNaN(x) {
							if !math.IsNaN(got[i]) {
								t.Fatalf("avx512=%v %v: %v of NaN = %g", mode, dt, op, got[i])
							}
							continue
						}
						if d := math.Abs(got[i] - want); d > tol*math.Max(1, math.Abs(want)) {
							t.Fatalf("avx512=%v %v: %v at x=%g: %g, want %g", mode, dt, op, x, got[i], want)
						}
					}
				}
			}
		}
		avx512 = saved
	}
}

// TestInPlaceOps runs a dense layer with ELU and its second-order
// gradient on a tape machine, where AddBias, the activation and the ELU
// derivative ops write into a dead input's buffer, and compares the
// values and gradients with a Lisp machine's, which evaluates every node
// into a fresh tensor; it also checks that ELU did run in place.
func TestInPlaceOps(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	const n, d, hid = 5, 3, 7
	x, v := randDense(rng, 1, n, d), randDense(rng, 1, n, d)
	w1, w2 := randDense(rng, 0.8, d, hid), randDense(rng, 0.8, hid, d)
	b1 := randDense(rng, 0.5, hid)
	build := func() (*G.ExprGraph, G.Nodes, G.Nodes) {
		g := G.NewGraph()
		xn := G.NewMatrix(g, G.Float64, G.WithShape(n, d), G.WithName("x"), G.WithValue(x))
		vn := G.NewMatrix(g, G.Float64, G.WithShape(n, d), G.WithName("v"), G.WithValue(v))
		w1n := G.NewMatrix(g, G.Float64, G.WithShape(d, hid), G.WithName("w1"), G.WithValue(w1))
		w2n := G.NewMatrix(g, G.Float64, G.WithShape(hid, d), G.WithName("w2"), G.WithValue(w2))
		b1n := G.NewVector(g, G.Float64, G.WithShape(hid), G.WithName("b1"), G.WithValue(b1))
		pre := G.Must(AddBias(G.Must(G.Mul(xn, w1n)), b1n))
		h := G.Must(Activate(ELU, pre))
		gx := G.Must(G.Mul(h, w2n))
		vj, err := VJP(G.Nodes{gx}, G.Nodes{vn}, G.Nodes{xn})
		if err != nil {
			t.Fatal(err)
		}
		vjj, err := VJP(G.Nodes{gx}, G.Nodes{vj[0]}, G.Nodes{xn})
		if err != nil {
			t.Fatal(err)
		}
		f := G.Must(G.Sum(G.Must(G.HadamardProd(vjj[0], vn))))
		one := G.NewScalar(g, G.Float64, G.WithName("one"), G.WithValue(1.0))
		grads, err := VJP(G.Nodes{f}, G.Nodes{one}, G.Nodes{w1n, w2n, b1n})
		if err != nil {
			t.Fatal(err)
		}
		return g, append(G.Nodes{f}, grads...), G.Nodes{pre, h, gx, vj[0], vjj[0]}
	}
	run := func(tape bool) ([][]float64, bool) {
		g, outs, inner := build()
		var m G.VM = G.NewLispMachine(g, G.ExecuteFwdOnly())
		if tape {
			m = G.NewTapeMachine(g)
		}
		defer m.Close()
		if err := m.RunAll(); err != nil {
			t.Fatal(err)
		}
		var vals [][]float64
		for _, o := range outs {
			switch d := o.Value().Data().(type) {
			case float64:
				vals = append(vals, []float64{d})
			case []float64:
				vals = append(vals, append([]float64(nil), d...))
			}
		}
		// In place: pre's buffer now holds h (ELU ran where AddBias wrote).
		pre, h := inner[0].Value().(*tensor.Dense), inner[1].Value().(*tensor.Dense)
		return vals, &pre.Data().([]float64)[0] == &h.Data().([]float64)[0]
	}
	want, _ := run(false)
	got, inPlace := run(true)
	if !inPlace {
		t.Error("ELU did not run in place of AddBias's output")
	}
	for i := range want {
		for j := range want[i] {
			if math.Abs(got[i][j]-want[i][j]) > 1e-12*math.Max(1, math.Abs(want[i][j])) {
				t.Fatalf("output %d[%d] = %.15g in place, %.15g otherwise", i, j, got[i][j], want[i][j])
			}
		}
	}
}
