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
