package blocks

import (
	"github.com/iresnet/iresnet/estimator"
	"github.com/iresnet/iresnet/graph"
	G "gorgonia.org/gorgonia"
)

// An EstimatedBijector is a bijector whose log-det comes, in part, from an
// estimator (residual blocks, and sequences holding them), which can be
// chosen when a graph is built: a cheap series for the training graph and
// the exact log-det or a long series for the evaluation graph of the same
// model, without mutating the model in between.
type EstimatedBijector interface {
	Bijector
	// ForwardWith is Forward with est as the log-det estimator of every
	// residual block inside; a nil est keeps each block's own.
	ForwardWith(b *graph.Builder, x *G.Node, est estimator.Estimator) (y, logDet *G.Node, err error)
}

// Compile-time conformance checks.
var (
	_ EstimatedBijector = (*Residual)(nil)
	_ EstimatedBijector = (*Chain)(nil)
	_ EstimatedBijector = (*MultiScale)(nil)
)

// ForwardWith builds f's forward map and log-det in b with est as the
// log-det estimator of every residual block in f, or with each block's own
// estimator when est is nil. A bijector without residual blocks (ActNorm,
// Squeeze, coupling layers) builds its Forward.
func ForwardWith(b *graph.Builder, f Bijector, x *G.Node, est estimator.Estimator) (y, logDet *G.Node, err error) {
	if e, ok := f.(EstimatedBijector); ok && est != nil {
		return e.ForwardWith(b, x, est)
	}
	return f.Forward(b, x)
}
