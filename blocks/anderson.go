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
	// whose g is spectrally normalized (Lip(g) < 1, where the safeguard
	// below makes it never slower than plain iteration by more than a few
	// evaluations, and measured 2–20× faster at c ≥ 0.9) and plain
	// iteration for Unconstrained blocks, whose fixed point is expected to
	// fail and must do so as the paper's vanilla comparison does.
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
// The least-squares problem is solved by modified Gram–Schmidt QR on the
// newest-first columns of ΔF, dropping a column whose part orthogonal to
// the newer ones is below 1e-8 of its norm (linearly dependent history, as
// in a d-dimensional problem with d < Window).
//
// Safeguard: an extrapolated iterate whose residual is not finite or larger
// (Euclidean norm) than that of the sample's last accepted iterate is
// rejected; the sample takes the plain step G of its last accepted iterate
// instead, which Lip(g) < 1 makes a contraction, and its history restarts.
// After 8 rejections a sample continues by plain iteration alone. A
// rejection costs one evaluation of g (counted in FixedPointStats.Iter and
// FixedPointStats.Fallbacks).
type AndersonConfig struct {
	// Window is the history length m ≥ 1; 0 means 5.
	Window int `json:"window,omitempty"`
	// Damping is β in (0, 1]; 0 means 1 (undamped, the fastest on the
	// blocks measured in notebooks/cmd/fixedpoint).
	Damping float64 `json:"damping,omitempty"`
}

const (
	defaultAndersonWindow  = 5
	defaultAndersonDamping = 1.0
	// andersonDropTol is the relative size below which a history column
	// counts as linearly dependent on the newer ones and is dropped.
	andersonDropTol = 1e-8
	// andersonMaxRejects is the number of rejected extrapolations after
	// which a sample continues by plain iteration.
	andersonMaxRejects = 8
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
	// Accepted iterate per sample: its image G and residual f = G − x.
	gAcc, fAcc []float64
	fAccNorm   []float64
	haveAcc    []bool
	// History ring per sample: dF[j], dG[j] hold column j of every
	// sample; count and head are per sample.
	dF, dG      [][]float64
	count, head []int
	// extrapolated marks samples whose current iterate is an Anderson
	// step that the safeguard must check; rejects counts rejections.
	extrapolated []bool
	rejects      []int
	// Scratch for one sample's least squares.
	q     [][]float64
	r     []float64
	cols  []int
	gamma []float64
}

func newAndersonState(rows, d int, cfg AndersonConfig) *andersonState {
	n := rows * d
	m := cfg.Window
	s := &andersonState{
		rows: rows, d: d, cfg: cfg,
		gAcc: make([]float64, n), fAcc: make([]float64, n),
		fAccNorm: make([]float64, rows), haveAcc: make([]bool, rows),
		dF: make([][]float64, m), dG: make([][]float64, m),
		count: make([]int, rows), head: make([]int, rows),
		extrapolated: make([]bool, rows), rejects: make([]int, rows),
		q: make([][]float64, m), r: make([]float64, m*m),
		cols: make([]int, 0, m), gamma: make([]float64, m),
	}
	for j := 0; j < m; j++ {
		s.dF[j], s.dG[j] = make([]float64, n), make([]float64, n)
		s.q[j] = make([]float64, d)
	}
	return s
}

// andersonSolve solves x = y − g(x) by safeguarded Anderson acceleration,
// one set of mixing coefficients per row (g must act on rows
// independently, as every branch in this package does). round maps an
// iterate onto the values g's input dtype can hold, so residuals refer to
// the points actually evaluated. It stops, like plainSolve, once the
// accepted iterates x satisfy max |G(x) − x| ≤ Tol·(1 + max |G(x)|), and
// returns G(x); when MaxIter runs out it returns G of the accepted
// iterates with a *NotConvergedError (Last unset).
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
		rejected, diverged := s.accept(x, gx, &st)
		if diverged {
			return nil, st, &NotConvergedError{Iter: st.Iter, Residual: math.NaN(), Tol: tol}
		}
		st.Residual = maxAbs(s.fAcc)
		tol = fp.Tol * (1 + maxAbs(s.gAcc))
		if st.Residual <= tol {
			return append([]float64(nil), s.gAcc...), st, nil
		}
		for b := 0; b < rows; b++ {
			lo, hi := b*d, (b+1)*d
			if rejected[b] || s.rejects[b] >= andersonMaxRejects || s.count[b] == 0 || maxAbs(s.fAcc[lo:hi]) <= tol {
				// The plain step from the accepted iterate.
				copy(x[lo:hi], s.gAcc[lo:hi])
				s.extrapolated[b] = false
				continue
			}
			s.extrapolated[b] = s.extrapolate(b, x[lo:hi])
		}
		round(x)
	}
	st.Iter = fp.MaxIter
	return append([]float64(nil), s.gAcc...), st, &NotConvergedError{Iter: st.Iter, Residual: st.Residual, Tol: tol}
}

// accept applies the safeguard to the iterates x with images gimg = G(x):
// rejected extrapolations keep the previous accepted iterate; accepted
// ones extend the history and become the accepted iterate. It reports the
// rejected rows, and whether the image of a plain (not extrapolated)
// iterate was not finite: divergence.
func (s *andersonState) accept(x, gimg []float64, st *FixedPointStats) (rejected []bool, diverged bool) {
	d := s.d
	rejected = make([]bool, s.rows)
	for b := 0; b < s.rows; b++ {
		lo, hi := b*d, (b+1)*d
		norm, finite := 0.0, true
		for i := lo; i < hi; i++ {
			r := gimg[i] - x[i]
			norm += r * r
			finite = finite && !math.IsNaN(r) && !math.IsInf(r, 0)
		}
		norm = math.Sqrt(norm)
		if s.extrapolated[b] && (!finite || !(norm <= s.fAccNorm[b])) {
			rejected[b] = true
			s.rejects[b]++
			st.Fallbacks++
			s.count[b], s.head[b] = 0, 0
			continue
		}
		if !finite {
			return rejected, true
		}
		if s.haveAcc[b] {
			j := s.head[b]
			for i := lo; i < hi; i++ {
				f := gimg[i] - x[i]
				s.dF[j][i] = f - s.fAcc[i]
				s.dG[j][i] = gimg[i] - s.gAcc[i]
			}
			s.head[b] = (j + 1) % s.cfg.Window
			s.count[b] = min(s.count[b]+1, s.cfg.Window)
		}
		for i := lo; i < hi; i++ {
			s.fAcc[i] = gimg[i] - x[i]
			s.gAcc[i] = gimg[i]
		}
		s.fAccNorm[b] = norm
		s.haveAcc[b] = true
	}
	return rejected, false
}

// extrapolate writes sample b's Anderson iterate into out (its d values)
// and reports whether it is an extrapolation; when the least squares has
// no usable column or the result is not finite it writes the plain step
// G(x) instead and reports false.
func (s *andersonState) extrapolate(b int, out []float64) bool {
	d, m := s.d, s.cfg.Window
	lo, hi := b*d, (b+1)*d
	f := s.fAcc[lo:hi]
	// Modified Gram–Schmidt on the columns newest first: ΔF_S = Q R.
	s.cols = s.cols[:0]
	for c := 0; c < s.count[b]; c++ {
		j := (s.head[b] - 1 - c + m) % m
		col := s.dF[j][lo:hi]
		k := len(s.cols)
		v := s.q[k]
		copy(v, col)
		orig := norm2(v)
		if !(orig > 0) {
			continue
		}
		for p := 0; p < k; p++ {
			rp := dot(s.q[p], v)
			s.r[p*m+k] = rp
			axpy(-rp, s.q[p], v)
		}
		rest := norm2(v)
		if !(rest > andersonDropTol*orig) {
			continue
		}
		s.r[k*m+k] = rest
		scal(1/rest, v)
		s.cols = append(s.cols, j)
	}
	k := len(s.cols)
	if k == 0 {
		copy(out, s.gAcc[lo:hi])
		return false
	}
	// γ = R⁻¹ Qᵀ f by back substitution.
	for p := 0; p < k; p++ {
		s.gamma[p] = dot(s.q[p], f)
	}
	for p := k - 1; p >= 0; p-- {
		v := s.gamma[p]
		for c := p + 1; c < k; c++ {
			v -= s.r[p*m+c] * s.gamma[c]
		}
		s.gamma[p] = v / s.r[p*m+p]
	}
	beta := s.cfg.Damping
	for i := range out {
		gi, fi := s.gAcc[lo+i], f[i]
		for p, j := range s.cols {
			gi -= s.gamma[p] * s.dG[j][lo+i]
			fi -= s.gamma[p] * s.dF[j][lo+i]
		}
		out[i] = gi - (1-beta)*fi
	}
	for _, v := range out {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			copy(out, s.gAcc[lo:hi])
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

func norm2(a []float64) float64 { return math.Sqrt(dot(a, a)) }

// axpy sets y += alpha·x.
func axpy(alpha float64, x, y []float64) {
	for i, v := range x {
		y[i] += alpha * v
	}
}

func scal(alpha float64, x []float64) {
	for i := range x {
		x[i] *= alpha
	}
}

// inverseMethod resolves MethodAuto for this block: plain iteration when
// its branch is not spectrally normalized, Anderson otherwise.
func (r *Residual) inverseMethod() InverseMethod {
	if r.fp.Method != MethodAuto {
		return r.fp.Method
	}
	switch br := r.g.(type) {
	case *denseBranch:
		if br.unconstrained {
			return MethodPlain
		}
	case *convBranch:
		if br.unconstrained {
			return MethodPlain
		}
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
