package blocks

import (
	"math"
	"math/rand/v2"

	"github.com/iresnet/iresnet/graph"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// GaussianPrior is a learned diagonal Gaussian base density
// N(μ, diag(σ²)) over the latent vector of a flow, with μ and log σ
// trained with the rest of the model: the authors' code learns its prior
// by default (learn_prior; -fixedPrior switches to N(0, I)). It starts as
// the standard normal (μ = 0, log σ = 0).
type GaussianPrior struct {
	mean, logStd *tensor.Dense // (D)
}

// NewGaussianPrior returns the standard normal prior over d dimensions,
// ready to be learned.
func NewGaussianPrior(d int, dtype tensor.Dtype) (*GaussianPrior, error) {
	if d < 1 {
		return nil, errors.Errorf("blocks: prior dimension %d must be ≥ 1", d)
	}
	if dtype == (tensor.Dtype{}) {
		dtype = tensor.Float32
	}
	return &GaussianPrior{
		mean:   tensor.New(tensor.Of(dtype), tensor.WithShape(d)),
		logStd: tensor.New(tensor.Of(dtype), tensor.WithShape(d)),
	}, nil
}

// Dim returns the dimension D of the latent vector.
func (p *GaussianPrior) Dim() int { return p.mean.Shape()[0] }

// LogProb builds log N(z; μ, diag(σ²)) per sample for z (N, D), with μ and
// log σ as parameters "prior/mean" and "prior/logstd":
//
//	−½‖(z − μ)/σ‖² − Σ log σ − (D/2) log 2π.
func (p *GaussianPrior) LogProb(b *graph.Builder, z *G.Node) (*G.Node, error) {
	s := z.Shape()
	if s.Dims() != 2 || s[1] != p.Dim() {
		return nil, errors.Errorf("blocks: prior over %d dimensions got latent of shape %v", p.Dim(), s)
	}
	var out *G.Node
	err := b.Scoped("prior", func() error {
		mean, err := b.Param("mean", p.mean)
		if err != nil {
			return err
		}
		ls, err := b.Param("logstd", p.logStd)
		if err != nil {
			return err
		}
		mb, err := graph.BroadcastChannels(mean, s)
		if err != nil {
			return err
		}
		lsb, err := graph.BroadcastChannels(ls, s)
		if err != nil {
			return err
		}
		diff, err := G.Sub(z, mb)
		if err != nil {
			return err
		}
		neg, err := G.Neg(lsb)
		if err != nil {
			return err
		}
		inv, err := G.Exp(neg)
		if err != nil {
			return err
		}
		u, err := G.HadamardProd(diff, inv)
		if err != nil {
			return err
		}
		sq, err := G.Square(u)
		if err != nil {
			return err
		}
		ss, err := graph.SumPerSample(sq)
		if err != nil {
			return err
		}
		half, err := b.Scalar("neg_half", -0.5)
		if err != nil {
			return err
		}
		if out, err = G.Mul(ss, half); err != nil {
			return err
		}
		sumLS, err := G.Sum(ls)
		if err != nil {
			return err
		}
		norm, err := b.Scalar("log_norm", -0.5*float64(p.Dim())*math.Log(2*math.Pi))
		if err != nil {
			return err
		}
		c, err := G.Sub(norm, sumLS)
		if err != nil {
			return err
		}
		out, err = G.Add(out, c)
		return err
	})
	return out, errors.Wrap(err, "blocks: Gaussian prior")
}

// Sample draws n latents z = μ + T·σ·ε, ε ~ N(0, I), at temperature T.
func (p *GaussianPrior) Sample(rng *rand.Rand, n int, temperature float64) *tensor.Dense {
	d := p.Dim()
	z := tensor.New(tensor.Of(p.mean.Dtype()), tensor.WithShape(n, d))
	graph.Fill(z, graph.Gaussian, rng)
	zd, mu, ls := toFloat64(z), toFloat64(p.mean), toFloat64(p.logStd)
	for i := range zd {
		j := i % d
		zd[i] = mu[j] + temperature*math.Exp(ls[j])*zd[i]
	}
	storeFloat64(z, zd)
	return z
}

// Tensors lists the learned mean and log standard deviation, named
// "prior/mean" and "prior/logstd" like their graph parameters.
func (p *GaussianPrior) Tensors() []NamedTensor {
	return []NamedTensor{
		{Name: "prior/mean", Value: p.mean, Learnable: true},
		{Name: "prior/logstd", Value: p.logStd, Learnable: true},
	}
}
