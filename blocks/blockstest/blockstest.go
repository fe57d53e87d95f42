// Package blockstest is the conformance suite every bijector of this
// module runs from its tests, in float64. [Check] builds a bijector from a
// seeded source and checks, on a random batch:
//
//   - shape: the log-det has shape (N), is finite, and each row of the
//     output has as many entries as a row of the input;
//   - round trip: Inverse(Forward(x)) ≈ x;
//   - log-det: the per-row log-det equals log|det J| of the Jacobian J of
//     the numeric forward map, built column by column from central finite
//     differences of basis-vector perturbations and factorized with gonum's
//     LU — never from the bijector's own log-det;
//   - gradient: the gradient of the scalar loss Σ logDet + Σ y ⊙ r (r a
//     fixed random tensor) w.r.t. every learnable parameter, from
//     graph.VJP, equals central finite differences of the loss (with the
//     step h, or, where that disagrees, h/100: a ReLU whose input lies
//     within the step of its kink spoils the difference at h for every
//     parameter upstream, while a wrong gradient matches neither);
//   - rows: the map works row by row: permuting the rows of x permutes the
//     rows of y and the entries of logDet, and changing one row of x changes
//     no other row of y or logDet;
//   - rerun: running one compiled forward graph twice gives the same y and
//     log-det bit for bit and leaves the input tensor untouched (an op
//     writing in place into memory shared with its input breaks this);
//   - tensors: every parameter the forward graph registers is listed by
//     the bijector's blocks.Tensorer under the same name, as the same
//     tensor, marked learnable, and every learnable tensor listed is used.
//
// Bijectors with a stochastic log-det (Hutchinson probes) fail the log-det
// and rows checks by design; test them with an exact estimator.
//
// A [blocks.DataInitializer] is first initialized from an independent
// random batch, so ActNorm layers are not the identity. Parameters that
// start at zero (a Glow coupling net's last layer) make most checks trivial;
// [PerturbParams] adds noise to every learnable tensor first.
package blockstest

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/graph"
	"github.com/pkg/errors"
	"gonum.org/v1/gonum/mat"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Default tolerances, for float64 models on inputs of a few dozen entries.
const (
	// DefaultRoundTripTol bounds max |x − Inverse(Forward(x))| relative to
	// 1 + max |x|: exact inverses reach ~1e-14; fixed-point inverses stop
	// at their own tolerance (1e-12 by default).
	DefaultRoundTripTol = 1e-9
	// DefaultLogDetTol bounds |logDet − log|det J_fd|| relative to
	// 1 + |log|det J_fd||. With step h = 1e-5 the central difference of a
	// smooth map is off by O(h²·f''') ≈ 1e-10 per Jacobian entry plus
	// rounding ≈ 1e-16/h ≈ 1e-11; a d ≤ 64 log-det of a well-conditioned
	// Jacobian moves by at most d·cond·that, far below 1e-6.
	DefaultLogDetTol = 1e-6
	// DefaultGradTol bounds |g − g_fd| relative to 1 + |g_fd| for each
	// parameter entry, with the same step reasoning as DefaultLogDetTol.
	DefaultGradTol = 1e-6
	// DefaultStep is the central-difference step h.
	DefaultStep = 1e-5
	// DefaultRowTol bounds the change of other rows when one row of x
	// changes, and the mismatch of permuted rows: only summation order
	// differs, so a few ulps.
	DefaultRowTol = 1e-10
	// DefaultMaxGradEntries is how many entries of each parameter tensor
	// the gradient check perturbs (chosen at random when it has more).
	DefaultMaxGradEntries = 12
)

// An Option adjusts a [Check].
type Option func(*settings)

type settings struct {
	roundTripTol, logDetTol, gradTol, rowTol, step float64
	maxGradEntries                                 int
	seed1, seed2                                   uint64
	inputScale                                     float64
	perturb                                        float64
	dataInit                                       bool
	skip                                           map[string]bool
}

func defaults() settings {
	return settings{
		roundTripTol: DefaultRoundTripTol, logDetTol: DefaultLogDetTol, gradTol: DefaultGradTol,
		rowTol: DefaultRowTol, step: DefaultStep, maxGradEntries: DefaultMaxGradEntries,
		seed1: 1, seed2: 1, inputScale: 1, dataInit: true, skip: map[string]bool{},
	}
}

// RoundTripTol sets the round-trip tolerance (default [DefaultRoundTripTol]).
func RoundTripTol(tol float64) Option { return func(s *settings) { s.roundTripTol = tol } }

// LogDetTol sets the log-det tolerance (default [DefaultLogDetTol]).
func LogDetTol(tol float64) Option { return func(s *settings) { s.logDetTol = tol } }

// GradTol sets the gradient tolerance (default [DefaultGradTol]).
func GradTol(tol float64) Option { return func(s *settings) { s.gradTol = tol } }

// RowTol sets the row-independence tolerance (default [DefaultRowTol]).
func RowTol(tol float64) Option { return func(s *settings) { s.rowTol = tol } }

// Step sets the finite-difference step (default [DefaultStep]).
func Step(h float64) Option { return func(s *settings) { s.step = h } }

// MaxGradEntries sets how many entries per parameter tensor the gradient
// check perturbs (default [DefaultMaxGradEntries]); n ≤ 0 means all.
func MaxGradEntries(n int) Option { return func(s *settings) { s.maxGradEntries = n } }

// Seed sets the PCG seed of the source passed to build and used for the
// inputs (default 1, 1).
func Seed(a, b uint64) Option { return func(s *settings) { s.seed1, s.seed2 = a, b } }

// InputScale sets the standard deviation of the Gaussian test inputs
// (default 1).
func InputScale(sd float64) Option { return func(s *settings) { s.inputScale = sd } }

// PerturbParams adds independent N(0, sd²) noise to every learnable tensor
// the bijector lists (blocks.Tensorer) before the checks, after data
// initialization, so zero-initialized layers are exercised.
func PerturbParams(sd float64) Option { return func(s *settings) { s.perturb = sd } }

// NoDataInit skips the InitFromBatch call on a blocks.DataInitializer.
func NoDataInit() Option { return func(s *settings) { s.dataInit = false } }

// Skip leaves out the named checks: "roundtrip", "logdet", "grad", "rows",
// "rerun", "tensors".
func Skip(checks ...string) Option {
	return func(s *settings) {
		for _, c := range checks {
			s.skip[c] = true
		}
	}
}

// Check builds a bijector with build from a seeded source and runs every
// check of the package documentation on a float64 batch of the given
// shape (N, ...), N ≥ 2. name prefixes every failure message. Failures are
// reported through t; a failure that makes later checks meaningless stops
// the check with t.Fatalf.
func Check(t testing.TB, name string, build func(rng *rand.Rand) (blocks.Bijector, error), inputShape []int, opts ...Option) {
	t.Helper()
	s := defaults()
	for _, o := range opts {
		o(&s)
	}
	if len(inputShape) < 2 || inputShape[0] < 2 {
		t.Fatalf("%s: input shape %v must be (N, ...) with N ≥ 2", name, inputShape)
		return
	}
	rng := rand.New(rand.NewPCG(s.seed1, s.seed2))
	f, err := build(rng)
	if err != nil {
		t.Fatalf("%s: build: %v", name, err)
		return
	}
	if di, ok := f.(blocks.DataInitializer); ok && s.dataInit {
		if err := di.InitFromBatch(randn(rng, s.inputScale, inputShape)); err != nil {
			t.Fatalf("%s: InitFromBatch: %v", name, err)
			return
		}
	}
	if s.perturb > 0 {
		var listed []blocks.NamedTensor
		if tr, ok := f.(blocks.Tensorer); ok { // others have no parameters to perturb
			listed = tr.Tensors()
		}
		for _, nt := range listed {
			if nt.Learnable {
				d, ok := nt.Value.Data().([]float64)
				if !ok {
					t.Fatalf("%s: tensor %s has dtype %v, want float64", name, nt.Name, nt.Value.Dtype())
					return
				}
				for i := range d {
					d[i] += s.perturb * rng.NormFloat64()
				}
			}
		}
	}
	x := randn(rng, s.inputScale, inputShape)
	y, ld, err := ForwardValues(f, x)
	if err != nil {
		t.Fatalf("%s: forward: %v", name, err)
		return
	}
	n, d := inputShape[0], x.Shape().TotalSize()/inputShape[0]
	if !ld.Shape().Eq(tensor.Shape{n}) {
		t.Fatalf("%s: log-det has shape %v, want (%d)", name, ld.Shape(), n)
		return
	}
	if y.Shape().Dims() < 1 || y.Shape()[0] != n || y.Shape().TotalSize() != n*d {
		t.Fatalf("%s: output shape %v does not keep %d rows of %d entries (input %v)", name, y.Shape(), n, d, x.Shape())
		return
	}
	lds := ld.Data().([]float64)
	for i, v := range lds {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("%s: log-det[%d] = %v", name, i, v)
			return
		}
	}
	if !s.skip["roundtrip"] {
		checkRoundTrip(t, name, f, x, y, s)
	}
	if !s.skip["logdet"] {
		want, err := FiniteDifferenceLogDet(f, x, s.step)
		if err != nil {
			t.Errorf("%s: finite-difference Jacobian: %v", name, err)
		} else {
			for i := range want {
				if diff := math.Abs(lds[i] - want[i]); !(diff <= s.logDetTol*(1+math.Abs(want[i]))) {
					t.Errorf("%s: log-det[%d] = %.12g, log|det J| of the finite-difference Jacobian = %.12g (diff %.3g, tol %.3g relative)", name, i, lds[i], want[i], diff, s.logDetTol)
				}
			}
		}
	}
	if !s.skip["rows"] {
		checkRows(t, name, f, x, y, ld, rng, s)
	}
	if !s.skip["rerun"] {
		checkRerun(t, name, f, x)
	}
	if !s.skip["tensors"] {
		checkTensors(t, name, f, x)
	}
	if !s.skip["grad"] {
		checkGrad(t, name, f, x, rng, s)
	}
}

func checkRoundTrip(t testing.TB, name string, f blocks.Bijector, x, y *tensor.Dense, s settings) {
	t.Helper()
	xr, err := f.Inverse(y)
	if err != nil {
		t.Errorf("%s: inverse: %v", name, err)
		return
	}
	if !xr.Shape().Eq(x.Shape()) {
		t.Errorf("%s: inverse has shape %v, want %v", name, xr.Shape(), x.Shape())
		return
	}
	xd, rd := x.Data().([]float64), xr.Data().([]float64)
	worst, at, scale := 0.0, 0, 1.0
	for i := range xd {
		scale = math.Max(scale, 1+math.Abs(xd[i]))
		if d := math.Abs(xd[i] - rd[i]); !(d <= worst) {
			worst, at = d, i
		}
	}
	if !(worst <= s.roundTripTol*scale) {
		t.Errorf("%s: Inverse(Forward(x)) differs from x by %.3g at entry %d (%.12g vs %.12g; tol %.3g × %.3g)", name, worst, at, rd[at], xd[at], s.roundTripTol, scale)
	}
}

// checkRows permutes the rows of x and perturbs its first row.
func checkRows(t testing.TB, name string, f blocks.Bijector, x, y, ld *tensor.Dense, rng *rand.Rand, s settings) {
	t.Helper()
	n, d := x.Shape()[0], x.Shape().TotalSize()/x.Shape()[0]
	perm := rng.Perm(n)
	if n == 2 || isIdentity(perm) {
		for i := range perm {
			perm[i] = n - 1 - i
		}
	}
	xd, yd, lds := x.Data().([]float64), y.Data().([]float64), ld.Data().([]float64)
	xp := x.Clone().(*tensor.Dense)
	pd := xp.Data().([]float64)
	for i, p := range perm {
		copy(pd[i*d:(i+1)*d], xd[p*d:(p+1)*d])
	}
	yp, ldp, err := ForwardValues(f, xp)
	if err != nil {
		t.Errorf("%s: forward on permuted rows: %v", name, err)
		return
	}
	ypd, ldpd := yp.Data().([]float64), ldp.Data().([]float64)
	for i, p := range perm {
		if diff := math.Abs(ldpd[i] - lds[p]); !(diff <= s.rowTol*(1+math.Abs(lds[p]))) {
			t.Errorf("%s: with rows permuted by %v, log-det[%d] = %.12g, want row %d's %.12g (diff %.3g): the log-det is not per row", name, perm, i, ldpd[i], p, lds[p], diff)
		}
		if diff := maxAbsDiff(ypd[i*d:(i+1)*d], yd[p*d:(p+1)*d]); !(diff <= s.rowTol*(1+maxAbs(yd[p*d:(p+1)*d]))) {
			t.Errorf("%s: with rows permuted by %v, output row %d differs from row %d's by %.3g", name, perm, i, p, diff)
		}
	}
	// Change row 0 only; no other row may move.
	x0 := x.Clone().(*tensor.Dense)
	x0d := x0.Data().([]float64)
	for j := 0; j < d; j++ {
		x0d[j] += s.inputScale * rng.NormFloat64()
	}
	y0, ld0, err := ForwardValues(f, x0)
	if err != nil {
		t.Errorf("%s: forward with row 0 changed: %v", name, err)
		return
	}
	y0d, ld0d := y0.Data().([]float64), ld0.Data().([]float64)
	for r := 1; r < n; r++ {
		if diff := math.Abs(ld0d[r] - lds[r]); !(diff <= s.rowTol*(1+math.Abs(lds[r]))) {
			t.Errorf("%s: changing row 0 of x moved log-det[%d] by %.3g", name, r, diff)
		}
		if diff := maxAbsDiff(y0d[r*d:(r+1)*d], yd[r*d:(r+1)*d]); !(diff <= s.rowTol*(1+maxAbs(yd[r*d:(r+1)*d]))) {
			t.Errorf("%s: changing row 0 of x moved output row %d by %.3g", name, r, diff)
		}
	}
}

// checkRerun runs one compiled forward graph twice.
func checkRerun(t testing.TB, name string, f blocks.Bijector, x *tensor.Dense) {
	t.Helper()
	b, yn, ldn, in, err := buildForwardInput(f, x)
	if err != nil {
		t.Errorf("%s: forward: %v", name, err)
		return
	}
	m := G.NewTapeMachine(b.Graph().ExactSubgraphRoots(yn, ldn))
	defer m.Close()
	var runs [2][]float64
	for i := range runs {
		m.Reset()
		if err := m.RunAll(); err != nil {
			t.Errorf("%s: run %d of the forward graph: %v", name, i+1, err)
			return
		}
		y, err1 := graph.Value(yn)
		ld, err2 := graph.Value(ldn)
		if err1 != nil || err2 != nil {
			t.Errorf("%s: reading the forward graph: %v %v", name, err1, err2)
			return
		}
		runs[i] = append(append([]float64(nil), y.Data().([]float64)...), ld.Data().([]float64)...)
	}
	for i := range runs[0] {
		if runs[0][i] != runs[1][i] && !(math.IsNaN(runs[0][i]) && math.IsNaN(runs[1][i])) {
			t.Errorf("%s: a second run of one forward graph changed output entry %d from %.17g to %.17g (state kept between runs, or an op overwriting memory it shares with its input)", name, i, runs[0][i], runs[1][i])
			break
		}
	}
	xd, id := x.Data().([]float64), in.Data().([]float64)
	for i := range xd {
		if xd[i] != id[i] {
			t.Errorf("%s: running the forward graph overwrote input entry %d (%.17g → %.17g)", name, i, xd[i], id[i])
			break
		}
	}
}

// checkTensors matches the forward graph's parameters with blocks.Tensorer.
func checkTensors(t testing.TB, name string, f blocks.Bijector, x *tensor.Dense) {
	t.Helper()
	b, _, _, err := buildForward(f, x)
	if err != nil {
		t.Errorf("%s: forward: %v", name, err)
		return
	}
	listed := map[string]blocks.NamedTensor{}
	if tr, ok := f.(blocks.Tensorer); ok {
		for _, nt := range tr.Tensors() {
			if _, dup := listed[nt.Name]; dup {
				t.Errorf("%s: Tensors lists %q twice", name, nt.Name)
			}
			listed[nt.Name] = nt
		}
	} else if len(b.Params()) > 0 {
		t.Errorf("%s: %T registers %d parameters but is not a blocks.Tensorer", name, f, len(b.Params()))
		return
	}
	used := map[string]bool{}
	for _, p := range b.Params() {
		used[p.Name] = true
		nt, ok := listed[p.Name]
		switch {
		case !ok:
			t.Errorf("%s: parameter %q of the forward graph is not listed by Tensors", name, p.Name)
		case nt.Value != p.Value:
			t.Errorf("%s: Tensors lists %q with another tensor than the graph's parameter", name, p.Name)
		case !nt.Learnable:
			t.Errorf("%s: Tensors lists parameter %q as not learnable", name, p.Name)
		}
	}
	for _, nt := range listed {
		if nt.Learnable && !used[nt.Name] {
			t.Errorf("%s: learnable tensor %q is not a parameter of the forward graph", name, nt.Name)
		}
	}
}

// checkGrad compares graph.VJP gradients of Σ logDet + Σ y ⊙ r with
// central differences of the same loss.
func checkGrad(t testing.TB, name string, f blocks.Bijector, x *tensor.Dense, rng *rand.Rand, s settings) {
	t.Helper()
	b, yn, ldn, err := buildForward(f, x)
	if err != nil {
		t.Errorf("%s: forward: %v", name, err)
		return
	}
	params := b.Params()
	if len(params) == 0 {
		return
	}
	r := randn(rng, 1, yn.Shape())
	loss, grads, err := lossAndGrads(b, yn, ldn, r, params)
	if err != nil {
		t.Errorf("%s: gradient graph: %v", name, err)
		return
	}
	roots := append(G.Nodes{loss}, grads...)
	m := G.NewTapeMachine(b.Graph().ExactSubgraphRoots(roots...))
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Errorf("%s: running the gradient graph: %v", name, err)
		return
	}
	// Finite differences need the loss alone: a machine without the
	// gradient nodes runs several times faster.
	ml := G.NewTapeMachine(b.Graph().ExactSubgraphRoots(loss))
	defer ml.Close()
	eval := func() (float64, error) {
		ml.Reset()
		if err := ml.RunAll(); err != nil {
			return 0, err
		}
		return scalarValue(loss)
	}
	analytic := make([][]float64, len(params))
	for i, g := range grads {
		v, err := graph.Value(g)
		if err != nil {
			t.Errorf("%s: gradient of %s: %v", name, params[i].Name, err)
			return
		}
		analytic[i] = append([]float64(nil), v.Data().([]float64)...)
	}
	for i, p := range params {
		data, ok := p.Value.Data().([]float64)
		if !ok {
			t.Errorf("%s: parameter %s has dtype %v, want float64", name, p.Name, p.Value.Dtype())
			continue
		}
		idx := entries(len(data), s.maxGradEntries, rng)
		for _, k := range idx {
			orig := data[k]
			data[k] = orig + s.step
			lp, err1 := eval()
			data[k] = orig - s.step
			lm, err2 := eval()
			data[k] = orig
			if err1 != nil || err2 != nil {
				t.Errorf("%s: evaluating the loss at a perturbed %s: %v %v", name, p.Name, err1, err2)
				return
			}
			fd := (lp - lm) / (2 * s.step)
			if within(analytic[i][k], fd, s.gradTol) {
				continue
			}
			// A ReLU kink within the step makes the central difference
			// wrong for every parameter upstream of it; retry with a
			// step 100 times smaller. A wrong gradient matches neither.
			small := s.step / 100
			data[k] = orig + small
			lp, err1 = eval()
			data[k] = orig - small
			lm, err2 = eval()
			data[k] = orig
			if err1 != nil || err2 != nil {
				t.Errorf("%s: evaluating the loss at a perturbed %s: %v %v", name, p.Name, err1, err2)
				return
			}
			fdSmall := (lp - lm) / (2 * small)
			if !within(analytic[i][k], fdSmall, s.gradTol) {
				t.Errorf("%s: ∂loss/∂%s[%d] = %.10g, central differences %.10g (step %g) and %.10g (step %g) (diff %.3g, tol %.3g relative)", name, p.Name, k, analytic[i][k], fd, s.step, fdSmall, small, math.Abs(analytic[i][k]-fd), s.gradTol)
			}
		}
	}
}

func lossAndGrads(b *graph.Builder, y, ld *G.Node, r *tensor.Dense, params []*graph.Param) (*G.Node, G.Nodes, error) {
	rn, err := b.Input("blockstest/r", r)
	if err != nil {
		return nil, nil, err
	}
	yr, err := G.HadamardProd(y, rn)
	if err != nil {
		return nil, nil, errors.Wrap(err, "blockstest: y ⊙ r")
	}
	s1, err := G.Sum(yr)
	if err != nil {
		return nil, nil, errors.Wrap(err, "blockstest: Σ y ⊙ r")
	}
	s2, err := G.Sum(ld)
	if err != nil {
		return nil, nil, errors.Wrap(err, "blockstest: Σ logDet")
	}
	loss, err := G.Add(s1, s2)
	if err != nil {
		return nil, nil, errors.Wrap(err, "blockstest: loss")
	}
	one, err := b.Scalar("blockstest/one", 1)
	if err != nil {
		return nil, nil, err
	}
	wrt := make(G.Nodes, len(params))
	for i, p := range params {
		wrt[i] = p.Node
	}
	grads, err := graph.VJP(G.Nodes{loss}, G.Nodes{one}, wrt)
	if err != nil {
		return nil, nil, err
	}
	for i, g := range grads {
		if g == nil {
			return nil, nil, errors.Errorf("blockstest: the loss does not depend on parameter %s", params[i].Name)
		}
	}
	return loss, grads, nil
}

// ForwardValues builds f on a fresh graph for x and returns y and the
// per-row log-det as tensors.
func ForwardValues(f blocks.Bijector, x *tensor.Dense) (y, logDet *tensor.Dense, err error) {
	b, yn, ldn, err := buildForward(f, x)
	if err != nil {
		return nil, nil, err
	}
	m := G.NewTapeMachine(b.Graph().ExactSubgraphRoots(yn, ldn))
	defer m.Close()
	if err := m.RunAll(); err != nil {
		return nil, nil, errors.Wrap(err, "blockstest: running forward")
	}
	if y, err = graph.Value(yn); err != nil {
		return nil, nil, err
	}
	if logDet, err = graph.Value(ldn); err != nil {
		return nil, nil, err
	}
	return y, logDet, nil
}

func buildForward(f blocks.Bijector, x *tensor.Dense) (*graph.Builder, *G.Node, *G.Node, error) {
	b, y, ld, _, err := buildForwardInput(f, x)
	return b, y, ld, err
}

// buildForwardInput builds f on a fresh graph whose input is bound to a
// copy of x, returned as in.
func buildForwardInput(f blocks.Bijector, x *tensor.Dense) (b *graph.Builder, y, ld *G.Node, in *tensor.Dense, err error) {
	if b, err = graph.NewBuilder(x.Dtype()); err != nil {
		return nil, nil, nil, nil, err
	}
	in = x.Clone().(*tensor.Dense)
	xn, err := b.Input("blockstest/x", in)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	if y, ld, err = f.Forward(b, xn); err != nil {
		return nil, nil, nil, nil, err
	}
	if y == nil || ld == nil {
		return nil, nil, nil, nil, errors.New("blockstest: Forward returned a nil output or log-det")
	}
	return b, y, ld, in, nil
}

// FiniteDifferenceLogDet returns log|det ∂f/∂x| for each row of the
// float64 batch x, from the Jacobian of the numeric forward map built by
// central differences with step h: column j is (f(x + h·e_j) − f(x −
// h·e_j)) / 2h, perturbing entry j of every row at once (rows must not
// interact; [Check] verifies that separately). The log-det comes from
// gonum's LU factorization; f's own log-det is never evaluated.
func FiniteDifferenceLogDet(f blocks.Bijector, x *tensor.Dense, h float64) ([]float64, error) {
	jac, err := FiniteDifferenceJacobian(f, x, h)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(jac))
	for r, j := range jac {
		var lu mat.LU
		lu.Factorize(j)
		ld, sign := lu.LogDet()
		if sign == 0 || math.IsInf(ld, 0) || math.IsNaN(ld) {
			return nil, errors.Errorf("blockstest: row %d has a singular finite-difference Jacobian", r)
		}
		out[r] = ld
	}
	return out, nil
}

// FiniteDifferenceJacobian returns, for each row of the float64 batch x
// (N, ...), the d×d Jacobian of the flattened forward map of f by central
// differences with step h (d = entries per row; the output must have as
// many per row).
func FiniteDifferenceJacobian(f blocks.Bijector, x *tensor.Dense, h float64) ([]*mat.Dense, error) {
	xd, ok := x.Data().([]float64)
	if !ok {
		return nil, errors.Errorf("blockstest: finite differences need float64, got %v", x.Dtype())
	}
	s := x.Shape()
	n, d := s[0], s.TotalSize()/s[0]
	fn, err := graph.NewFunc(tensor.Float64, s, func(b *graph.Builder, xn *G.Node) (*G.Node, error) {
		y, _, err := f.Forward(b, xn)
		return y, err
	})
	if err != nil {
		return nil, err
	}
	defer fn.Close()
	jac := make([]*mat.Dense, n)
	for r := range jac {
		jac[r] = mat.NewDense(d, d, nil)
	}
	xp := x.Clone().(*tensor.Dense)
	pd := xp.Data().([]float64)
	var plus []float64
	for j := 0; j < d; j++ {
		for k, sign := range []float64{1, -1} {
			for r := 0; r < n; r++ {
				pd[r*d+j] = xd[r*d+j] + sign*h
			}
			y, err := fn.Call(xp)
			if err != nil {
				return nil, err
			}
			yd := y.Data().([]float64)
			if len(yd) != n*d {
				return nil, errors.Errorf("blockstest: output has %d entries, want %d (N·d)", len(yd), n*d)
			}
			if k == 0 {
				plus = yd
				continue
			}
			for r := 0; r < n; r++ {
				for i := 0; i < d; i++ {
					jac[r].Set(i, j, (plus[r*d+i]-yd[r*d+i])/(2*h))
				}
			}
		}
		for r := 0; r < n; r++ {
			pd[r*d+j] = xd[r*d+j]
		}
	}
	return jac, nil
}

func randn(rng *rand.Rand, sd float64, shape []int) *tensor.Dense {
	t := tensor.New(tensor.Of(tensor.Float64), tensor.WithShape(shape...))
	d := t.Data().([]float64)
	for i := range d {
		d[i] = sd * rng.NormFloat64()
	}
	return t
}

func scalarValue(n *G.Node) (float64, error) {
	switch v := n.Value().(type) {
	case *G.F64:
		return float64(*v), nil
	case *tensor.Dense:
		if d, ok := v.Data().([]float64); ok && len(d) == 1 {
			return d[0], nil
		}
		if d, ok := v.Data().(float64); ok {
			return d, nil
		}
	}
	return 0, errors.Errorf("blockstest: loss node holds %T, want a float64 scalar", n.Value())
}

// entries picks up to max distinct indices of [0, n), all when max ≤ 0.
func entries(n, max int, rng *rand.Rand) []int {
	if max <= 0 || n <= max {
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out
	}
	out := rng.Perm(n)[:max]
	sort.Ints(out)
	return out
}

// within reports |got − want| ≤ tol·(1 + |want|).
func within(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*(1+math.Abs(want))
}

func isIdentity(p []int) bool {
	for i, v := range p {
		if v != i {
			return false
		}
	}
	return true
}

func maxAbs(a []float64) float64 {
	m := 0.0
	for _, v := range a {
		m = math.Max(m, math.Abs(v))
	}
	return m
}

func maxAbsDiff(a, b []float64) float64 {
	m := 0.0
	for i := range a {
		d := math.Abs(a[i] - b[i])
		if math.IsNaN(d) {
			return d
		}
		m = math.Max(m, d)
	}
	return m
}
