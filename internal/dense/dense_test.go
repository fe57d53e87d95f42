package dense

import (
	"math/rand/v2"
	"testing"

	"gorgonia.org/tensor"
)

func TestRoundTripAndRounding(t *testing.T) {
	src := []float64{1.5, -2, 0.1}
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		x := New(dt, src, 3)
		got := Float64s(x)
		for i, v := range src {
			want := v
			if dt == tensor.Float32 {
				want = float64(float32(v)) // 0.1 rounds in float32
			}
			if got[i] != want {
				t.Errorf("%v: element %d = %v, want %v", dt, i, got[i], want)
			}
		}
	}
}

func TestUniformStaysInBound(t *testing.T) {
	x := Uniform(tensor.Float64, rand.New(rand.NewPCG(1, 2)), 0.25, 40, 50)
	if s := x.Shape(); s[0] != 40 || s[1] != 50 {
		t.Fatalf("shape %v", s)
	}
	lo, hi := 1.0, -1.0
	for _, v := range Float64s(x) {
		lo, hi = min(lo, v), max(hi, v)
	}
	if lo < -0.25 || hi >= 0.25 || hi-lo < 0.45 {
		t.Errorf("range [%v, %v], want spread over [−0.25, 0.25)", lo, hi)
	}
}
