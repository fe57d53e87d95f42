package estimator_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/estimator"
	"github.com/iresnet/iresnet/graph"
	"gonum.org/v1/gonum/mat"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// statK is the number of standard errors an unbiased Monte Carlo mean may
// stray from its expectation (two-sided p ≈ 6e-5 per check).
const statK = 4

// fdJacTol bounds errors of central-difference Jacobians (h = 1e-6,
// float64) propagated into traces and log-dets of d ≤ 32 blocks.
const fdJacTol = 1e-6

type blockCase struct {
	name  string
	shape []int // one sample, without the batch axis
	build func(t *testing.T, est estimator.Estimator, rng *rand.Rand) *blocks.Residual
}

var blockCases = []blockCase{
	{"dense d=2", []int{2}, func(t *testing.T, est estimator.Estimator, rng *rand.Rand) *blocks.Residual {
		return must(blocks.NewDense(blocks.DenseConfig{Dim: 2, Hidden: []int{16, 16}, Lipschitz: lip(est, graph.ELU)}, rng))(t)
	}},
	{"dense d=8", []int{8}, func(t *testing.T, est estimator.Estimator, rng *rand.Rand) *blocks.Residual {
		return must(blocks.NewDense(blocks.DenseConfig{Dim: 8, Hidden: []int{32}, Lipschitz: lip(est, graph.LipSwish)}, rng))(t)
	}},
	{"dense d=4 linear", []int{4}, func(t *testing.T, est estimator.Estimator, rng *rand.Rand) *blocks.Residual {
		// A linear branch J = W̃₁W̃₂ reaches ‖J‖ near c², where the series
		// converges slowly and truncation matters.
		return must(blocks.NewDense(blocks.DenseConfig{Dim: 4, Hidden: []int{4}, Lipschitz: lip(est, graph.Identity)}, rng))(t)
	}},
	{"conv 2x4x4", []int{2, 4, 4}, func(t *testing.T, est estimator.Estimator, rng *rand.Rand) *blocks.Residual {
		return must(blocks.NewConv(blocks.ConvConfig{Channels: 2, Height: 4, Width: 4, Hidden: 8, Lipschitz: lip(est, graph.ELU)}, rng))(t)
	}},
}

func lip(est estimator.Estimator, act graph.Activation) blocks.Lipschitz {
	return blocks.Lipschitz{Coeff: 0.9, Act: act, Estimator: est, Dtype: tensor.Float64}
}

// must returns a constructor's block after stiffening it: the weights are
// scaled up 5× and power iteration rerun, so spectral normalization caps
// every layer at c and ‖J_g‖ is far from the small values of a fresh
// initialization. Higher series terms then matter.
func must(r *blocks.Residual, err error) func(t *testing.T) *blocks.Residual {
	return func(t *testing.T) *blocks.Residual {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		for _, nt := range r.Tensors() {
			if nt.Learnable && nt.Value.Dims() > 1 {
				d := nt.Value.Data().([]float64)
				for i := range d {
					d[i] *= 5
				}
			}
		}
		if err := r.UpdateSpectralNorms(500); err != nil {
			t.Fatal(err)
		}
		return r
	}
}

func size(s []int) int {
	n := 1
	for _, v := range s {
		n *= v
	}
	return n
}

// repeated returns a batch of n copies of one random point.
func repeated(rng *rand.Rand, n int, shape []int) (*tensor.Dense, []float64) {
	d := size(shape)
	p := make([]float64, d)
	for i := range p {
		p[i] = rng.NormFloat64()
	}
	data := make([]float64, n*d)
	for r := 0; r < n; r++ {
		copy(data[r*d:], p)
	}
	return tensor.New(tensor.WithShape(append([]int{n}, shape...)...), tensor.WithBacking(data)), p
}

// logDetGraph builds the block's Forward on x and compiles it.
type logDetGraph struct {
	b  *graph.Builder
	ld *G.Node
	m  G.VM
}

// newLogDetGraph builds r's log-det of x, with est (nil: r's own estimator).
func newLogDetGraph(t *testing.T, r *blocks.Residual, x *tensor.Dense, est estimator.Estimator) *logDetGraph {
	t.Helper()
	b, err := graph.NewBuilder(tensor.Float64)
	if err != nil {
		t.Fatal(err)
	}
	xn, err := b.Input("x", x)
	if err != nil {
		t.Fatal(err)
	}
	_, ld, err := r.ForwardWith(b, xn, est)
	if err != nil {
		t.Fatal(err)
	}
	return &logDetGraph{b: b, ld: ld, m: G.NewTapeMachine(b.Graph())}
}

func (g *logDetGraph) run(t *testing.T) []float64 {
	t.Helper()
	g.m.Reset()
	if err := g.m.RunAll(); err != nil {
		t.Fatal(err)
	}
	return append([]float64(nil), g.ld.Value().Data().([]float64)...)
}

// jacobian returns J_g at p by central differences of the block's branch.
func jacobian(t *testing.T, r *blocks.Residual, shape []int, p []float64) *mat.Dense {
	t.Helper()
	const h = 1e-6
	d := size(shape)
	f, err := graph.NewFunc(tensor.Float64, append([]int{1}, shape...), r.Branch)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	j := mat.NewDense(d, d, nil)
	for c := 0; c < d; c++ {
		var out [2][]float64
		for k, s := range []float64{h, -h} {
			x := append([]float64(nil), p...)
			x[c] += s
			y, err := f.Call(tensor.New(tensor.WithShape(append([]int{1}, shape...)...), tensor.WithBacking(x)))
			if err != nil {
				t.Fatal(err)
			}
			out[k] = y.Data().([]float64)
		}
		for i := 0; i < d; i++ {
			j.Set(i, c, (out[0][i]-out[1][i])/(2*h))
		}
	}
	return j
}

// truncatedSeries returns Σ_{k≤n} (−1)^{k+1} tr(Jᵏ)/k.
func truncatedSeries(j *mat.Dense, n int) float64 {
	d, _ := j.Dims()
	p := mat.NewDense(d, d, nil)
	p.Copy(j)
	s := 0.0
	for k := 1; k <= n; k++ {
		sign := 1.0
		if k%2 == 0 {
			sign = -1
		}
		s += sign * mat.Trace(p) / float64(k)
		var next mat.Dense
		next.Mul(p, j)
		p.Copy(&next)
	}
	return s
}

func exactLogDet(j *mat.Dense) float64 {
	d, _ := j.Dims()
	a := mat.NewDense(d, d, nil)
	a.Copy(j)
	for i := 0; i < d; i++ {
		a.Set(i, i, a.At(i, i)+1)
	}
	var lu mat.LU
	lu.Factorize(a)
	ld, _ := lu.LogDet()
	return ld
}

func spectralNorm(j *mat.Dense) float64 {
	var svd mat.SVD
	svd.Factorize(j, mat.SVDNone)
	return svd.Values(nil)[0]
}

// TestPowerSeriesWithBasisProbes makes the Hutchinson estimate exact by
// using each basis vector as a probe (tr A = Σᵢ eᵢᵀAeᵢ), so the VJP chain is
// checked against the explicit series to rounding, and the truncation error
// against the exact log-det is checked to shrink with n and respect
// WeakBound.
func TestPowerSeriesWithBasisProbes(t *testing.T) {
	for _, c := range blockCases {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, 7))
			d := size(c.shape)
			var r *blocks.Residual
			var prevErr = math.Inf(1)
			var x *tensor.Dense
			var p []float64
			for _, n := range []int{1, 2, 5, 10} {
				if r == nil {
					r = c.build(t, estimator.PowerSeries{Terms: 1}, rng)
					x, p = repeated(rng, d, c.shape)
				}
				g := newLogDetGraph(t, r, x, estimator.PowerSeries{Terms: n})
				probe := g.b.Noise()[0].Value.Data().([]float64)
				clear(probe)
				for i := 0; i < d; i++ {
					probe[i*d+i] = 1
				}
				est := 0.0
				for _, v := range g.run(t) {
					est += v
				}
				j := jacobian(t, r, c.shape, p)
				if want := truncatedSeries(j, n); math.Abs(est-want) > fdJacTol {
					t.Errorf("n=%d: basis-probe series %.10g, explicit Σ tr(Jᵏ) series %.10g (diff %.3g)", n, est, want, est-want)
				}
				exact := exactLogDet(j)
				err := math.Abs(est - exact)
				sigma := spectralNorm(j)
				if bound := estimator.WeakBound(sigma, d, n); err > bound+fdJacTol {
					t.Errorf("n=%d: truncation error %.3g exceeds WeakBound(σ=%.3f, d=%d) = %.3g", n, err, sigma, d, bound)
				}
				if err >= prevErr && err > 1e-12 {
					t.Errorf("n=%d: truncation error %.3g did not shrink (previous %.3g)", n, err, prevErr)
				}
				t.Logf("n=%2d: |series − log det| = %.3g (σ = %.3f)", n, err, sigma)
				prevErr = err
			}
		})
	}
}

// meanSE returns the mean and standard error of xs.
func meanSE(xs []float64) (mean, se float64) {
	for _, v := range xs {
		mean += v
	}
	mean /= float64(len(xs))
	for _, v := range xs {
		se += (v - mean) * (v - mean)
	}
	se = math.Sqrt(se / float64(len(xs)-1) / float64(len(xs)))
	return mean, se
}

// TestHutchinsonUnbiased: with random probes, the power-series mean over
// many draws lies within statK standard errors of the exact truncated
// series, and the Russian-roulette mean within statK standard errors of the
// exact log-det.
func TestHutchinsonUnbiased(t *testing.T) {
	const batch, runs = 250, 40 // 10,000 draws per estimator
	ests := []struct {
		name  string
		est   estimator.Estimator
		exact func(j *mat.Dense) float64
	}{
		{"powerseries gaussian", estimator.PowerSeries{Terms: 5}, func(j *mat.Dense) float64 { return truncatedSeries(j, 5) }},
		{"powerseries rademacher", estimator.PowerSeries{Terms: 5, Dist: graph.Rademacher}, func(j *mat.Dense) float64 { return truncatedSeries(j, 5) }},
		{"roulette geometric", estimator.RussianRoulette{}, exactLogDet},
		{"roulette poisson", estimator.RussianRoulette{Dist: estimator.Poisson, MinTerms: 2}, exactLogDet},
	}
	for _, c := range blockCases {
		for _, e := range ests {
			t.Run(c.name+"/"+e.name, func(t *testing.T) {
				if testing.Short() && c.name == "conv 2x4x4" && e.name == "roulette poisson" {
					t.Skip("long in -short mode")
				}
				rng := rand.New(rand.NewPCG(8, 8))
				r := c.build(t, e.est, rng)
				x, p := repeated(rng, batch, c.shape)
				g := newLogDetGraph(t, r, x, nil)
				var draws []float64
				for i := 0; i < runs; i++ {
					g.b.Resample(rng)
					draws = append(draws, g.run(t)...)
				}
				mean, se := meanSE(draws)
				want := e.exact(jacobian(t, r, c.shape, p))
				if d := math.Abs(mean - want); d > statK*se+fdJacTol {
					t.Errorf("mean %.6g ± %.2g (SE), exact %.6g: off by %.1f SE", mean, se, want, d/se)
				}
				t.Logf("mean %.6g ± %.2g, exact %.6g", mean, se, want)
			})
		}
	}
}

func TestWeakBound(t *testing.T) {
	cases := []struct {
		sigma float64
		d, n  int
		want  float64
	}{
		{0.5, 1, 1, -math.Log(0.5) - 0.5},
		{0.5, 3, 2, 3 * (-math.Log(0.5) - 0.5 - 0.125)},
		{0.9, 10, 0, -10 * math.Log(0.1)},
		{0, 5, 3, 0},
	}
	for _, c := range cases {
		if got := estimator.WeakBound(c.sigma, c.d, c.n); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("WeakBound(%g, %d, %d) = %.15g, want %.15g", c.sigma, c.d, c.n, got, c.want)
		}
	}
	if !math.IsInf(estimator.WeakBound(1, 2, 3), 1) {
		t.Error("WeakBound(σ = 1) is not +Inf")
	}
	prev := math.Inf(1)
	for n := 1; n <= 20; n++ {
		b := estimator.WeakBound(0.8, 4, n)
		if b >= prev {
			t.Errorf("WeakBound not decreasing at n = %d", n)
		}
		prev = b
	}
}

func TestInvalidEstimatorConfig(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	bad := []estimator.Estimator{
		estimator.PowerSeries{Terms: -1},
		estimator.PowerSeries{Probes: -2},
		estimator.RussianRoulette{P: 1.5},
		estimator.RussianRoulette{Dist: estimator.Poisson, Lambda: -1},
		estimator.RussianRoulette{MinTerms: 5, MaxTerms: 3},
	}
	for _, e := range bad {
		r, err := blocks.NewDense(blocks.DenseConfig{Dim: 2, Lipschitz: lip(e, graph.ELU)}, rng)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := graph.NewBuilder(tensor.Float64)
		x, _ := b.Input("x", tensor.New(tensor.Of(tensor.Float64), tensor.WithShape(3, 2)))
		if _, _, err := r.Forward(b, x); err == nil {
			t.Errorf("%v: Forward accepted an invalid estimator", e)
		}
	}
}
