package blocks_test

import (
	"errors"
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

// Round-trip tolerances of issue 2 (max abs error of F⁻¹(F(x)) − x).
const (
	roundTripTol64 = 1e-6
	roundTripTol32 = 1e-4
)

// fdLogDetTol bounds |exact log-det − log|det| of a central-difference
// Jacobian| in float64: the O(h²) error of each entry with h = 1e-5 on
// functions with bounded third derivatives is ~1e-10, times d ≤ 32 entries.
const fdLogDetTol = 1e-6

func randTensor(dt tensor.Dtype, rng *rand.Rand, shape ...int) *tensor.Dense {
	t := tensor.New(tensor.Of(dt), tensor.WithShape(shape...))
	switch d := t.Data().(type) {
	case []float64:
		for i := range d {
			d[i] = rng.NormFloat64()
		}
	case []float32:
		for i := range d {
			d[i] = float32(rng.NormFloat64())
		}
	}
	return t
}

func floats(t *tensor.Dense) []float64 {
	switch d := t.Data().(type) {
	case []float64:
		return d
	case []float32:
		out := make([]float64, len(d))
		for i, v := range d {
			out[i] = float64(v)
		}
		return out
	}
	return nil
}

func maxAbsDiff(a, b *tensor.Dense) float64 {
	ad, bd := floats(a), floats(b)
	m := 0.0
	for i := range ad {
		m = math.Max(m, math.Abs(ad[i]-bd[i]))
	}
	return m
}

// model is a named constructor for the table-driven suite.
type model struct {
	name  string
	shape []int // input shape with batch
	build func(t *testing.T, l blocks.Lipschitz, rng *rand.Rand) blocks.Bijector
}

func dense(t *testing.T, dim int, hidden []int, l blocks.Lipschitz, rng *rand.Rand) *blocks.Residual {
	t.Helper()
	r, err := blocks.NewDense(blocks.DenseConfig{Dim: dim, Hidden: hidden, Lipschitz: l}, rng)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func conv(t *testing.T, c, h, w, hidden int, l blocks.Lipschitz, rng *rand.Rand) *blocks.Residual {
	t.Helper()
	r, err := blocks.NewConv(blocks.ConvConfig{Channels: c, Height: h, Width: w, Hidden: hidden, Lipschitz: l}, rng)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func actnorm(t *testing.T, c int, l blocks.Lipschitz) *blocks.ActNorm {
	t.Helper()
	a, err := blocks.NewActNorm(c, l.Dtype)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func chain(t *testing.T, bs ...blocks.Bijector) *blocks.Chain {
	t.Helper()
	c, err := blocks.NewChain(bs...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var models = []model{
	{"dense d=2", []int{5, 2}, func(t *testing.T, l blocks.Lipschitz, rng *rand.Rand) blocks.Bijector {
		return dense(t, 2, []int{16, 16}, l, rng)
	}},
	{"dense d=8 elu", []int{4, 8}, func(t *testing.T, l blocks.Lipschitz, rng *rand.Rand) blocks.Bijector {
		l.Act = graph.ELU
		l.InputAct = true
		return dense(t, 8, []int{32}, l, rng)
	}},
	{"conv 2x4x4", []int{3, 2, 4, 4}, func(t *testing.T, l blocks.Lipschitz, rng *rand.Rand) blocks.Bijector {
		l.Act = graph.ELU
		return conv(t, 2, 4, 4, 8, l, rng)
	}},
	{"actnorm", []int{4, 3, 2, 2}, func(t *testing.T, l blocks.Lipschitz, rng *rand.Rand) blocks.Bijector {
		a := actnorm(t, 3, l)
		if err := a.InitFromBatch(randTensor(l.Dtype, rng, 16, 3, 2, 2)); err != nil {
			t.Fatal(err)
		}
		return a
	}},
	{"squeeze", []int{2, 1, 4, 4}, func(t *testing.T, l blocks.Lipschitz, rng *rand.Rand) blocks.Bijector {
		return blocks.Squeeze{}
	}},
	{"dense stack with actnorm", []int{6, 3}, func(t *testing.T, l blocks.Lipschitz, rng *rand.Rand) blocks.Bijector {
		l.Act = graph.LipSwish
		c := chain(t, actnorm(t, 3, l), dense(t, 3, []int{16}, l, rng), actnorm(t, 3, l), dense(t, 3, []int{16}, l, rng), dense(t, 3, []int{16}, l, rng))
		if err := c.InitFromBatch(randTensor(l.Dtype, rng, 32, 3)); err != nil {
			t.Fatal(err)
		}
		return c
	}},
	{"multi-scale model 1x8x8", []int{2, 1, 8, 8}, func(t *testing.T, l blocks.Lipschitz, rng *rand.Rand) blocks.Bijector {
		l.Act = graph.ELU
		m, err := blocks.NewMultiScale(blocks.MultiScaleConfig{Channels: 1, Height: 8, Width: 8, Scales: 3, Blocks: 1,
			Hidden: []int{4, 4, 8}, InitSqueeze: true, ActNorm: true, Lipschitz: l}, rng)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.InitFromBatch(randTensor(l.Dtype, rng, 8, 1, 8, 8)); err != nil {
			t.Fatal(err)
		}
		return m
	}},
	{"multi-scale classifier trunk (no split) 1x8x8", []int{2, 1, 8, 8}, func(t *testing.T, l blocks.Lipschitz, rng *rand.Rand) blocks.Bijector {
		l.Act = graph.ELU
		m, err := blocks.NewMultiScale(blocks.MultiScaleConfig{Channels: 1, Height: 8, Width: 8, Scales: 2, Blocks: 1,
			Hidden: []int{4, 8}, InitSqueeze: true, ActNorm: true, NoSplit: true, Lipschitz: l}, rng)
		if err != nil {
			t.Fatal(err)
		}
		if fs := m.FinalShape(); fs != [3]int{16, 2, 2} {
			t.Fatalf("final shape %v, want [16 2 2]: without splits every channel reaches the last scale", fs)
		}
		if err := m.InitFromBatch(randTensor(l.Dtype, rng, 8, 1, 8, 8)); err != nil {
			t.Fatal(err)
		}
		return m
	}},
	{"multi-scale conv stack", []int{2, 1, 4, 4}, func(t *testing.T, l blocks.Lipschitz, rng *rand.Rand) blocks.Bijector {
		l.Act = graph.ELU
		c := chain(t,
			actnorm(t, 1, l), conv(t, 1, 4, 4, 4, l, rng),
			blocks.Squeeze{},
			actnorm(t, 4, l), conv(t, 4, 2, 2, 8, l, rng), conv(t, 4, 2, 2, 8, l, rng))
		if err := c.InitFromBatch(randTensor(l.Dtype, rng, 8, 1, 4, 4)); err != nil {
			t.Fatal(err)
		}
		return c
	}},
}

func TestRoundTrip(t *testing.T) {
	for _, dt := range []struct {
		dtype tensor.Dtype
		tol   float64
	}{{tensor.Float64, roundTripTol64}, {tensor.Float32, roundTripTol32}} {
		for _, m := range models {
			t.Run(dt.dtype.String()+"/"+m.name, func(t *testing.T) {
				rng := rand.New(rand.NewPCG(1, 1))
				f := m.build(t, blocks.Lipschitz{Coeff: 0.9, Dtype: dt.dtype}, rng)
				x := randTensor(dt.dtype, rng, m.shape...)
				y, err := blocks.Apply(f, x)
				if err != nil {
					t.Fatal(err)
				}
				back, err := f.Inverse(y)
				if err != nil {
					t.Fatal(err)
				}
				if !back.Shape().Eq(x.Shape()) { // multi-scale: latents (N, D) back to images
					t.Fatalf("inverse has shape %v, want %v", back.Shape(), x.Shape())
				}
				if d := maxAbsDiff(back, x); d > dt.tol {
					t.Errorf("max |F⁻¹(F(x)) − x| = %.3g > %.3g", d, dt.tol)
				}
				if r, ok := f.(*blocks.Residual); ok {
					_, st, err := r.InverseWithStats(y)
					if err != nil {
						t.Fatal(err)
					}
					if st.Iter < 2 || st.Iter > 200 {
						t.Errorf("inverse used %d iterations; expected a handful to a few dozen", st.Iter)
					}
					t.Logf("fixed point: %d iterations, residual %.3g", st.Iter, st.Residual)
				}
			})
		}
	}
}

// logDetOf builds f with the exact estimator and returns its log-det and
// output for x.
func forwardValues(t *testing.T, f blocks.Bijector, x *tensor.Dense) (y, logDet *tensor.Dense) {
	t.Helper()
	b, err := graph.NewBuilder(x.Dtype())
	if err != nil {
		t.Fatal(err)
	}
	xn, err := b.Input("x", x)
	if err != nil {
		t.Fatal(err)
	}
	yn, ld, err := f.Forward(b, xn)
	if err != nil {
		t.Fatal(err)
	}
	m := G.NewTapeMachine(b.Graph())
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	y, _ = graph.Value(yn)
	logDet, _ = graph.Value(ld)
	return y, logDet
}

// fdLogDet returns log|det ∂f/∂x| for each row of x from a central
// difference Jacobian of the numeric forward map.
func fdLogDet(t *testing.T, f blocks.Bijector, x *tensor.Dense) []float64 {
	t.Helper()
	const h = 1e-5
	s := x.Shape()
	n, d := s[0], s.TotalSize()/s[0]
	fn, err := graph.NewFunc(x.Dtype(), s, func(b *graph.Builder, xn *G.Node) (*G.Node, error) {
		y, _, err := f.Forward(b, xn)
		return y, err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer fn.Close()
	xd := x.Data().([]float64)
	jac := make([]*mat.Dense, n)
	for r := range jac {
		jac[r] = mat.NewDense(d, d, nil)
	}
	for j := 0; j < d; j++ {
		cols := make([][]float64, 2)
		for k, sign := range []float64{1, -1} {
			xp := x.Clone().(*tensor.Dense)
			pd := xp.Data().([]float64)
			for r := 0; r < n; r++ {
				pd[r*d+j] = xd[r*d+j] + sign*h
			}
			y, err := fn.Call(xp)
			if err != nil {
				t.Fatal(err)
			}
			cols[k] = y.Data().([]float64)
		}
		for r := 0; r < n; r++ {
			for i := 0; i < d; i++ {
				jac[r].Set(i, j, (cols[0][r*d+i]-cols[1][r*d+i])/(2*h))
			}
		}
	}
	out := make([]float64, n)
	for r := range out {
		var lu mat.LU
		lu.Factorize(jac[r])
		out[r], _ = lu.LogDet()
	}
	return out
}

// TestLogDetAgainstFiniteDifferenceJacobian is the conformance check (d):
// with the exact estimator, every bijector's log-det matches log|det| of a
// brute-force Jacobian.
func TestLogDetAgainstFiniteDifferenceJacobian(t *testing.T) {
	for _, m := range models {
		t.Run(m.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(4, 4))
			f := m.build(t, blocks.Lipschitz{Coeff: 0.9, Dtype: tensor.Float64, Estimator: estimator.Exact{}}, rng)
			x := randTensor(tensor.Float64, rng, m.shape...)
			y, ld := forwardValues(t, f, x)
			if y.Shape().TotalSize() != tensor.Shape(m.shape).TotalSize() {
				t.Errorf("output shape %v, want %v", y.Shape(), m.shape)
			}
			if !ld.Shape().Eq(tensor.Shape{m.shape[0]}) {
				t.Fatalf("log-det has shape %v, want (%d)", ld.Shape(), m.shape[0])
			}
			want := fdLogDet(t, f, x)
			got := ld.Data().([]float64)
			for i := range want {
				if math.IsNaN(got[i]) || math.IsInf(got[i], 0) {
					t.Fatalf("log-det[%d] = %v", i, got[i])
				}
				if d := math.Abs(got[i] - want[i]); d > fdLogDetTol {
					t.Errorf("log-det[%d] = %.10g, finite-difference Jacobian gives %.10g (diff %.3g)", i, got[i], want[i], d)
				}
			}
		})
	}
}

// TestNonContractiveInverseFails breaks the Lipschitz constraint: it scales
// the weights up and zeroes the power-iteration vectors, so σ̂ = 0 and the
// graph uses W unnormalized. The inverse must report non-convergence, not
// return a wrong answer.
func TestNonContractiveInverseFails(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	r := dense(t, 4, []int{16}, blocks.Lipschitz{Dtype: tensor.Float64, Inverse: blocks.FixedPoint{MaxIter: 100}}, rng)
	for _, nt := range r.Tensors() {
		d := nt.Value.Data().([]float64)
		for i := range d {
			switch {
			case !nt.Learnable:
				d[i] = 0
			case len(nt.Value.Shape()) == 2:
				d[i] *= 20
			}
		}
	}
	x := randTensor(tensor.Float64, rng, 8, 4)
	y, err := blocks.Apply(r, x)
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Inverse(y)
	var nc *blocks.NotConvergedError
	if !errors.As(err, &nc) {
		t.Fatalf("Inverse of a non-contractive block returned %v, want *NotConvergedError", err)
	}
	t.Log(err)
}

func TestInvalidConfig(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	cases := []struct {
		name string
		err  error
	}{}
	for _, c := range []float64{1, 1.2, -0.5} {
		_, err := blocks.NewDense(blocks.DenseConfig{Dim: 2, Lipschitz: blocks.Lipschitz{Coeff: c}}, rng)
		cases = append(cases, struct {
			name string
			err  error
		}{"coeff", err})
	}
	_, err := blocks.NewDense(blocks.DenseConfig{Dim: 0}, rng)
	cases = append(cases, struct {
		name string
		err  error
	}{"dim 0", err})
	_, err = blocks.NewConv(blocks.ConvConfig{Channels: 2, Height: 0, Width: 4}, rng)
	cases = append(cases, struct {
		name string
		err  error
	}{"conv height 0", err})
	_, err = blocks.NewActNorm(0, tensor.Float64)
	cases = append(cases, struct {
		name string
		err  error
	}{"actnorm 0 channels", err})
	_, err = blocks.NewChain()
	cases = append(cases, struct {
		name string
		err  error
	}{"empty chain", err})
	for _, c := range cases {
		if c.err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
}

// TestFloat32InverseAtLargeMagnitudes: in float32 the fixed-point residual
// stalls at a few ulps of |x|, so an absolute tolerance of 1e-6 cannot be
// met for samples far from the origin (seen when sampling a trained toy
// model: residual 1.7e-6 after 500 iterations). The relative tolerance
// converges there and still round-trips to float32 accuracy.
func TestFloat32InverseAtLargeMagnitudes(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	r := dense(t, 2, []int{64, 64}, blocks.Lipschitz{Act: graph.ELU}, rng)
	for _, nt := range r.Tensors() {
		if nt.Learnable && nt.Value.Dims() == 2 {
			d := nt.Value.Data().([]float32)
			for i := range d {
				d[i] *= 8
			}
		}
	}
	if err := r.UpdateSpectralNorms(300); err != nil {
		t.Fatal(err)
	}
	x := randTensor(tensor.Float32, rng, 2000, 2)
	for i, v := range x.Data().([]float32) {
		x.Data().([]float32)[i] = 6 * v
	}
	y, err := blocks.Apply(r, x)
	if err != nil {
		t.Fatal(err)
	}
	back, st, err := r.InverseWithStats(y)
	if err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	xd, bd := x.Data().([]float32), back.Data().([]float32)
	for i := range xd {
		worst = math.Max(worst, math.Abs(float64(xd[i]-bd[i]))/(1+math.Abs(float64(xd[i]))))
	}
	if worst > roundTripTol32 {
		t.Errorf("max relative round-trip error %.3g > %.3g", worst, roundTripTol32)
	}
	t.Logf("%d iterations, residual %.3g, worst relative error %.3g", st.Iter, st.Residual, worst)
}

// TestVanillaInverseFailsLoudly: the paper's vanilla ResNet (the same conv
// block without spectral normalization) is not invertible by fixed point
// once its weights are large; the inverse must say so. The constrained twin
// with the very same weights inverts.
func TestVanillaInverseFailsLoudly(t *testing.T) {
	for _, unconstrained := range []bool{false, true} {
		rng := rand.New(rand.NewPCG(7, 7))
		l := blocks.Lipschitz{Act: graph.ELU, Dtype: tensor.Float64, Unconstrained: unconstrained, Inverse: blocks.FixedPoint{MaxIter: 200}}
		r := conv(t, 2, 4, 4, 8, l, rng)
		for _, nt := range r.Tensors() {
			if nt.Learnable && nt.Value.Dims() == 4 {
				for i := range nt.Value.Data().([]float64) {
					nt.Value.Data().([]float64)[i] *= 6
				}
			}
		}
		if err := r.UpdateSpectralNorms(200); err != nil {
			t.Fatal(err)
		}
		x := randTensor(tensor.Float64, rng, 3, 2, 4, 4)
		y, err := blocks.Apply(r, x)
		if err != nil {
			t.Fatal(err)
		}
		_, err = r.Inverse(y)
		var nc *blocks.NotConvergedError
		switch {
		case unconstrained && !errors.As(err, &nc):
			t.Errorf("vanilla block: Inverse returned %v, want *NotConvergedError", err)
		case !unconstrained && err != nil:
			t.Errorf("i-ResNet block: Inverse failed: %v", err)
		}
	}
}

// TestInverseLenient: a lenient inverse of a chain whose middle block is an
// unconstrained (vanilla) block with large weights passes over that block,
// names it, and still runs the blocks after it; on a chain that inverts, it
// is exactly InverseWithStats.
func TestInverseLenient(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	ok := blocks.Lipschitz{Act: graph.ELU, Dtype: tensor.Float64}
	bad := ok
	bad.Unconstrained, bad.Inverse = true, blocks.FixedPoint{MaxIter: 30}
	vanilla := conv(t, 2, 4, 4, 8, bad, rng)
	for _, nt := range vanilla.Tensors() {
		if nt.Learnable && nt.Value.Dims() == 4 {
			for i := range nt.Value.Data().([]float64) {
				nt.Value.Data().([]float64)[i] *= 3
			}
		}
	}
	c := chain(t, conv(t, 2, 4, 4, 8, ok, rng), vanilla, conv(t, 2, 4, 4, 8, ok, rng))
	x := randTensor(tensor.Float64, rng, 2, 2, 4, 4)
	y, err := blocks.Apply(c, x)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.InverseWithStats(y); err == nil {
		t.Fatal("the strict inverse of a chain with a vanilla block succeeded; make its weights larger")
	}
	back, stats, err := c.InverseLenient(y)
	var fb *blocks.FailedBlocksError
	if !errors.As(err, &fb) {
		t.Fatalf("InverseLenient error %v, want *FailedBlocksError", err)
	}
	if back == nil || !back.Shape().Eq(x.Shape()) {
		t.Fatalf("InverseLenient returned %v, want a %v tensor (the last iterate carried through)", back, x.Shape())
	}
	if len(fb.Blocks) != 1 || fb.Blocks[0] != "block1" || fb.Errs[0].Iter != 30 {
		t.Errorf("failed blocks %v (%v), want [block1] after 30 iterations", fb.Blocks, fb.Errs)
	}
	if len(stats) != 3 || stats["block0"].Iter == 0 || stats["block2"].Iter == 0 {
		t.Errorf("stats %v: want all three blocks, the constrained ones inverted", stats)
	}
	if d := maxAbsDiff(back, x); !(d > 1e-3) {
		t.Errorf("lenient result within %.3g of x: the vanilla block's last iterate should not be an inverse", d)
	}

	good := chain(t, conv(t, 2, 4, 4, 8, ok, rng), conv(t, 2, 4, 4, 8, ok, rng))
	y, _ = blocks.Apply(good, x)
	strict, st1, err1 := good.InverseWithStats(y)
	lenient, st2, err2 := good.InverseLenient(y)
	if err1 != nil || err2 != nil {
		t.Fatalf("invertible chain: strict error %v, lenient error %v", err1, err2)
	}
	if d := maxAbsDiff(strict, lenient); d != 0 || st1["block0"] != st2["block0"] || st1["block1"] != st2["block1"] {
		t.Errorf("lenient and strict inverses differ on an invertible chain: %.3g, %v vs %v", d, st1, st2)
	}
}
