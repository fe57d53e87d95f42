package graph

import (
	"math"

	"github.com/iresnet/iresnet/graph/internal/convasm"
)

// expf is exp for float32 arguments, accurate to about 2 ulp of float32:
// Cody–Waite reduction x = n·ln2 + r with |r| ≤ ln2/2 and a degree-6
// Taylor polynomial (truncation error r⁷/7! < 1.6e-8 relative). It is about
// four times faster than math.Exp, which matters because ELU and its
// derivatives are evaluated on every hidden unit of every VJP.
func expf(x float32) float32 {
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693145751953125      // high bits of ln 2, exact in float32
		ln2lo = 1.42860682030941723e-6 // ln 2 − ln2hi
	)
	switch {
	case x > 88.7:
		return float32(math.Inf(1))
	case x < -87.3:
		return 0
	}
	n := float32(math.Floor(float64(x)*log2e + 0.5))
	r := (x - n*ln2hi) - n*ln2lo
	p := 1 + r*(1+r*(1.0/2+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720))))))
	return p * math.Float32frombits(uint32(int32(n)+127)<<23)
}

// actKernel32 evaluates the order-th derivative of act on float32 data
// without per-element closures. It returns false for combinations it does
// not specialize, which then take the generic float64 path.
func actKernel32(act Activation, order int, x, out []float32) bool {
	switch act {
	case ELU:
		switch order {
		case 0:
			done := 0
			if avx512 {
				if done = len(x) &^ 15; done > 0 {
					convasm.EluF32(done, &x[0], &out[0])
				}
			}
			for i := done; i < len(x); i++ {
				v := x[i]
				if v > 0 {
					out[i] = v
				} else if v < -0.5 {
					out[i] = expf(v) - 1
				} else {
					out[i] = float32(math.Expm1(float64(v)))
				}
			}
		default: // derivatives: 1 then 0 above zero, eˣ below
			above := float32(0)
			if order == 1 {
				above = 1
			}
			for i, v := range x {
				if v > 0 {
					out[i] = above
				} else {
					out[i] = expf(v)
				}
			}
		}
		return true
	case ReLU:
		for i, v := range x {
			switch {
			case order == 0 && v > 0:
				out[i] = v
			case order == 1 && v > 0:
				out[i] = 1
			default:
				out[i] = 0
			}
		}
		return true
	}
	return false
}
