package blocks_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// stdNormalLogDensity is the closed form log N(z; 0, I_d) of one sample,
// written out here rather than taken from the code under test:
// −½‖z‖² − (d/2)·log(2π), with log(2π) = 1.8378770664093453.
func stdNormalLogDensity(z []float64) float64 {
	const log2Pi = 1.8378770664093454835606594728112 // log(2π), OEIS A061444
	var sq float64
	for _, v := range z {
		sq += v * v
	}
	return -0.5*sq - 0.5*float64(len(z))*log2Pi
}

// logDensityTol is the tolerance on a log-density of magnitude want: the
// float32 graph sums d squares in single precision.
func logDensityTol(dt tensor.Dtype, want float64) float64 {
	if dt == tensor.Float32 {
		return 1e-5 * (1 + math.Abs(want))
	}
	return 1e-12 * (1 + math.Abs(want))
}

var logDensityDtypes = []tensor.Dtype{tensor.Float32, tensor.Float64}

// TestGaussianLogProbClosedForm checks the fixed N(0, I) base density of
// every flow against its closed form, for per-sample sizes from 1 to 784,
// flat and image-shaped latents, and both dtypes. Row 0 of every batch is
// z = 0, where the density is the normalizing constant alone,
// −(d/2)·log(2π); a wrong constant (log π for log 2π, say) is off there by
// (d/2)·log 2 ≥ 0.35.
func TestGaussianLogProbClosedForm(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 28))
	for _, dt := range logDensityDtypes {
		for _, shape := range [][]int{{3, 1}, {4, 2}, {2, 5}, {3, 2, 4, 4}, {2, 784}} {
			t.Run(fmt.Sprintf("%v/%v", dt, shape), func(t *testing.T) {
				z := randTensor(dt, rng, shape...)
				ldZeroRow(z, 0)
				b, err := graph.NewBuilder(dt)
				if err != nil {
					t.Fatal(err)
				}
				zn, _ := b.Input("z", z)
				lp, err := blocks.GaussianLogProb(b, zn)
				if err != nil {
					t.Fatal(err)
				}
				ldRun(t, b)
				checkStdNormal(t, floats(z), shape, floats(lp.Value().(*tensor.Dense)), dt)
			})
		}
	}
}

// TestFlowFixedPriorClosedForm checks Flow.LogProb with the fixed prior
// through a volume-preserving bijector (Squeeze permutes the entries, so
// ‖F(x)‖ = ‖x‖ and log|det| = 0): log p(x) is the N(0, I) closed form of x.
func TestFlowFixedPriorClosedForm(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 29))
	for _, dt := range logDensityDtypes {
		for _, shape := range [][]int{{2, 1, 2, 2}, {3, 3, 4, 6}} {
			t.Run(fmt.Sprintf("%v/%v", dt, shape), func(t *testing.T) {
				x := randTensor(dt, rng, shape...)
				ldZeroRow(x, 0)
				b, _ := graph.NewBuilder(dt)
				xn, _ := b.Input("x", x)
				logp, logDet, err := blocks.Flow{F: blocks.Squeeze{}}.LogProb(b, xn)
				if err != nil {
					t.Fatal(err)
				}
				ldRun(t, b)
				for i, v := range floats(logDet.Value().(*tensor.Dense)) {
					if v != 0 {
						t.Errorf("log|det| of a squeeze, row %d = %g, want 0", i, v)
					}
				}
				checkStdNormal(t, floats(x), shape, floats(logp.Value().(*tensor.Dense)), dt)
			})
		}
	}
}

// diagGaussianLogDensity is the closed form log N(z; μ, diag(σ²)) of one
// sample, written term by term: −Σⱼ [(zⱼ−μⱼ)²/(2σⱼ²) + log σⱼ + ½·log(2π)].
func diagGaussianLogDensity(z, mu, logStd []float64) float64 {
	var s float64
	for j := range z {
		sigma := math.Exp(logStd[j])
		s -= (z[j]-mu[j])*(z[j]-mu[j])/(2*sigma*sigma) + math.Log(sigma) + 0.5*math.Log(2*math.Pi)
	}
	return s
}

// TestGaussianPriorClosedForm checks the learned diagonal prior against its
// closed form for several dimensions and both dtypes, with row 0 of z at μ
// so that only −Σ log σ − (D/2)·log(2π) remains there; and, for the
// standard normal it starts as, against −½‖z‖² − (D/2)·log(2π). The same
// prior is also checked through Flow.LogProb.
func TestGaussianPriorClosedForm(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 30))
	for _, dt := range logDensityDtypes {
		for _, d := range []int{1, 2, 7, 64} {
			for _, learned := range []bool{false, true} {
				t.Run(fmt.Sprintf("%v/D=%d/learned=%v", dt, d, learned), func(t *testing.T) {
					const n = 4
					p, err := blocks.NewGaussianPrior(d, dt)
					if err != nil {
						t.Fatal(err)
					}
					mu, ls := make([]float64, d), make([]float64, d)
					if learned {
						for j := range mu {
							mu[j] = rng.NormFloat64()
							ls[j] = 0.5 * rng.NormFloat64()
						}
						for _, nt := range p.Tensors() {
							switch nt.Name {
							case "prior/mean":
								ldStore(nt.Value, mu)
							case "prior/logstd":
								ldStore(nt.Value, ls)
							}
						}
						// The tensors may round to float32: the oracle uses
						// the values the graph sees.
						for _, nt := range p.Tensors() {
							switch nt.Name {
							case "prior/mean":
								mu = append([]float64(nil), floats(nt.Value)...)
							case "prior/logstd":
								ls = append([]float64(nil), floats(nt.Value)...)
							}
						}
					}
					z := randTensor(dt, rng, n, d)
					zd := floats(z)
					copy(zd[:d], mu) // row 0 at the mean
					ldStore(z, zd)
					zd = floats(z)

					b, _ := graph.NewBuilder(dt)
					zn, _ := b.Input("z", z)
					lp, err := p.LogProb(b, zn)
					if err != nil {
						t.Fatal(err)
					}
					ldRun(t, b)
					fb, _ := graph.NewBuilder(dt)
					xn, _ := fb.Input("x", z)
					logp, _, err := blocks.Flow{F: ldIdentity{}, Prior: p}.LogProb(fb, xn)
					if err != nil {
						t.Fatal(err)
					}
					ldRun(t, fb)
					got, gotFlow := floats(lp.Value().(*tensor.Dense)), floats(logp.Value().(*tensor.Dense))
					for i := 0; i < n; i++ {
						row := zd[i*d : (i+1)*d]
						want := diagGaussianLogDensity(row, mu, ls)
						if !learned {
							if std := stdNormalLogDensity(row); math.Abs(std-want) > 1e-12*(1+math.Abs(want)) {
								t.Fatalf("oracles disagree at the standard normal: %.15g vs %.15g", std, want)
							}
						}
						tol := logDensityTol(dt, want)
						if math.Abs(got[i]-want) > tol {
							t.Errorf("prior log p(z[%d]) = %.10g, want %.10g (D = %d)", i, got[i], want, d)
						}
						if math.Abs(gotFlow[i]-want) > tol {
							t.Errorf("flow log p(x[%d]) with identity F = %.10g, want %.10g (D = %d)", i, gotFlow[i], want, d)
						}
					}
				})
			}
		}
	}
}

// ldIdentity is the bijector F(x) = x with log|det| = 0, so that a flow's
// log-density is its prior's.
type ldIdentity struct{}

func (ldIdentity) Forward(b *graph.Builder, x *G.Node) (y, logDet *G.Node, err error) {
	zeros := tensor.New(tensor.Of(b.Dtype()), tensor.WithShape(x.Shape()[0]))
	logDet, err = b.Input("identity_logdet", zeros)
	return x, logDet, err
}

func (ldIdentity) Inverse(y *tensor.Dense) (*tensor.Dense, error) { return y, nil }

// checkStdNormal compares per-sample log-densities got with the closed form
// of each row of z (shape (N, ...)).
func checkStdNormal(t *testing.T, z []float64, shape []int, got []float64, dt tensor.Dtype) {
	t.Helper()
	n := shape[0]
	d := len(z) / n
	if len(got) != n {
		t.Fatalf("%d log-densities for %d samples", len(got), n)
	}
	for i := 0; i < n; i++ {
		want := stdNormalLogDensity(z[i*d : (i+1)*d])
		if math.Abs(got[i]-want) > logDensityTol(dt, want) {
			t.Errorf("log N(z[%d]; 0, I), d = %d: got %.10g, want %.10g (off by %.4g)", i, d, got[i], want, got[i]-want)
		}
	}
}

// ldZeroRow sets row i of the (N, ...) tensor t to 0.
func ldZeroRow(t *tensor.Dense, i int) {
	d := t.Shape().TotalSize() / t.Shape()[0]
	switch v := t.Data().(type) {
	case []float64:
		clear(v[i*d : (i+1)*d])
	case []float32:
		clear(v[i*d : (i+1)*d])
	}
}

// ldStore writes vals into t, converting to t's dtype.
func ldStore(t *tensor.Dense, vals []float64) {
	switch v := t.Data().(type) {
	case []float64:
		copy(v, vals)
	case []float32:
		for i, x := range vals {
			v[i] = float32(x)
		}
	}
}

// ldRun executes every node of b's graph once.
func ldRun(t *testing.T, b *graph.Builder) {
	t.Helper()
	m := G.NewTapeMachine(b.Graph())
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
}
