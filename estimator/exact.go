package estimator

import (
	"strconv"

	"github.com/iresnet/iresnet/graph"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Exact computes log|det(I + J)| exactly: J (N, d, d) is assembled from d
// vector-Jacobian products with the basis vectors e_1 … e_d (row i of J per
// VJP), and the log-determinant comes from an LU decomposition in float64.
// Its cost grows as d VJPs plus N LU factorizations of d×d, so it is meant
// for small d: toy densities, tests, and evaluation. It is differentiable
// once (∂ log|det A|/∂A = A⁻ᵀ), enough to train low-dimensional models.
type Exact struct {
	// MaxDim caps d as a guard against assembling huge Jacobians; 0 means 4096.
	MaxDim int
}

// String returns "exact".
func (Exact) String() string { return "exact" }

// LogDet implements Estimator. The basis vectors are inputs named
// "basis0", "basis1", … in b's current scope.
func (e Exact) LogDet(b *graph.Builder, x, gx *G.Node) (*G.Node, error) {
	s := x.Shape()
	if !s.Eq(gx.Shape()) {
		return nil, errors.Errorf("estimator: x has shape %v but g(x) has %v", s, gx.Shape())
	}
	n := s[0]
	d := s.TotalSize() / n
	maxDim := e.MaxDim
	if maxDim == 0 {
		maxDim = 4096
	}
	if d > maxDim {
		return nil, errors.Errorf("estimator: exact log-det of a %d-dimensional block exceeds MaxDim = %d", d, maxDim)
	}
	rows := make([]*G.Node, d)
	for i := 0; i < d; i++ {
		basis := tensor.New(tensor.Of(b.Dtype()), tensor.WithShape(s...))
		data := make([]float64, n*d)
		for r := 0; r < n; r++ {
			data[r*d+i] = 1
		}
		store(basis, data)
		e, err := b.Input("basis"+strconv.Itoa(i), basis)
		if err != nil {
			return nil, err
		}
		vj, err := graph.VJP(G.Nodes{gx}, G.Nodes{e}, G.Nodes{x})
		if err != nil {
			return nil, errors.Wrapf(err, "estimator: Jacobian row %d", i)
		}
		if vj[0] == nil {
			return nil, errors.New("estimator: g(x) does not depend on x")
		}
		if rows[i], err = G.Reshape(vj[0], []int{n, 1, d}); err != nil {
			return nil, errors.Wrapf(err, "estimator: Jacobian row %d", i)
		}
	}
	jac := rows[0]
	if d > 1 {
		var err error
		if jac, err = G.Concat(1, rows...); err != nil {
			return nil, errors.Wrap(err, "estimator: assembling the Jacobian")
		}
	}
	return graph.LogDetIPlus(jac)
}
