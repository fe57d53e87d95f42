package estimator

import (
	"fmt"
	"math"
	"strconv"

	"github.com/iresnet/iresnet/graph"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
)

// An Estimator estimates log|det(I + ∂g/∂x)| for each batch row, given the
// input x (N, ...) of a residual branch and its output gx = g(x) of the same
// shape, as a node of shape (N) in x's graph. Random inputs it needs are
// registered with b: they hold a draw from registration on (never zeros),
// and b.Resample redraws them.
type Estimator interface {
	LogDet(b *graph.Builder, x, gx *G.Node) (*G.Node, error)
}

// Compile-time conformance checks.
var (
	_ Estimator = PowerSeries{}
	_ Estimator = RussianRoulette{}
	_ Estimator = Exact{}
)

// PowerSeries is the truncated power series of Behrmann et al. (2019), eq. 8,
// with Hutchinson trace estimates:
//
//	log det(I+J) ≈ (1/m) Σ_{p=1..m} Σ_{k=1..n} (−1)^{k+1} v_pᵀ Jᵏ v_p / k.
//
// The zero value uses n = 5 terms, m = 1 probe and Gaussian probes.
type PowerSeries struct {
	Terms    int             // n, the number of series terms; 0 means 5
	Probes   int             // m, Hutchinson vectors per sample; 0 means 1
	Dist     graph.NoiseDist // distribution of the probes
	Gradient GradientMode    // how the estimate is differentiated
}

// GradientMode selects how a log-det estimate is differentiated.
type GradientMode int

// Gradient modes.
const (
	// SeriesGradient differentiates the estimate itself: reverse mode
	// through all n VJPs of every term (Behrmann et al. 2019).
	SeriesGradient GradientMode = iota
	// NeumannGradient uses the Neumann series of the log-det gradient
	// (Chen et al. 2019, "Residual Flows", §3.2, eq. 8):
	//
	//	∂/∂θ log det(I+J) = tr((I+J)⁻¹ ∂J/∂θ) ≈ Σ_{k=0}^{n−1} (−1)ᵏ vᵀJᵏ (∂J/∂θ) v,
	//
	// built as the gradient of a·(J v) with a = Σ (−1)ᵏ vᵀJᵏ held constant.
	// Its expectation over v equals that of SeriesGradient (d tr(Jᵏ) =
	// k tr(Jᵏ⁻¹ dJ)), but only one VJP is differentiated a second time
	// instead of n, which makes a training step several times cheaper. For
	// a fixed probe the two gradients differ; the value is the same.
	NeumannGradient
)

// ParseGradientMode returns the mode named "series" or "neumann".
func ParseGradientMode(s string) (GradientMode, error) {
	switch s {
	case "series":
		return SeriesGradient, nil
	case "neumann":
		return NeumannGradient, nil
	}
	return 0, errors.Errorf("estimator: unknown gradient mode %q (known: series, neumann)", s)
}

// MarshalText implements encoding.TextMarshaler.
func (m GradientMode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (m *GradientMode) UnmarshalText(b []byte) error {
	v, err := ParseGradientMode(string(b))
	*m = v
	return err
}

// String returns "series" or "neumann".
func (m GradientMode) String() string {
	if m == NeumannGradient {
		return "neumann"
	}
	return "series"
}

// defaultTerms is the paper's choice for density models (Behrmann et al.
// 2019, §5.2: "5 series terms").
const defaultTerms = 5

func (e PowerSeries) withDefaults() (PowerSeries, error) {
	if e.Terms == 0 {
		e.Terms = defaultTerms
	}
	if e.Probes == 0 {
		e.Probes = 1
	}
	if e.Terms < 1 {
		return e, errors.Errorf("estimator: power series needs ≥ 1 term, got %d", e.Terms)
	}
	if e.Probes < 1 {
		return e, errors.Errorf("estimator: power series needs ≥ 1 probe, got %d", e.Probes)
	}
	return e, nil
}

// String describes the estimator, e.g. "powerseries(n=5, m=1, gaussian)".
func (e PowerSeries) String() string {
	e, _ = e.withDefaults()
	return fmt.Sprintf("powerseries(n=%d, m=%d, %v, %v gradient)", e.Terms, e.Probes, e.Dist, e.Gradient)
}

// LogDet implements Estimator. Probes are registered as noise inputs named
// "probe0", "probe1", … in b's current scope.
func (e PowerSeries) LogDet(b *graph.Builder, x, gx *G.Node) (*G.Node, error) {
	e, err := e.withDefaults()
	if err != nil {
		return nil, err
	}
	if e.Gradient == NeumannGradient {
		return e.neumann(b, x, gx)
	}
	if e.Gradient != SeriesGradient {
		return nil, errors.Errorf("estimator: unknown gradient mode %d", int(e.Gradient))
	}
	coefs, err := seriesCoefs(b, e.Terms)
	if err != nil {
		return nil, err
	}
	return probeSeries(b, x, gx, e.Probes, e.Dist, func(k int, term *G.Node) (*G.Node, error) {
		if k > e.Terms {
			return nil, nil
		}
		return G.Mul(term, coefs[k-1])
	})
}

// seriesCoefs returns scalar nodes holding (−1)^{k+1}/k for k = 1..n.
func seriesCoefs(b *graph.Builder, n int) ([]*G.Node, error) {
	coefs := make([]*G.Node, n)
	for k := 1; k <= n; k++ {
		c, err := b.Scalar("coef"+strconv.Itoa(k), seriesSign(k)/float64(k))
		if err != nil {
			return nil, err
		}
		coefs[k-1] = c
	}
	return coefs, nil
}

// seriesSign is (−1)^{k+1}.
func seriesSign(k int) float64 {
	if k%2 == 1 {
		return 1
	}
	return -1
}

// probeSeries averages over probes Σ_k weigh(k, v ᵀJᵏv), calling weigh for
// k = 1, 2, … until it returns a nil node. The VJP chain w_k = w_{k−1}ᵀJ is
// shared by all terms of one probe.
func probeSeries(b *graph.Builder, x, gx *G.Node, probes int, dist graph.NoiseDist, weigh func(k int, term *G.Node) (*G.Node, error)) (*G.Node, error) {
	if !x.Shape().Eq(gx.Shape()) {
		return nil, errors.Errorf("estimator: x has shape %v but g(x) has %v", x.Shape(), gx.Shape())
	}
	var total *G.Node
	for p := 0; p < probes; p++ {
		v, err := b.NewNoise("probe"+strconv.Itoa(p), dist, x.Shape()...)
		if err != nil {
			return nil, err
		}
		w := v
		for k := 1; ; k++ {
			vj, err := graph.VJP(G.Nodes{gx}, G.Nodes{w}, G.Nodes{x})
			if err != nil {
				return nil, errors.Wrapf(err, "estimator: term %d", k)
			}
			if vj[0] == nil {
				return nil, errors.New("estimator: g(x) does not depend on x")
			}
			w = vj[0]
			tr, err := graph.DotPerSample(w, v)
			if err != nil {
				return nil, err
			}
			term, err := weigh(k, tr)
			if err != nil {
				return nil, errors.Wrapf(err, "estimator: term %d", k)
			}
			if term == nil {
				break
			}
			if total == nil {
				total = term
			} else if total, err = G.Add(total, term); err != nil {
				return nil, err
			}
		}
	}
	if probes > 1 {
		inv, err := b.Scalar("inv_probes", 1/float64(probes))
		if err != nil {
			return nil, err
		}
		return G.Mul(total, inv)
	}
	return total, nil
}

// WeakBound bounds the truncation error of the n-term series for a
// d-dimensional block with ‖J‖₂ ≤ sigma < 1:
//
//	|log det(I+J) − Σ_{k≤n} (−1)^{k+1} tr(Jᵏ)/k| ≤ d·(−log(1−σ) − Σ_{k≤n} σᵏ/k),
//
// since |tr(Jᵏ)| ≤ d‖J‖₂ᵏ (Behrmann et al. 2019, Theorem 3; the official
// code's weak bound). It returns +Inf for sigma ≥ 1.
func WeakBound(sigma float64, d, n int) float64 {
	if sigma >= 1 {
		return math.Inf(1)
	}
	s := -math.Log1p(-sigma)
	p := 1.0
	for k := 1; k <= n; k++ {
		p *= sigma
		s -= p / float64(k)
	}
	return float64(d) * math.Max(s, 0)
}
