package normalize

import (
	"math"
	"math/cmplx"

	"github.com/iresnet/iresnet/graph"
	"github.com/pkg/errors"
	"gonum.org/v1/gonum/mat"
	"gorgonia.org/tensor"
)

// roundingMargin is the relative margin added to every computed bound to
// cover floating-point rounding in its computation. The eigenvalue and
// singular-value solvers used are backward stable: the largest singular
// value they return is within a few multiples of n·ε·‖A‖ of the exact one
// (ε = 2⁻⁵³, n the matrix order). 1e-10 exceeds that by orders of magnitude
// for every layer size this library builds (n < 10⁴), and is far below the
// 1e-6 relative accuracy at which bounds are compared with c.
const roundingMargin = 1e-10

// Bound returns a certified upper bound of the operator norm of the
// layer's linear map with weight w (not normalized): for a dense layer the
// largest singular value of W (exact, from an SVD); for a convolution a
// bound of the zero-padded, strided operator on the layer's input shape,
// see [ConvBound]. The bound includes a relative margin of 1e-10 for
// rounding, so it is never below the exact norm.
//
// Unlike [SpectralNorm.Sigma], which approaches the norm from below, Bound
// depends on w alone, not on the power-iteration state.
func (s *SpectralNorm) Bound(w *tensor.Dense) (float64, error) {
	if !w.Shape().Eq(tensor.Shape(s.wshape)) {
		return 0, errors.Errorf("normalize: weight has shape %v, want %v", w.Shape(), s.wshape)
	}
	return s.bound(load(w))
}

// bound is Bound of the weight's values.
func (s *SpectralNorm) bound(wd []float64) (float64, error) {
	if s.conv != nil {
		return ConvBound(*s.conv, wd)
	}
	return DenseBound(s.wshape[0], s.wshape[1], wd)
}

// Certify rescales w in place to W / max(1, B/c), with B = Bound(w), so that
// the weight it leaves has an operator norm of at most c — certified, not
// estimated. It returns B and the bound of the rescaled weight (recomputed
// on the stored values, so rounding to the tensor's dtype is accounted
// for). A weight already within c is left unchanged.
func (s *SpectralNorm) Certify(w *tensor.Dense) (before, after float64, err error) {
	if before, err = s.Bound(w); err != nil {
		return 0, 0, err
	}
	if before <= s.coeff {
		return before, before, nil
	}
	wd := load(w)
	// Rounding to float32 may lengthen the weight by a relative 2⁻²⁴ at
	// most: aim that much below c so the stored weight still satisfies it.
	f := s.coeff / before
	if w.Dtype() == tensor.Float32 {
		f *= 1 - 0x1p-23
	}
	scale(wd, f)
	store(w, wd)
	// Bound the stored values (rounded to w's dtype), not wd.
	if after, err = s.Bound(w); err != nil {
		return 0, 0, err
	}
	return before, after, nil
}

// DenseBound returns the largest singular value of the in×out matrix w
// (row-major), computed by an SVD and enlarged by a relative rounding
// margin of 1e-10: the exact operator norm of the dense layer x ↦ x·W,
// certified from above.
func DenseBound(in, out int, w []float64) (float64, error) {
	if in < 1 || out < 1 || len(w) != in*out {
		return 0, errors.Errorf("normalize: dense weight of %d values is not %d×%d", len(w), in, out)
	}
	if err := finite(w); err != nil {
		return 0, err
	}
	var svd mat.SVD
	if !svd.Factorize(mat.NewDense(in, out, append([]float64(nil), w...)), mat.SVDNone) {
		return 0, errors.New("normalize: SVD of a dense weight did not converge")
	}
	return svd.Values(nil)[0] * (1 + roundingMargin), nil
}

// ConvBound returns a certified upper bound of the operator norm of the
// convolution with geometry g (stride, zero padding) and kernel w of shape
// (O, C, KH, KW), acting on one image of shape (C, H, W).
//
// Why it is an upper bound: pad the input to the grid of N₁ × N₂ =
// (H + 2·Pad) × (W + 2·Pad), an isometric embedding. Every output pixel
// (i, j) of the convolution reads padded pixels (i·S + a, j·S + b) with
// 0 ≤ a < KH, 0 ≤ b < KW, and i·S + a ≤ N₁ − 1 (likewise for columns), so it
// equals the same pixel of the circular correlation on that grid, whose
// indices then never wrap. The layer is therefore P·C·E: embedding E,
// circular convolution C, and a selection P of output pixels (a
// coordinate projection); ‖P·C·E‖ ≤ ‖C‖. The 2-D discrete Fourier
// transform, applied channel by channel, is unitary and block-diagonalizes
// C: at frequency (k₁, k₂) it acts on the channels by the O × C complex
// matrix Ŵ(k) = Σ_{a,b} w[:, :, a, b]·exp(2πi(k₁a/N₁ + k₂b/N₂)), so ‖C‖ is
// the largest singular value of Ŵ(k) over the N₁N₂ frequencies (Sedghi,
// Gupta & Long, "The singular values of convolutional layers", ICLR 2019).
// Ŵ(−k) is the conjugate of Ŵ(k), so half of the frequencies suffice; each
// σ_max comes from the Hermitian eigenvalue problem of the smaller Gram
// matrix. A relative rounding margin of 1e-10 is added.
//
// The bound is tight when the circular wrap-around matters little, i.e.
// for grids much larger than the kernel; for a 1×1 kernel it is exact
// (‖W‖₂ of the O × C matrix).
func ConvBound(g graph.ConvGeom, w []float64) (float64, error) {
	g.N = 1
	if err := g.Validate(); err != nil {
		return 0, errors.Wrap(err, "normalize")
	}
	o, c, kh, kw := g.O, g.C, g.KH, g.KW
	if len(w) != o*c*kh*kw {
		return 0, errors.Errorf("normalize: kernel of %d values is not %v", len(w), g.KernelShape())
	}
	if err := finite(w); err != nil {
		return 0, err
	}
	if kh == 1 && kw == 1 {
		// Ŵ(k) = W for every frequency: the exact norm of the O × C matrix.
		return DenseBound(o, c, w)
	}
	n1, n2 := g.H+2*g.Pad, g.W+2*g.Pad
	// Twiddle factors exp(2πi·k·a/N) for every frequency k and tap a.
	tw1 := twiddles(n1, kh)
	tw2 := twiddles(n2, kw)
	d := min(o, c)
	what := make([]complex128, o*c)
	gram := mat.NewSymDense(2*d, nil)
	var eig mat.EigenSym
	best := 0.0
	for k1 := 0; k1 < n1; k1++ {
		for k2 := 0; k2 <= n2/2; k2++ {
			for oc := range what {
				var sum complex128
				taps := w[oc*kh*kw : (oc+1)*kh*kw]
				for a := 0; a < kh; a++ {
					row := taps[a*kw : (a+1)*kw]
					var inner complex128
					for b, v := range row {
						inner += complex(v, 0) * tw2[k2*kw+b]
					}
					sum += inner * tw1[k1*kh+a]
				}
				what[oc] = sum
			}
			hermitianGram(what, o, c, gram)
			if !eig.Factorize(gram, false) {
				return 0, errors.Errorf("normalize: eigenvalues at frequency (%d, %d) did not converge", k1, k2)
			}
			vals := eig.Values(nil)
			best = math.Max(best, vals[len(vals)-1])
		}
	}
	return math.Sqrt(math.Max(best, 0)) * (1 + roundingMargin), nil
}

// twiddles returns exp(2πi·k·a/n) at index k·taps + a, for 0 ≤ k < n and
// 0 ≤ a < taps.
func twiddles(n, taps int) []complex128 {
	out := make([]complex128, n*taps)
	for k := 0; k < n; k++ {
		for a := 0; a < taps; a++ {
			// Reduce k·a mod n first: exact integer arithmetic keeps the
			// angle in [0, 2π) and the phase accurate.
			out[k*taps+a] = cmplx.Rect(1, 2*math.Pi*float64(k*a%n)/float64(n))
		}
	}
	return out
}

// hermitianGram writes into dst (2d × 2d, d = min(o, c)) the real symmetric
// embedding [[Re M, −Im M], [Im M, Re M]] of the Hermitian Gram matrix M of
// the o × c complex matrix a (row-major): M = aᴴa when c ≤ o, else aaᴴ. Its
// eigenvalues are those of M, each twice, and the largest is σ_max(a)².
func hermitianGram(a []complex128, o, c int, dst *mat.SymDense) {
	d := min(o, c)
	for i := 0; i < d; i++ {
		for j := i; j < d; j++ {
			var m complex128
			if c <= o { // (aᴴa)_{ij} = Σ_r conj(a_ri)·a_rj
				for r := 0; r < o; r++ {
					m += cmplx.Conj(a[r*c+i]) * a[r*c+j]
				}
			} else { // (aaᴴ)_{ij} = Σ_r a_ir·conj(a_jr)
				for r := 0; r < c; r++ {
					m += a[i*c+r] * cmplx.Conj(a[j*c+r])
				}
			}
			re, im := real(m), imag(m)
			dst.SetSym(i, j, re)
			dst.SetSym(d+i, d+j, re)
			// Lower-left block Im M, upper-right −Im M = (Im M)ᵀ since M is
			// Hermitian; SetSym(r, c) sets both (r, c) and (c, r).
			dst.SetSym(d+i, j, im)
			dst.SetSym(d+j, i, -im)
		}
	}
}

// finite reports a NaN or infinite weight, which has no norm.
func finite(w []float64) error {
	for i, v := range w {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return errors.Errorf("normalize: weight element %d is %v", i, v)
		}
	}
	return nil
}
