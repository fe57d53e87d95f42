package graph

import (
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
)

// SumPerSample returns Σ over every axis but the first of x (N, ...): a node
// of shape (N). A node that is already (N) is returned as it is.
func SumPerSample(x *G.Node) (*G.Node, error) {
	dims := x.Dims()
	if dims < 1 {
		return nil, errors.Errorf("graph: SumPerSample needs a batch axis, got shape %v", x.Shape())
	}
	if dims == 1 {
		return x, nil
	}
	s := x.Shape()
	if dims == 2 {
		out, err := G.Sum(x, 1)
		return out, errors.Wrap(err, "graph: SumPerSample")
	}
	flat, err := G.Reshape(x, []int{s[0], s.TotalSize() / s[0]})
	if err != nil {
		return nil, errors.Wrap(err, "graph: SumPerSample")
	}
	out, err := G.Sum(flat, 1)
	if err != nil {
		return nil, errors.Wrap(err, "graph: SumPerSample")
	}
	return out, nil
}

// DotPerSample returns ⟨a_n, b_n⟩ for each sample n of two nodes of one
// shape (N, ...), as a node of shape (N).
func DotPerSample(a, b *G.Node) (*G.Node, error) {
	p, err := G.HadamardProd(a, b)
	if err != nil {
		return nil, errors.Wrap(err, "graph: DotPerSample")
	}
	return SumPerSample(p)
}
