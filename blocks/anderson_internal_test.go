package blocks

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
	"gorgonia.org/tensor"
)

// affineG returns g(x) = A x_r + c_r for each row x_r of a batch of rows
// of width d, with A = 0.9·M/‖M‖₂ for a Gaussian M: Lip(g) = 0.9.
func affineG(t *testing.T, d, rows int, rng *rand.Rand) (batchG, *mat.Dense, []float64) {
	t.Helper()
	m := mat.NewDense(d, d, nil)
	for i := 0; i < d; i++ {
		for j := 0; j < d; j++ {
			m.Set(i, j, rng.NormFloat64())
		}
	}
	var svd mat.SVD
	if !svd.Factorize(m, mat.SVDNone) {
		t.Fatal("SVD failed")
	}
	m.Scale(0.9/svd.Values(nil)[0], m)
	c := make([]float64, rows*d)
	for i := range c {
		c[i] = rng.NormFloat64()
	}
	g := func(x, gx []float64) error {
		for r := 0; r < rows; r++ {
			xr := mat.NewVecDense(d, x[r*d:(r+1)*d])
			out := mat.NewVecDense(d, gx[r*d:(r+1)*d])
			out.MulVec(m, xr)
			for i := 0; i < d; i++ {
				gx[r*d+i] += c[r*d+i]
			}
		}
		return nil
	}
	return g, m, c
}

// TestAndersonSolvesAffineMapsExactly: for an affine g on R^d and a window
// m ≥ d, Anderson acceleration with β = 1 is a multisecant method that
// recovers the linear map after d + 1 evaluations, so it reaches the
// solution of (I + A)x = y − c (solved here by gonum's LU) to rounding
// within d + 3 evaluations, where plain iteration needs dozens.
func TestAndersonSolvesAffineMapsExactly(t *testing.T) {
	const d, rows = 4, 3
	rng := rand.New(rand.NewPCG(11, 1))
	g, a, c := affineG(t, d, rows, rng)
	y := make([]float64, rows*d)
	for i := range y {
		y[i] = 3 * rng.NormFloat64()
	}
	fp := FixedPoint{Tol: 1e-12, MaxIter: 500, Anderson: AndersonConfig{Window: 5}}
	x, st, err := andersonSolve(y, rows, g, fp, func([]float64) {})
	if err != nil {
		t.Fatal(err)
	}
	var ia mat.Dense
	ia.Add(mat.NewDiagDense(d, []float64{1, 1, 1, 1}), a)
	for r := 0; r < rows; r++ {
		rhs := mat.NewVecDense(d, nil)
		for i := 0; i < d; i++ {
			rhs.SetVec(i, y[r*d+i]-c[r*d+i])
		}
		var want mat.VecDense
		if err := want.SolveVec(&ia, rhs); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < d; i++ {
			if e := math.Abs(x[r*d+i] - want.AtVec(i)); e > 1e-10 {
				t.Errorf("row %d, x[%d] = %.15g, LU solution %.15g (error %.2g)", r, i, x[r*d+i], want.AtVec(i), e)
			}
		}
	}
	if st.Iter > d+3 || st.Fallbacks != 0 {
		t.Errorf("Anderson used %d evaluations with %d fallbacks; an affine map in %d dimensions needs at most %d and none", st.Iter, st.Fallbacks, d, d+3)
	}
	_, stPlain, err := plainSolve(y, g, fp)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("affine d = %d: Anderson %d evaluations, plain %d", d, st.Iter, stPlain.Iter)
	if stPlain.Iter < 5*st.Iter {
		t.Errorf("plain iteration used %d evaluations, Anderson %d: expected a far larger gap at Lip = 0.9", stPlain.Iter, st.Iter)
	}

	// The third evaluation is the first extrapolation (x₀ = y, x₁ = G(x₀)
	// plain, x₂ Anderson); make g non-finite there for row 1 only. The
	// safeguard must reject that step, restart the row, and still solve.
	calls := 0
	nanOnce := func(x, gx []float64) error {
		calls++
		if err := g(x, gx); err != nil {
			return err
		}
		if calls == 3 {
			gx[d] = math.NaN()
		}
		return nil
	}
	x2, st2, err := andersonSolve(y, rows, nanOnce, fp, func([]float64) {})
	if err != nil {
		t.Fatal(err)
	}
	if st2.Fallbacks != 1 {
		t.Errorf("%d fallbacks, want 1 (the NaN step)", st2.Fallbacks)
	}
	for i := range x {
		if e := math.Abs(x2[i] - x[i]); e > 1e-10 {
			t.Errorf("after a rejected NaN step x[%d] = %.15g, want %.15g", i, x2[i], x[i])
		}
	}
	t.Logf("with one NaN step: %d evaluations", st2.Iter)
}

// sawtooth is the elementwise contraction g(x) = L·tri(ωx)/ω, a triangle
// wave with slopes ±L that changes slope every π/ω: no secant model of it
// holds across a kink, which makes Anderson extrapolations overshoot.
func sawtooth(l, omega float64) func(float64) float64 {
	return func(x float64) float64 {
		u := math.Mod(omega*x, 2)
		if u < 0 {
			u += 2
		}
		return l * (1 - math.Abs(u-1)) / omega
	}
}

// TestAndersonFallbackConverges: on a nonsmooth contraction the safeguard
// rejects extrapolations (Fallbacks > 0) and the solve still converges to
// the solution of x + g(x) = y, which is found independently by bisection
// of the increasing scalar function x ↦ x + g(x) − y per element.
func TestAndersonFallbackConverges(t *testing.T) {
	const rows, d, l = 8, 3, 0.95
	h := sawtooth(l, 7)
	g := func(x, gx []float64) error {
		for i, v := range x {
			gx[i] = h(v)
		}
		return nil
	}
	rng := rand.New(rand.NewPCG(12, 1))
	y := make([]float64, rows*d)
	for i := range y {
		y[i] = 4 * rng.NormFloat64()
	}
	fp := FixedPoint{Tol: 1e-10, MaxIter: 2000}
	fp, err := fp.withDefaults(tensor.Float64)
	if err != nil {
		t.Fatal(err)
	}
	x, st, err := andersonSolve(y, rows, g, fp, func([]float64) {})
	if err != nil {
		t.Fatal(err)
	}
	for i, yi := range y {
		lo, hi := yi-1, yi+1 // |g| ≤ L/ω < 1
		for k := 0; k < 200; k++ {
			mid := (lo + hi) / 2
			if mid+h(mid) < yi {
				lo = mid
			} else {
				hi = mid
			}
		}
		// |x − x*| ≤ Tol·(1 + max|x|)·L/(1 − L) by the stopping rule.
		if e := math.Abs(x[i] - lo); e > 1e-10*(1+maxAbs(x))*l/(1-l) {
			t.Errorf("x[%d] = %.15g, bisection %.15g (error %.2g)", i, x[i], lo, e)
		}
	}
	_, stPlain, err := plainSolve(y, g, fp)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("sawtooth: Anderson %d evaluations with %d fallbacks, plain %d", st.Iter, st.Fallbacks, stPlain.Iter)
	if st.Fallbacks == 0 {
		t.Error("no Anderson step was rejected; the test does not exercise the fallback")
	}
	if st.Iter > stPlain.Iter {
		t.Errorf("Anderson with fallbacks used %d evaluations, plain %d: want no more", st.Iter, stPlain.Iter)
	}
}

// TestAndersonDivergenceAndCap: on a map that is no contraction the solve
// either returns the right answer or reports a *NotConvergedError (no
// other error), and a contraction given too few iterations reports a
// *NotConvergedError with its last iterate.
func TestAndersonDivergenceAndCap(t *testing.T) {
	expand := func(x, gx []float64) error {
		for i, v := range x {
			gx[i] = -3 * v
		}
		return nil
	}
	y := []float64{1, 2, 3, 4}
	fp := FixedPoint{Tol: 1e-12, MaxIter: 50}
	fp, err := fp.withDefaults(tensor.Float64)
	if err != nil {
		t.Fatal(err)
	}
	// x + g(x) = −2x = y has the solution −y/2, which a secant method can
	// find though x ↦ y − g(x) is no contraction: the answer must still be
	// right when it is returned.
	var nc *NotConvergedError
	if x, _, err := andersonSolve(y, 2, expand, fp, func([]float64) {}); err == nil {
		for i := range y {
			if math.Abs(x[i]+y[i]/2) > 1e-9 {
				t.Errorf("x[%d] = %g, want %g", i, x[i], -y[i]/2)
			}
		}
	} else if !errors.As(err, &nc) {
		t.Errorf("expanding map: %v, want a *NotConvergedError or the answer", err)
	}
	g, _, _ := affineG(t, 4, 2, rand.New(rand.NewPCG(13, 1)))
	fp.MaxIter = 3
	last, st, err := andersonSolve([]float64{1, 2, 3, 4, 5, 6, 7, 8}, 2, g, fp, func([]float64) {})
	if !errors.As(err, &nc) || nc.Iter != 3 || st.Iter != 3 || len(last) != 8 {
		t.Fatalf("3 iterations: error %v, stats %+v, %d values; want a *NotConvergedError after 3 and the last iterate", err, st, len(last))
	}
}

// BenchmarkAndersonOverhead times the Anderson bookkeeping per evaluation
// of g, next to plain iteration, on a batch of 32 rows of 784 values (the
// first scale of the small MNIST model) with an elementwise g that costs
// next to nothing: the difference is what Anderson adds per iteration.
func BenchmarkAndersonOverhead(b *testing.B) {
	const rows, d = 32, 784
	g := func(x, gx []float64) error {
		for i, v := range x {
			gx[i] = 0.9 * v / (1 + v*v)
		}
		return nil
	}
	rng := rand.New(rand.NewPCG(14, 1))
	y := make([]float64, rows*d)
	for i := range y {
		y[i] = rng.NormFloat64()
	}
	fp := FixedPoint{Tol: 1e-300, MaxIter: 40} // never converges: 40 iterations
	fp, err := fp.withDefaults(tensor.Float64)
	if err != nil {
		b.Fatal(err)
	}
	for _, m := range []InverseMethod{MethodPlain, MethodAnderson} {
		b.Run(string(m), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if m == MethodPlain {
					_, _, err = plainSolve(y, g, fp)
				} else {
					_, _, err = andersonSolve(y, rows, g, fp, func([]float64) {})
				}
				var nc *NotConvergedError
				if !errors.As(err, &nc) {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*fp.MaxIter*rows*d), "ns/value/iter")
		})
	}
}

// TestNotConvergedMessage: a solve that blew up says it diverged and
// where (its residual is NaN, and "residual NaN > tolerance NaN" told a
// user nothing), one that ran out of iterations gives the residual
// against the tolerance.
func TestNotConvergedMessage(t *testing.T) {
	for _, c := range []struct {
		err  NotConvergedError
		want string
	}{
		{NotConvergedError{Iter: 7, Residual: math.NaN(), Tol: math.NaN()}, "diverged: the iterate overflowed to NaN or ±Inf at iteration 7"},
		{NotConvergedError{Iter: 7, Residual: math.Inf(1), Tol: 1e-6}, "diverged: the iterate overflowed to NaN or ±Inf at iteration 7"},
		{NotConvergedError{Iter: 3, Residual: 1e-3, Tol: 1e-6}, "did not converge in 3 iterations (residual 0.001 > tolerance 1e-06)"},
	} {
		if got := c.err.Error(); !strings.Contains(got, c.want) {
			t.Errorf("%+v: %q, want it to contain %q", c.err, got, c.want)
		}
	}
}
