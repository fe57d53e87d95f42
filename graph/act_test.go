package graph

import (
	"math"
	"testing"
)

// TestActivationDerivatives compares each derivative order with a central
// finite difference of the order below, away from the kinks of ReLU and ELU.
func TestActivationDerivatives(t *testing.T) {
	const h, tol = 1e-6, 1e-6
	points := []float64{-3.1, -1.2, -0.4, 0.3, 0.9, 2.5}
	for _, act := range []Activation{ReLU, ELU, LipSwish, Softplus, Identity} {
		for order := 1; order <= maxActOrder; order++ {
			f, df := ActivationFunc(act, order-1), ActivationFunc(act, order)
			for _, x := range points {
				fd := (f(x+h) - f(x-h)) / (2 * h)
				if d := math.Abs(df(x) - fd); d > tol {
					t.Errorf("%v order %d at %g: %g, finite difference %g (diff %g)", act, order, x, df(x), fd, d)
				}
			}
		}
	}
}

// TestActivationsAreOneLipschitz checks sup|φ'| ≤ 1 on a dense grid, the
// property that keeps Lip(g) ≤ ∏‖Wᵢ‖₂.
func TestActivationsAreOneLipschitz(t *testing.T) {
	for _, act := range []Activation{ReLU, ELU, LipSwish, Softplus} {
		d := ActivationFunc(act, 1)
		for x := -20.0; x <= 20; x += 1e-3 {
			if v := math.Abs(d(x)); v > 1 {
				t.Fatalf("|%v'(%g)| = %g > 1", act, x, v)
			}
		}
	}
}

// TestExpf bounds the float32 exponential's relative error against math.Exp
// over the range the activations use.
func TestExpf(t *testing.T) {
	const tol = 3e-7 // ≈ 2.5 ulp of float32
	worst := 0.0
	for x := float32(-80); x <= 80; x += 0.0137 {
		want := math.Exp(float64(x))
		got := float64(expf(x))
		worst = math.Max(worst, math.Abs(got-want)/want)
	}
	if worst > tol {
		t.Errorf("expf relative error %.3g > %.3g", worst, tol)
	}
	if expf(-100) != 0 || !math.IsInf(float64(expf(100)), 1) {
		t.Errorf("expf(−100) = %v, expf(100) = %v; want 0 and +Inf", expf(-100), expf(100))
	}
}

// TestActKernel32 checks the specialized float32 kernels against the
// float64 reference functions.
func TestActKernel32(t *testing.T) {
	x := make([]float32, 0, 2000)
	for v := float32(-12); v < 12; v += 0.0121 {
		x = append(x, v)
	}
	out := make([]float32, len(x))
	for _, act := range []Activation{ELU, ReLU} {
		for order := 0; order <= maxActOrder; order++ {
			if !actKernel32(act, order, x, out) {
				t.Fatalf("%v order %d not specialized", act, order)
			}
			f := ActivationFunc(act, order)
			for i, v := range x {
				want := f(float64(v))
				if d := math.Abs(float64(out[i]) - want); d > 3e-7*math.Max(1, math.Abs(want)) {
					t.Fatalf("%v^(%d)(%g) = %g, want %g", act, order, v, out[i], want)
				}
			}
		}
	}
}
