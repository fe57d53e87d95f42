package blocks

import (
	"math"

	"github.com/iresnet/iresnet/graph"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// actNormEps keeps log(std + eps) finite for a nearly constant channel.
const actNormEps = 1e-6

// constantStd is the spread below which a channel counts as constant: its
// data-dependent scale is left at 1 instead of 1/(std + eps). A constant
// channel (the zeros of injective padding, PadChannels) carries nothing to
// normalize, and a scale of 1e6 would blow up whatever the blocks later
// write into it.
const constantStd = 1e-6

// ActNorm is the per-channel affine map of Kingma & Dhariwal (2018, §3.1)
// on inputs (N, C) or (N, C, H, W):
//
//	y = (x + b) ⊙ exp(s),   log|det ∂y/∂x| = H·W·Σ_c s_c  (per sample),
//
// with b and s of shape (C). It is exactly invertible:
// x = y ⊙ exp(−s) − b.
//
// Initialization is explicit: InitFromBatch sets b = −mean and
// s = −log(std + 1e-6) per channel so the batch comes out with zero mean and
// unit variance. Before that, b = 0 and s = 0 (the identity).
type ActNorm struct {
	bias, logScale *tensor.Dense
	initialized    *tensor.Dense // float64 (1): 1 once initialized, 0 before
}

// NewActNorm returns an identity ActNorm over the given number of channels.
// The zero dtype means tensor.Float32.
func NewActNorm(channels int, dtype tensor.Dtype) (*ActNorm, error) {
	if channels < 1 {
		return nil, errors.Errorf("blocks: actnorm channels %d must be ≥ 1", channels)
	}
	if dtype == (tensor.Dtype{}) {
		dtype = tensor.Float32
	}
	return &ActNorm{
		bias:        tensor.New(tensor.Of(dtype), tensor.WithShape(channels)),
		logScale:    tensor.New(tensor.Of(dtype), tensor.WithShape(channels)),
		initialized: tensor.New(tensor.Of(tensor.Float64), tensor.WithShape(1)),
	}, nil
}

// Initialized reports whether InitFromBatch has run (or a checkpoint set it).
func (a *ActNorm) Initialized() bool { return a.initialized.Data().([]float64)[0] != 0 }

// SetInitialized records that the parameters hold trained values, for
// restoring checkpoints.
func (a *ActNorm) SetInitialized(v bool) {
	f := 0.0
	if v {
		f = 1
	}
	a.initialized.Data().([]float64)[0] = f
}

func (a *ActNorm) channels() int { return a.bias.Shape()[0] }

func (a *ActNorm) checkShape(s tensor.Shape) error {
	if (s.Dims() != 2 && s.Dims() != 4) || s[1] != a.channels() {
		return errors.Errorf("blocks: actnorm over %d channels got shape %v, want (N, %d) or (N, %d, H, W)", a.channels(), s, a.channels(), a.channels())
	}
	return nil
}

// InitFromBatch implements DataInitializer: per channel, the shift is
// −mean and the scale 1/(std + 1e-6) over x, so the output of the batch has
// zero mean and unit spread; a constant channel (std < 1e-6) keeps scale 1.
func (a *ActNorm) InitFromBatch(x *tensor.Dense) error {
	s := x.Shape()
	if err := a.checkShape(s); err != nil {
		return err
	}
	n, c := s[0], s[1]
	inner := s.TotalSize() / (n * c)
	xd := toFloat64(x)
	bias := make([]float64, c)
	logScale := make([]float64, c)
	for ch := 0; ch < c; ch++ {
		var sum, sq float64
		for b := 0; b < n; b++ {
			for _, v := range xd[(b*c+ch)*inner : (b*c+ch+1)*inner] {
				sum += v
				sq += v * v
			}
		}
		cnt := float64(n * inner)
		mean := sum / cnt
		std := math.Sqrt(math.Max(sq/cnt-mean*mean, 0))
		bias[ch] = -mean
		if std >= constantStd {
			logScale[ch] = -math.Log(std + actNormEps)
		}
	}
	storeFloat64(a.bias, bias)
	storeFloat64(a.logScale, logScale)
	a.SetInitialized(true)
	return nil
}

// Forward implements Bijector.
func (a *ActNorm) Forward(b *graph.Builder, x *G.Node) (y, logDet *G.Node, err error) {
	s := x.Shape()
	if err := a.checkShape(s); err != nil {
		return nil, nil, err
	}
	bias, err := b.Param("bias", a.bias)
	if err != nil {
		return nil, nil, err
	}
	ls, err := b.Param("logscale", a.logScale)
	if err != nil {
		return nil, nil, err
	}
	if y, err = graph.AddBias(x, bias); err != nil {
		return nil, nil, err
	}
	scale, err := G.Exp(ls)
	if err != nil {
		return nil, nil, errors.Wrap(err, "blocks: actnorm exp(s)")
	}
	if y, err = graph.ScaleChannels(y, scale); err != nil {
		return nil, nil, errors.Wrap(err, "blocks: actnorm scaling")
	}
	// log-det per sample: (H·W) Σ_c s_c, the same for every row, built as
	// a sum over channels of s broadcast to (N, C, 1…) so it has shape (N).
	ones := make([]int, s.Dims())
	ones[0], ones[1] = s[0], s[1]
	for i := 2; i < len(ones); i++ {
		ones[i] = 1
	}
	lsB, err := graph.BroadcastChannels(ls, tensor.Shape(ones))
	if err != nil {
		return nil, nil, err
	}
	if logDet, err = graph.SumPerSample(lsB); err != nil {
		return nil, nil, err
	}
	if inner := s.TotalSize() / (s[0] * s[1]); inner > 1 {
		k, err := b.Scalar("spatial", float64(inner))
		if err != nil {
			return nil, nil, err
		}
		if logDet, err = G.Mul(logDet, k); err != nil {
			return nil, nil, err
		}
	}
	return y, logDet, nil
}

// Inverse implements Bijector.
func (a *ActNorm) Inverse(y *tensor.Dense) (*tensor.Dense, error) {
	s := y.Shape()
	if err := a.checkShape(s); err != nil {
		return nil, err
	}
	n, c := s[0], s[1]
	inner := s.TotalSize() / (n * c)
	yd := toFloat64(y)
	bias, ls := toFloat64(a.bias), toFloat64(a.logScale)
	for b := 0; b < n; b++ {
		for ch := 0; ch < c; ch++ {
			k := math.Exp(-ls[ch])
			seg := yd[(b*c+ch)*inner : (b*c+ch+1)*inner]
			for i := range seg {
				seg[i] = seg[i]*k - bias[ch]
			}
		}
	}
	out := tensor.New(tensor.Of(y.Dtype()), tensor.WithShape(s...))
	storeFloat64(out, yd)
	return out, nil
}

// Tensors implements Tensorer.
func (a *ActNorm) Tensors() []NamedTensor {
	return []NamedTensor{
		{Name: "bias", Value: a.bias, Learnable: true},
		{Name: "logscale", Value: a.logScale, Learnable: true},
		// 1 once the data initialization ran (or a checkpoint said so),
		// 0 before: a restored model must not initialize again.
		{Name: "initialized", Value: a.initialized, Check: checkFlag},
	}
}

// checkFlag checks a restored flag tensor: one value, 0 or 1.
func checkFlag(f *tensor.Dense) error {
	d, ok := f.Data().([]float64)
	if !ok || len(d) != 1 || d[0] != 0 && d[0] != 1 {
		return errors.Errorf("blocks: a flag must be one float64, 0 or 1, got %v", f.Data())
	}
	return nil
}
