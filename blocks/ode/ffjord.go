package ode

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/estimator"
	"github.com/iresnet/iresnet/graph"
	"github.com/iresnet/iresnet/internal/dense"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Compile-time conformance checks.
var (
	_ blocks.Bijector          = (*CNF)(nil)
	_ blocks.EstimatedBijector = (*CNF)(nil)
	_ blocks.Tensorer          = (*CNF)(nil)
)

// CNF is the continuous normalizing flow of FFJORD (Grathwohl et al. 2019,
// §2–§3) on vectors (N, D): y = z(T) for the ODE dz/dt = f(z, t), z(0) = x,
// with log|det ∂y/∂x| = ∫₀ᵀ tr(∂f/∂z(t)) dt (the instantaneous change of
// variables, Chen et al. 2018, Theorem 1; so log p(x) = log p(y) + that
// integral). f is an MLP that sees t in every layer,
//
//	h⁰ = z,  hˡ = φ(hˡ⁻¹·Wˡ + bˡ + t·cˡ),  f = hᴸ⁻¹·Wᴸ + bᴸ + t·cᴸ,
//
// (the "concat" layer of FFJORD's code, t appended to each layer's input).
// Forward unrolls RK4 with Steps fixed steps in the graph on the augmented
// state (z, ℓ), ℓ′ = tr(∂f/∂z), the trace from graph.VJP per stage:
// Hutchinson's vᵀ(∂f/∂z)v with probes registered as noise inputs of the
// builder (resample them before each run), or the exact sum over basis
// vectors. Both are differentiable again, so a loss on the log-det has
// gradients w.r.t. every weight (second-order reverse mode).
//
// Inverse integrates backwards: each RK4 step is inverted by a backward RK4
// step refined with the fixed-point iteration x ← x + (y − Φ_h(x)), which
// converges for h·Lip(f) < 1, so Inverse undoes Forward's discrete map to
// InverseTol, not just to the O(h⁴) of a backward solve.
//
// A CNF is not safe for concurrent use (it caches compiled graphs).
type CNF struct {
	cfg FFJORDConfig // with defaults
	// Layer l has the weight W (in, out) and the bias-and-time matrix B
	// (out, 2): its bias at time t is B·[1, t] = b + t·c.
	ws, bts []*tensor.Dense
	fns     map[string]*dynFunc
}

// NewFFJORD returns a CNF with weights drawn uniformly from ±1/√fan_in
// using rng (PyTorch's default linear initialization; the time weights
// use fan_in + 1 as for a concatenated t column).
func NewFFJORD(cfg FFJORDConfig, rng *rand.Rand) (*CNF, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if rng == nil {
		return nil, errors.New("ode: NewFFJORD needs a random source")
	}
	cfg = cfg.WithDefaults()
	c := &CNF{cfg: cfg, fns: map[string]*dynFunc{}}
	widths := append(append([]int{cfg.Dim}, cfg.Hidden...), cfg.Dim)
	for l := 0; l+1 < len(widths); l++ {
		in, out := widths[l], widths[l+1]
		bound := 1 / math.Sqrt(float64(in+1))
		c.ws = append(c.ws, dense.Uniform(cfg.Dtype, rng, bound, in, out))
		c.bts = append(c.bts, dense.Uniform(cfg.Dtype, rng, bound, out, 2))
	}
	return c, nil
}

// Config returns the configuration with defaults filled in.
func (c *CNF) Config() FFJORDConfig {
	cfg := c.cfg
	cfg.Hidden = append([]int(nil), cfg.Hidden...)
	return cfg
}

func layerName(l int) string { return "fc" + strconv.Itoa(l) }

// Tensors implements blocks.Tensorer: for every layer l the weight
// "fc<l>/w" (in, out) and "fc<l>/bt" (out, 2), whose columns are the bias b
// and the time weight c (the layer adds b + t·c), all learnable.
func (c *CNF) Tensors() []blocks.NamedTensor {
	var out []blocks.NamedTensor
	for l := range c.ws {
		p := layerName(l) + "/"
		out = append(out,
			blocks.NamedTensor{Name: p + "w", Value: c.ws[l], Learnable: true},
			blocks.NamedTensor{Name: p + "bt", Value: c.bts[l], Learnable: true},
		)
	}
	return out
}

func (c *CNF) checkShape(s tensor.Shape) error {
	if s.Dims() != 2 || s[1] != c.cfg.Dim {
		return errors.Errorf("ode: ffjord of dim %d got shape %v, want (N, %d)", c.cfg.Dim, s, c.cfg.Dim)
	}
	return nil
}

// dynamics holds the parameter nodes of one graph and builds f(z, t) in it.
type dynamics struct {
	c       *CNF
	ws, bts []*G.Node
}

// params registers the parameters in b's current scope.
func (c *CNF) params(b *graph.Builder) (*dynamics, error) {
	d := &dynamics{c: c}
	for l := range c.ws {
		err := b.Scoped(layerName(l), func() error {
			w, err := b.Param("w", c.ws[l])
			if err != nil {
				return err
			}
			bt, err := b.Param("bt", c.bts[l])
			if err != nil {
				return err
			}
			d.ws, d.bts = append(d.ws, w), append(d.bts, bt)
			return nil
		})
		if err != nil {
			return nil, errors.Wrapf(err, "ode: layer %s", layerName(l))
		}
	}
	return d, nil
}

// eval builds f(z, t) for z (N, D) and the input tvec = [1, t] (2): each
// layer adds the bias B·[1, t] = b + t·c, one matrix-vector product.
func (d *dynamics) eval(z, tvec *G.Node) (*G.Node, error) {
	h := z
	for l := range d.ws {
		var err error
		if h, err = G.Mul(h, d.ws[l]); err != nil {
			return nil, errors.Wrapf(err, "ode: layer %d h·W", l)
		}
		bias, err := G.Mul(d.bts[l], tvec)
		if err != nil {
			return nil, errors.Wrapf(err, "ode: layer %d B·[1, t]", l)
		}
		if h, err = graph.AddBias(h, bias); err != nil {
			return nil, errors.Wrapf(err, "ode: layer %d", l)
		}
		if l+1 < len(d.ws) {
			if h, err = graph.Activate(d.c.cfg.Act, h); err != nil {
				return nil, errors.Wrapf(err, "ode: layer %d", l)
			}
		}
	}
	return h, nil
}

// trace builds Σ_v vᵀ(∂f/∂z)v (N) for the given vectors v (N, D): the
// Hutchinson sum over probes, or the exact trace over basis vectors.
func trace(f, z *G.Node, vs []*G.Node) (*G.Node, error) {
	var tr *G.Node
	for i, v := range vs {
		vj, err := graph.VJP(G.Nodes{f}, G.Nodes{v}, G.Nodes{z})
		if err != nil {
			return nil, errors.Wrapf(err, "ode: VJP with vector %d", i)
		}
		if vj[0] == nil {
			return nil, errors.New("ode: the dynamics do not depend on z")
		}
		term, err := graph.DotPerSample(vj[0], v)
		if err != nil {
			return nil, err
		}
		if tr == nil {
			tr = term
		} else if tr, err = G.Add(tr, term); err != nil {
			return nil, errors.Wrap(err, "ode: summing trace terms")
		}
	}
	return tr, nil
}

// traceVectors registers the vectors the trace is taken with: Probes noise
// inputs "probe<p>" (Hutchinson), or D basis inputs "basis<i>" (exact).
// scale is the factor that turns Σ_v vᵀJv into the trace estimate.
func (c *CNF) traceVectors(b *graph.Builder, n int, mode TraceMode) (vs []*G.Node, scale float64, err error) {
	d := c.cfg.Dim
	if mode == ExactTrace {
		for i := 0; i < d; i++ {
			e := tensor.New(tensor.Of(b.Dtype()), tensor.WithShape(n, d))
			data := make([]float64, n*d)
			for r := 0; r < n; r++ {
				data[r*d+i] = 1
			}
			dense.Store(e, data)
			v, err := b.Input("basis"+strconv.Itoa(i), e)
			if err != nil {
				return nil, 0, err
			}
			vs = append(vs, v)
		}
		return vs, 1, nil
	}
	dist := graph.Gaussian
	if c.cfg.Rademacher {
		dist = graph.Rademacher
	}
	for p := 0; p < c.cfg.Probes; p++ {
		v, err := b.NewNoise("probe"+strconv.Itoa(p), dist, n, d)
		if err != nil {
			return nil, 0, err
		}
		vs = append(vs, v)
	}
	return vs, 1 / float64(c.cfg.Probes), nil
}

// Forward implements blocks.Bijector: y = z(T) by Steps RK4 steps from
// z(0) = x (N, D), and log|det ∂y/∂x| ≈ ∫₀ᵀ tr(∂f/∂z) dt by RK4 on the
// augmented state, with h = T/Steps:
//
//	k₁ = f(z, t), k₂ = f(z + h/2·k₁, t + h/2), k₃ = f(z + h/2·k₂, t + h/2),
//	k₄ = f(z + h·k₃, t + h),  z ← z + h/6·(k₁ + 2k₂ + 2k₃ + k₄),
//	ℓ ← ℓ + h/6·(τ₁ + 2τ₂ + 2τ₃ + τ₄),  τᵢ the trace at stage i.
//
// With the Hutchinson trace the probes are noise inputs of b, one set for
// the whole integration: call b.Resample before each run.
func (c *CNF) Forward(b *graph.Builder, x *G.Node) (y, logDet *G.Node, err error) {
	return c.forward(b, x, c.cfg.Trace)
}

// ForwardWith implements blocks.EstimatedBijector, so that a trainer can
// build an evaluation graph with an exact log-det from a model trained with
// the Hutchinson estimator: est of type estimator.Exact selects the exact
// trace (D ≤ MaxExactDim), any other estimator or nil keeps the configured
// trace. The estimators' power series do not apply to a CNF, whose log-det
// is an integral of traces, not log det(I + J).
func (c *CNF) ForwardWith(b *graph.Builder, x *G.Node, est estimator.Estimator) (y, logDet *G.Node, err error) {
	mode := c.cfg.Trace
	switch est.(type) {
	case estimator.Exact, *estimator.Exact:
		if c.cfg.Dim > MaxExactDim {
			return nil, nil, errors.Errorf("ode: exact trace needs D VJPs per evaluation; dim %d exceeds %d", c.cfg.Dim, MaxExactDim)
		}
		mode = ExactTrace
	}
	return c.forward(b, x, mode)
}

// forward builds Forward with the given trace mode.
func (c *CNF) forward(b *graph.Builder, x *G.Node, mode TraceMode) (y, logDet *G.Node, err error) {
	s := x.Shape()
	if err := c.checkShape(s); err != nil {
		return nil, nil, err
	}
	dyn, err := c.params(b)
	if err != nil {
		return nil, nil, err
	}
	vs, trScale, err := c.traceVectors(b, s[0], mode)
	if err != nil {
		return nil, nil, err
	}
	k := c.cfg.Steps
	h := c.cfg.EndTime / float64(k)
	consts := map[string]*G.Node{}
	scalar := func(name string, v float64) (*G.Node, error) {
		if n, ok := consts[name]; ok {
			return n, nil
		}
		n, err := b.Scalar(name, v)
		consts[name] = n
		return n, err
	}
	// times[j] is [1, t] at t = j·h/2.
	times := make([]*G.Node, 2*k+1)
	for j := range times {
		tv := tensor.New(tensor.Of(b.Dtype()), tensor.WithShape(2))
		dense.Store(tv, []float64{1, float64(j) * h / 2})
		if times[j], err = b.Input("t"+strconv.Itoa(j), tv); err != nil {
			return nil, nil, err
		}
	}
	halfH, err := scalar("half_h", h/2)
	if err != nil {
		return nil, nil, err
	}
	fullH, err := scalar("h", h)
	if err != nil {
		return nil, nil, err
	}
	sixthH, err := scalar("sixth_h", h/6)
	if err != nil {
		return nil, nil, err
	}
	two, err := scalar("two", 2)
	if err != nil {
		return nil, nil, err
	}
	ldScale, err := scalar("logdet_scale", h/6*trScale)
	if err != nil {
		return nil, nil, err
	}
	// stage evaluates f and its trace at z.
	stage := func(z, t *G.Node) (f, tr *G.Node, err error) {
		if f, err = dyn.eval(z, t); err != nil {
			return nil, nil, err
		}
		tr, err = trace(f, z, vs)
		return f, tr, err
	}
	// axpy returns z + a·v.
	axpy := func(z, a, v *G.Node) (*G.Node, error) {
		av, err := G.Mul(v, a)
		if err != nil {
			return nil, err
		}
		return G.Add(z, av)
	}
	// weigh returns p + 2q + 2r + u.
	weigh := func(p, q, r, u *G.Node) (*G.Node, error) {
		mid, err := G.Add(q, r)
		if err != nil {
			return nil, err
		}
		if mid, err = G.Mul(mid, two); err != nil {
			return nil, err
		}
		out, err := G.Add(p, mid)
		if err != nil {
			return nil, err
		}
		return G.Add(out, u)
	}
	z := x
	var acc *G.Node
	for step := 0; step < k; step++ {
		err := b.Scoped("step"+strconv.Itoa(step), func() error {
			k1, t1, err := stage(z, times[2*step])
			if err != nil {
				return err
			}
			z2, err := axpy(z, halfH, k1)
			if err != nil {
				return err
			}
			k2, t2, err := stage(z2, times[2*step+1])
			if err != nil {
				return err
			}
			z3, err := axpy(z, halfH, k2)
			if err != nil {
				return err
			}
			k3, t3, err := stage(z3, times[2*step+1])
			if err != nil {
				return err
			}
			z4, err := axpy(z, fullH, k3)
			if err != nil {
				return err
			}
			k4, t4, err := stage(z4, times[2*step+2])
			if err != nil {
				return err
			}
			slope, err := weigh(k1, k2, k3, k4)
			if err != nil {
				return err
			}
			if z, err = axpy(z, sixthH, slope); err != nil {
				return err
			}
			trs, err := weigh(t1, t2, t3, t4)
			if err != nil {
				return err
			}
			if acc == nil {
				acc = trs
			} else if acc, err = G.Add(acc, trs); err != nil {
				return err
			}
			return nil
		})
		if err != nil {
			return nil, nil, errors.Wrapf(err, "ode: RK4 step %d", step)
		}
	}
	if logDet, err = G.Mul(acc, ldScale); err != nil {
		return nil, nil, errors.Wrap(err, "ode: scaling the log-det")
	}
	return z, logDet, nil
}

// dynFunc is f(·, t) compiled for one batch shape, with [1, t] an input
// vector set before each run.
type dynFunc struct {
	fn *graph.Func
	t  *tensor.Dense
}

func (c *CNF) compiled(shape tensor.Shape) (*dynFunc, error) {
	key := fmt.Sprint([]int(shape))
	if f, ok := c.fns[key]; ok {
		return f, nil
	}
	df := &dynFunc{t: tensor.New(tensor.Of(c.cfg.Dtype), tensor.WithShape(2))}
	fn, err := graph.NewFunc(c.cfg.Dtype, shape, func(b *graph.Builder, z *G.Node) (*G.Node, error) {
		dyn, err := c.params(b)
		if err != nil {
			return nil, err
		}
		tvec, err := b.Input("t", df.t)
		if err != nil {
			return nil, err
		}
		return dyn.eval(z, tvec)
	})
	if err != nil {
		return nil, errors.Wrap(err, "ode: compiling the dynamics")
	}
	df.fn = fn
	c.fns[key] = df
	return df, nil
}

// eval writes f(z, t) into out (both flattened (N, D)).
func (df *dynFunc) eval(z []float64, t float64, out []float64) error {
	dense.Store(df.t, []float64{1, t})
	dense.Store(df.fn.Input(), z)
	if err := df.fn.Run(); err != nil {
		return err
	}
	v, ok := df.fn.Output().Value().(*tensor.Dense)
	if !ok {
		return errors.Errorf("ode: dynamics output holds %T", df.fn.Output().Value())
	}
	dense.Load(out, v)
	return nil
}

// rk4 returns the RK4 step of size h (negative to go backwards) from z at t.
func (df *dynFunc) rk4(z []float64, t, h float64) ([]float64, error) {
	n := len(z)
	k1, k2, k3, k4 := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	tmp := make([]float64, n)
	if err := df.eval(z, t, k1); err != nil {
		return nil, err
	}
	for i := range tmp {
		tmp[i] = z[i] + h/2*k1[i]
	}
	if err := df.eval(tmp, t+h/2, k2); err != nil {
		return nil, err
	}
	for i := range tmp {
		tmp[i] = z[i] + h/2*k2[i]
	}
	if err := df.eval(tmp, t+h/2, k3); err != nil {
		return nil, err
	}
	for i := range tmp {
		tmp[i] = z[i] + h*k3[i]
	}
	if err := df.eval(tmp, t+h, k4); err != nil {
		return nil, err
	}
	out := make([]float64, n)
	for i := range out {
		out[i] = z[i] + h/6*(k1[i]+2*k2[i]+2*k3[i]+k4[i])
	}
	return out, nil
}

// Integrate solves dz/dt = f(z, t) numerically from z(t0) = z to t1 by
// steps RK4 steps (t1 < t0 integrates backwards) and returns z(t1). It is
// the numeric counterpart of Forward's unrolled solver (Forward's y equals
// Integrate(x, 0, EndTime, Steps) up to rounding), and with many steps a
// reference for its discretization error.
func (c *CNF) Integrate(z *tensor.Dense, t0, t1 float64, steps int) (*tensor.Dense, error) {
	if err := c.checkShape(z.Shape()); err != nil {
		return nil, err
	}
	if steps < 1 {
		return nil, errors.Errorf("ode: integrate needs ≥ 1 step, got %d", steps)
	}
	if z.Dtype() != c.cfg.Dtype {
		return nil, errors.Errorf("ode: integrate got dtype %v, model is %v", z.Dtype(), c.cfg.Dtype)
	}
	df, err := c.compiled(z.Shape())
	if err != nil {
		return nil, err
	}
	zd := dense.Float64s(z)
	h := (t1 - t0) / float64(steps)
	for k := 0; k < steps; k++ {
		if zd, err = df.rk4(zd, t0+float64(k)*h, h); err != nil {
			return nil, errors.Wrapf(err, "ode: integrate step %d", k)
		}
	}
	out := tensor.New(tensor.Of(c.cfg.Dtype), tensor.WithShape(z.Shape()...))
	dense.Store(out, zd)
	return out, nil
}

// Inverse implements blocks.Bijector: x with Forward's discrete map taking
// x to y. Step k = Steps−1, …, 0 solves Φ_h(x) = z for x, Φ_h the RK4 step
// from t_k = k·h, starting from the backward RK4 step from t_{k+1} and
// iterating x ← x + (z − Φ_h(x)) until max |Δx| ≤ InverseTol·(1 + max |x|).
// A step that does not get there in InverseMaxIter iterations (the
// iteration contracts only while h·Lip(f) < 1: take more Steps) returns a
// *blocks.NotConvergedError.
func (c *CNF) Inverse(y *tensor.Dense) (*tensor.Dense, error) {
	s := y.Shape()
	if err := c.checkShape(s); err != nil {
		return nil, err
	}
	if y.Dtype() != c.cfg.Dtype {
		return nil, errors.Errorf("ode: inverse got dtype %v, model is %v", y.Dtype(), c.cfg.Dtype)
	}
	df, err := c.compiled(s)
	if err != nil {
		return nil, err
	}
	k := c.cfg.Steps
	h := c.cfg.EndTime / float64(k)
	z := dense.Float64s(y)
	for step := k - 1; step >= 0; step-- {
		t := float64(step) * h
		x, err := df.rk4(z, t+h, -h)
		if err != nil {
			return nil, errors.Wrapf(err, "ode: inverse step %d", step)
		}
		converged := false
		var res float64
		for it := 1; it <= c.cfg.InverseMaxIter; it++ {
			fx, err := df.rk4(x, t, h)
			if err != nil {
				return nil, errors.Wrapf(err, "ode: inverse step %d", step)
			}
			res = 0
			scale := 0.0
			for i := range x {
				dx := z[i] - fx[i]
				x[i] += dx
				res = math.Max(res, math.Abs(dx))
				scale = math.Max(scale, math.Abs(x[i]))
			}
			if math.IsNaN(res) || math.IsInf(res, 0) {
				return nil, errors.Wrapf(&blocks.NotConvergedError{Iter: it, Residual: res, Tol: c.cfg.InverseTol}, "ode: inverse step %d diverged", step)
			}
			if res <= c.cfg.InverseTol*(1+scale) {
				converged = true
				break
			}
		}
		if !converged {
			return nil, errors.Wrapf(&blocks.NotConvergedError{Iter: c.cfg.InverseMaxIter, Residual: res, Tol: c.cfg.InverseTol}, "ode: inverse step %d", step)
		}
		z = x
	}
	out := tensor.New(tensor.Of(c.cfg.Dtype), tensor.WithShape(s...))
	dense.Store(out, z)
	return out, nil
}
