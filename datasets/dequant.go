package datasets

import (
	"math"
	"math/rand/v2"
	"strconv"
)

// Dequantize maps 8-bit pixel values to the unit cube with uniform
// dequantization noise: dst[i] = (pixels[i] + u_i)/256 with u_i drawn
// uniformly from [0, 1) by rng.Float64, one draw per element in order. Each
// result lies in [x/256, (x+1)/256) also after rounding to float32: a value
// that would round up to (x+1)/256 is replaced by the largest float32 below
// it. This is the add_noise step of Real NVP, Glow, i-ResNet and Residual
// Flows, which turns a model of continuous x̃ ∈ [0, 1)^d into a bound on the
// discrete likelihood (see [BitsPerDim]).
//
// dst and pixels must have the same length; Dequantize panics otherwise or
// if rng is nil.
func Dequantize(dst []float32, pixels []uint8, rng *rand.Rand) {
	if len(dst) != len(pixels) {
		panic("datasets: Dequantize: len(dst) = " + strconv.Itoa(len(dst)) + ", len(pixels) = " + strconv.Itoa(len(pixels)))
	}
	if rng == nil {
		panic("datasets: Dequantize: nil random source")
	}
	for i, x := range pixels {
		v := float32((float64(x) + rng.Float64()) / 256)
		if hi := float32(int(x)+1) / 256; v >= hi { // hi is exact
			v = math.Nextafter32(hi, 0)
		}
		dst[i] = v
	}
}

// Logit-transform constants of the Residual Flows code (Chen et al., 2019,
// train_img.py), which uses LogitTransform(1e-6) as the first layer for
// MNIST and LogitTransform(0.05) for CIFAR-10, SVHN, CelebA-HQ and ImageNet.
const (
	MNISTLogitAlpha = 1e-6
	CIFARLogitAlpha = 0.05
)

// LogitTransform is the elementwise preprocessing y = logit(α + (1−2α)·x̃)
// that maps dequantized data x̃ ∈ [0, 1] to the whole real line, with α =
// Alpha keeping the result finite at the edges (s = α + (1−2α)x̃ lies in
// [α, 1−α]). It is the LogitTransform layer of the Residual Flows code
// (resflows/layers/elemwise.py), which uses α = 1e-6 for MNIST
// ([MNISTLogitAlpha]) and α = 0.05 for CIFAR ([CIFARLogitAlpha]). Real NVP
// (Dinh et al., 2017, §4.1) introduced the logit preprocessing with α = 0.05
// (its paper writes the squeeze slightly differently; the symmetric form
// here keeps the map symmetric about x̃ = 1/2).
//
// Data are n samples of d values each, stored contiguously; the log-det is
// returned per sample. Alpha must be in [0, 0.5) (with 0 the plain logit,
// infinite at 0 and 1); the methods panic otherwise, if d < 1 or if the
// length of the data is not a multiple of d.
type LogitTransform struct {
	// Alpha is the edge margin α in [0, 0.5).
	Alpha float64
}

func (t LogitTransform) check(method string, n, d int) {
	if !(t.Alpha >= 0 && t.Alpha < 0.5) {
		panic("datasets: LogitTransform." + method + ": Alpha = " + strconv.FormatFloat(t.Alpha, 'g', -1, 64) + " is outside [0, 0.5)")
	}
	if d < 1 {
		panic("datasets: LogitTransform." + method + ": d = " + strconv.Itoa(d) + " must be positive")
	}
	if n%d != 0 {
		panic("datasets: LogitTransform." + method + ": length " + strconv.Itoa(n) + " is not a multiple of d = " + strconv.Itoa(d))
	}
}

// logitForward returns y = logit(s), s = a + (1−2a)x, and
// log dy/dx = log(1−2a) − log s − log(1−s); log1m2a is log(1−2a).
func logitForward(a, log1m2a, x float64) (y, logDeriv float64) {
	s := a + (1-2*a)*x
	ls, l1s := math.Log(s), math.Log1p(-s)
	return ls - l1s, log1m2a - ls - l1s
}

// logitInverse returns x = (σ(y) − a)/(1−2a) and log dx/dy =
// log σ(y) + log(1−σ(y)) − log(1−2a), computed stably for large |y|.
func logitInverse(a, log1m2a, y float64) (x, logDeriv float64) {
	var s float64
	if y >= 0 {
		s = 1 / (1 + math.Exp(-y))
	} else {
		e := math.Exp(y)
		s = e / (1 + e)
	}
	// log σ(y) = −softplus(−y), log(1−σ(y)) = −softplus(y).
	return (s - a) / (1 - 2*a), -softplus(-y) - softplus(y) - log1m2a
}

// softplus returns log(1 + e^z) without overflow.
func softplus(z float64) float64 {
	return math.Max(z, 0) + math.Log1p(math.Exp(-math.Abs(z)))
}

// Forward returns y = logit(α + (1−2α)x) elementwise and, for each of the
// len(x)/d samples, the log-determinant of the Jacobian of the map,
//
//	log|det ∂y/∂x| = Σ_j [ log(1−2α) − log s_j − log(1−s_j) ],  s_j = α + (1−2α)x_j,
//
// in nats. The arithmetic is in float64; y is rounded to float32. Values of
// x outside [0, 1] give NaN.
func (t LogitTransform) Forward(x []float32, d int) (y []float32, logDet []float64) {
	t.check("Forward", len(x), d)
	y = make([]float32, len(x))
	logDet = make([]float64, len(x)/d)
	a, l := t.Alpha, math.Log1p(-2*t.Alpha)
	for i := range logDet {
		var sum float64
		for j := i * d; j < (i+1)*d; j++ {
			v, ld := logitForward(a, l, float64(x[j]))
			y[j] = float32(v)
			sum += ld
		}
		logDet[i] = sum
	}
	return y, logDet
}

// Inverse undoes Forward: x = (σ(y) − α)/(1−2α) elementwise, with σ the
// logistic sigmoid, and returns per sample the log-determinant of the
// inverse map, log|det ∂x/∂y| = Σ_j [ log σ(y_j) + log(1−σ(y_j)) − log(1−2α) ],
// which is minus Forward's log-det at the returned x. Results lie in [−α/(1−2α),
// (1−α)/(1−2α)]; only y in [logit α, logit(1−α)] maps back into [0, 1].
func (t LogitTransform) Inverse(y []float32, d int) (x []float32, logDet []float64) {
	t.check("Inverse", len(y), d)
	x = make([]float32, len(y))
	logDet = make([]float64, len(y)/d)
	a, l := t.Alpha, math.Log1p(-2*t.Alpha)
	for i := range logDet {
		var sum float64
		for j := i * d; j < (i+1)*d; j++ {
			v, ld := logitInverse(a, l, float64(y[j]))
			x[j] = float32(v)
			sum += ld
		}
		logDet[i] = sum
	}
	return x, logDet
}

// BitsPerDim converts model log-likelihoods of dequantized 8-bit data into
// bits per dimension, the unit in which Real NVP (Dinh et al., 2017, §4.1),
// i-ResNet (Behrmann et al., 2019) and Residual Flows (Chen et al., 2019)
// report results. For each sample i it returns
//
//	bpd_i = −(logpx[i] + L_i − d·ln 256) / (d·ln 2) = 8 − (logpx[i] + L_i) / (d·ln 2),
//
// where d is the number of values per sample (C·H·W), L_i =
// preprocessLogDet[i], or 0 if preprocessLogDet is nil, and logpx[i] is
// log p(y) in nats of the model's input y = T(x̃), x̃ the dequantized
// image. It panics if d < 1 or preprocessLogDet is non-nil with a length
// other than len(logpx).
//
// Derivation. Let x ∈ {0,…,255}^d be an image, u uniform on [0, 1)^d, x̃ =
// (x + u)/256 ∈ [0, 1)^d (see [Dequantize]) and y = T(x̃) the input the
// model sees, where T is the identity or a preprocessing bijection such as
// [LogitTransform] with log-Jacobian L = log|det ∂T/∂x̃| (from
// [LogitTransform.Forward]). By the change of variables the model gives x̃
// the density q(x̃) = p(T(x̃))·e^L on [0, 1)^d, and v = 256·x̃ = x + u the
// density q(v/256)·256^(−d) on [0, 256)^d. Integrating the latter over the
// unit cube at x defines a proper discrete model P(x) =
// ∫_[0,1)^d q((x+u)/256)·256^(−d) du on {0,…,255}^d, and Jensen's inequality
// bounds it below (Theis, van den Oord & Bethge, 2016, "A note on the
// evaluation of generative models"):
//
//	log P(x) ≥ E_u[ log p(y) + L − d·ln 256 ].
//
// Hence −log₂ P(x)/d ≤ E_u[ −(log p(y) + L − d·ln 256) ]/(d·ln 2): the mean
// of bpd_i over samples and noise is an upper bound on the code length of
// the discrete data in bits per dimension. With no preprocessing the
// uniform density on [0, 1)^d (log p = 0) gives exactly 8, the entropy of
// uniform 8-bit pixels.
//
// If the preprocessing is instead a layer of the model whose log-det is
// already part of logpx (as in the Residual Flows code, where the logit
// layer's log-det is in delta_logp and bits/dim is
// −(logpz − delta_logp − d·ln 256)/(d·ln 2)), pass nil.
func BitsPerDim(logpx []float64, d int, preprocessLogDet []float64) []float64 {
	if d < 1 {
		panic("datasets: BitsPerDim: d = " + strconv.Itoa(d) + " must be positive")
	}
	if preprocessLogDet != nil && len(preprocessLogDet) != len(logpx) {
		panic("datasets: BitsPerDim: " + strconv.Itoa(len(preprocessLogDet)) + " log-dets for " + strconv.Itoa(len(logpx)) + " log-likelihoods")
	}
	out := make([]float64, len(logpx))
	scale := float64(d) * math.Ln2
	for i, lp := range logpx {
		if preprocessLogDet != nil {
			lp += preprocessLogDet[i]
		}
		out[i] = 8 - lp/scale
	}
	return out
}
