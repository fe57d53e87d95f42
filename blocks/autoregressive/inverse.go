package autoregressive

import (
	"math"

	"github.com/iresnet/iresnet/graph"
	"github.com/iresnet/iresnet/internal/dense"
	"github.com/pkg/errors"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gorgonia.org/tensor"
)

// Inverse implements blocks.Bijector by the sequential pass of
// Papamakarios et al. (2017, §3.1): starting from x = 0, for i = 0..D−1 in
// the order o, evaluate the network and set x_{o_i} = u_{o_i}·exp(α_{o_i})
// + μ_{o_i}. Since μ_{o_i} and α_{o_i} depend only on the inputs set
// before, the result is exact after D steps.
//
// The pass is numeric (float64, from the model's current parameters) and
// incremental: setting x_{o_i} changes the first layer's pre-activation by
// x_{o_i}·row o_i of W¹ ⊙ M¹, an O(N·H₁) update instead of a product with
// all of x, and only the two output columns of o_i are evaluated. Deeper
// hidden layers are recomputed in full (a BLAS product per step), so a
// single-hidden-layer MADE inverts in O(D·N·H) operations.
func (m *MADE) Inverse(u *tensor.Dense) (*tensor.Dense, error) {
	s := u.Shape()
	if err := m.checkShape(s); err != nil {
		return nil, err
	}
	if u.Dtype() != m.dtype {
		return nil, errors.Errorf("autoregressive: made inverse got dtype %v, model is %v", u.Dtype(), m.dtype)
	}
	n, d := s[0], s[1]
	ud := dense.Float64s(u)
	act := graph.ActivationFunc(m.act, 0)

	// Masked weights as row-major float64 matrices.
	masked := func(w, mask *tensor.Dense) blas64.General {
		r, c := w.Shape()[0], w.Shape()[1]
		wd, md := dense.Float64s(w), dense.Float64s(mask)
		for i := range wd {
			wd[i] *= md[i]
		}
		return blas64.General{Rows: r, Cols: c, Stride: c, Data: wd}
	}
	outMask := m.masks[len(m.masks)-1]
	wMu, wAlpha := masked(m.wMu, outMask), masked(m.wAlpha, outMask)
	bMu, bAlpha := dense.Float64s(m.bMu), dense.Float64s(m.bAlpha)

	x := make([]float64, n*d)
	if len(m.ws) == 0 { // linear: μ = x·W_μ + b_μ, α likewise
		for _, o := range m.order {
			for r := 0; r < n; r++ {
				mu, alpha := bMu[o], bAlpha[o]
				for k := 0; k < d; k++ {
					mu += x[r*d+k] * wMu.Data[k*d+o]
					alpha += x[r*d+k] * wAlpha.Data[k*d+o]
				}
				x[r*d+o] = ud[r*d+o]*math.Exp(alpha) + mu
			}
		}
		return m.tensor(x, n, d), nil
	}

	ws := make([]blas64.General, len(m.ws))
	bs := make([][]float64, len(m.ws))
	hs := make([]blas64.General, len(m.ws)) // activations of each hidden layer (N, H_l)
	for l := range m.ws {
		ws[l] = masked(m.ws[l], m.masks[l])
		bs[l] = dense.Float64s(m.bs[l])
		h := ws[l].Cols
		hs[l] = blas64.General{Rows: n, Cols: h, Stride: h, Data: make([]float64, n*h)}
	}
	// pre holds the first layer's pre-activation x·(W¹ ⊙ M¹) + b¹, which
	// starts at b¹ for x = 0 and is updated as inputs are set.
	h1 := ws[0].Cols
	pre := make([]float64, n*h1)
	for r := 0; r < n; r++ {
		copy(pre[r*h1:(r+1)*h1], bs[0])
	}
	last := hs[len(hs)-1]
	hl := last.Cols
	for _, o := range m.order {
		for i, v := range pre {
			hs[0].Data[i] = act(v)
		}
		for l := 1; l < len(ws); l++ {
			hc := ws[l].Cols
			for r := 0; r < n; r++ {
				copy(hs[l].Data[r*hc:(r+1)*hc], bs[l])
			}
			blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, hs[l-1], ws[l], 1, hs[l])
			for i, v := range hs[l].Data {
				hs[l].Data[i] = act(v)
			}
		}
		for r := 0; r < n; r++ {
			mu, alpha := bMu[o], bAlpha[o]
			row := last.Data[r*hl : (r+1)*hl]
			for k, v := range row {
				mu += v * wMu.Data[k*d+o]
				alpha += v * wAlpha.Data[k*d+o]
			}
			xo := ud[r*d+o]*math.Exp(alpha) + mu
			x[r*d+o] = xo
			w := ws[0].Data[o*h1 : (o+1)*h1]
			p := pre[r*h1 : (r+1)*h1]
			for k, v := range w {
				p[k] += xo * v
			}
		}
	}
	return m.tensor(x, n, d), nil
}

// tensor returns data (n, d) as a tensor of the model's dtype.
func (m *MADE) tensor(data []float64, n, d int) *tensor.Dense {
	t := tensor.New(tensor.Of(m.dtype), tensor.WithShape(n, d))
	dense.Store(t, data)
	return t
}
