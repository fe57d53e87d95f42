package blocks

import (
	"fmt"
	"math"
	"strconv"

	"github.com/iresnet/iresnet/estimator"
	"github.com/iresnet/iresnet/graph"
	"github.com/iresnet/iresnet/internal/parallel"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// A Bijector is an invertible map f with a tractable log|det ∂f/∂x|.
type Bijector interface {
	// Forward builds y = f(x) and log|det ∂f/∂x| in x's graph. x has shape
	// (N, ...); y has the shape the bijector maps it to, and logDet has
	// shape (N), one value per row, even when it is constant.
	Forward(b *graph.Builder, x *G.Node) (y, logDet *G.Node, err error)
	// Inverse returns x = f⁻¹(y), computed numerically. Iterative inverses
	// return a *NotConvergedError when they do not reach their tolerance.
	Inverse(y *tensor.Dense) (*tensor.Dense, error)
}

// A NormUpdater owns spectrally normalized layers whose power iteration
// advances by iters steps on each call (once per training step).
type NormUpdater interface {
	UpdateSpectralNorms(iters int) error
}

// A DataInitializer sets its parameters from a batch of its inputs, as
// ActNorm does before training starts.
type DataInitializer interface {
	InitFromBatch(x *tensor.Dense) error
}

// A Tensorer lists the persistent tensors of a bijector under stable names:
// learnable parameters and state such as power-iteration vectors, for
// checkpoints. Names are relative to the bijector.
type Tensorer interface {
	Tensors() []NamedTensor
}

// NamedTensor is a tensor with its checkpoint name; Learnable tells
// parameters from state.
type NamedTensor struct {
	Name      string
	Value     *tensor.Dense
	Learnable bool
	// Check, when not nil, validates a value restored from a checkpoint
	// beyond its shape and finiteness: a flag that must be 0 or 1, an
	// estimate that must be ≥ 0, a vector that must have unit norm.
	Check func(*tensor.Dense) error
}

// Compile-time conformance checks.
var (
	_ Bijector        = (*Chain)(nil)
	_ Bijector        = (*Residual)(nil)
	_ Bijector        = (*ActNorm)(nil)
	_ Bijector        = Squeeze{}
	_ NormUpdater     = (*Chain)(nil)
	_ NormUpdater     = (*Residual)(nil)
	_ DataInitializer = (*ActNorm)(nil)
	_ DataInitializer = (*Chain)(nil)
	_ Tensorer        = (*Chain)(nil)
	_ Tensorer        = (*Residual)(nil)
	_ Tensorer        = (*ActNorm)(nil)
)

// Chain composes bijectors in slice order: Forward applies Blocks[0] first
// and sums the log-dets; Inverse undoes them from last to first. Each block
// is built in a graph scope named by its kind and its number among the
// chain's blocks of that kind: "block<k>" for residual blocks (and nested
// chains), "actnorm<k>", "squeeze<k>", the Kind of a Kinder, else
// "layer<k>".
type Chain struct {
	blocks []Bijector
	names  []string // each block's graph scope and checkpoint prefix
}

// NewChain returns the composition of bs, which must be non-empty and
// contain no nil bijector.
func NewChain(bs ...Bijector) (*Chain, error) {
	if len(bs) == 0 {
		return nil, errors.New("blocks: a chain needs at least one bijector")
	}
	for i, b := range bs {
		if b == nil {
			return nil, errors.Errorf("blocks: chain element %d is nil", i)
		}
	}
	c := &Chain{blocks: append([]Bijector(nil), bs...)}
	count := map[string]int{}
	for _, b := range bs {
		kind := kindName(b)
		c.names = append(c.names, kind+strconv.Itoa(count[kind]))
		count[kind]++
	}
	return c, nil
}

// A Kinder names the kind of a bijector for the scopes of a Chain: the
// chain numbers the bijectors of each kind on their own, so that the first
// residual block after an ActNorm is "block0" next to "actnorm0".
type Kinder interface {
	Kind() string
}

// kindName returns the scope stem of b: "block" for residual blocks and
// nested chains, "actnorm", "squeeze", b.Kind() for a Kinder, else
// "layer".
func kindName(b Bijector) string {
	switch v := b.(type) {
	case *Residual, *Chain:
		return "block"
	case *ActNorm:
		return "actnorm"
	case Squeeze:
		return "squeeze"
	case Kinder:
		return v.Kind()
	}
	return "layer"
}

// Blocks returns the chain's bijectors in forward order.
func (c *Chain) Blocks() []Bijector { return append([]Bijector(nil), c.blocks...) }

// Forward implements Bijector.
func (c *Chain) Forward(b *graph.Builder, x *G.Node) (y, logDet *G.Node, err error) {
	return c.ForwardWith(b, x, nil)
}

// ForwardWith implements EstimatedBijector.
func (c *Chain) ForwardWith(b *graph.Builder, x *G.Node, est estimator.Estimator) (y, logDet *G.Node, err error) {
	y = x
	for i, bl := range c.blocks {
		var ld *G.Node
		err = b.Scoped(c.names[i], func() error {
			var err error
			y, ld, err = ForwardWith(b, bl, y, est)
			return err
		})
		if err != nil {
			return nil, nil, errors.Wrapf(err, "blocks: block %d (%T)", i, bl)
		}
		if logDet == nil {
			logDet = ld
		} else if logDet, err = G.Add(logDet, ld); err != nil {
			return nil, nil, errors.Wrapf(err, "blocks: summing log-det of block %d", i)
		}
	}
	return y, logDet, nil
}

// Inverse implements Bijector.
func (c *Chain) Inverse(y *tensor.Dense) (*tensor.Dense, error) {
	x, _, err := c.InverseWithStats(y)
	return x, err
}

// InverseWithStats inverts the chain and returns, for each residual block
// keyed by its scope path ("block3", or "block1/block0" in nested chains),
// the fixed-point iterations used and the final residual.
func (c *Chain) InverseWithStats(y *tensor.Dense) (*tensor.Dense, map[string]FixedPointStats, error) {
	stats := map[string]FixedPointStats{}
	x, err := c.invert(y, "", stats, nil)
	return x, stats, err
}

// InverseLenient inverts the chain like InverseWithStats, except that a
// residual block whose fixed point does not converge hands its last iterate
// on instead of stopping the inversion. It is for looking at what a failing
// inverse produces, such as the paper's unconstrained ("vanilla") network;
// the error is a *FailedBlocksError whenever any block failed. Only an
// iteration that blew up to Inf or NaN stops it, with a nil result.
func (c *Chain) InverseLenient(y *tensor.Dense) (*tensor.Dense, map[string]FixedPointStats, error) {
	stats := map[string]FixedPointStats{}
	failed := &FailedBlocksError{}
	x, err := c.invert(y, "", stats, failed)
	if err == nil && len(failed.Blocks) > 0 {
		err = failed
	}
	return x, stats, err
}

// invert runs the inverse, recording stats under prefix. With failed
// non-nil, non-converged blocks are recorded there and passed over.
func (c *Chain) invert(y *tensor.Dense, prefix string, stats map[string]FixedPointStats, failed *FailedBlocksError) (*tensor.Dense, error) {
	x := y
	for i := len(c.blocks) - 1; i >= 0; i-- {
		var err error
		name := prefix + c.names[i]
		switch bl := c.blocks[i].(type) {
		case *Residual:
			var st FixedPointStats
			x, st, err = bl.InverseWithStats(x)
			stats[name] = st
			var nc *NotConvergedError
			if failed != nil && errors.As(err, &nc) && nc.Last != nil {
				failed.Blocks = append(failed.Blocks, name)
				failed.Errs = append(failed.Errs, nc)
				x, err = nc.Last, nil
			}
		case *Chain:
			x, err = bl.invert(x, name+"/", stats, failed)
		default:
			x, err = bl.Inverse(x)
		}
		if err != nil {
			return nil, errors.Wrapf(err, "blocks: inverting block %d (%T)", i, c.blocks[i])
		}
	}
	return x, nil
}

// FailedBlocksError lists the residual blocks whose fixed point did not
// converge during a lenient inverse ([Chain.InverseLenient],
// [MultiScale.InverseLenient]).
type FailedBlocksError struct {
	Blocks []string             // scope paths, in the order they were inverted
	Errs   []*NotConvergedError // each block's failure
}

func (e *FailedBlocksError) Error() string {
	if len(e.Blocks) == 0 {
		return "blocks: no failed blocks"
	}
	return fmt.Sprintf("blocks: the fixed-point inverse did not converge in %d residual block(s) (first %s: %v); the result is not an inverse", len(e.Blocks), e.Blocks[0], e.Errs[0])
}

// UpdateSpectralNorms advances the power iteration of every block.
func (c *Chain) UpdateSpectralNorms(iters int) error {
	return eachConcurrently(len(c.blocks), func(i int) error {
		if u, ok := c.blocks[i].(NormUpdater); ok {
			return errors.Wrapf(u.UpdateSpectralNorms(iters), "blocks: block %d", i)
		}
		return nil
	})
}

// eachConcurrently runs f(0), …, f(n-1) spread over the cores, for work
// items that share no state (the power iterations of different layers), and
// returns the error of the lowest i that failed, so the error does not
// depend on the order in which they ran.
func eachConcurrently(n int, f func(i int) error) error {
	errs := make([]error, n)
	parallel.For(n, 1, func(next func() (lo, hi int, ok bool)) {
		for i, _, ok := next(); ok; i, _, ok = next() {
			errs[i] = f(i)
		}
	})
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// InitFromBatch initializes every DataInitializer in the chain from the
// batch x, pushing x through the blocks before each one.
func (c *Chain) InitFromBatch(x *tensor.Dense) error {
	for i, bl := range c.blocks {
		if d, ok := bl.(DataInitializer); ok {
			if err := d.InitFromBatch(x); err != nil {
				return errors.Wrapf(err, "blocks: initializing block %d", i)
			}
		}
		if i == len(c.blocks)-1 {
			break
		}
		var err error
		if x, err = Apply(bl, x); err != nil {
			return errors.Wrapf(err, "blocks: block %d", i)
		}
	}
	return nil
}

// Names returns the scope of each block in order, which is also its
// checkpoint prefix: residual blocks "block<k>", ActNorms "actnorm<k>",
// squeezes "squeeze<k>" and so on, numbered per kind.
func (c *Chain) Names() []string { return append([]string(nil), c.names...) }

// Tensors lists the tensors of every block, prefixed by its scope (Names).
func (c *Chain) Tensors() []NamedTensor {
	var out []NamedTensor
	for i, bl := range c.blocks {
		if t, ok := bl.(Tensorer); ok {
			for _, nt := range t.Tensors() {
				nt.Name = c.names[i] + "/" + nt.Name
				out = append(out, nt)
			}
		}
	}
	return out
}

// Apply evaluates y = f(x) numerically. It builds and compiles a graph on
// each call; for repeated evaluation build a graph.Func.
func Apply(f Bijector, x *tensor.Dense) (*tensor.Dense, error) {
	fn, err := graph.NewFunc(x.Dtype(), x.Shape(), func(b *graph.Builder, xn *G.Node) (*G.Node, error) {
		y, _, err := f.Forward(b, xn)
		return y, err
	})
	if err != nil {
		return nil, err
	}
	defer fn.Close()
	return fn.Call(x)
}

// zeroLogDet returns an input node of zeros with shape (N), the log-det of
// a volume-preserving map.
func zeroLogDet(b *graph.Builder, n int) (*G.Node, error) {
	return b.Input("zero_logdet", tensor.New(tensor.Of(b.Dtype()), tensor.WithShape(n)))
}

// NotConvergedError reports a fixed-point inverse that did not reach its
// tolerance within its iteration cap, or diverged.
type NotConvergedError struct {
	Iter     int     // iterations run
	Residual float64 // last max |x_{i+1} − x_i|
	Tol      float64 // tolerance the residual had to reach, Tol·(1 + max |x|)
	// Last is the last iterate when it is finite (the iteration ran out
	// of steps), nil when it blew up. It is not an inverse.
	Last *tensor.Dense
}

func (e *NotConvergedError) Error() string {
	if math.IsNaN(e.Residual) || math.IsInf(e.Residual, 0) {
		return fmt.Sprintf("blocks: fixed-point inverse diverged: the iterate overflowed to NaN or ±Inf at iteration %d; is the map contractive (Lip(g) < 1), and are the input and weights finite?", e.Iter)
	}
	return fmt.Sprintf("blocks: fixed-point inverse did not converge in %d iterations (residual %.3g > tolerance %.3g); is the residual branch contractive (Lip(g) < 1)?", e.Iter, e.Residual, e.Tol)
}
