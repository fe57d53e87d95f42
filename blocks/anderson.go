package blocks

import (
	"math"

	"github.com/pkg/errors"
	"gorgonia.org/tensor"
)

// InverseMethod selects the algorithm of the fixed-point inverse of a
// [Residual] block. Both solve x = G(x) with G(x) = y − g(x), stop under
// the same rule (FixedPoint.Tol), count one evaluation of g as one
// iteration (FixedPoint.MaxIter) and report failure with a
// *NotConvergedError.
type InverseMethod string

const (
	// MethodAuto, the zero value, uses Anderson acceleration for blocks
	// whose g is spectrally normalized (Lip(g) < 1, which its safeguard
	// needs) and plain iteration for Unconstrained blocks, whose fixed
	// point is expected to fail and must do so as the paper's vanilla
	// comparison does. Measured at tol 1e-5 (notebooks/cmd/anderson),
	// Anderson took 0.41× the evaluations of g of plain iteration on a
	// trained 8gaussians model at c = 0.9 (0.19× at c = 0.99, 0.89× at
	// c = 0.5), 0.64× on a small MNIST density model, 0.72–0.77× on a
	// small MNIST classifier, and never more on any block measured; its
	// bookkeeping costs about 15 ns per value and iteration, so it was
	// 1.1–5× faster in wall time on every trained model.
	MethodAuto InverseMethod = ""
	// MethodPlain is the Banach iteration x_{i+1} = G(x_i) of Behrmann et
	// al. (2019, Algorithm 1): the error shrinks by Lip(g) per iteration.
	MethodPlain InverseMethod = "plain"
	// MethodAnderson is Anderson acceleration (Walker & Ni 2011): each
	// sample's next iterate is the combination of its last Window images
	// G(x_j) whose residuals G(x_j) − x_j combine to the least norm,
	// damped by Damping, with a safeguard that falls back to the plain
	// step (see AndersonConfig).
	MethodAnderson InverseMethod = "anderson"
)

// AndersonConfig tunes Anderson acceleration (MethodAnderson). The zero
// value uses the defaults below.
//
// For each sample (row of the batch) separately, with f_j = G(x_j) − x_j
// the residual of iterate j and ΔF, ΔG the differences of the last
// Window residuals and images, the step is
//
//	γ = argmin ‖f_k − ΔF γ‖₂,  x_{k+1} = G(x_k) − ΔG γ − (1 − β)(f_k − ΔF γ).
//
// The least-squares problem is solved by its normal equations: the Gram
// matrix ΔFᵀΔF is updated by one column of inner products per iteration
// and factored by Cholesky, columns newest first, dropping a column whose
// part orthogonal to the newer ones is below 1e-6 of its norm (linearly
// dependent history, as in a d-dimensional problem with d < Window), so
// the condition number of the kept columns stays below about 1e6 and the
// squared one of the normal equations below 1e12. This costs about 8·Window
// flops per value and iteration, little next to an evaluation of g.
//
// Safeguard: an extrapolated iterate whose residual is not finite or more
// than twice (Euclidean norm) the least residual of the sample's accepted
// iterates is rejected; the sample's history restarts and it takes the
// plain step G(x_best) from its best iterate x_best instead. A plain step
// from x_best also follows every Window accepted extrapolations. Since
// Lip(g) = L < 1, such a step has a residual at most L times the least so
// far, so the least residual falls by L at least once every Window + 1
// evaluations of g whatever the extrapolations do: convergence is
// guaranteed, and the answer is always G(x_best). A rejection costs one
// evaluation of g (counted in FixedPointStats.Iter and
// FixedPointStats.Fallbacks). The factor 2 and the periodic plain step
// were chosen by measurement (notebooks/cmd/anderson): on a trained
// 8gaussians model at c = 0.99 a strict "must decrease" test needed twice
// the evaluations, and the periodic step cost none measurable.
type AndersonConfig struct {
	// Window is the history length m ≥ 1; 0 means 5.
	Window int `json:"window,omitempty"`
	// Damping is β in (0, 1]; 0 means 1 (undamped). On the blocks of
	// notebooks/cmd/anderson β = 0.7 took as many evaluations as β = 1 or
	// up to 10% more at c ≤ 0.9, and 5–25% fewer on some blocks at c = 0.99.
	Damping float64 `json:"damping,omitempty"`
}

const (
	defaultAndersonWindow  = 5
	defaultAndersonDamping = 1.0
	// andersonDropTol is the relative size below which a history column
	// counts as linearly dependent on the newer ones and is dropped.
	andersonDropTol = 1e-6
	// andersonGrowth is how much larger than the least residual so far an
	// extrapolation's residual may be and still be accepted.
	andersonGrowth = 2.0
)

func (a AndersonConfig) withDefaults() (AndersonConfig, error) {
	if a.Window == 0 {
		a.Window = defaultAndersonWindow
	}
	if a.Damping == 0 {
		a.Damping = defaultAndersonDamping
	}
	if a.Window < 1 || !(a.Damping > 0 && a.Damping <= 1) {
		return a, errors.Errorf("blocks: Anderson acceleration needs Window ≥ 1 and Damping in (0, 1], got %d and %g", a.Window, a.Damping)
	}
	return a, nil
}

// batchG evaluates g on a whole batch: it reads x and writes g(x) into gx
// (both flat, row-major, float64).
type batchG func(x, gx []float64) error

// plainSolve runs x_{i+1} = y − g(x_i) from x_0 = y. It returns the
// solution, or a *NotConvergedError (Last unset) with, when the iteration
// ran out of steps, the last iterate.
// Iterates stay in float64 between evaluations (g's input tensor rounds
// them to its dtype).
func plainSolve(y []float64, g batchG, fp FixedPoint) ([]float64, FixedPointStats, error) {
	x := append([]float64(nil), y...)
	gx := make([]float64, len(y))
	var st FixedPointStats
	for st.Iter = 1; st.Iter <= fp.MaxIter; st.Iter++ {
		if err := g(x, gx); err != nil {
			return nil, st, errors.Wrapf(err, "blocks: evaluating g at iteration %d", st.Iter)
		}
		st.Residual = 0
		scale := 0.0
		for i := range x {
			next := y[i] - gx[i]
			st.Residual = math.Max(st.Residual, math.Abs(next-x[i]))
			scale = math.Max(scale, math.Abs(next))
			x[i] = next
		}
		tol := fp.Tol * (1 + scale)
		if math.IsNaN(st.Residual) || math.IsInf(st.Residual, 0) {
			return nil, st, &NotConvergedError{Iter: st.Iter, Residual: st.Residual, Tol: tol}
		}
		if st.Residual <= tol {
			return x, st, nil
		}
	}
	st.Iter = fp.MaxIter
	return x, st, &NotConvergedError{Iter: st.Iter, Residual: st.Residual, Tol: fp.Tol * (1 + maxAbs(x))}
}

// andersonState is the per-sample state of an Anderson solve over a batch
// of rows samples of width d each, stored flat.
type andersonState struct {
	rows, d int
	cfg     AndersonConfig
	// The current iterate per sample, the base of the next extrapolation:
	// its image G and residual f = G − x, and whether there is one yet.
	gCur, fCur []float64
	haveCur    []bool
	// The accepted iterate of least residual norm per sample, whose image
	// is the answer and whose plain step is the fallback.
	gBest, fBest []float64
	normBest     []float64
	// maxF, maxG are max |fBest|, max |gBest| per sample.
	maxF, maxG []float64
	// History ring per sample: dF[j], dG[j] hold column j of every
	// sample; count and head are per sample.
	dF, dG      [][]float64
	count, head []int
	// extrapolated marks samples whose current iterate is an Anderson
	// step that the safeguard must check, rejected those whose step it
	// rejected, and sincePlain counts the extrapolations since the last
	// plain step.
	extrapolated []bool
	rejected     []bool
	sincePlain   []int
	// gram holds each sample's m×m inner products of its history columns
	// (ring slots), valid among the count newest.
	gram []float64
	// Scratch for one sample's least squares: the kept slots, the
	// Cholesky factor (row-major, m×m) and the right-hand side.
	cols  []int
	chol  []float64
	gamma []float64
}

func newAndersonState(rows, d int, cfg AndersonConfig) *andersonState {
	n := rows * d
	m := cfg.Window
	s := &andersonState{
		rows:         rows,
		d:            d,
		cfg:          cfg,
		gCur:         make([]float64, n),
		fCur:         make([]float64, n),
		haveCur:      make([]bool, rows),
		gBest:        make([]float64, n),
		fBest:        make([]float64, n),
		normBest:     make([]float64, rows),
		maxF:         make([]float64, rows),
		maxG:         make([]float64, rows),
		dF:           make([][]float64, m),
		dG:           make([][]float64, m),
		count:        make([]int, rows),
		head:         make([]int, rows),
		extrapolated: make([]bool, rows),
		rejected:     make([]bool, rows),
		sincePlain:   make([]int, rows),
		gram:         make([]float64, rows*m*m),
		cols:         make([]int, 0, m),
		chol:         make([]float64, m*m),
		gamma:        make([]float64, m),
	}
	for j := 0; j < m; j++ {
		s.dF[j], s.dG[j] = make([]float64, n), make([]float64, n)
	}
	return s
}

// andersonSolve solves x = y − g(x) by safeguarded Anderson acceleration,
// one set of mixing coefficients per row (g must act on rows
// independently, as every branch in this package does). round maps an
// iterate onto the values g's input dtype can hold, so residuals refer to
// the points actually evaluated. It stops, like plainSolve, once the best
// iterates x satisfy max |G(x) − x| ≤ Tol·(1 + max |G(x)|), and returns
// G(x); when MaxIter runs out it returns G of the best iterates with a
// *NotConvergedError (Last unset).
func andersonSolve(y []float64, rows int, g batchG, fp FixedPoint, round func([]float64)) ([]float64, FixedPointStats, error) {
	var st FixedPointStats
	if rows < 1 || len(y)%rows != 0 {
		return nil, st, errors.Errorf("blocks: Anderson solve of %d values in %d rows", len(y), rows)
	}
	cfg, err := fp.Anderson.withDefaults()
	if err != nil {
		return nil, st, err
	}
	d := len(y) / rows
	s := newAndersonState(rows, d, cfg)
	x := append([]float64(nil), y...)
	gx := make([]float64, len(y))
	tol := fp.Tol
	for st.Iter = 1; st.Iter <= fp.MaxIter; st.Iter++ {
		if err := g(x, gx); err != nil {
			return nil, st, errors.Wrapf(err, "blocks: evaluating g at iteration %d", st.Iter)
		}
		// gx becomes G(x) = y − g(x) in place.
		for i := range gx {
			gx[i] = y[i] - gx[i]
		}
		if diverged := s.accept(x, gx, &st); diverged {
			return nil, st, &NotConvergedError{Iter: st.Iter, Residual: math.NaN(), Tol: tol}
		}
		st.Residual, tol = maxAbs(s.maxF), fp.Tol*(1+maxAbs(s.maxG))
		if st.Residual <= tol {
			return append([]float64(nil), s.gBest...), st, nil
		}
		for b := 0; b < rows; b++ {
			lo, hi := b*d, (b+1)*d
			if s.rejected[b] || s.sincePlain[b] >= cfg.Window || s.count[b] == 0 || s.maxF[b] <= tol {
				// The plain step from the best iterate.
				copy(x[lo:hi], s.gBest[lo:hi])
				s.extrapolated[b], s.sincePlain[b] = false, 0
				continue
			}
			s.extrapolated[b] = s.extrapolate(b, x[lo:hi])
			if s.extrapolated[b] {
				s.sincePlain[b]++
			}
		}
		round(x)
	}
	st.Iter = fp.MaxIter
	return append([]float64(nil), s.gBest...), st, &NotConvergedError{Iter: st.Iter, Residual: st.Residual, Tol: tol}
}

// accept applies the safeguard to the iterates x with images gimg = G(x):
// a rejected extrapolation restarts its sample's history and leaves its
// state as it was; an accepted iterate extends the history, becomes the
// current iterate, and the best one if its residual is the least so far.
// It marks the rejected rows in s.rejected and reports whether the image
// of a plain (not extrapolated) iterate was not finite: divergence.
func (s *andersonState) accept(x, gimg []float64, st *FixedPointStats) (diverged bool) {
	d := s.d
	for b := 0; b < s.rows; b++ {
		lo, hi := b*d, (b+1)*d
		norm := 0.0
		for i := lo; i < hi; i++ {
			r := gimg[i] - x[i]
			norm += r * r
		}
		// NaN or ±Inf anywhere makes the sum so (as does overflow beyond
		// 1e154, divergence in any case).
		norm = math.Sqrt(norm)
		finite := !math.IsNaN(norm) && !math.IsInf(norm, 0)
		s.rejected[b] = s.extrapolated[b] && (!finite || !(norm <= andersonGrowth*s.normBest[b]))
		if s.rejected[b] {
			st.Fallbacks++
			s.count[b], s.head[b] = 0, 0
			continue
		}
		if !finite {
			return true
		}
		if s.haveCur[b] {
			s.push(b, x, gimg)
		}
		improved := !s.haveCur[b] || norm < s.normBest[b]
		if !improved {
			for i := lo; i < hi; i++ {
				s.fCur[i], s.gCur[i] = gimg[i]-x[i], gimg[i]
			}
		} else {
			mf, mg := 0.0, 0.0
			for i := lo; i < hi; i++ {
				f, gi := gimg[i]-x[i], gimg[i]
				s.fCur[i], s.gCur[i] = f, gi
				s.fBest[i], s.gBest[i] = f, gi
				if af := math.Abs(f); af > mf {
					mf = af
				}
				if ag := math.Abs(gi); ag > mg {
					mg = ag
				}
			}
			s.normBest[b], s.maxF[b], s.maxG[b] = norm, mf, mg
		}
		s.haveCur[b] = true
	}
	return false
}

// push appends to sample b's history the differences between the iterate
// x (image gimg) and the current one, and its inner products with the
// other columns to the Gram matrix.
func (s *andersonState) push(b int, x, gimg []float64) {
	d, m := s.d, s.cfg.Window
	lo, hi := b*d, (b+1)*d
	j := s.head[b]
	df, dg := s.dF[j][lo:hi], s.dG[j][lo:hi]
	for i := range df {
		df[i] = (gimg[lo+i] - x[lo+i]) - s.fCur[lo+i]
		dg[i] = gimg[lo+i] - s.gCur[lo+i]
	}
	s.head[b] = (j + 1) % m
	s.count[b] = min(s.count[b]+1, m)
	gram := s.gram[b*m*m : (b+1)*m*m]
	for c := 0; c < s.count[b]; c++ {
		k := (j - c + m) % m // slot of the c-th newest column
		v := dot(df, s.dF[k][lo:hi])
		gram[j*m+k], gram[k*m+j] = v, v
	}
}

// extrapolate writes sample b's Anderson iterate into out (its d values)
// and reports whether it is an extrapolation; when the least squares has
// no usable column or the result is not finite it writes the plain step
// G(x) instead and reports false.
func (s *andersonState) extrapolate(b int, out []float64) bool {
	d, m := s.d, s.cfg.Window
	lo, hi := b*d, (b+1)*d
	f := s.fCur[lo:hi]
	gram := s.gram[b*m*m : (b+1)*m*m]
	// Cholesky factor L of the Gram matrix of the kept columns, newest
	// first: a column's pivot² is the squared norm of its part orthogonal
	// to the kept newer ones.
	s.cols = s.cols[:0]
	l := s.chol
	for c := 0; c < s.count[b]; c++ {
		j := (s.head[b] - 1 - c + m) % m
		k := len(s.cols)
		diag := gram[j*m+j]
		if !(diag > 0) {
			continue
		}
		rest := diag
		for p, jp := range s.cols {
			v := gram[jp*m+j]
			for q := 0; q < p; q++ {
				v -= l[p*m+q] * l[k*m+q]
			}
			v /= l[p*m+p]
			l[k*m+p] = v
			rest -= v * v
		}
		if !(rest > andersonDropTol*andersonDropTol*diag) {
			continue
		}
		l[k*m+k] = math.Sqrt(rest)
		s.cols = append(s.cols, j)
	}
	k := len(s.cols)
	if k == 0 {
		copy(out, s.gCur[lo:hi])
		return false
	}
	// Solve L Lᵀ γ = ΔFᵀ f.
	for p, j := range s.cols {
		v := dot(s.dF[j][lo:hi], f)
		for q := 0; q < p; q++ {
			v -= l[p*m+q] * s.gamma[q]
		}
		s.gamma[p] = v / l[p*m+p]
	}
	for p := k - 1; p >= 0; p-- {
		v := s.gamma[p]
		for q := p + 1; q < k; q++ {
			v -= l[q*m+p] * s.gamma[q]
		}
		s.gamma[p] = v / l[p*m+p]
	}
	beta := s.cfg.Damping
	copy(out, s.gCur[lo:hi])
	if beta != 1 {
		axpy(-(1 - beta), f, out)
	}
	for p, j := range s.cols {
		// out −= γ_p (ΔG_p − (1 − β) ΔF_p)
		axpy(-s.gamma[p], s.dG[j][lo:hi], out)
		if beta != 1 {
			axpy(s.gamma[p]*(1-beta), s.dF[j][lo:hi], out)
		}
	}
	for _, v := range out {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			copy(out, s.gCur[lo:hi])
			return false
		}
	}
	return true
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i, v := range a {
		s += v * b[i]
	}
	return s
}

// axpy sets y += alpha·x.
func axpy(alpha float64, x, y []float64) {
	for i, v := range x {
		y[i] += alpha * v
	}
}

// inverseMethod resolves MethodAuto for this block: plain iteration when
// its branch is not spectrally normalized, Anderson otherwise.
func (r *Residual) inverseMethod() InverseMethod {
	if r.fp.Method != MethodAuto {
		return r.fp.Method
	}
	if !r.g.normalized() {
		return MethodPlain
	}
	return MethodAnderson
}

// roundFunc returns the rounding of float64 values to what dtype holds.
func roundFunc(dt tensor.Dtype) func([]float64) {
	if dt == tensor.Float32 {
		return func(x []float64) {
			for i, v := range x {
				x[i] = float64(float32(v))
			}
		}
	}
	return func([]float64) {}
}

// loadFloat64 copies t's values into dst as float64.
func loadFloat64(dst []float64, t *tensor.Dense) {
	switch d := t.Data().(type) {
	case []float64:
		copy(dst, d)
	case []float32:
		for i, v := range d {
			dst[i] = float64(v)
		}
	default:
		panic("blocks: unsupported dtype " + t.Dtype().String())
	}
}

// SetInverse replaces the block's fixed-point settings for later inverses,
// e.g. to compare MethodPlain with MethodAnderson on a loaded model. Zero
// fields take their defaults.
func (r *Residual) SetInverse(fp FixedPoint) error {
	fp, err := fp.withDefaults(r.dtype)
	if err != nil {
		return err
	}
	r.fp = fp
	return nil
}

// InverseConfig returns the block's fixed-point settings, defaults filled in.
func (r *Residual) InverseConfig() FixedPoint { return r.fp }
