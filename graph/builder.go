package graph

import (
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// NoiseDist is the distribution a noise input is drawn from.
type NoiseDist int

// Distributions for Hutchinson probes and other noise inputs.
const (
	Gaussian   NoiseDist = iota // standard normal
	Rademacher                  // ±1 with probability ½ each
)

// String returns "gaussian" or "rademacher".
func (d NoiseDist) String() string {
	switch d {
	case Gaussian:
		return "gaussian"
	case Rademacher:
		return "rademacher"
	}
	return "NoiseDist(" + strconv.Itoa(int(d)) + ")"
}

// A Param is a learnable tensor bound to a node of one graph. The tensor is
// owned by the model and shared by every graph built from it, so an
// optimizer that updates Value in place updates all of them.
type Param struct {
	Name  string        // hierarchical name, e.g. "block3/fc1/w"
	Value *tensor.Dense // the model's tensor
	Node  *G.Node       // the node bound to Value in this graph
}

// A Noise is an input that is redrawn before each run, such as a Hutchinson
// probe. Hash-identical random nodes are merged by gorgonia (design brief,
// fact 6), so noise is a named input filled from a seeded source instead.
type Noise struct {
	Name  string
	Value *tensor.Dense
	Node  *G.Node
	Fill  func(rng *rand.Rand, t *tensor.Dense) // redraws Value in place
}

// A Builder builds one expression graph: it owns the gorgonia graph, the
// hierarchical name scope, and the registries of learnable parameters and
// noise inputs that a training loop needs. Scopes become clusters in DOT
// export. A Builder is not safe for concurrent use.
type Builder struct {
	g       *G.ExprGraph
	dtype   tensor.Dtype
	scope   []string
	names   map[string]bool
	params  []*Param
	noise   []*Noise
	scopeOf map[*G.Node]string
	marked  int // nodes of g.AllNodes() already given a scope
}

// NewBuilder returns a Builder for a new graph whose floating-point nodes
// have the given dtype (tensor.Float32 or tensor.Float64).
func NewBuilder(dtype tensor.Dtype) (*Builder, error) {
	if dtype != tensor.Float32 && dtype != tensor.Float64 {
		return nil, errors.Errorf("graph: dtype %v not supported (want float32 or float64)", dtype)
	}
	return &Builder{
		g:       G.NewGraph(),
		dtype:   dtype,
		names:   map[string]bool{},
		scopeOf: map[*G.Node]string{},
	}, nil
}

// Graph returns the underlying gorgonia graph.
func (b *Builder) Graph() *G.ExprGraph { return b.g }

// Dtype returns the graph's floating-point dtype.
func (b *Builder) Dtype() tensor.Dtype { return b.dtype }

// Params returns the learnable parameters registered so far, in creation order.
func (b *Builder) Params() []*Param { return b.params }

// Noise returns the noise inputs registered so far, in creation order.
func (b *Builder) Noise() []*Noise { return b.noise }

// Scoped runs fn with name appended to the current scope. Names created
// inside are prefixed with the scope path, and every node fn adds to the
// graph is assigned to the scope (innermost first) for DOT clusters.
func (b *Builder) Scoped(name string, fn func() error) error {
	b.claim() // nodes made before this scope belong to the enclosing one
	b.scope = append(b.scope, name)
	err := fn()
	b.claim()
	b.scope = b.scope[:len(b.scope)-1]
	return err
}

// Path returns the current scope path joined by "/".
func (b *Builder) Path() string { return strings.Join(b.scope, "/") }

// ScopeOf returns the scope path a node was created in ("" for top level).
func (b *Builder) ScopeOf(n *G.Node) string {
	b.claim()
	return b.scopeOf[n]
}

// claim assigns the current scope to every node added since the last claim.
func (b *Builder) claim() {
	all := b.g.AllNodes()
	path := b.Path()
	for _, n := range all[b.marked:] {
		if _, ok := b.scopeOf[n]; !ok {
			b.scopeOf[n] = path
		}
	}
	b.marked = len(all)
}

// qualify returns the scoped name and reserves it.
func (b *Builder) qualify(name string) (string, error) {
	full := name
	if p := b.Path(); p != "" {
		full = p + "/" + name
	}
	if b.names[full] {
		return "", errors.Errorf("graph: name %q used twice in one graph", full)
	}
	b.names[full] = true
	return full, nil
}

// bind creates a named input node bound to t.
func (b *Builder) bind(name string, t *tensor.Dense) (*G.Node, error) {
	if t.Dtype() != b.dtype {
		return nil, errors.Errorf("graph: %s has dtype %v, graph is %v", name, t.Dtype(), b.dtype)
	}
	s := t.Shape()
	opts := []G.NodeConsOpt{G.WithName(name), G.WithValue(t)}
	if s.IsScalar() {
		return nil, errors.Errorf("graph: %s is a 0-d tensor; use shape (1) or Builder.Scalar", name)
	}
	return G.NewTensor(b.g, b.dtype, s.Dims(), append(opts, G.WithShape(s...))...), nil
}

// Param registers t as a learnable parameter named name (within the current
// scope) and returns its node. The node is bound to t itself, not a copy.
func (b *Builder) Param(name string, t *tensor.Dense) (*G.Node, error) {
	full, err := b.qualify(name)
	if err != nil {
		return nil, err
	}
	n, err := b.bind(full, t)
	if err != nil {
		return nil, err
	}
	b.params = append(b.params, &Param{Name: full, Value: t, Node: n})
	return n, nil
}

// Input returns a named, non-learnable input node bound to t, for data and
// for persistent state such as power-iteration vectors.
func (b *Builder) Input(name string, t *tensor.Dense) (*G.Node, error) {
	full, err := b.qualify(name)
	if err != nil {
		return nil, err
	}
	return b.bind(full, t)
}

// Scalar returns a named scalar input holding v, for constants that some
// gorgonia ops reject when built outside a graph (design brief, fact 4).
func (b *Builder) Scalar(name string, v float64) (*G.Node, error) {
	full, err := b.qualify(name)
	if err != nil {
		return nil, err
	}
	var val G.Value = G.NewF64(v)
	if b.dtype == tensor.Float32 {
		val = G.NewF32(float32(v))
	}
	return G.NewScalar(b.g, b.dtype, G.WithName(full), G.WithValue(val)), nil
}

// NewNoise registers a noise input of the given shape drawn from dist.
//
// The input holds a genuine draw from the moment it is registered (see
// NewRandom), so a graph that is run without ever calling Resample still
// computes a real estimate, never the silent zero that an unfilled probe
// would give; Resample redraws it.
func (b *Builder) NewNoise(name string, dist NoiseDist, shape ...int) (*G.Node, error) {
	return b.NewRandom(name, shape, func(rng *rand.Rand, t *tensor.Dense) { Fill(t, dist, rng) })
}

// NewRandom registers an input of the given shape that Resample refills by
// calling fill, for noise with a distribution of the caller's choosing
// (e.g. the term weights of a Russian-roulette estimator).
//
// fill is called once right away with a source seeded from the input's full
// name (InitialSource), so the input is never left at zero: a graph run
// before any Resample sees a reproducible draw. Call Resample(rng) before
// each run for fresh, independent draws (a training loop does, every step).
func (b *Builder) NewRandom(name string, shape []int, fill func(rng *rand.Rand, t *tensor.Dense)) (*G.Node, error) {
	full, err := b.qualify(name)
	if err != nil {
		return nil, err
	}
	t := tensor.New(tensor.Of(b.dtype), tensor.WithShape(shape...))
	n, err := b.bind(full, t)
	if err != nil {
		return nil, err
	}
	fill(InitialSource(full), t)
	b.noise = append(b.noise, &Noise{Name: full, Value: t, Node: n, Fill: fill})
	return n, nil
}

// InitialSource returns the source NewRandom draws an input's first value
// from: a PCG generator seeded by the FNV-1a hash of the input's full name,
// so two inputs of one graph get different draws and rebuilding a graph
// reproduces them.
func InitialSource(name string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(name))                                 // never fails
	return rand.New(rand.NewPCG(h.Sum64(), 0x6e6f697365)) // "noise"
}

// Resample redraws every noise input from rng, in registration order.
func (b *Builder) Resample(rng *rand.Rand) {
	for _, nz := range b.noise {
		nz.Fill(rng, nz.Value)
	}
}

// Fill overwrites t with independent draws from dist.
func Fill(t *tensor.Dense, dist NoiseDist, rng *rand.Rand) {
	if dist != Rademacher { // Gaussian, the common case, without a call through a func value
		switch d := t.Data().(type) {
		case []float32:
			for i := range d {
				d[i] = float32(rng.NormFloat64())
			}
		case []float64:
			for i := range d {
				d[i] = rng.NormFloat64()
			}
		}
		return
	}
	draw := func() float64 {
		if rng.Uint64()&1 == 0 {
			return -1
		}
		return 1
	}
	switch d := t.Data().(type) {
	case []float32:
		for i := range d {
			d[i] = float32(draw())
		}
	case []float64:
		for i := range d {
			d[i] = draw()
		}
	}
}
