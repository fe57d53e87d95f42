package blocks

import (
	"math"
	"math/rand/v2"

	"github.com/iresnet/iresnet/graph"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Flow is a density model: a bijector F with a Gaussian base density, so
// that (Behrmann et al. 2019, eq. 4)
//
//	log p(x) = log N(F(x); μ, diag(σ²)) + log|det ∂F/∂x|,
//
// with μ = 0, σ = 1 unless Prior is set. Sampling draws z from the prior
// and returns F⁻¹(z).
type Flow struct {
	F     Bijector
	Prior *GaussianPrior // learned prior; nil means the fixed N(0, I)
}

// LogProb builds log p(x) (N) and the log-det term (N) for x (N, ...).
//
// The log-det estimators' random inputs (Hutchinson probes, roulette
// weights) are registered with b and hold a draw from the moment they are
// built (graph.Builder.NewRandom), so running the graph gives a genuine
// estimate right away. That draw is fixed: call b.Resample(rng) before each
// run for fresh probes, as a training loop must for an unbiased gradient.
func (f Flow) LogProb(b *graph.Builder, x *G.Node) (logp, logDet *G.Node, err error) {
	z, logDet, err := f.F.Forward(b, x)
	if err != nil {
		return nil, nil, err
	}
	var lpz *G.Node
	if f.Prior != nil {
		lpz, err = f.Prior.LogProb(b, z)
	} else {
		lpz, err = GaussianLogProb(b, z)
	}
	if err != nil {
		return nil, nil, err
	}
	if logp, err = G.Add(lpz, logDet); err != nil {
		return nil, nil, errors.Wrap(err, "blocks: log p(z) + log-det")
	}
	return logp, logDet, nil
}

// GaussianLogProb builds log N(z; 0, I) = −½‖z‖² − (d/2) log 2π per sample,
// for z (N, ...) with d the size of one sample.
func GaussianLogProb(b *graph.Builder, z *G.Node) (*G.Node, error) {
	s := z.Shape()
	d := s.TotalSize() / s[0]
	sq, err := G.Square(z)
	if err != nil {
		return nil, errors.Wrap(err, "blocks: z²")
	}
	ss, err := graph.SumPerSample(sq)
	if err != nil {
		return nil, err
	}
	half, err := b.Scalar("prior/neg_half", -0.5)
	if err != nil {
		return nil, err
	}
	norm, err := b.Scalar("prior/log_norm", -0.5*float64(d)*math.Log(2*math.Pi))
	if err != nil {
		return nil, err
	}
	out, err := G.Mul(ss, half)
	if err != nil {
		return nil, err
	}
	return G.Add(out, norm)
}

// Sample draws n samples of the given per-sample shape at the given
// temperature T (z ~ N(0, T²I), or μ + Tσε with a learned prior) and maps
// them through F⁻¹.
func (f Flow) Sample(rng *rand.Rand, dtype tensor.Dtype, n int, shape []int, temperature float64) (*tensor.Dense, error) {
	if n < 1 {
		return nil, errors.Errorf("blocks: sample count %d must be ≥ 1", n)
	}
	if !(temperature > 0) {
		return nil, errors.Errorf("blocks: temperature %v must be > 0", temperature)
	}
	var z *tensor.Dense
	if f.Prior != nil {
		if got := tensor.Shape(shape).TotalSize(); len(shape) != 1 || got != f.Prior.Dim() {
			return nil, errors.Errorf("blocks: the prior draws (N, %d) latents, asked for shape %v", f.Prior.Dim(), shape)
		}
		z = f.Prior.Sample(rng, n, temperature)
	} else {
		z = tensor.New(tensor.Of(dtype), tensor.WithShape(append([]int{n}, shape...)...))
		graph.Fill(z, graph.Gaussian, rng)
	}
	if f.Prior == nil && temperature != 1 {
		d := toFloat64(z)
		for i := range d {
			d[i] *= temperature
		}
		storeFloat64(z, d)
	}
	x, err := f.F.Inverse(z)
	if err != nil {
		return nil, errors.Wrap(err, "blocks: sampling")
	}
	return x, nil
}
