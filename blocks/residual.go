package blocks

import (
	"fmt"
	"math"

	"github.com/iresnet/iresnet/estimator"
	"github.com/iresnet/iresnet/graph"
	"github.com/iresnet/iresnet/normalize"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// FixedPoint configures the fixed-point inverse, the solution of
// x = G(x) with G(x) = y − g(x), from x_0 = y.
// The zero value uses the defaults below.
type FixedPoint struct {
	// Tol stops the iteration at the first iterate x with
	// max |G(x) − x| ≤ Tol·(1 + max |G(x)|), returning G(x): a relative
	// step for large values, an absolute one near zero. Since the error of
	// G(x) is at most that bound times L/(1−L) for L = Lip(g), Tol is about
	// the achievable relative accuracy for L ≤ ½. For plain iteration x
	// is the last iterate and G(x) the next one.
	// 0 means 1e-12 for float64 and 1e-6 for float32 (8 ulps: rounding in
	// g alone moves float32 iterates by a few ulps of max |x|).
	Tol float64 `json:"tol"`
	// MaxIter caps the evaluations of g (iterations); 0 means 500. Plain
	// iteration shrinks the error by about L = Lip(g) per iteration, so it
	// needs about ln(Tol)/ln(L) of them: 22 per factor 10 at L = 0.9, 230
	// at L = 0.99. 500 thus reaches a float64 Tol of 1e-12 for L ≤ 0.94 and
	// 1e-5 for L ≤ 0.977, but not at c = 0.99: the dense block of
	// notebooks/cmd/fixedpoint at its default flags (affine g, L = 0.99)
	// needed 555 plain iterations at the float64 default Tol. Raise MaxIter for plain
	// iteration there; Anderson acceleration needed 4 on that block and at
	// most a few dozen on every block measured by notebooks/cmd/anderson.
	MaxIter int `json:"max_iter"`
	// Method picks the algorithm; the zero value MethodAuto means Anderson
	// acceleration for spectrally normalized blocks and plain iteration
	// for Unconstrained ones.
	Method InverseMethod `json:"method,omitempty"`
	// Anderson tunes Anderson acceleration.
	Anderson AndersonConfig `json:"anderson,omitzero"`
}

// FixedPointStats reports how a fixed-point inverse went.
type FixedPointStats struct {
	Iter     int     // evaluations of g used (iterations)
	Residual float64 // final max |G(x) − x| (for plain iteration max |x_{i+1} − x_i|)
	// Fallbacks counts Anderson extrapolations the safeguard rejected
	// (summed over the samples of the batch); 0 for plain iteration.
	Fallbacks int
}

func (fp FixedPoint) withDefaults(dt tensor.Dtype) (FixedPoint, error) {
	if fp.Tol == 0 {
		fp.Tol = 1e-12
		if dt == tensor.Float32 {
			fp.Tol = 1e-6
		}
	}
	if fp.MaxIter == 0 {
		fp.MaxIter = 500
	}
	if !(fp.Tol > 0) || fp.MaxIter < 1 {
		return fp, errors.Errorf("blocks: fixed point needs Tol > 0 and MaxIter ≥ 1, got %g and %d", fp.Tol, fp.MaxIter)
	}
	switch fp.Method {
	case MethodAuto, MethodPlain, MethodAnderson:
	default:
		return fp, errors.Errorf("blocks: unknown fixed-point method %q (want %q, %q or empty for automatic)", fp.Method, MethodPlain, MethodAnderson)
	}
	var err error
	if fp.Anderson, err = fp.Anderson.withDefaults(); err != nil {
		return fp, err
	}
	return fp, nil
}

// branch is the residual function g of a Residual block.
type branch interface {
	// build returns g(x) in x's graph.
	build(b *graph.Builder, x *G.Node) (*G.Node, error)
	// layers returns the spectrally normalized weights in order.
	layers() []snLayer
	// tensors lists the branch's parameters and state.
	tensors() []NamedTensor
	// normalized reports whether the layers are spectrally normalized
	// (false for the unconstrained "vanilla" branch).
	normalized() bool
}

// snLayer is a weight with its spectral normalization.
type snLayer struct {
	name string
	w    *tensor.Dense
	sn   *normalize.SpectralNorm
}

// Residual is an invertible residual block F(x) = x + g(x) with a
// contractive g (see the package documentation). Build one with NewDense
// or NewConv.
type Residual struct {
	g     branch
	est   estimator.Estimator
	fp    FixedPoint
	dtype tensor.Dtype
	inv   map[string]*graph.Func // compiled g, by input shape
}

// Forward implements Bijector: y = x + g(x) and the block's estimator's
// log|det(I + J_g(x))|.
func (r *Residual) Forward(b *graph.Builder, x *G.Node) (y, logDet *G.Node, err error) {
	return r.ForwardWith(b, x, nil)
}

// ForwardWith implements EstimatedBijector: Forward with est (nil: the
// block's own estimator) for the log-det.
func (r *Residual) ForwardWith(b *graph.Builder, x *G.Node, est estimator.Estimator) (y, logDet *G.Node, err error) {
	if est == nil {
		est = r.est
	}
	gx, err := r.g.build(b, x)
	if err != nil {
		return nil, nil, err
	}
	if y, err = G.Add(x, gx); err != nil {
		return nil, nil, errors.Wrap(err, "blocks: x + g(x)")
	}
	if logDet, err = est.LogDet(b, x, gx); err != nil {
		return nil, nil, errors.Wrap(err, "blocks: log-det")
	}
	return y, logDet, nil
}

// Branch builds g(x) alone in x's graph, e.g. for an exact log-det.
func (r *Residual) Branch(b *graph.Builder, x *G.Node) (*G.Node, error) {
	return r.g.build(b, x)
}

// Estimator returns the block's own log-det estimator, which Forward uses
// (ForwardWith takes another one per graph).
func (r *Residual) Estimator() estimator.Estimator { return r.est }

// Inverse implements Bijector by fixed-point iteration.
func (r *Residual) Inverse(y *tensor.Dense) (*tensor.Dense, error) {
	x, _, err := r.InverseWithStats(y)
	return x, err
}

// InverseWithStats returns x = F⁻¹(y) with the iterations used and the final
// residual, or a *NotConvergedError (with the stats so far) when the
// iteration does not reach the tolerance or diverges. The algorithm is the
// block's FixedPoint.Method.
func (r *Residual) InverseWithStats(y *tensor.Dense) (*tensor.Dense, FixedPointStats, error) {
	f, err := r.compiled(y.Shape())
	if err != nil {
		return nil, FixedPointStats{}, err
	}
	yd := toFloat64(y)
	xt := y.Clone().(*tensor.Dense) // g's input
	g := func(x, gx []float64) error {
		storeFloat64(xt, x)
		out, err := f.Call(xt)
		if err != nil {
			return err
		}
		loadFloat64(gx, out)
		return nil
	}
	var (
		xd []float64
		st FixedPointStats
	)
	if r.inverseMethod() == MethodPlain {
		xd, st, err = plainSolve(yd, g, r.fp)
	} else {
		rows := 1 // each sample (first index) gets its own mixing
		if s := y.Shape(); len(s) > 0 && s[0] > 0 {
			rows = s[0]
		}
		xd, st, err = andersonSolve(yd, rows, g, r.fp, roundFunc(r.dtype))
	}
	var x *tensor.Dense
	if xd != nil {
		x = y.Clone().(*tensor.Dense)
		storeFloat64(x, xd)
	}
	var nc *NotConvergedError
	if errors.As(err, &nc) {
		nc.Last = x
		return nil, st, nc
	}
	if err != nil {
		return nil, st, err
	}
	return x, st, nil
}

// compiled returns g compiled for inputs of the given shape.
func (r *Residual) compiled(shape tensor.Shape) (*graph.Func, error) {
	key := fmt.Sprint(shape)
	if f, ok := r.inv[key]; ok {
		return f, nil
	}
	f, err := graph.NewFunc(r.dtype, shape, r.g.build)
	if err != nil {
		return nil, errors.Wrap(err, "blocks: compiling g for the inverse")
	}
	if r.inv == nil {
		r.inv = map[string]*graph.Func{}
	}
	r.inv[key] = f
	return f, nil
}

// UpdateSpectralNorms runs iters power-iteration steps on every layer.
func (r *Residual) UpdateSpectralNorms(iters int) error {
	ls := r.g.layers()
	return eachConcurrently(len(ls), func(i int) error {
		_, err := ls[i].sn.Update(ls[i].w, iters)
		return errors.Wrapf(err, "blocks: layer %s", ls[i].name)
	})
}

// SpectralNorms returns each layer's current σ̂ and coefficient, keyed by
// layer name.
func (r *Residual) SpectralNorms() map[string][2]float64 {
	out := map[string][2]float64{}
	for _, l := range r.g.layers() {
		out[l.name] = [2]float64{l.sn.Sigma(), l.sn.Coeff()}
	}
	return out
}

// LipschitzBound returns ∏ min(σ̂ᵢ, cᵢ), the bound on Lip(g) implied by the
// current power-iteration estimates and 1-Lipschitz activations.
func (r *Residual) LipschitzBound() float64 {
	p := 1.0
	for _, l := range r.g.layers() {
		p *= math.Min(l.sn.Sigma(), l.sn.Coeff())
	}
	return p
}

// Tensors implements Tensorer.
func (r *Residual) Tensors() []NamedTensor { return r.g.tensors() }

func toFloat64(t *tensor.Dense) []float64 {
	switch d := t.Data().(type) {
	case []float64:
		return append([]float64(nil), d...)
	case []float32:
		out := make([]float64, len(d))
		for i, v := range d {
			out[i] = float64(v)
		}
		return out
	}
	panic("blocks: unsupported dtype " + t.Dtype().String())
}

func storeFloat64(t *tensor.Dense, src []float64) {
	switch d := t.Data().(type) {
	case []float64:
		copy(d, src)
	case []float32:
		for i, v := range src {
			d[i] = float32(v)
		}
	}
}

func maxAbs(x []float64) float64 {
	m := 0.0
	for _, v := range x {
		m = math.Max(m, math.Abs(v))
	}
	return m
}

// Sigmas returns each layer's current σ̂ in layer order, for checkpoints.
func (r *Residual) Sigmas() []float64 {
	var out []float64
	for _, l := range r.g.layers() {
		out = append(out, l.sn.Sigma())
	}
	return out
}

// SetSigmas restores the σ̂ values saved by Sigmas.
func (r *Residual) SetSigmas(s []float64) error {
	ls := r.g.layers()
	if len(s) != len(ls) {
		return errors.Errorf("blocks: %d σ̂ values for %d layers", len(s), len(ls))
	}
	for i, l := range ls {
		l.sn.SetSigma(s[i])
	}
	return nil
}
