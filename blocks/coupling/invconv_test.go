package coupling_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/iresnet/iresnet/blocks/blockstest"
	"github.com/iresnet/iresnet/blocks/coupling"
	"gonum.org/v1/gonum/mat"
	"gorgonia.org/tensor"
)

// logDetTol is the agreement of two float64 computations of one log-det
// of a 5×5 matrix: rounding only.
const logDetTol = 1e-10

// TestInvConv1x1LogDet checks the 1×1 convolution's log-det against
// log|det W| of W assembled here from the stored factors P, L, U, sign and
// log|s| with gonum, after moving every learned factor off its start.
func TestInvConv1x1LogDet(t *testing.T) {
	const c, h, w = 5, 2, 3
	rng := rand.New(rand.NewPCG(7, 7))
	ic, err := coupling.NewInvConv1x1(c, tensor.Float64, rng)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string][]float64{}
	for _, nt := range ic.Tensors() {
		d := nt.Value.Data().([]float64)
		if nt.Learnable {
			for i := range d {
				d[i] += 0.3 * rng.NormFloat64()
			}
		}
		byName[nt.Name] = d
	}
	// W = P·(L ⊙ strict-lower + I)·(U ⊙ strict-upper + diag(sign·exp(log_s))).
	p := mat.NewDense(c, c, byName["p"])
	l, u := mat.NewDense(c, c, nil), mat.NewDense(c, c, nil)
	for i := 0; i < c; i++ {
		for j := 0; j < c; j++ {
			switch {
			case i == j:
				l.Set(i, j, 1)
				u.Set(i, j, byName["sign"][i]*math.Exp(byName["log_s"][i]))
			case j < i:
				l.Set(i, j, byName["l"][i*c+j])
			default:
				u.Set(i, j, byName["u"][i*c+j])
			}
		}
	}
	var wm mat.Dense
	wm.Mul(p, l)
	wm.Mul(&wm, u)
	want := math.Log(math.Abs(mat.Det(&wm))) * h * w

	x := tensor.New(tensor.WithShape(2, c, h, w), tensor.WithBacking(make([]float64, 2*c*h*w)))
	for i, d := 0, x.Data().([]float64); i < len(d); i++ {
		d[i] = rng.NormFloat64()
	}
	y, ld, err := blockstest.ForwardValues(ic, x)
	if err != nil {
		t.Fatal(err)
	}
	for r, got := range ld.Data().([]float64) {
		if diff := math.Abs(got - want); diff > logDetTol*(1+math.Abs(want)) {
			t.Errorf("log-det[%d] = %.14g, H·W·log|det W| = %.14g (diff %.3g)", r, got, want, diff)
		}
	}
	// And y is W applied to each pixel's channel vector.
	xd, yd := x.Data().([]float64), y.Data().([]float64)
	for n := 0; n < 2; n++ {
		for k := 0; k < h*w; k++ {
			for i := 0; i < c; i++ {
				var s float64
				for j := 0; j < c; j++ {
					s += wm.At(i, j) * xd[(n*c+j)*h*w+k]
				}
				if got := yd[(n*c+i)*h*w+k]; math.Abs(got-s) > 1e-12*(1+math.Abs(s)) {
					t.Fatalf("y[%d, %d, pixel %d] = %.14g, (W·x) = %.14g", n, i, k, got, s)
				}
			}
		}
	}
	if wg := ic.Weight(); !mat.EqualApprox(wg, &wm, 1e-12) {
		t.Errorf("Weight() differs from the assembled W:\n%v\nwant\n%v", mat.Formatted(wg), mat.Formatted(&wm))
	}
}

// TestInvConv1x1StartsOrthogonal checks the initialization: W is a random
// rotation, so WᵀW = I and |log|det W|| ≈ 0.
func TestInvConv1x1StartsOrthogonal(t *testing.T) {
	ic, err := coupling.NewInvConv1x1(6, tensor.Float64, rand.New(rand.NewPCG(3, 3)))
	if err != nil {
		t.Fatal(err)
	}
	w := ic.Weight()
	var wtw mat.Dense
	wtw.Mul(w.T(), w)
	id := mat.NewDiagDense(6, []float64{1, 1, 1, 1, 1, 1})
	if !mat.EqualApprox(&wtw, id, 1e-12) {
		t.Errorf("WᵀW =\n%v\nwant I", mat.Formatted(&wtw))
	}
	if d := math.Abs(mat.Det(w)); math.Abs(d-1) > 1e-12 {
		t.Errorf("|det W| = %.15g, want 1", d)
	}
}
