package blocks_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/graph"
	"gonum.org/v1/gonum/mat"
	"gorgonia.org/tensor"
)

// orthogonal returns the Q factor of an n×n Gaussian matrix.
func orthogonal(n int, rng *rand.Rand) *mat.Dense {
	a := mat.NewDense(n, n, nil)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			a.Set(i, j, rng.NormFloat64())
		}
	}
	var qr mat.QR
	qr.Factorize(a)
	var q mat.Dense
	qr.QTo(&q)
	return &q
}

// symmetricDense returns a dense block on R^d with one hidden layer of d
// and weights W₁ = Q, W₂ = Qᵀ for an orthogonal Q, which spectral
// normalization scales to c each: g(x) = c²Qᵀφ(cQx + b₁) + b₂ has the
// symmetric Jacobian c²QᵀDQ with eigenvalues in [0, c²], so plain
// iteration contracts by up to c² per step where the ELU is near linear.
func symmetricDense(t *testing.T, d int, l blocks.Lipschitz, rng *rand.Rand) *blocks.Residual {
	t.Helper()
	l.Act = graph.ELU
	r := dense(t, d, []int{d}, l, rng)
	q := orthogonal(d, rng)
	var ws []*tensor.Dense
	for _, nt := range r.Tensors() {
		if nt.Learnable && nt.Value.Dims() == 2 {
			ws = append(ws, nt.Value)
		}
	}
	if len(ws) != 2 {
		t.Fatalf("%d weight matrices, want 2", len(ws))
	}
	ldStore(ws[0], q.RawMatrix().Data)
	ldStore(ws[1], mat.DenseCopyOf(q.T()).RawMatrix().Data)
	if err := r.UpdateSpectralNorms(500); err != nil {
		t.Fatal(err)
	}
	return r
}

// inverseWith sets the block's fixed-point settings and inverts y.
func inverseWith(t *testing.T, r *blocks.Residual, fp blocks.FixedPoint, y *tensor.Dense) (*tensor.Dense, blocks.FixedPointStats, error) {
	t.Helper()
	if err := r.SetInverse(fp); err != nil {
		t.Fatal(err)
	}
	return r.InverseWithStats(y)
}

// TestAndersonInverseRoundTrip: the Anderson inverse of dense and conv
// blocks returns the very x that was mapped forward (the oracle is the
// input itself), F of the answer, by the forward graph, is y, and it takes
// no more evaluations of g than plain iteration.
func TestAndersonInverseRoundTrip(t *testing.T) {
	cases := []struct {
		name  string
		shape []int
		build func(t *testing.T, l blocks.Lipschitz, rng *rand.Rand) *blocks.Residual
	}{
		{"dense d=8 elu", []int{6, 8}, func(t *testing.T, l blocks.Lipschitz, rng *rand.Rand) *blocks.Residual {
			l.Act, l.InputAct = graph.ELU, true
			return dense(t, 8, []int{32, 32}, l, rng)
		}},
		{"dense symmetric d=16", []int{32, 16}, func(t *testing.T, l blocks.Lipschitz, rng *rand.Rand) *blocks.Residual {
			return symmetricDense(t, 16, l, rng)
		}},
		{"conv 2x4x4", []int{3, 2, 4, 4}, func(t *testing.T, l blocks.Lipschitz, rng *rand.Rand) *blocks.Residual {
			l.Act = graph.LipSwish
			return conv(t, 2, 4, 4, 8, l, rng)
		}},
	}
	for _, dt := range []struct {
		dtype tensor.Dtype
		tol   float64
	}{{tensor.Float64, roundTripTol64}, {tensor.Float32, roundTripTol32}} {
		for _, c := range cases {
			for _, coeff := range []float64{0.5, 0.9, 0.99} {
				t.Run(fmt.Sprintf("%v/%s/c=%g", dt.dtype, c.name, coeff), func(t *testing.T) {
					rng := rand.New(rand.NewPCG(21, 1))
					r := c.build(t, blocks.Lipschitz{Coeff: coeff, Dtype: dt.dtype}, rng)
					x := randTensor(dt.dtype, rng, c.shape...)
					y, err := blocks.Apply(r, x)
					if err != nil {
						t.Fatal(err)
					}
					back, st, err := inverseWith(t, r, blocks.FixedPoint{Method: blocks.MethodAnderson}, y)
					if err != nil {
						t.Fatal(err)
					}
					// |x̂ − x| ≤ Tol·(1 + max|x|)·L/(1 − L) with L ≤ c³.
					if d := maxAbsDiff(back, x); d > dt.tol {
						t.Errorf("max |F⁻¹(F(x)) − x| = %.3g > %.3g", d, dt.tol)
					}
					fx, err := blocks.Apply(r, back)
					if err != nil {
						t.Fatal(err)
					}
					if d := maxAbsDiff(fx, y); d > dt.tol {
						t.Errorf("max |F(x̂) − y| = %.3g > %.3g", d, dt.tol)
					}
					// Plain iteration may need more than the default 500
					// iterations at c = 0.99 (see FixedPoint.MaxIter), and
					// in float32 it may not reach the tolerance at all
					// there: rounding noise in g, amplified by 1/(1 − L).
					_, plain, err := inverseWith(t, r, blocks.FixedPoint{Method: blocks.MethodPlain, MaxIter: 2000}, y)
					var nc *blocks.NotConvergedError
					if err != nil && !errors.As(err, &nc) {
						t.Fatal(err)
					}
					if st.Iter > plain.Iter {
						t.Errorf("Anderson used %d evaluations, plain iteration %d", st.Iter, plain.Iter)
					}
					t.Logf("%d evaluations (plain %d), %d fallbacks, residual %.3g", st.Iter, plain.Iter, st.Fallbacks, st.Residual)
				})
			}
		}
	}
}

// TestAndersonHalvesEvaluations: at c = 0.9 Anderson acceleration needs
// at most half the evaluations of g that plain iteration needs, at tol
// 1e-5 and at the float64 default, on seeded blocks whose g is close to
// its Lipschitz bound, and both answers agree with the input.
func TestAndersonHalvesEvaluations(t *testing.T) {
	for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
		for _, tol := range []float64{1e-5, 0} {
			rng := rand.New(rand.NewPCG(22, 1))
			r := symmetricDense(t, 16, blocks.Lipschitz{Coeff: 0.9, Dtype: dt}, rng)
			x := randTensor(dt, rng, 64, 16)
			y, err := blocks.Apply(r, x)
			if err != nil {
				t.Fatal(err)
			}
			backP, plain, err := inverseWith(t, r, blocks.FixedPoint{Tol: tol, Method: blocks.MethodPlain}, y)
			if err != nil {
				t.Fatal(err)
			}
			backA, and, err := inverseWith(t, r, blocks.FixedPoint{Tol: tol, Method: blocks.MethodAnderson}, y)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%v tol %g: plain %d evaluations, Anderson %d (%d fallbacks)", dt, tol, plain.Iter, and.Iter, and.Fallbacks)
			if 2*and.Iter > plain.Iter {
				t.Errorf("%v tol %g: Anderson used %d evaluations, plain %d; want at most half", dt, tol, and.Iter, plain.Iter)
			}
			// The error bound Tol·(1 + max|x|)·L/(1 − L) at L = c² = 0.81.
			bound := 1e-5 * (1 + 4) * 0.81 / 0.19
			if tol == 0 {
				bound = roundTripTol64
				if dt == tensor.Float32 {
					bound = roundTripTol32
				}
			}
			if dp, da := maxAbsDiff(backP, x), maxAbsDiff(backA, x); dp > bound || da > bound {
				t.Errorf("%v tol %g: max error plain %.3g, Anderson %.3g; want ≤ %.3g", dt, tol, dp, da, bound)
			}
		}
	}
}

// TestAndersonNotConverged: too few iterations give a *NotConvergedError
// carrying the last iterate, in both dtypes and both methods.
func TestAndersonNotConverged(t *testing.T) {
	for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
		for _, m := range []blocks.InverseMethod{blocks.MethodAnderson, blocks.MethodPlain} {
			rng := rand.New(rand.NewPCG(23, 1))
			r := symmetricDense(t, 16, blocks.Lipschitz{Coeff: 0.9, Dtype: dt}, rng)
			x := randTensor(dt, rng, 8, 16)
			y, err := blocks.Apply(r, x)
			if err != nil {
				t.Fatal(err)
			}
			back, st, err := inverseWith(t, r, blocks.FixedPoint{MaxIter: 3, Method: m}, y)
			var nc *blocks.NotConvergedError
			if !errors.As(err, &nc) || back != nil {
				t.Fatalf("%v %s: MaxIter 3 returned %v, %v; want a *NotConvergedError", dt, m, back, err)
			}
			if nc.Iter != 3 || st.Iter != 3 || nc.Last == nil || !nc.Last.Shape().Eq(x.Shape()) || !(nc.Residual > nc.Tol) {
				t.Errorf("%v %s: error %+v, stats %+v; want 3 iterations, a residual above the tolerance and the last iterate", dt, m, nc, st)
			}
			for _, v := range floats(nc.Last) {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("%v %s: last iterate not finite", dt, m)
				}
			}
		}
	}
}

// TestInverseMethodDefault: the zero Method is Anderson for spectrally
// normalized blocks and plain iteration for unconstrained ones (whose
// inverse must fail as the paper's vanilla network does); the result is
// then identical to asking for that method.
func TestInverseMethodDefault(t *testing.T) {
	for _, unconstrained := range []bool{false, true} {
		rng := rand.New(rand.NewPCG(24, 1))
		l := blocks.Lipschitz{Coeff: 0.9, Act: graph.ELU, Dtype: tensor.Float64, Unconstrained: unconstrained}
		r := conv(t, 2, 4, 4, 8, l, rng)
		x := randTensor(tensor.Float64, rng, 2, 2, 4, 4)
		y, err := blocks.Apply(r, x)
		if err != nil {
			t.Fatal(err)
		}
		if m := r.InverseConfig().Method; m != blocks.MethodAuto {
			t.Fatalf("default method %q, want MethodAuto", m)
		}
		want := blocks.MethodAnderson
		if unconstrained {
			want = blocks.MethodPlain
		}
		auto, stAuto, errAuto := r.InverseWithStats(y)
		explicit, stExplicit, errExplicit := inverseWith(t, r, blocks.FixedPoint{Method: want}, y)
		if errAuto != nil || errExplicit != nil {
			t.Fatalf("unconstrained %v: errors %v, %v", unconstrained, errAuto, errExplicit)
		}
		if d := maxAbsDiff(auto, explicit); d != 0 || stAuto != stExplicit {
			t.Errorf("unconstrained %v: default and %s differ by %.3g (%+v vs %+v)", unconstrained, want, d, stAuto, stExplicit)
		}
	}
}

// TestFixedPointConfig: invalid settings are rejected, and the JSON form
// of settings written before Method existed decodes to the default.
func TestFixedPointConfig(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 1))
	for _, fp := range []blocks.FixedPoint{
		{Method: "newton"},
		{Anderson: blocks.AndersonConfig{Window: -1}},
		{Anderson: blocks.AndersonConfig{Damping: 1.5}},
		{Anderson: blocks.AndersonConfig{Damping: -0.5}},
	} {
		if _, err := blocks.NewDense(blocks.DenseConfig{Dim: 2, Lipschitz: blocks.Lipschitz{Inverse: fp}}, rng); err == nil {
			t.Errorf("NewDense accepted %+v", fp)
		}
	}
	var fp blocks.FixedPoint
	if err := json.Unmarshal([]byte(`{"tol": 1e-9, "max_iter": 300}`), &fp); err != nil {
		t.Fatal(err)
	}
	if fp.Method != blocks.MethodAuto || fp.Anderson != (blocks.AndersonConfig{}) {
		t.Errorf("old JSON decoded to %+v, want the default method", fp)
	}
	b, err := json.Marshal(blocks.FixedPoint{Method: blocks.MethodPlain, Anderson: blocks.AndersonConfig{Window: 3}})
	if err != nil {
		t.Fatal(err)
	}
	var back blocks.FixedPoint
	if err := json.Unmarshal(b, &back); err != nil || back.Method != blocks.MethodPlain || back.Anderson.Window != 3 {
		t.Errorf("JSON round trip %s gave %+v, %v", b, back, err)
	}
}

// TestAndersonSettings: other windows and damping factors invert as
// accurately, in no more evaluations than plain iteration.
func TestAndersonSettings(t *testing.T) {
	rng := rand.New(rand.NewPCG(26, 1))
	r := symmetricDense(t, 16, blocks.Lipschitz{Coeff: 0.9, Dtype: tensor.Float64}, rng)
	x := randTensor(tensor.Float64, rng, 16, 16)
	y, err := blocks.Apply(r, x)
	if err != nil {
		t.Fatal(err)
	}
	_, plain, err := inverseWith(t, r, blocks.FixedPoint{Method: blocks.MethodPlain}, y)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []blocks.AndersonConfig{{Window: 1}, {Window: 3, Damping: 0.5}, {Window: 10, Damping: 0.8}} {
		back, st, err := inverseWith(t, r, blocks.FixedPoint{Method: blocks.MethodAnderson, Anderson: a}, y)
		if err != nil {
			t.Fatalf("%+v: %v", a, err)
		}
		if d := maxAbsDiff(back, x); d > roundTripTol64 || st.Iter > plain.Iter {
			t.Errorf("%+v: max error %.3g, %d evaluations (plain %d)", a, d, st.Iter, plain.Iter)
		}
		t.Logf("%+v: %d evaluations (plain %d), %d fallbacks", a, st.Iter, plain.Iter, st.Fallbacks)
	}
}
