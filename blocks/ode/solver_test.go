package ode_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/blocks/ode"
	"github.com/iresnet/iresnet/estimator"
	"github.com/iresnet/iresnet/graph"
	"github.com/pkg/errors"
	"gonum.org/v1/gonum/mat"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// forwardGraph builds f on x and returns the builder, y, the log-det and a
// machine compiled from the whole graph.
func forwardGraph(t *testing.T, f blocks.Bijector, x *tensor.Dense) (*graph.Builder, *G.Node, *G.Node, G.VM) {
	t.Helper()
	b, err := graph.NewBuilder(x.Dtype())
	if err != nil {
		t.Fatal(err)
	}
	xn, err := b.Input("x", x)
	if err != nil {
		t.Fatal(err)
	}
	y, ld, err := f.Forward(b, xn)
	if err != nil {
		t.Fatal(err)
	}
	return b, y, ld, G.NewTapeMachine(b.Graph())
}

// run runs m and returns a copy of n's value.
func run(t *testing.T, m G.VM, n *G.Node) []float64 {
	t.Helper()
	m.Reset()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	v, err := graph.Value(n)
	if err != nil {
		t.Fatal(err)
	}
	return v.Data().([]float64)
}

// TestHutchinsonUnbiased checks that the Hutchinson log-det, averaged over
// M probe draws (b.Resample), lies within 4 standard errors of the
// exact-trace log-det of the same weights (built from the same seed). Both
// integrate the same stages with RK4, so the estimator is unbiased for the
// exact-trace value itself, not only up to discretization. A deviation of
// 4 standard errors has probability below 1e-4 under unbiasedness; the
// test is deterministic (fixed seeds).
func TestHutchinsonUnbiased(t *testing.T) {
	const draws = 1000
	for _, rad := range []bool{false, true} {
		cfg := ode.FFJORDConfig{Dim: 3, Hidden: []int{8}, Steps: 3, Rademacher: rad, Dtype: tensor.Float64}
		hutch, err := ode.NewFFJORD(cfg, rand.New(rand.NewPCG(11, 12)))
		if err != nil {
			t.Fatal(err)
		}
		cfg.Trace = ode.ExactTrace
		exact, err := ode.NewFFJORD(cfg, rand.New(rand.NewPCG(11, 12)))
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(13, 14))
		x := randTensor(rng, 2, 3)
		_, _, ldE, mE := forwardGraph(t, exact, x)
		want := run(t, mE, ldE)
		mE.Close()
		b, _, ldH, mH := forwardGraph(t, hutch, x)
		var sum, sq [2]float64
		for i := 0; i < draws; i++ {
			b.Resample(rng)
			for r, v := range run(t, mH, ldH) {
				sum[r] += v
				sq[r] += v * v
			}
		}
		mH.Close()
		for r := range want {
			mean := sum[r] / draws
			sd := math.Sqrt(math.Max(sq[r]/draws-mean*mean, 0))
			se := sd / math.Sqrt(draws)
			if sd == 0 {
				t.Fatalf("rademacher=%v row %d: the estimate does not vary over draws; probes are not resampled", rad, r)
			}
			if diff := math.Abs(mean - want[r]); diff > 4*se {
				t.Errorf("rademacher=%v row %d: mean Hutchinson log-det %.6g over %d draws, exact %.6g (diff %.3g > 4 se = %.3g)", rad, r, mean, draws, want[r], diff, 4*se)
			} else {
				t.Logf("rademacher=%v row %d: mean %.6g ± %.2g (se, sd %.2g), exact %.6g", rad, r, mean, se, sd, want[r])
			}
		}
	}
}

// logDetOfMap returns log|det| of the Jacobian of the numeric map g at each
// row of x (N, D), by central differences with step h and gonum's LU.
func logDetOfMap(t *testing.T, g func(*tensor.Dense) *tensor.Dense, x *tensor.Dense, h float64) []float64 {
	t.Helper()
	n, d := x.Shape()[0], x.Shape()[1]
	xd := x.Data().([]float64)
	jac := make([]*mat.Dense, n)
	for r := range jac {
		jac[r] = mat.NewDense(d, d, nil)
	}
	for j := 0; j < d; j++ {
		xp, xm := x.Clone().(*tensor.Dense), x.Clone().(*tensor.Dense)
		for r := 0; r < n; r++ {
			xp.Data().([]float64)[r*d+j] = xd[r*d+j] + h
			xm.Data().([]float64)[r*d+j] = xd[r*d+j] - h
		}
		yp, ym := g(xp).Data().([]float64), g(xm).Data().([]float64)
		for r := 0; r < n; r++ {
			for i := 0; i < d; i++ {
				jac[r].Set(i, j, (yp[r*d+i]-ym[r*d+i])/(2*h))
			}
		}
	}
	out := make([]float64, n)
	for r, j := range jac {
		var lu mat.LU
		lu.Factorize(j)
		var sign float64
		if out[r], sign = lu.LogDet(); sign == 0 {
			t.Fatalf("row %d: singular Jacobian", r)
		}
	}
	return out
}

// rk4Scale multiplies the initial weights of TestRK4Error's model so its
// dynamics are far from the identity (‖∂f/∂z‖ of order 1–3), as after
// training; at the initial scale the 10-step error is already ~1e-10 and
// drowns in the finite-difference noise of the reference log-det.
const rk4Scale = 3

// TestRK4Error measures the unrolled RK4's error against a fine-step
// reference: z(T) from CNF.Integrate with 1000 steps, and the log-det
// log|det ∂z(T)/∂x| of that reference map from central differences and LU
// (independent of the code's trace). It asserts that the errors at 10
// steps stay below twice those measured when it was written (z(T) 1.0e-3,
// log-det 7.5e-5), that halving h cuts them by 8–32× (fourth order: 16×;
// measured 14×), and logs the numbers reported in the package
// documentation.
func TestRK4Error(t *testing.T) {
	base := ode.FFJORDConfig{Dim: 2, Hidden: []int{16, 16}, Trace: ode.ExactTrace, Dtype: tensor.Float64}
	x := randTensor(rand.New(rand.NewPCG(23, 24)), 3, 2)
	model := func(steps int) *ode.CNF {
		cfg := base
		cfg.Steps = steps
		c, err := ode.NewFFJORD(cfg, rand.New(rand.NewPCG(21, 22)))
		if err != nil {
			t.Fatal(err)
		}
		for _, nt := range c.Tensors() {
			d := nt.Value.Data().([]float64)
			for i := range d {
				d[i] *= rk4Scale
			}
		}
		return c
	}
	ref := model(10)
	integrate := func(steps int) func(*tensor.Dense) *tensor.Dense {
		return func(z *tensor.Dense) *tensor.Dense {
			out, err := ref.Integrate(z, 0, 1, steps)
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
	}
	zRef := integrate(1000)(x).Data().([]float64)
	ldRef := logDetOfMap(t, integrate(1000), x, 1e-5)
	errs := map[int][2]float64{}
	for _, steps := range []int{10, 20} {
		_, y, ld, m := forwardGraph(t, model(steps), x)
		yd := run(t, m, y)
		ldd := run(t, m, ld)
		m.Close()
		var ez, el float64
		for i := range yd {
			ez = math.Max(ez, math.Abs(yd[i]-zRef[i]))
		}
		for r := range ldd {
			el = math.Max(el, math.Abs(ldd[r]-ldRef[r]))
		}
		// The log-det of the discrete map itself, for the gap between
		// RK4's quadrature of the trace and the map's volume change.
		ldMap := logDetOfMap(t, integrate(steps), x, 1e-5)
		gap := 0.0
		for r := range ldd {
			gap = math.Max(gap, math.Abs(ldd[r]-ldMap[r]))
		}
		errs[steps] = [2]float64{ez, el}
		t.Logf("RK4 %d steps vs 1000: max |Δz(T)| = %.3g, max |Δ log-det| = %.3g; |log-det − log|det J| of the %d-step map| = %.3g (|log-det| ≈ %.3g)", steps, ez, el, steps, gap, math.Abs(ldRef[0]))
	}
	for i, what := range []string{"z(T)", "log-det"} {
		e10, e20 := errs[10][i], errs[20][i]
		if bound := []float64{2e-3, 1.5e-4}[i]; e10 > bound {
			t.Errorf("%s error at 10 steps %.3g > %.3g", what, e10, bound)
		}
		if ratio := e10 / e20; ratio < 8 || ratio > 32 {
			t.Errorf("%s error ratio 10 vs 20 steps = %.3g, want ≈ 16 (fourth order)", what, ratio)
		}
	}
}

// TestForwardMatchesIntegrate checks that the unrolled graph and the
// numeric solver compute the same z(T) (two implementations of one RK4).
func TestForwardMatchesIntegrate(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	c, err := ode.NewFFJORD(ode.FFJORDConfig{Dim: 3, Hidden: []int{5}, Steps: 5, EndTime: 0.7, Dtype: tensor.Float64}, rng)
	if err != nil {
		t.Fatal(err)
	}
	x := randTensor(rng, 2, 3)
	_, y, _, m := forwardGraph(t, c, x)
	defer m.Close()
	got := run(t, m, y)
	want, err := c.Integrate(x, 0, 0.7, 5)
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range want.Data().([]float64) {
		if d := math.Abs(got[i] - w); d > 1e-13 {
			t.Errorf("z(T)[%d]: graph %.15g, Integrate %.15g (diff %.3g)", i, got[i], w, d)
		}
	}
}

// TestRoundTripFloat32 checks Inverse(Forward(x)) in float32: each inverse
// step stops at the float32 default tolerance 1e-6·(1 + max |x|), and 10
// steps of rounding at ~1e-7 relative add up to well under 1e-4.
func TestRoundTripFloat32(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	c, err := ode.NewFFJORD(ode.FFJORDConfig{Dim: 2, Hidden: []int{16, 16}}, rng)
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.New(tensor.WithShape(5, 2), tensor.WithBacking(make([]float32, 10)))
	xd := x.Data().([]float32)
	for i := range xd {
		xd[i] = float32(rng.NormFloat64())
	}
	y, err := blocks.Apply(c, x)
	if err != nil {
		t.Fatal(err)
	}
	back, err := c.Inverse(y)
	if err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for i, v := range back.Data().([]float32) {
		worst = math.Max(worst, math.Abs(float64(v-xd[i])))
	}
	if worst > 1e-4 {
		t.Errorf("float32 round trip error %.3g > 1e-4", worst)
	}
}

// TestInverseNotConverged checks that a step too large for the fixed-point
// refinement (h·Lip(f) ≫ 1) reports a *blocks.NotConvergedError.
func TestInverseNotConverged(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	c, err := ode.NewFFJORD(ode.FFJORDConfig{Dim: 2, Hidden: []int{8}, Steps: 1, EndTime: 50, InverseMaxIter: 20, Dtype: tensor.Float64}, rng)
	if err != nil {
		t.Fatal(err)
	}
	for _, nt := range c.Tensors() { // make the dynamics stiff
		d := nt.Value.Data().([]float64)
		for i := range d {
			d[i] *= 4
		}
	}
	_, err = c.Inverse(randTensor(rng, 2, 2))
	var nc *blocks.NotConvergedError
	if !errors.As(err, &nc) {
		t.Fatalf("Inverse = %v, want a *blocks.NotConvergedError", err)
	}
}

// TestForwardWithExact checks that ForwardWith(estimator.Exact{}) on a
// Hutchinson-configured CNF gives the log-det of the same weights
// configured with the exact trace, also through a blocks.Chain, and that
// other estimators keep the configured Hutchinson trace (it then differs
// from the exact value).
func TestForwardWithExact(t *testing.T) {
	cfg := ode.FFJORDConfig{Dim: 3, Hidden: []int{6}, Steps: 3, Dtype: tensor.Float64}
	hutch, err := ode.NewFFJORD(cfg, rand.New(rand.NewPCG(71, 72)))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Trace = ode.ExactTrace
	exact, err := ode.NewFFJORD(cfg, rand.New(rand.NewPCG(71, 72)))
	if err != nil {
		t.Fatal(err)
	}
	x := randTensor(rand.New(rand.NewPCG(73, 74)), 2, 3)
	_, _, ldE, mE := forwardGraph(t, exact, x)
	want := run(t, mE, ldE)
	mE.Close()
	// Wrapped in a blocks.Chain, as a trainer holding a *blocks.Chain model
	// would, the estimator must reach the CNF too.
	chain, err := blocks.NewChain(hutch)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		f     blocks.Bijector
		est   estimator.Estimator
		exact bool
	}{
		{"Exact", hutch, estimator.Exact{}, true},
		{"*Exact", hutch, &estimator.Exact{}, true},
		{"PowerSeries", hutch, estimator.PowerSeries{}, false},
		{"chain/Exact", chain, estimator.Exact{}, true},
		{"chain/nil", chain, nil, false},
	} {
		b, err := graph.NewBuilder(tensor.Float64)
		if err != nil {
			t.Fatal(err)
		}
		xn, err := b.Input("x", x)
		if err != nil {
			t.Fatal(err)
		}
		_, ld, err := blocks.ForwardWith(b, c.f, xn, c.est)
		if err != nil {
			t.Fatal(err)
		}
		m := G.NewTapeMachine(b.Graph())
		got := run(t, m, ld)
		m.Close()
		for r := range want {
			same := math.Abs(got[r]-want[r]) <= 1e-14
			if same != c.exact {
				t.Errorf("ForwardWith(%s) log-det[%d] = %.15g, exact-trace model %.15g; want equal: %v", c.name, r, got[r], want[r], c.exact)
			}
		}
	}
}

// TestChooseSteps checks the error-controlled step count on the strongly
// nonlinear model of TestRK4Error: the returned estimate is within the
// tolerance, the true error of z(T) against a 1000-step reference is within
// the tolerance and within a factor 2 of the estimate (the Richardson
// estimate is asymptotically exact), and half as many steps would not have
// met the tolerance.
func TestChooseSteps(t *testing.T) {
	const tol = 1e-5
	c, err := ode.NewFFJORD(ode.FFJORDConfig{Dim: 2, Hidden: []int{16, 16}, Steps: 2, Dtype: tensor.Float64}, rand.New(rand.NewPCG(21, 22)))
	if err != nil {
		t.Fatal(err)
	}
	for _, nt := range c.Tensors() {
		d := nt.Value.Data().([]float64)
		for i := range d {
			d[i] *= rk4Scale
		}
	}
	x := randTensor(rand.New(rand.NewPCG(23, 24)), 3, 2)
	steps, est, err := c.ChooseSteps(x, tol, 1000)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := c.Integrate(x, 0, 1, 1000)
	if err != nil {
		t.Fatal(err)
	}
	maxErr := func(s int) float64 {
		z, err := c.Integrate(x, 0, 1, s)
		if err != nil {
			t.Fatal(err)
		}
		e := 0.0
		for i, v := range z.Data().([]float64) {
			e = math.Max(e, math.Abs(v-ref.Data().([]float64)[i]))
		}
		return e
	}
	got := maxErr(steps)
	t.Logf("ChooseSteps(tol %g) = %d steps, estimate %.3g, error vs 1000 steps %.3g; %d steps: error %.3g", tol, steps, est, got, steps/2, maxErr(steps/2))
	if est > tol || got > tol || got > 2*est || est > 2*got {
		t.Errorf("%d steps: estimate %.3g, true error %.3g; want both ≤ %g and within a factor 2 of each other", steps, est, got, tol)
	}
	if steps > 2 && maxErr(steps/2) <= tol {
		t.Errorf("%d steps already had error %.3g ≤ %g", steps/2, maxErr(steps/2), tol)
	}
	w, err := c.WithSteps(steps)
	if err != nil {
		t.Fatal(err)
	}
	if w.Config().Steps != steps || &w.Tensors()[0].Value.Data().([]float64)[0] != &c.Tensors()[0].Value.Data().([]float64)[0] {
		t.Errorf("WithSteps(%d) does not share the parameters or has steps %d", steps, w.Config().Steps)
	}
	if _, _, err := c.ChooseSteps(x, 1e-14, 64); err == nil {
		t.Error("an unreachable tolerance gave no error")
	}
}
