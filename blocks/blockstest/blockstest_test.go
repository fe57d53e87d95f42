package blockstest_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/blocks/blockstest"
	"github.com/iresnet/iresnet/estimator"
	"github.com/iresnet/iresnet/graph"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestExistingBlocksConform runs the suite over blocks of package blocks
// that are known to be correct; none may fail.
func TestExistingBlocksConform(t *testing.T) {
	f64 := blocks.Lipschitz{Dtype: tensor.Float64, Estimator: estimator.Exact{}}
	cases := []struct {
		name  string
		build func(rng *rand.Rand) (blocks.Bijector, error)
		shape []int
		opts  []blockstest.Option
	}{
		{"actnorm", func(*rand.Rand) (blocks.Bijector, error) {
			return blocks.NewActNorm(2, tensor.Float64)
		}, []int{3, 2, 2, 2}, []blockstest.Option{blockstest.PerturbParams(0.3)}},
		{"dense-residual-exact", func(rng *rand.Rand) (blocks.Bijector, error) {
			return blocks.NewDense(blocks.DenseConfig{Dim: 3, Hidden: []int{6}, Lipschitz: f64}, rng)
		}, []int{3, 3}, nil},
		{"multiscale-exact", func(rng *rand.Rand) (blocks.Bijector, error) {
			return blocks.NewMultiScale(blocks.MultiScaleConfig{Channels: 1, Height: 4, Width: 4, Scales: 2, Blocks: 1,
				Hidden: []int{3, 3}, InitSqueeze: true, ActNorm: true, Lipschitz: blocks.Lipschitz{Dtype: tensor.Float64, Estimator: estimator.Exact{}, Act: graph.ELU}}, rng)
		}, []int{2, 1, 4, 4}, nil},
		{"squeeze", func(*rand.Rand) (blocks.Bijector, error) { return blocks.Squeeze{}, nil }, []int{2, 1, 4, 4}, nil},
		{"chain", func(rng *rand.Rand) (blocks.Bijector, error) {
			a, err := blocks.NewActNorm(3, tensor.Float64)
			if err != nil {
				return nil, err
			}
			r, err := blocks.NewDense(blocks.DenseConfig{Dim: 3, Hidden: []int{5}, Lipschitz: f64}, rng)
			if err != nil {
				return nil, err
			}
			return blocks.NewChain(a, r)
		}, []int{2, 3}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			blockstest.Check(t, c.name, c.build, c.shape, c.opts...)
		})
	}
}

// recorder is a testing.TB stand-in that records failures instead of
// reporting them, so the suite's own failures can be asserted on.
type recorder struct {
	testing.TB
	msgs  []string
	fatal bool
}

func (r *recorder) Helper()                   {}
func (r *recorder) Logf(string, ...any)       {}
func (r *recorder) Errorf(f string, a ...any) { r.msgs = append(r.msgs, fmt.Sprintf(f, a...)) }
func (r *recorder) Fatalf(f string, a ...any) {
	r.Errorf(f, a...)
	r.fatal = true
	runtime.Goexit()
}

// run calls blockstest.Check on a recorder in its own goroutine (Fatalf
// ends that goroutine, as FailNow does) and returns the recorder.
func run(t *testing.T, f blocks.Bijector, shape []int, opts ...blockstest.Option) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		blockstest.Check(r, "fake", func(*rand.Rand) (blocks.Bijector, error) { return f, nil }, shape, opts...)
	}()
	<-done
	return r
}

func mentions(msgs []string, sub string) bool {
	for _, m := range msgs {
		if strings.Contains(m, sub) {
			return true
		}
	}
	return false
}

// diagScale is y = x ⊙ exp(s) on (N, d) with a log-det of Σ s + offset;
// mixRows adds a multiple of the batch mean to every row; stopGrad hides
// the log-det's dependence on s from the gradient.
type diagScale struct {
	s        *tensor.Dense
	offset   float64
	mixRows  float64
	stopGrad bool
}

func newDiagScale(d int) *diagScale {
	s := tensor.New(tensor.WithShape(d), tensor.WithBacking(make([]float64, d)))
	for i := range d {
		s.Data().([]float64)[i] = 0.1 * float64(i+1)
	}
	return &diagScale{s: s}
}

func (f *diagScale) Forward(b *graph.Builder, x *G.Node) (y, logDet *G.Node, err error) {
	s, err := b.Param("s", f.s)
	if err != nil {
		return nil, nil, err
	}
	sb, err := graph.BroadcastChannels(s, x.Shape())
	if err != nil {
		return nil, nil, err
	}
	e, err := G.Exp(sb)
	if err != nil {
		return nil, nil, err
	}
	if y, err = G.HadamardProd(x, e); err != nil {
		return nil, nil, err
	}
	if f.mixRows != 0 {
		mean, err := G.Mean(x, 0)
		if err != nil {
			return nil, nil, err
		}
		mb, err := graph.BroadcastChannels(mean, x.Shape())
		if err != nil {
			return nil, nil, err
		}
		k, err := b.Scalar("mix", f.mixRows)
		if err != nil {
			return nil, nil, err
		}
		if mb, err = G.Mul(mb, k); err != nil {
			return nil, nil, err
		}
		if y, err = G.Add(y, mb); err != nil {
			return nil, nil, err
		}
	}
	if f.stopGrad {
		if sb, err = graph.StopGradient(sb); err != nil {
			return nil, nil, err
		}
	}
	if logDet, err = graph.SumPerSample(sb); err != nil {
		return nil, nil, err
	}
	if f.offset != 0 {
		k, err := b.Scalar("offset", f.offset)
		if err != nil {
			return nil, nil, err
		}
		if logDet, err = G.Add(logDet, k); err != nil {
			return nil, nil, errors.Wrap(err, "offset")
		}
	}
	return y, logDet, nil
}

func (f *diagScale) Inverse(y *tensor.Dense) (*tensor.Dense, error) {
	x := y.Clone().(*tensor.Dense)
	xd, sd := x.Data().([]float64), f.s.Data().([]float64)
	d := len(sd)
	for i := range xd {
		xd[i] /= math.Exp(sd[i%d])
	}
	return x, nil
}

func (f *diagScale) Tensors() []blocks.NamedTensor {
	return []blocks.NamedTensor{{Name: "s", Value: f.s, Learnable: true}}
}

// TestSuiteCatchesWrongBijectors checks that a correct diagonal scaling
// passes and that each deliberately broken variant fails the check it
// breaks, with a message naming it.
func TestSuiteCatchesWrongBijectors(t *testing.T) {
	shape := []int{3, 4}
	if r := run(t, newDiagScale(4), shape); len(r.msgs) > 0 {
		t.Fatalf("correct diagonal scaling failed the suite: %q", r.msgs)
	}
	cases := []struct {
		name   string
		mutate func(*diagScale)
		want   string // a substring of some failure
	}{
		{"log-det off by 0.01", func(f *diagScale) { f.offset = 0.01 }, "finite-difference Jacobian"},
		{"rows mixed", func(f *diagScale) { f.mixRows = 0.5 }, "changing row 0"},
		{"gradient of log-det hidden", func(f *diagScale) { f.stopGrad = true }, "∂loss/∂s"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newDiagScale(4)
			c.mutate(f)
			r := run(t, f, shape)
			if !mentions(r.msgs, c.want) {
				t.Errorf("suite did not report %q; it reported %q", c.want, r.msgs)
			}
		})
	}
	// An inverse that is off must fail the round trip.
	t.Run("wrong inverse", func(t *testing.T) {
		r := run(t, badInverse{newDiagScale(4)}, shape)
		if !mentions(r.msgs, "Inverse(Forward(x))") {
			t.Errorf("suite did not report the round trip; it reported %q", r.msgs)
		}
	})
	// A parameter missing from Tensors must be reported.
	t.Run("unlisted parameter", func(t *testing.T) {
		r := run(t, unlisted{newDiagScale(4)}, shape)
		if !mentions(r.msgs, "not listed by Tensors") {
			t.Errorf("suite did not report the unlisted parameter; it reported %q", r.msgs)
		}
	})
}

type badInverse struct{ *diagScale }

func (f badInverse) Inverse(y *tensor.Dense) (*tensor.Dense, error) {
	x, err := f.diagScale.Inverse(y)
	if err != nil {
		return nil, err
	}
	x.Data().([]float64)[5] += 1e-6
	return x, nil
}

type unlisted struct{ *diagScale }

func (unlisted) Tensors() []blocks.NamedTensor { return nil }

// doubler is y = 2x on (N, d, 1), computed through gorgonia's Reshape,
// whose output shares memory with its input: the tape machine may then
// double the input itself in place, once per run.
type doubler struct{}

func (doubler) Forward(b *graph.Builder, x *G.Node) (y, logDet *G.Node, err error) {
	s := x.Shape()
	n, d := s[0], s.TotalSize()/s[0]
	r, err := G.Reshape(x, []int{n, d})
	if err != nil {
		return nil, nil, err
	}
	twos := make([]float64, n*d)
	ld := make([]float64, n)
	for i := range twos {
		twos[i] = 2
	}
	for i := range ld {
		ld[i] = float64(d) * math.Ln2
	}
	k, err := b.Input("twos", tensor.New(tensor.WithShape(n, d), tensor.WithBacking(twos)))
	if err != nil {
		return nil, nil, err
	}
	if y, err = G.HadamardProd(r, k); err != nil {
		return nil, nil, err
	}
	logDet, err = b.Input("logdet", tensor.New(tensor.WithShape(n), tensor.WithBacking(ld)))
	return y, logDet, err
}

func (doubler) Inverse(y *tensor.Dense) (*tensor.Dense, error) {
	s := y.Shape()
	x := tensor.New(tensor.WithShape(s[0], s[1], 1), tensor.WithBacking(make([]float64, s.TotalSize())))
	for i, v := range y.Data().([]float64) {
		x.Data().([]float64)[i] = v / 2
	}
	return x, nil
}

// TestSuiteCatchesInPlaceAliasing checks the rerun check on a map whose
// graph overwrites its own input (gorgonia's Reshape shares memory with
// its input and the machine may write into it).
func TestSuiteCatchesInPlaceAliasing(t *testing.T) {
	r := run(t, doubler{}, []int{2, 3, 1})
	if !mentions(r.msgs, "overwrote input") && !mentions(r.msgs, "second run") {
		t.Errorf("suite did not report the aliasing; it reported %q", r.msgs)
	}
}
