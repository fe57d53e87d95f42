// Package oracle builds reference values for tests and checking tools from
// the definitions of the operations, independently of the packages whose
// results they check: explicit operator matrices written out loop by loop,
// and their norms from gonum's dense linear algebra.
package oracle

import (
	"math"

	"github.com/iresnet/iresnet/graph"
	"github.com/pkg/errors"
	"gonum.org/v1/gonum/mat"
)

// ConvMatrix returns the explicit matrix (rows: outputs (o, i, j),
// columns: inputs (c, y, x), row-major) of the zero-padded, strided
// cross-correlation y[o,i,j] = Σ w[o,c,a,b]·x[c, i·S+a−P, j·S+b−P] of one
// image with geometry g (its batch size is ignored) and kernel w of shape
// (O, C, KH, KW). Only graph.ConvGeom's output-size arithmetic is used.
func ConvMatrix(g graph.ConvGeom, w []float64) *mat.Dense {
	oh, ow := g.OH(), g.OW()
	m := mat.NewDense(g.O*oh*ow, g.C*g.H*g.W, nil)
	for o := 0; o < g.O; o++ {
		for i := 0; i < oh; i++ {
			for j := 0; j < ow; j++ {
				row := (o*oh+i)*ow + j
				for c := 0; c < g.C; c++ {
					for a := 0; a < g.KH; a++ {
						for b := 0; b < g.KW; b++ {
							y, x := i*g.Stride+a-g.Pad, j*g.Stride+b-g.Pad
							if y < 0 || y >= g.H || x < 0 || x >= g.W {
								continue
							}
							col := (c*g.H+y)*g.W + x
							m.Set(row, col, m.At(row, col)+w[((o*g.C+c)*g.KH+a)*g.KW+b])
						}
					}
				}
			}
		}
	}
	return m
}

// Norm returns the largest singular value of m: from an SVD, or, for a
// matrix with more than 512 rows and columns, from the largest eigenvalue
// of the smaller Gram matrix (mᵀm or mmᵀ), which is cheaper and as exact.
func Norm(m mat.Matrix) (float64, error) {
	r, c := m.Dims()
	if min(r, c) <= 512 {
		var svd mat.SVD
		if !svd.Factorize(m, mat.SVDNone) {
			return 0, errors.New("oracle: SVD did not converge")
		}
		return svd.Values(nil)[0], nil
	}
	var gram mat.SymDense
	if c <= r {
		gram.SymOuterK(1, m.T())
	} else {
		gram.SymOuterK(1, m)
	}
	var eig mat.EigenSym
	if !eig.Factorize(&gram, false) {
		return 0, errors.New("oracle: eigenvalues did not converge")
	}
	v := eig.Values(nil)
	return math.Sqrt(math.Max(v[len(v)-1], 0)), nil
}
