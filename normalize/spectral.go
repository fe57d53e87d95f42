package normalize

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/iresnet/iresnet/graph"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// NotConvergedError reports a power iteration that did not reach its
// tolerance within its iteration cap.
type NotConvergedError struct {
	Iter   int     // iterations run
	Change float64 // last relative change of σ̂
	Tol    float64 // requested relative change
}

func (e *NotConvergedError) Error() string {
	return fmt.Sprintf("normalize: power iteration did not converge in %d iterations (relative change %.3g > tolerance %.3g)", e.Iter, e.Change, e.Tol)
}

// A SpectralNorm holds the power-iteration state of one layer and builds its
// normalized weight. The zero value is not usable; construct one with
// [NewDense] or [NewConv].
//
// Invariant: U and V are unit vectors (in the layer's input and output space)
// with V ∝ A U, where A is the layer's linear operator, after every update.
type SpectralNorm struct {
	coeff  float64
	conv   *graph.ConvGeom // nil for a dense layer
	wshape []int
	u, v   *tensor.Dense // persistent power-iteration vectors
	sigma  *tensor.Dense // last estimate ⟨v, A u⟩, float64 of shape (1)
}

// NewDense returns the spectral normalization of a dense layer y = x·W with
// W of shape (in, out). coeff is c, which must lie in (0, 1). The vectors
// start random from rng; call Update or Converge before the first use.
func NewDense(in, out int, coeff float64, dtype tensor.Dtype, rng *rand.Rand) (*SpectralNorm, error) {
	if in < 1 || out < 1 {
		return nil, errors.Errorf("normalize: dense layer shape (%d, %d) must be positive", in, out)
	}
	s := &SpectralNorm{wshape: []int{in, out}}
	return s, s.init(coeff, dtype, rng, []int{1, in}, []int{1, out})
}

// NewConv returns the spectral normalization of a convolution with geometry
// geom (its batch size is ignored: the operator acts on one image of shape
// (C, H, W)). The norm is that of the convolution operator with its stride
// and padding, not of the reshaped kernel.
func NewConv(geom graph.ConvGeom, coeff float64, dtype tensor.Dtype, rng *rand.Rand) (*SpectralNorm, error) {
	geom.N = 1
	if err := geom.Validate(); err != nil {
		return nil, errors.Wrap(err, "normalize")
	}
	s := &SpectralNorm{conv: &geom, wshape: geom.KernelShape()}
	return s, s.init(coeff, dtype, rng, geom.InShape(), geom.OutShape())
}

func (s *SpectralNorm) init(coeff float64, dtype tensor.Dtype, rng *rand.Rand, ushape, vshape []int) error {
	if !(coeff > 0 && coeff < 1) {
		return errors.Errorf("normalize: coefficient c = %v must lie in (0, 1)", coeff)
	}
	if dtype != tensor.Float32 && dtype != tensor.Float64 {
		return errors.Errorf("normalize: dtype %v not supported", dtype)
	}
	s.coeff = coeff
	s.sigma = tensor.New(tensor.Of(tensor.Float64), tensor.WithShape(1))
	s.u = tensor.New(tensor.Of(dtype), tensor.WithShape(ushape...))
	s.v = tensor.New(tensor.Of(dtype), tensor.WithShape(vshape...))
	u := make([]float64, s.u.Shape().TotalSize())
	for i := range u {
		u[i] = rng.NormFloat64()
	}
	scale(u, 1/norm(u))
	store(s.u, u)
	return nil
}

// Conv returns the convolution geometry of a conv layer's operator (batch
// size 1), and false for a dense layer.
func (s *SpectralNorm) Conv() (graph.ConvGeom, bool) {
	if s.conv == nil {
		return graph.ConvGeom{}, false
	}
	return *s.conv, true
}

// Coeff returns c.
func (s *SpectralNorm) Coeff() float64 { return s.coeff }

// Sigma returns the last estimate σ̂ of the operator norm.
func (s *SpectralNorm) Sigma() float64 { return s.sigma.Data().([]float64)[0] }

// SetSigma restores a saved estimate, for checkpoints.
func (s *SpectralNorm) SetSigma(v float64) { s.sigma.Data().([]float64)[0] = v }

// SigmaTensor returns the tensor (float64, shape (1)) that holds σ̂: it is
// persistent state, saved and restored with the vectors.
func (s *SpectralNorm) SigmaTensor() *tensor.Dense { return s.sigma }

// U returns the input-space power-iteration vector, shape (1, in) for dense
// layers and (1, C, H, W) for convolutions. It is persistent state: save it.
func (s *SpectralNorm) U() *tensor.Dense { return s.u }

// V returns the output-space power-iteration vector, shape (1, out) or
// (1, O, OH, OW).
func (s *SpectralNorm) V() *tensor.Dense { return s.v }

// WeightShape returns the shape of the weight this normalization expects.
func (s *SpectralNorm) WeightShape() []int { return append([]int(nil), s.wshape...) }

// Update runs iters steps of power iteration on w and returns the new σ̂.
func (s *SpectralNorm) Update(w *tensor.Dense, iters int) (float64, error) {
	if !w.Shape().Eq(tensor.Shape(s.wshape)) {
		return 0, errors.Errorf("normalize: weight has shape %v, want %v", w.Shape(), s.wshape)
	}
	wd := load(w)
	u, v := load(s.u), load(s.v)
	for i := 0; i < iters; i++ {
		s.SetSigma(s.step(wd, u, v))
	}
	store(s.u, u)
	store(s.v, v)
	return s.Sigma(), nil
}

// Converge iterates until σ̂ changes by at most tol relative to itself
// between iterations, or returns a *NotConvergedError after maxIter.
// It returns the iterations used.
func (s *SpectralNorm) Converge(w *tensor.Dense, tol float64, maxIter int) (int, error) {
	if !w.Shape().Eq(tensor.Shape(s.wshape)) {
		return 0, errors.Errorf("normalize: weight has shape %v, want %v", w.Shape(), s.wshape)
	}
	wd := load(w)
	u, v := load(s.u), load(s.v)
	defer func() { store(s.u, u); store(s.v, v) }()
	prev := math.Inf(1)
	change := math.Inf(1)
	for i := 1; i <= maxIter; i++ {
		sig := s.step(wd, u, v)
		s.SetSigma(sig)
		change = math.Abs(sig-prev) / math.Max(sig, math.SmallestNonzeroFloat64)
		if change <= tol {
			return i, nil
		}
		prev = sig
	}
	return maxIter, &NotConvergedError{Iter: maxIter, Change: change, Tol: tol}
}

// step does one power-iteration step v ← Au/‖Au‖, u ← Aᵀv/‖Aᵀv‖ and returns
// ⟨v, A u⟩ for the updated vectors.
func (s *SpectralNorm) step(w, u, v []float64) float64 {
	s.apply(w, u, v)
	scale(v, 1/math.Max(norm(v), tiny))
	s.applyT(w, v, u)
	n := norm(u)
	scale(u, 1/math.Max(n, tiny))
	// ⟨v, A u⟩ = ⟨Aᵀ v, u⟩ = ‖Aᵀv‖ after normalizing u.
	return n
}

// tiny guards the normalizations against an all-zero weight.
const tiny = 1e-300

// apply computes out = A in.
func (s *SpectralNorm) apply(w, in, out []float64) {
	if s.conv != nil {
		graph.ConvForward(*s.conv, in, w, out)
		return
	}
	rows, cols := s.wshape[0], s.wshape[1]
	for j := 0; j < cols; j++ {
		out[j] = 0
	}
	for i := 0; i < rows; i++ {
		xi := in[i]
		row := w[i*cols : (i+1)*cols]
		for j, wij := range row {
			out[j] += xi * wij
		}
	}
}

// applyT computes out = Aᵀ in.
func (s *SpectralNorm) applyT(w, in, out []float64) {
	if s.conv != nil {
		graph.ConvTranspose(*s.conv, in, w, out)
		return
	}
	rows, cols := s.wshape[0], s.wshape[1]
	for i := 0; i < rows; i++ {
		sum := 0.0
		row := w[i*cols : (i+1)*cols]
		for j, wij := range row {
			sum += wij * in[j]
		}
		out[i] = sum
	}
}

// Normalize returns the node W̃ = W / max(1, σ̂/c) with σ̂ = ⟨v, A u⟩ computed
// in the graph from the persistent vectors (bound as inputs named in
// PyTorch's convention: name+"/v" for the input-space vector U,
// name+"/u" for the output-space vector V, in b's scope; checkpoints call
// them name+"_v" and name+"_u"), so the gradient reaches W through σ̂.
func (s *SpectralNorm) Normalize(b *graph.Builder, name string, w *G.Node) (*G.Node, error) {
	if !w.Shape().Eq(tensor.Shape(s.wshape)) {
		return nil, errors.Errorf("normalize: %s has shape %v, want %v", name, w.Shape(), s.wshape)
	}
	un, err := b.Input(name+"/v", s.u)
	if err != nil {
		return nil, err
	}
	vn, err := b.Input(name+"/u", s.v)
	if err != nil {
		return nil, err
	}
	var au *G.Node
	if s.conv != nil {
		au, err = graph.Conv2d(un, w, s.conv.Stride, s.conv.Pad)
	} else {
		au, err = G.Mul(un, w)
	}
	if err != nil {
		return nil, errors.Wrapf(err, "normalize: %s: applying the operator", name)
	}
	sigma, err := G.Sum(G.Must(G.HadamardProd(au, vn)))
	if err != nil {
		return nil, errors.Wrapf(err, "normalize: %s: σ̂", name)
	}
	invC, err := b.Scalar(name+"/inv_c", 1/s.coeff)
	if err != nil {
		return nil, err
	}
	ratio, err := G.Mul(sigma, invC)
	if err != nil {
		return nil, errors.Wrapf(err, "normalize: %s: σ̂/c", name)
	}
	denom, err := graph.AtLeast(ratio, 1)
	if err != nil {
		return nil, errors.Wrapf(err, "normalize: %s: max(1, σ̂/c)", name)
	}
	out, err := G.Div(w, denom)
	if err != nil {
		return nil, errors.Wrapf(err, "normalize: %s: W/max(1, σ̂/c)", name)
	}
	return out, nil
}

// load returns t's data as a new float64 slice.
func load(t *tensor.Dense) []float64 {
	switch d := t.Data().(type) {
	case []float64:
		return append([]float64(nil), d...)
	case []float32:
		out := make([]float64, len(d))
		for i, v := range d {
			out[i] = float64(v)
		}
		return out
	}
	panic(fmt.Sprintf("normalize: unsupported tensor dtype %v", t.Dtype()))
}

// store writes src into t's data, converting to t's dtype.
func store(t *tensor.Dense, src []float64) {
	switch d := t.Data().(type) {
	case []float64:
		copy(d, src)
	case []float32:
		for i, v := range src {
			d[i] = float32(v)
		}
	}
}

func norm(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v * v
	}
	return math.Sqrt(s)
}

func scale(x []float64, a float64) {
	for i := range x {
		x[i] *= a
	}
}

// CheckUnit checks a power-iteration vector restored from a checkpoint
// (U or V): it must be a unit vector, since a zeroed one would keep σ̂ at
// 0 and switch the normalization off for good.
func CheckUnit(v *tensor.Dense) error {
	s := 0.0
	switch d := v.Data().(type) {
	case []float32:
		for _, x := range d {
			s += float64(x) * float64(x)
		}
	case []float64:
		for _, x := range d {
			s += x * x
		}
	default:
		return errors.Errorf("normalize: power-iteration vector of type %v", v.Dtype())
	}
	if n := math.Sqrt(s); !(math.Abs(n-1) <= 1e-3) {
		return errors.Errorf("normalize: power-iteration vector has norm %.6g, want 1", n)
	}
	return nil
}

// CheckSigma checks a σ̂ estimate restored from a checkpoint (SigmaTensor):
// a finite value ≥ 0.
func CheckSigma(sigma *tensor.Dense) error {
	d, ok := sigma.Data().([]float64)
	if !ok || len(d) != 1 {
		return errors.Errorf("normalize: σ̂ must be one float64, got %v %v", sigma.Dtype(), sigma.Shape())
	}
	if v := d[0]; !(v >= 0) || math.IsInf(v, 0) {
		return errors.Errorf("normalize: σ̂ is %v, want a finite value ≥ 0", v)
	}
	return nil
}
