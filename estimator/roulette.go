package estimator

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/iresnet/iresnet/graph"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TermDist is the distribution of the random number of series terms of a
// Russian-roulette estimator.
type TermDist int

// Term-count distributions (Chen et al. 2019, §3.1 and Appendix C).
const (
	Geometric TermDist = iota // N − MinTerms ~ Geometric(P), counting failures
	Poisson                   // N − MinTerms ~ Poisson(Lambda)
)

// String returns "geometric" or "poisson".
func (d TermDist) String() string {
	if d == Poisson {
		return "poisson"
	}
	return "geometric"
}

// RussianRoulette is the unbiased log-det estimator of Residual Flows
// (Chen et al. 2019, eq. 6): for each sample it draws a number of terms N and
// returns
//
//	Σ_{k=1..N} (−1)^{k+1} vᵀJᵏv / (k · P(N ≥ k)),
//
// whose expectation over N and v is log det(I + J). Terms k ≤ MinTerms are
// always computed (P(N ≥ k) = 1).
//
// The graph is static, so every sample's chain is computed up to MaxTerms
// VJPs and term k is masked by its weight 1[k ≤ N]/P(N ≥ k); N is capped at
// MaxTerms. The estimate is therefore unbiased for the MaxTerms-term series,
// whose distance to the full log-det is at most WeakBound(σ, d, MaxTerms)
// (4.4e-8·d for σ = 0.5 and the default 20 terms). Its cost is that of a
// MaxTerms-term PowerSeries: use it for evaluation, PowerSeries for training.
//
// The zero value: geometric with P = 0.5, MinTerms 1, MaxTerms 20, 1
// Gaussian probe.
type RussianRoulette struct {
	Dist     TermDist
	P        float64 // success probability of the geometric law, in (0, 1); 0 means 0.5
	Lambda   float64 // mean of the Poisson law, > 0; 0 means 2
	MinTerms int     // terms always computed; 0 means 1
	MaxTerms int     // cap on N; 0 means 20
	Probes   int     // Hutchinson vectors; 0 means 1
	Noise    graph.NoiseDist
}

func (e RussianRoulette) withDefaults() (RussianRoulette, error) {
	if e.P == 0 {
		e.P = 0.5
	}
	if e.Lambda == 0 {
		e.Lambda = 2
	}
	if e.MinTerms == 0 {
		e.MinTerms = 1
	}
	if e.MaxTerms == 0 {
		e.MaxTerms = 20
	}
	if e.Probes == 0 {
		e.Probes = 1
	}
	switch {
	case e.Dist == Geometric && !(e.P > 0 && e.P < 1):
		return e, errors.Errorf("estimator: geometric P = %v must lie in (0, 1)", e.P)
	case e.Dist == Poisson && !(e.Lambda > 0):
		return e, errors.Errorf("estimator: Poisson Lambda = %v must be > 0", e.Lambda)
	case e.Dist != Geometric && e.Dist != Poisson:
		return e, errors.Errorf("estimator: unknown term distribution %d", int(e.Dist))
	case e.MinTerms < 1 || e.MaxTerms < e.MinTerms:
		return e, errors.Errorf("estimator: need 1 ≤ MinTerms (%d) ≤ MaxTerms (%d)", e.MinTerms, e.MaxTerms)
	case e.Probes < 1:
		return e, errors.Errorf("estimator: need ≥ 1 probe, got %d", e.Probes)
	}
	return e, nil
}

// String describes the estimator.
func (e RussianRoulette) String() string {
	e, _ = e.withDefaults()
	param := fmt.Sprintf("p=%g", e.P)
	if e.Dist == Poisson {
		param = fmt.Sprintf("λ=%g", e.Lambda)
	}
	return fmt.Sprintf("roulette(%v %s, min=%d, max=%d, m=%d)", e.Dist, param, e.MinTerms, e.MaxTerms, e.Probes)
}

// Survival returns P(N ≥ k) for the configured law.
func (e RussianRoulette) Survival(k int) float64 {
	e, _ = e.withDefaults()
	j := k - e.MinTerms // N ≥ k ⇔ extra ≥ j
	if j <= 0 {
		return 1
	}
	if e.Dist == Geometric {
		return math.Pow(1-e.P, float64(j))
	}
	// P(Poisson ≥ j) = 1 − Σ_{i<j} e^{−λ} λ^i / i!
	cdf, term := 0.0, math.Exp(-e.Lambda)
	for i := 0; i < j; i++ {
		cdf += term
		term *= e.Lambda / float64(i+1)
	}
	return math.Max(1-cdf, 0)
}

// draw samples N, capped at MaxTerms.
func (e RussianRoulette) draw(rng *rand.Rand) int {
	extra := 0
	if e.Dist == Geometric {
		for rng.Float64() >= e.P {
			extra++
			if e.MinTerms+extra >= e.MaxTerms {
				break
			}
		}
	} else { // Knuth's multiplication method; λ is small
		l, p := math.Exp(-e.Lambda), rng.Float64()
		for p > l {
			extra++
			p *= rng.Float64()
		}
	}
	return min(e.MinTerms+extra, e.MaxTerms)
}

// LogDet implements Estimator. The per-sample term weights are a random
// input named "roulette" of shape (N, MaxTerms) in b's current scope.
func (e RussianRoulette) LogDet(b *graph.Builder, x, gx *G.Node) (*G.Node, error) {
	e, err := e.withDefaults()
	if err != nil {
		return nil, err
	}
	n := x.Shape()[0]
	surv := make([]float64, e.MaxTerms)
	for k := 1; k <= e.MaxTerms; k++ {
		surv[k-1] = e.Survival(k)
	}
	weights, err := b.NewRandom("roulette", []int{n, e.MaxTerms}, func(rng *rand.Rand, t *tensor.Dense) {
		w := make([]float64, n*e.MaxTerms)
		for i := 0; i < n; i++ {
			terms := e.draw(rng)
			for k := 1; k <= terms; k++ {
				w[i*e.MaxTerms+k-1] = 1 / surv[k-1]
			}
		}
		store(t, w)
	})
	if err != nil {
		return nil, err
	}
	coefs, err := seriesCoefs(b, e.MaxTerms)
	if err != nil {
		return nil, err
	}
	cols := make([]*G.Node, e.MaxTerms)
	for k := range cols {
		if cols[k], err = G.Slice(weights, nil, G.S(k)); err != nil {
			return nil, errors.Wrap(err, "estimator: slicing roulette weights")
		}
	}
	return probeSeries(b, x, gx, e.Probes, e.Noise, func(k int, term *G.Node) (*G.Node, error) {
		if k > e.MaxTerms {
			return nil, nil
		}
		t, err := G.HadamardProd(term, cols[k-1])
		if err != nil {
			return nil, err
		}
		return G.Mul(t, coefs[k-1])
	})
}

// store writes src into t, converting to t's dtype.
func store(t *tensor.Dense, src []float64) {
	switch d := t.Data().(type) {
	case []float64:
		copy(d, src)
	case []float32:
		for i, v := range src {
			d[i] = float32(v)
		}
	}
}
