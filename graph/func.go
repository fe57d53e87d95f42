package graph

import (
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// A Func is a function of one tensor compiled once into a graph and a tape
// machine, for numeric evaluation that is repeated many times on inputs of
// one shape: the fixed-point inverse, exact Jacobians, sampling. Parameters
// registered by the build function are bound to the model's tensors, so a
// Func sees every later update of them without being rebuilt.
type Func struct {
	b   *Builder
	in  *tensor.Dense
	out *G.Node
	m   *Runner
}

// NewFunc builds y = build(b, x) for an input x of the given dtype and shape.
func NewFunc(dtype tensor.Dtype, shape []int, build func(b *Builder, x *G.Node) (*G.Node, error)) (*Func, error) {
	b, err := NewBuilder(dtype)
	if err != nil {
		return nil, err
	}
	in := tensor.New(tensor.Of(dtype), tensor.WithShape(shape...))
	x, err := b.Input("x", in)
	if err != nil {
		return nil, err
	}
	out, err := build(b, x)
	if err != nil {
		return nil, errors.Wrap(err, "graph: building function")
	}
	// Compile only what the output needs: builders may add side branches
	// (log-det estimators, say) that a numeric evaluation does not want.
	sub := b.g.ExactSubgraphRoots(out)
	return &Func{b: b, in: in, out: out, m: NewRunner(G.NewTapeMachine(sub))}, nil
}

// Builder returns the builder of the function's graph, e.g. to resample
// its noise inputs.
func (f *Func) Builder() *Builder { return f.b }

// Input returns the tensor the function reads its argument from; Call
// copies into it.
func (f *Func) Input() *tensor.Dense { return f.in }

// Call evaluates the function at x and returns a fresh copy of the output.
func (f *Func) Call(x *tensor.Dense) (*tensor.Dense, error) {
	if !x.Shape().Eq(f.in.Shape()) {
		return nil, errors.Errorf("graph: function input has shape %v, want %v", x.Shape(), f.in.Shape())
	}
	if x.Dtype() != f.in.Dtype() {
		return nil, errors.Errorf("graph: function input has dtype %v, want %v", x.Dtype(), f.in.Dtype())
	}
	if err := tensor.Copy(f.in, x); err != nil {
		return nil, errors.Wrap(err, "graph: copying function input")
	}
	if err := f.Run(); err != nil {
		return nil, err
	}
	return Value(f.out)
}

// Run runs the machine on the current input without copying anything.
func (f *Func) Run() error {
	if err := f.m.Run(); err != nil {
		return errors.Wrap(err, "graph: running function")
	}
	return nil
}

// Output returns the output node.
func (f *Func) Output() *G.Node { return f.out }

// Close releases the machine's resources.
func (f *Func) Close() error { return f.m.Close() }

// Value returns a copy of n's current value as a dense tensor.
func Value(n *G.Node) (*tensor.Dense, error) {
	v := n.Value()
	if v == nil {
		return nil, errors.Errorf("graph: node %v has no value; was the graph run?", n.Name())
	}
	switch t := v.(type) {
	case *tensor.Dense:
		return t.Clone().(*tensor.Dense), nil
	case G.Scalar:
		return tensor.New(tensor.FromScalar(t.Data())), nil
	}
	return nil, errors.Errorf("graph: node %v holds %T, not a tensor", n.Name(), v)
}
