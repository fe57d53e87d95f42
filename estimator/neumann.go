package estimator

import (
	"strconv"

	"github.com/iresnet/iresnet/graph"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
)

// neumann builds the power-series value with the Neumann-series gradient:
// for each probe v, with w_k = vᵀJᵏ,
//
//	value    = Σ_{k=1..n} (−1)^{k+1} w_k·v / k
//	gradient = ∂/∂(θ, x) [a · (J v)],  a = Σ_{k=0..n−1} (−1)ᵏ w_k (constant),
//
// returned as stop(value) + S − stop(S) with S = (aᵀJ)·v, whose value is
// the series and whose derivative is that of S alone.
func (e PowerSeries) neumann(b *graph.Builder, x, gx *G.Node) (*G.Node, error) {
	if !x.Shape().Eq(gx.Shape()) {
		return nil, errors.Errorf("estimator: x has shape %v but g(x) has %v", x.Shape(), gx.Shape())
	}
	coefs, err := seriesCoefs(b, e.Terms)
	if err != nil {
		return nil, err
	}
	var value, surrogate *G.Node
	add := func(acc, n *G.Node) (*G.Node, error) {
		if acc == nil {
			return n, nil
		}
		return G.Add(acc, n)
	}
	for p := 0; p < e.Probes; p++ {
		v, err := b.NewNoise("probe"+strconv.Itoa(p), e.Dist, x.Shape()...)
		if err != nil {
			return nil, err
		}
		w := v
		a := v // Σ_{k<n} (−1)ᵏ w_k, starting with w_0 = v
		for k := 1; k <= e.Terms; k++ {
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
			term, err := G.Mul(tr, coefs[k-1])
			if err != nil {
				return nil, err
			}
			if value, err = add(value, term); err != nil {
				return nil, err
			}
			if k < e.Terms {
				if k%2 == 1 {
					a, err = G.Sub(a, w)
				} else {
					a, err = G.Add(a, w)
				}
				if err != nil {
					return nil, err
				}
			}
		}
		aStop, err := graph.StopGradient(a)
		if err != nil {
			return nil, err
		}
		aj, err := graph.VJP(G.Nodes{gx}, G.Nodes{aStop}, G.Nodes{x})
		if err != nil {
			return nil, errors.Wrap(err, "estimator: Neumann surrogate")
		}
		s, err := graph.DotPerSample(aj[0], v)
		if err != nil {
			return nil, err
		}
		if surrogate, err = add(surrogate, s); err != nil {
			return nil, err
		}
	}
	valueStop, err := graph.StopGradient(value)
	if err != nil {
		return nil, err
	}
	surStop, err := graph.StopGradient(surrogate)
	if err != nil {
		return nil, err
	}
	out, err := G.Sub(surrogate, surStop)
	if err != nil {
		return nil, err
	}
	if out, err = G.Add(valueStop, out); err != nil {
		return nil, err
	}
	if e.Probes > 1 {
		inv, err := b.Scalar("inv_probes", 1/float64(e.Probes))
		if err != nil {
			return nil, err
		}
		return G.Mul(out, inv)
	}
	return out, nil
}
