package coupling

import (
	"math"
	"math/rand/v2"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/graph"
	"github.com/iresnet/iresnet/internal/dense"
	"github.com/pkg/errors"
	"gonum.org/v1/gonum/mat"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// InvConv1x1 is Glow's invertible 1×1 convolution in LU-decomposed form
// (Kingma & Dhariwal 2018, §3.2): every pixel's channel vector is
// multiplied by
//
//	W = P · L · (U + diag(sign(s) ⊙ exp(log|s|))),
//	log|det ∂y/∂x| = H·W·Σ_c log|s_c|  (per row),
//
// with P a fixed permutation, L unit lower triangular and U strictly upper
// triangular (both learned, through masks), log|s| learned and sign(s)
// fixed. On vectors (N, C) it is the linear map y = W x with log-det
// Σ log|s|. W starts as a random rotation (the Q of a QR factorization of
// a Gaussian matrix, LU-decomposed), as in Glow.
type InvConv1x1 struct {
	c          int
	perm, sign *tensor.Dense // fixed: P (C, C) and sign(s) (C)
	l, u, logS *tensor.Dense // learned: (C, C), (C, C), (C)
}

var (
	_ blocks.Bijector = (*InvConv1x1)(nil)
	_ blocks.Tensorer = (*InvConv1x1)(nil)
)

// NewInvConv1x1 returns a 1×1 convolution over channels ≥ 1 channels
// starting at a random rotation drawn from rng. The zero dtype means
// tensor.Float32.
func NewInvConv1x1(channels int, dtype tensor.Dtype, rng *rand.Rand) (*InvConv1x1, error) {
	dt, err := checkDtype(dtype)
	if err != nil {
		return nil, err
	}
	if channels < 1 {
		return nil, errors.Errorf("coupling: 1×1 convolution over %d channels, want ≥ 1", channels)
	}
	c := channels
	g := mat.NewDense(c, c, nil)
	for i := 0; i < c; i++ {
		for j := 0; j < c; j++ {
			g.Set(i, j, rng.NormFloat64())
		}
	}
	var qr mat.QR
	qr.Factorize(g)
	var q mat.Dense
	qr.QTo(&q)
	var lu mat.LU
	lu.Factorize(&q)
	var lt, ut mat.TriDense
	lu.LTo(&lt)
	lu.UTo(&ut)
	piv := lu.RowPivots(nil)
	p := make([]float64, c*c)
	for i, v := range piv {
		p[i*c+v] = 1 // Q = P·L·U with P[i, piv[i]] = 1 (gonum's convention)
	}
	l, u := make([]float64, c*c), make([]float64, c*c)
	sign, logS := make([]float64, c), make([]float64, c)
	for i := 0; i < c; i++ {
		for j := 0; j < c; j++ {
			switch {
			case j < i:
				l[i*c+j] = lt.At(i, j)
			case j > i:
				u[i*c+j] = ut.At(i, j)
			}
		}
		d := ut.At(i, i)
		sign[i] = math.Copysign(1, d)
		logS[i] = math.Log(math.Abs(d))
	}
	ic := &InvConv1x1{
		c:    c,
		perm: dense.New(dt, p, c, c), sign: dense.New(dt, sign, c),
		l: dense.New(dt, l, c, c), u: dense.New(dt, u, c, c), logS: dense.New(dt, logS, c),
	}
	// The factors must reassemble Q; anything else is a broken invariant.
	tol := 1e-8 // rounding of a float64 LU
	if dt == tensor.Float32 {
		tol = 1e-5 // factors rounded to float32
	}
	if w := ic.Weight(); !mat.EqualApprox(w, &q, tol) {
		return nil, errors.New("coupling: internal error: P·L·U does not reassemble the initial rotation")
	}
	return ic, nil
}

// Weight returns W = P·L·(U + diag(sign ⊙ exp(log|s|))) assembled in
// float64 from the current parameters.
func (ic *InvConv1x1) Weight() *mat.Dense {
	c := ic.c
	p := mat.NewDense(c, c, dense.Float64s(ic.perm))
	lv, uv := dense.Float64s(ic.l), dense.Float64s(ic.u)
	sign, logS := dense.Float64s(ic.sign), dense.Float64s(ic.logS)
	lm, um := mat.NewDense(c, c, nil), mat.NewDense(c, c, nil)
	for i := 0; i < c; i++ {
		lm.Set(i, i, 1)
		um.Set(i, i, sign[i]*math.Exp(logS[i]))
		for j := 0; j < c; j++ {
			if j < i {
				lm.Set(i, j, lv[i*c+j])
			} else if j > i {
				um.Set(i, j, uv[i*c+j])
			}
		}
	}
	var w mat.Dense
	w.Mul(p, lm)
	w.Mul(&w, um)
	return &w
}

func (ic *InvConv1x1) checkShape(s tensor.Shape) error {
	if (s.Dims() != 2 && s.Dims() != 4) || s[1] != ic.c {
		return errors.Errorf("coupling: 1×1 convolution over %d channels got shape %v, want (N, %d) or (N, %d, H, W)", ic.c, s, ic.c, ic.c)
	}
	return nil
}

// structure returns the strict lower and strict upper masks and the
// identity, as inputs.
func (ic *InvConv1x1) structure(b *graph.Builder) (lower, upper, eye *G.Node, err error) {
	c := ic.c
	lo, up, id := make([]float64, c*c), make([]float64, c*c), make([]float64, c*c)
	for i := 0; i < c; i++ {
		id[i*c+i] = 1
		for j := 0; j < c; j++ {
			if j < i {
				lo[i*c+j] = 1
			} else if j > i {
				up[i*c+j] = 1
			}
		}
	}
	dt := b.Dtype()
	if lower, err = b.Input("lower_mask", dense.New(dt, lo, c, c)); err != nil {
		return nil, nil, nil, err
	}
	if upper, err = b.Input("upper_mask", dense.New(dt, up, c, c)); err != nil {
		return nil, nil, nil, err
	}
	if eye, err = b.Input("eye", dense.New(dt, id, c, c)); err != nil {
		return nil, nil, nil, err
	}
	return lower, upper, eye, nil
}

// Forward implements blocks.Bijector.
func (ic *InvConv1x1) Forward(b *graph.Builder, x *G.Node) (y, logDet *G.Node, err error) {
	s := x.Shape()
	if err := ic.checkShape(s); err != nil {
		return nil, nil, err
	}
	w, logS, err := ic.weight(b)
	if err != nil {
		return nil, nil, err
	}
	if s.Dims() == 2 {
		wt, err := G.Transpose(w)
		if err != nil {
			return nil, nil, errors.Wrap(err, "coupling: Wᵀ")
		}
		if y, err = G.Mul(x, wt); err != nil {
			return nil, nil, errors.Wrap(err, "coupling: x·Wᵀ")
		}
	} else {
		w4, err := reshape(w, ic.c, ic.c, 1, 1)
		if err != nil {
			return nil, nil, errors.Wrap(err, "coupling: W as a 1×1 kernel")
		}
		if y, err = graph.Conv2d(x, w4, 1, 0); err != nil {
			return nil, nil, err
		}
	}
	if logDet, err = constLogDet(b, logS, s); err != nil {
		return nil, nil, err
	}
	return y, logDet, nil
}

// weight builds W from the parameters and returns it with the log|s| node.
func (ic *InvConv1x1) weight(b *graph.Builder) (w, logS *G.Node, err error) {
	l, err := b.Param("l", ic.l)
	if err != nil {
		return nil, nil, err
	}
	u, err := b.Param("u", ic.u)
	if err != nil {
		return nil, nil, err
	}
	if logS, err = b.Param("log_s", ic.logS); err != nil {
		return nil, nil, err
	}
	p, err := b.Input("p", ic.perm)
	if err != nil {
		return nil, nil, err
	}
	sign, err := b.Input("sign", ic.sign)
	if err != nil {
		return nil, nil, err
	}
	lower, upper, eye, err := ic.structure(b)
	if err != nil {
		return nil, nil, err
	}
	wrap := func(err error, what string) error { return errors.Wrap(err, "coupling: "+what) }
	lm, err := G.HadamardProd(l, lower)
	if err != nil {
		return nil, nil, wrap(err, "L ⊙ lower")
	}
	if lm, err = G.Add(lm, eye); err != nil {
		return nil, nil, wrap(err, "L + I")
	}
	d, err := G.Exp(logS)
	if err != nil {
		return nil, nil, wrap(err, "exp(log|s|)")
	}
	if d, err = G.HadamardProd(d, sign); err != nil {
		return nil, nil, wrap(err, "sign ⊙ |s|")
	}
	diag, err := graph.BroadcastChannels(d, tensor.Shape{ic.c, ic.c})
	if err != nil {
		return nil, nil, err
	}
	if diag, err = G.HadamardProd(diag, eye); err != nil {
		return nil, nil, wrap(err, "diag(s)")
	}
	um, err := G.HadamardProd(u, upper)
	if err != nil {
		return nil, nil, wrap(err, "U ⊙ upper")
	}
	if um, err = G.Add(um, diag); err != nil {
		return nil, nil, wrap(err, "U + diag(s)")
	}
	if w, err = G.Mul(p, lm); err != nil {
		return nil, nil, wrap(err, "P·L")
	}
	if w, err = G.Mul(w, um); err != nil {
		return nil, nil, wrap(err, "P·L·U")
	}
	return w, logS, nil
}

// Inverse implements blocks.Bijector: x = W⁻¹ y at every pixel, with W⁻¹
// from gonum in float64.
func (ic *InvConv1x1) Inverse(y *tensor.Dense) (*tensor.Dense, error) {
	s := y.Shape()
	if err := ic.checkShape(s); err != nil {
		return nil, err
	}
	var wi mat.Dense
	if err := wi.Inverse(ic.Weight()); err != nil {
		return nil, errors.Wrap(err, "coupling: inverting the 1×1 convolution")
	}
	return mixChannels(y, &wi), nil
}

// mixChannels returns m·v for every channel vector v of y (N, C, ...).
func mixChannels(y *tensor.Dense, m mat.Matrix) *tensor.Dense {
	s := y.Shape()
	n, c := s[0], s[1]
	inner := s.TotalSize() / (n * c)
	yd := dense.Float64s(y)
	out := make([]float64, len(yd))
	for r := 0; r < n; r++ {
		for k := 0; k < inner; k++ {
			for i := 0; i < c; i++ {
				var sum float64
				for j := 0; j < c; j++ {
					sum += m.At(i, j) * yd[(r*c+j)*inner+k]
				}
				out[(r*c+i)*inner+k] = sum
			}
		}
	}
	return dense.New(y.Dtype(), out, s...)
}

// Tensors implements blocks.Tensorer: learned "l", "u", "log_s" and the
// fixed "p" and "sign" (state, saved with checkpoints since they are
// drawn at construction).
func (ic *InvConv1x1) Tensors() []blocks.NamedTensor {
	return []blocks.NamedTensor{
		{Name: "l", Value: ic.l, Learnable: true},
		{Name: "u", Value: ic.u, Learnable: true},
		{Name: "log_s", Value: ic.logS, Learnable: true},
		{Name: "p", Value: ic.perm},
		{Name: "sign", Value: ic.sign},
	}
}

// Permute is a fixed permutation of the channels of (N, C, H, W) or the
// features of (N, C): y_i = x_{Perm[i]}. It preserves volume (log|det| = 0).
// [NewReverse] gives the reverse permutation of Dinh et al. (2017) and of
// Glow's additive baseline (Kingma & Dhariwal 2018, §5.1).
type Permute struct {
	Perm []int
}

var _ blocks.Bijector = Permute{}

// NewReverse returns the permutation that reverses channels ≥ 1 channels.
func NewReverse(channels int) (Permute, error) {
	if channels < 1 {
		return Permute{}, errors.Errorf("coupling: reverse permutation of %d channels, want ≥ 1", channels)
	}
	p := make([]int, channels)
	for i := range p {
		p[i] = channels - 1 - i
	}
	return Permute{Perm: p}, nil
}

func (p Permute) matrix() *mat.Dense {
	c := len(p.Perm)
	m := mat.NewDense(c, c, nil)
	for i, j := range p.Perm {
		m.Set(i, j, 1)
	}
	return m
}

func (p Permute) check(s tensor.Shape) error {
	c := len(p.Perm)
	seen := make([]bool, c)
	for _, j := range p.Perm {
		if j < 0 || j >= c || seen[j] {
			return errors.Errorf("coupling: %v is not a permutation of 0…%d", p.Perm, c-1)
		}
		seen[j] = true
	}
	if (s.Dims() != 2 && s.Dims() != 4) || s[1] != c {
		return errors.Errorf("coupling: permutation of %d channels got shape %v", c, s)
	}
	return nil
}

// Forward implements blocks.Bijector; the permutation is a product with a
// fixed 0/1 matrix (a 1×1 convolution on images).
func (p Permute) Forward(b *graph.Builder, x *G.Node) (y, logDet *G.Node, err error) {
	s := x.Shape()
	if err := p.check(s); err != nil {
		return nil, nil, err
	}
	c := len(p.Perm)
	m := p.matrix()
	if s.Dims() == 2 {
		var mt mat.Dense
		mt.CloneFrom(m.T())
		pt, err := b.Input("perm_t", dense.New(b.Dtype(), mt.RawMatrix().Data, c, c))
		if err != nil {
			return nil, nil, err
		}
		if y, err = G.Mul(x, pt); err != nil {
			return nil, nil, errors.Wrap(err, "coupling: permuting features")
		}
	} else {
		k, err := b.Input("perm", dense.New(b.Dtype(), m.RawMatrix().Data, c, c, 1, 1))
		if err != nil {
			return nil, nil, err
		}
		if y, err = graph.Conv2d(x, k, 1, 0); err != nil {
			return nil, nil, err
		}
	}
	if logDet, err = zeroLogDet(b, s[0]); err != nil {
		return nil, nil, err
	}
	return y, logDet, nil
}

// Inverse implements blocks.Bijector.
func (p Permute) Inverse(y *tensor.Dense) (*tensor.Dense, error) {
	if err := p.check(y.Shape()); err != nil {
		return nil, err
	}
	return mixChannels(y, p.matrix().T()), nil
}
