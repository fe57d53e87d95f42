package trainer

import (
	"math"
	"slices"

	"github.com/iresnet/iresnet/internal/parallel"
	"github.com/pkg/errors"
	"gorgonia.org/tensor"
)

// optimizer is Adam or Adamax over a fixed list of parameter tensors,
// updated in place. Its state (moments and step) is explicit so checkpoints
// can restore it exactly.
type optimizer struct {
	cfg    Optim
	params []*tensor.Dense
	m, v   []*tensor.Dense // first moment; second moment (Adam) or infinity norm (Adamax)
	t      int             // updates applied
	pieces []piece         // the parameters' elements as the cores share them
}

// sumSquares returns Σ x², in float64, over four interleaved partial sums
// (elements j ≡ 0, 1, 2, 3 mod 4 of the whole groups of four, the tail
// going into the first; added in that order at the end), so that the adds
// do not wait on each other; the order is fixed, so the result is too.
func sumSquares(x []float32) float64 {
	var s0, s1, s2, s3 float64
	j := 0
	for ; j+4 <= len(x); j += 4 {
		a, b, c, d := float64(x[j]), float64(x[j+1]), float64(x[j+2]), float64(x[j+3])
		s0 += a * a
		s1 += b * b
		s2 += c * c
		s3 += d * d
	}
	for ; j < len(x); j++ {
		s0 += float64(x[j]) * float64(x[j])
	}
	return ((s0 + s1) + s2) + s3
}

// nonFiniteBits is 1<<31 for a NaN or an infinity (exponent bits all
// ones) and 0 for any finite x: a branch-free test whose results an
// update loop or-s together without a dependency chain through a
// floating-point sum.
func nonFiniteBits(x float32) uint32 {
	return (math.Float32bits(x)&0x7f800000 + 0x00800000) & 0x80000000
}

// errNonFiniteGradient is step's error for a gradient that holds a NaN or
// an infinity, found by its squared norm (a float64 sum of float32 squares
// is finite exactly when every term is); step then updates nothing.
var errNonFiniteGradient = errors.New("trainer: non-finite gradient")

// errOverflow is step's error for an update that left a NaN or an infinity
// in a weight or a moment (float32 overflow of a finite update); the
// update has been applied, and firstNonFinite finds where.
var errOverflow = errors.New("trainer: the update overflowed float32")

// pieceSize is the most elements of a parameter one worker updates at a
// time: large enough that handing out a piece costs nothing next to its
// work, small enough that the pieces of a model with one large tensor
// spread over the cores.
const pieceSize = 1 << 14

// piece is the elements [lo, hi) of parameter param.
type piece struct{ param, lo, hi int }

// cutPieces cuts tensors of the given element counts into pieces of at
// most size elements, in tensor then element order. The cut depends only on
// the sizes, never on the number of cores, so sums combined piece by piece
// in this order give the same bits on every machine.
func cutPieces(sizes []int, size int) []piece {
	var out []piece
	for i, n := range sizes {
		for lo := 0; lo < n; lo += size {
			out = append(out, piece{i, lo, min(lo+size, n)})
		}
	}
	return out
}

func newOptimizer(cfg Optim, params []*tensor.Dense) *optimizer {
	o := &optimizer{cfg: cfg, params: params}
	sizes := make([]int, len(params))
	for i, p := range params {
		o.m = append(o.m, tensor.New(tensor.Of(p.Dtype()), tensor.WithShape(p.Shape()...)))
		o.v = append(o.v, tensor.New(tensor.Of(p.Dtype()), tensor.WithShape(p.Shape()...)))
		sizes[i] = p.Shape().TotalSize()
	}
	o.pieces = cutPieces(sizes, pieceSize)
	return o
}

// forPieces runs body on every piece of the parameters, spread over the
// cores.
func (o *optimizer) forPieces(body func(k int, p piece)) {
	parallel.For(len(o.pieces), 1, func(next func() (lo, hi int, ok bool)) {
		for k, _, ok := next(); ok; k, _, ok = next() {
			body(k, o.pieces[k])
		}
	})
}

// nonFinite reports the first NaN or infinity in a list of tensors: tensor
// param, element at, value v.
type nonFinite struct {
	param, at int
	v         float32
}

// firstNonFinite returns the first NaN or infinity of data[p.param] over
// the pieces in order, checked in parallel; ok is false when there is none.
func (o *optimizer) firstNonFinite(data func(param int) []float32) (nf nonFinite, found bool) {
	bad := make([]int, len(o.pieces))
	o.forPieces(func(k int, p piece) {
		bad[k] = -1
		for j, v := range data(p.param)[p.lo:p.hi] {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				bad[k] = p.lo + j
				return
			}
		}
	})
	for k, at := range bad {
		if at >= 0 {
			p := o.pieces[k]
			return nonFinite{p.param, at, data(p.param)[at]}, true
		}
	}
	return nonFinite{}, false
}

// lr returns the learning rate for update number t (1-based): linear
// warm-up, then constant or, with DecaySteps, a half cosine down to 0.
func (o *optimizer) lr(t int) float64 {
	return scheduledLR(o.cfg, t)
}

func scheduledLR(cfg Optim, t int) float64 {
	switch {
	case cfg.Warmup > 0 && t < cfg.Warmup:
		return cfg.LR * float64(t) / float64(cfg.Warmup)
	case cfg.DecaySteps <= 0:
		return cfg.LR
	case t >= cfg.DecaySteps:
		return 0
	}
	frac := float64(t-cfg.Warmup) / float64(cfg.DecaySteps-cfg.Warmup)
	return cfg.LR * 0.5 * (1 + math.Cos(math.Pi*frac))
}

// step applies one update with gradients grads (same order and shapes as
// the parameters) and returns the learning rate used and the global
// gradient norm before clipping.
func (o *optimizer) step(grads [][]float32) (lr, norm float64, err error) {
	if len(grads) != len(o.params) {
		return 0, 0, errors.Errorf("trainer: %d gradients for %d parameters", len(grads), len(o.params))
	}
	// The squared norm is summed piece by piece in parallel and the pieces'
	// sums are added in order.
	sq := make([]float64, len(o.pieces))
	o.forPieces(func(k int, p piece) { sq[k] = sumSquares(grads[p.param][p.lo:p.hi]) })
	for _, s := range sq {
		norm += s
	}
	norm = math.Sqrt(norm)
	if math.IsNaN(norm) || math.IsInf(norm, 0) {
		return 0, norm, errNonFiniteGradient
	}
	scale := 1.0
	if o.cfg.ClipNorm > 0 && norm > o.cfg.ClipNorm {
		scale = o.cfg.ClipNorm / norm
	}
	o.t++
	lr = o.lr(o.t)
	b1, b2, eps, wd := o.cfg.Beta1, o.cfg.Beta2, o.cfg.Eps, o.cfg.WeightDecay
	c1 := 1 - math.Pow(b1, float64(o.t))
	c2 := 1 - math.Pow(b2, float64(o.t))
	// Every value written is also checked for an overflow as it is
	// stored (see nonFiniteBits), so no second pass over the tensors is
	// needed; the loops are per algorithm and over equal-length slices so
	// that the compiler drops the bounds checks.
	bad := make([]bool, len(o.pieces))
	o.forPieces(func(k int, pc piece) {
		i := pc.param
		gd := grads[i][pc.lo:pc.hi]
		pd := o.params[i].Data().([]float32)[pc.lo:pc.hi]
		md := o.m[i].Data().([]float32)[pc.lo:pc.hi]
		vd := o.v[i].Data().([]float32)[pc.lo:pc.hi] // unused by SGD
		pd, md, vd = pd[:len(gd)], md[:len(gd)], vd[:len(gd)]
		var seen uint32 // nonFiniteBits of every value stored, or-ed
		switch o.cfg.Algorithm {
		case SGD: // v ← β₁v + g; p ← p − lr·v (PyTorch's form of momentum)
			for j, g32 := range gd {
				g := float64(g32)*scale + wd*float64(pd[j])
				m := b1*float64(md[j]) + g
				md[j] = float32(m)
				pd[j] = float32(float64(pd[j]) - lr*m)
				seen |= nonFiniteBits(md[j]) | nonFiniteBits(pd[j])
			}
		case Adamax:
			a := lr / c1
			for j, g32 := range gd {
				g := float64(g32)*scale + wd*float64(pd[j])
				m := b1*float64(md[j]) + (1-b1)*g
				md[j] = float32(m)
				u := b2 * float64(vd[j])
				if ag := math.Abs(g); ag > u { // max(β₂u, |g|); both finite
					u = ag
				}
				vd[j] = float32(u)
				pd[j] = float32(float64(pd[j]) - a*m/(u+eps))
				seen |= nonFiniteBits(md[j]) | nonFiniteBits(vd[j]) | nonFiniteBits(pd[j])
			}
		default: // Adam: lr·(m/c1)/(√(v/c2) + ε) as lr/c1 · m/(√v/√c2 + ε)
			a, r := lr/c1, 1/math.Sqrt(c2)
			for j, g32 := range gd {
				g := float64(g32)*scale + wd*float64(pd[j])
				m := b1*float64(md[j]) + (1-b1)*g
				md[j] = float32(m)
				v := b2*float64(vd[j]) + (1-b2)*g*g
				vd[j] = float32(v)
				pd[j] = float32(float64(pd[j]) - a*m/(math.Sqrt(v)*r+eps))
				seen |= nonFiniteBits(md[j]) | nonFiniteBits(vd[j]) | nonFiniteBits(pd[j])
			}
		}
		bad[k] = seen != 0
	})
	if slices.Contains(bad, true) {
		return lr, norm, errOverflow
	}
	return lr, norm, nil
}
