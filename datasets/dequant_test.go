package datasets

import (
	"math"
	"math/rand/v2"
	"testing"
)

// constSource is a rand.Source that always returns the same word, so that
// rand.Rand.Float64 returns float64(c mod 2^53)/2^53.
type constSource uint64

func (c constSource) Uint64() uint64 { return uint64(c) }

// Noise values constSource makes rand.Rand.Float64 return.
const (
	uZero = constSource(0)         // u = 0
	uHalf = constSource(1 << 52)   // u = 0.5
	uMax  = constSource(1<<53 - 1) // u = 1 − 2^-53, the largest Float64 value
)

func allPixelValues(reps int) []uint8 {
	p := make([]uint8, 256*reps)
	for i := range p {
		p[i] = uint8(i)
	}
	return p
}

func TestDequantizeRange(t *testing.T) {
	pixels := allPixelValues(200)
	dst := make([]float32, len(pixels))
	Dequantize(dst, pixels, seededRNG())
	var sumU float64
	for i, x := range pixels {
		lo, hi := float32(x)/256, float32(int(x)+1)/256
		if !(dst[i] >= lo && dst[i] < hi) {
			t.Fatalf("pixel %d → %v, outside [%v, %v)", x, dst[i], lo, hi)
		}
		sumU += float64(dst[i])*256 - float64(x)
	}
	if mean := sumU / float64(len(pixels)); math.Abs(mean-0.5) > 0.01 {
		t.Errorf("mean noise %v, want ≈ 0.5", mean)
	}
	again := make([]float32, len(pixels))
	Dequantize(again, pixels, seededRNG())
	for i := range dst {
		if dst[i] != again[i] {
			t.Fatalf("not deterministic at %d", i)
		}
	}

	// Extreme noise values: u = 0 gives x/256 exactly, u = 0.5 gives
	// (x+0.5)/256 exactly, and u = 1 − 2^-53 would round to (x+1)/256 and is
	// pulled back to the largest float32 below it.
	pixels = allPixelValues(1)
	for _, tc := range []struct {
		name string
		src  constSource
		want func(x uint8) float32
	}{
		{"u=0", uZero, func(x uint8) float32 { return float32(x) / 256 }},
		{"u=0.5", uHalf, func(x uint8) float32 { return (float32(x) + 0.5) / 256 }},
		{"u=1-2^-53", uMax, func(x uint8) float32 { return math.Nextafter32(float32(int(x)+1)/256, 0) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			Dequantize(dst[:256], pixels, rand.New(tc.src))
			for i, x := range pixels {
				if dst[i] != tc.want(x) {
					t.Errorf("pixel %d → %v, want %v", x, dst[i], tc.want(x))
				}
			}
		})
	}
	mustPanic(t, "length mismatch", func() { Dequantize(make([]float32, 2), make([]uint8, 3), seededRNG()) })
	mustPanic(t, "nil rng", func() { Dequantize(make([]float32, 2), make([]uint8, 2), nil) })
}

func dequantized(rng *rand.Rand, n int) []float32 {
	p := make([]uint8, n)
	for i := range p {
		p[i] = uint8(rng.UintN(256))
	}
	x := make([]float32, n)
	Dequantize(x, p, rng)
	return x
}

func TestLogitRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name  string
		alpha float64
		edges bool // also try x = 0 and x = 1
	}{
		{"alpha=0", 0, false},
		{"MNIST alpha=1e-6", MNISTLogitAlpha, true},
		{"CIFAR alpha=0.05", CIFARLogitAlpha, true},
		{"alpha=0.3", 0.3, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const n, d = 6, 7
			x := dequantized(seededRNG(), n*d)
			if tc.edges {
				x[0], x[1], x[d] = 0, 1, 1
			}
			lt := LogitTransform{Alpha: tc.alpha}
			y, fwd := lt.Forward(x, d)
			back, inv := lt.Inverse(y, d)
			if len(y) != n*d || len(fwd) != n || len(back) != n*d || len(inv) != n {
				t.Fatalf("lengths %d %d %d %d", len(y), len(fwd), len(back), len(inv))
			}
			for i := range x {
				if math.Abs(float64(back[i]-x[i])) > 1e-6 || math.IsInf(float64(y[i]), 0) {
					t.Errorf("x[%d] = %v → y = %v → %v", i, x[i], y[i], back[i])
				}
			}
			// y is rounded to float32, so the inverse log-det is evaluated
			// at a point up to |y|·2^-24 off; its derivative in y is
			// 1 − 2σ(y), at most 1 in size, hence the tolerance.
			for i := range fwd {
				if math.Abs(fwd[i]+inv[i]) > 1e-5 || math.IsNaN(fwd[i]) {
					t.Errorf("sample %d: forward log-det %v + inverse log-det %v ≠ 0", i, fwd[i], inv[i])
				}
			}
		})
	}
}

// TestLogitDerivativesFiniteDifferences checks the elementwise log
// derivatives against central differences in float64. The inverse uses a
// larger step: for large |y| its derivative is tiny next to x, and a small
// step would lose the difference to cancellation.
func TestLogitDerivativesFiniteDifferences(t *testing.T) {
	const h, hInv = 1e-7, 1e-4
	for _, alpha := range []float64{0, 1e-6, 0.05} {
		l := math.Log1p(-2 * alpha)
		for _, x := range []float64{1e-3, 0.01, 0.3, 0.5, 0.77, 0.99, 0.999} {
			_, ld := logitForward(alpha, l, x)
			yp, _ := logitForward(alpha, l, x+h)
			ym, _ := logitForward(alpha, l, x-h)
			if fd := math.Log((yp - ym) / (2 * h)); math.Abs(fd-ld) > 1e-6 {
				t.Errorf("alpha %g x %g: forward log-derivative %v, finite differences %v", alpha, x, ld, fd)
			}
		}
		for _, y := range []float64{-12, -5, -0.5, 0, 0.1, 3, 9} {
			_, ld := logitInverse(alpha, l, y)
			xp, _ := logitInverse(alpha, l, y+hInv)
			xm, _ := logitInverse(alpha, l, y-hInv)
			if fd := math.Log((xp - xm) / (2 * hInv)); math.Abs(fd-ld) > 1e-6 {
				t.Errorf("alpha %g y %g: inverse log-derivative %v, finite differences %v", alpha, y, ld, fd)
			}
		}
	}
}

// TestLogitLogDetFiniteDifferences checks Forward's per-sample log-det
// against the log-determinant of the Jacobian built by central differences
// through the float32 API. The map is elementwise, so off-diagonal entries
// must vanish and the log-det is the sum of the log diagonal.
func TestLogitLogDetFiniteDifferences(t *testing.T) {
	const n, d, h = 3, 5, 1e-3
	rng := seededRNG()
	x := make([]float32, n*d)
	for i := range x {
		x[i] = float32(0.05 + 0.9*rng.Float64())
	}
	for _, alpha := range []float64{1e-6, 0.05} {
		lt := LogitTransform{Alpha: alpha}
		_, logDet := lt.Forward(x, d)
		for s := 0; s < n; s++ {
			var fdLogDet float64
			for j := 0; j < d; j++ {
				xp := append([]float32(nil), x[s*d:(s+1)*d]...)
				xm := append([]float32(nil), xp...)
				xp[j] += h
				xm[j] -= h
				yp, _ := lt.Forward(xp, d)
				ym, _ := lt.Forward(xm, d)
				for k := 0; k < d; k++ {
					dk := (float64(yp[k]) - float64(ym[k])) / float64(xp[j]-xm[j])
					if k == j {
						fdLogDet += math.Log(dk)
					} else if dk != 0 {
						t.Errorf("∂y_%d/∂x_%d = %v, want 0", k, j, dk)
					}
				}
			}
			if math.Abs(fdLogDet-logDet[s]) > 1e-3 {
				t.Errorf("alpha %g sample %d: log-det %v, finite differences %v", alpha, s, logDet[s], fdLogDet)
			}
		}
	}
}

func TestLogitPanics(t *testing.T) {
	x := make([]float32, 6)
	for i := range x {
		x[i] = 0.5
	}
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"alpha 0.5", func() { LogitTransform{Alpha: 0.5}.Forward(x, 3) }},
		{"alpha negative", func() { LogitTransform{Alpha: -1e-3}.Inverse(x, 3) }},
		{"alpha NaN", func() { LogitTransform{Alpha: math.NaN()}.Forward(x, 3) }},
		{"d zero", func() { LogitTransform{}.Forward(x, 0) }},
		{"not a multiple", func() { LogitTransform{}.Inverse(x, 4) }},
		{"bpd d zero", func() { BitsPerDim([]float64{1}, 0, nil) }},
		{"bpd log-det count", func() { BitsPerDim([]float64{1, 2}, 3, []float64{1}) }},
	} {
		t.Run(tc.name, func(t *testing.T) { mustPanic(t, tc.name, tc.f) })
	}
}

// logLogistic returns log σ(y) + log(1 − σ(y)), the log density of the
// standard logistic distribution at y.
func logLogistic(y float64) float64 { return -softplus(-y) - softplus(y) }

func uniformPixels(rng *rand.Rand, n int) []uint8 {
	p := make([]uint8, n)
	for i := range p {
		p[i] = uint8(rng.UintN(256))
	}
	return p
}

// TestBitsPerDimUniform: pixels uniform on 0..255, no preprocessing, and a
// model uniform on [0, 1)^d: log p = 0 at every dequantized point, so bits/dim
// is exactly 8, the entropy of a uniform byte.
func TestBitsPerDimUniform(t *testing.T) {
	const n, d = 20, 784
	rng := seededRNG()
	x := make([]float32, n*d)
	Dequantize(x, uniformPixels(rng, n*d), rng)
	logp := make([]float64, n)
	for i := range logp {
		for _, v := range x[i*d : (i+1)*d] {
			if !(v >= 0 && v < 1) {
				logp[i] = math.Inf(-1) // outside the model's support
			}
		}
	}
	for _, ld := range [][]float64{nil, make([]float64, n)} {
		for i, b := range BitsPerDim(logp, d, ld) {
			if b != 8 {
				t.Errorf("sample %d: %v bits/dim, want exactly 8", i, b)
			}
		}
	}
}

// TestBitsPerDimLogit runs uniform pixels through Dequantize and
// LogitTransform.Forward and scores y = logit(α + (1−2α)x̃) with two models:
//
//   - the exact density of Y = logit(α + (1−2α)U), U uniform on [0,1)^d. By
//     the change of variables p_Y(y) = ∏ σ(y_j)(1−σ(y_j))/(1−2α) on its
//     support, which is 1/|det ∂y/∂x̃|, so log p_Y(y) + log|det| = 0 and the
//     bits/dim is 8 exactly (up to rounding y to float32);
//   - the standard logistic density ∏ σ(y_j)(1−σ(y_j)), the density of
//     logit(U) without the α squeeze. It misses the factor 1/(1−2α) per
//     dimension, the mass 2α it puts outside [logit α, logit(1−α)], so
//     log p(y) + log|det| = d·log(1−2α) and bits/dim = 8 − log₂(1−2α):
//     8.152003093445050 for α = 0.05, 8.000002885392967 for α = 1e-6.
func TestBitsPerDimLogit(t *testing.T) {
	const n, d = 10, 784
	for _, tc := range []struct {
		name         string
		alpha        float64
		wantLogistic float64 // 8 − log₂(1−2α), by hand
	}{
		{"MNIST alpha=1e-6", MNISTLogitAlpha, 8.000002885392967},
		{"CIFAR alpha=0.05", CIFARLogitAlpha, 8.152003093445050},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := 8 - math.Log2(1-2*tc.alpha); math.Abs(got-tc.wantLogistic) > 1e-14 {
				t.Fatalf("hand value %v disagrees with 8 − log₂(1−2α) = %v", tc.wantLogistic, got)
			}
			rng := seededRNG()
			x := make([]float32, n*d)
			Dequantize(x, uniformPixels(rng, n*d), rng)
			y, logDet := LogitTransform{Alpha: tc.alpha}.Forward(x, d)
			exact := make([]float64, n)
			logistic := make([]float64, n)
			for i := range n {
				for _, v := range y[i*d : (i+1)*d] {
					ll := logLogistic(float64(v))
					logistic[i] += ll
					exact[i] += ll - math.Log1p(-2*tc.alpha)
				}
			}
			for i, b := range BitsPerDim(exact, d, logDet) {
				if math.Abs(b-8) > 1e-6 {
					t.Errorf("exact model, sample %d: %.9f bits/dim, want 8", i, b)
				}
			}
			for i, b := range BitsPerDim(logistic, d, logDet) {
				if math.Abs(b-tc.wantLogistic) > 1e-6 {
					t.Errorf("logistic model, sample %d: %.9f bits/dim, want %.9f", i, b, tc.wantLogistic)
				}
			}
			// With the log-det folded into the likelihood and nil passed, the
			// result is the same.
			folded := make([]float64, n)
			for i := range folded {
				folded[i] = logistic[i] + logDet[i]
			}
			for i, b := range BitsPerDim(folded, d, nil) {
				if math.Abs(b-tc.wantLogistic) > 1e-6 {
					t.Errorf("folded log-det, sample %d: %.9f bits/dim", i, b)
				}
			}
		})
	}
}

// TestBitsPerDimHandWorked scores one pixel (d = 1) under a standard normal
// model on logit space, with the noise fixed at u = 1/2.
//
// α = 0.05, pixel 128: x̃ = 128.5/256 = 0.501953125, s = 0.05 + 0.9·x̃ =
// 0.5017578125, y = ln(s/(1−s)) = ln(0.5017578125/0.4982421875) =
// 0.0070312789680722, log p(y) = −y²/2 − ½ln 2π = −0.9189632526466362,
// log-det = ln 0.9 − ln s − ln(1−s) = 1.2809462051575857, and bits/dim =
// 8 − (log p + log-det)/ln 2 = 8 − 0.3619829525109495/0.6931471805599453 =
// 7.477768989526108.
//
// α = 1e-6, pixel 0: x̃ = 0.5/256 = 0.001953125, s = 0.00195412109375,
// y = −6.235858722165953, log p(y) = −20.36190553461127, log-det =
// 6.239768787922662, bits/dim = 28.37393665120346. Here y is large enough
// that rounding it to float32 (about 4e-7) moves log p by up to |y|·4e-7,
// so the tolerance is 1e-5.
func TestBitsPerDimHandWorked(t *testing.T) {
	for _, tc := range []struct {
		name                string
		alpha               float64
		pixel               uint8
		xt, y, logp, logDet float64
		bpd, yTol, bpdTol   float64
	}{
		{"CIFAR pixel 128", 0.05, 128, 0.501953125, 0.0070312789680722, -0.9189632526466362, 1.2809462051575857,
			7.477768989526108, 1e-9, 1e-6},
		{"MNIST pixel 0", 1e-6, 0, 0.001953125, -6.235858722165953, -20.36190553461127, 6.239768787922662,
			28.37393665120346, 1e-6, 1e-5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := make([]float32, 1)
			Dequantize(x, []uint8{tc.pixel}, rand.New(uHalf))
			if float64(x[0]) != tc.xt {
				t.Fatalf("x̃ = %v, want %v", x[0], tc.xt)
			}
			y, logDet := LogitTransform{Alpha: tc.alpha}.Forward(x, 1)
			if math.Abs(float64(y[0])-tc.y) > tc.yTol {
				t.Errorf("y = %v, want %v", y[0], tc.y)
			}
			if math.Abs(logDet[0]-tc.logDet) > 1e-12 {
				t.Errorf("log-det = %v, want %v", logDet[0], tc.logDet)
			}
			yy := float64(y[0])
			logp := -yy*yy/2 - 0.5*math.Log(2*math.Pi)
			if math.Abs(logp-tc.logp) > 10*tc.yTol {
				t.Errorf("log p(y) = %v, want %v", logp, tc.logp)
			}
			if b := BitsPerDim([]float64{logp}, 1, logDet)[0]; math.Abs(b-tc.bpd) > tc.bpdTol {
				t.Errorf("bits/dim = %.12f, want %.12f", b, tc.bpd)
			}
		})
	}
}
