package trainer

import (
	"math"

	"github.com/iresnet/iresnet/blocks"
	"github.com/pkg/errors"
	"gorgonia.org/tensor"
)

// ImageBatch is a batch of images with pixel intensities in [0, 1], NCHW.
type ImageBatch struct {
	N, C, H, W int
	Pixels     []float32
}

// Reconstruction reports F⁻¹(F(x)) on held-out images.
type Reconstruction struct {
	Original, Reconstructed ImageBatch
	MaxAbsErr               float64                           // in the model's input space
	Stats                   map[string]blocks.FixedPointStats // per residual block
}

// toPixels maps points of the model's input space back to [0, 1]
// intensities: the inverse logit transform when one is used, then clamping.
func (t *Trainer) toPixels(x []float64) ImageBatch {
	s := t.cfg.Model.inputShape()
	return ImageBatch{N: len(x) / t.cfg.dim(), C: s[0], H: s[1], W: s[2], Pixels: t.cfg.Data.ToPixels(x)}
}

// SampleImages draws n images at temperature T (z ~ N(0, T²I)) through the
// inverse of the image model, with the EMA weights when kept.
func (t *Trainer) SampleImages(n int, temperature float64) (ImageBatch, error) {
	if !t.cfg.Data.Quantized() {
		return ImageBatch{}, errors.New("trainer: SampleImages needs an image model")
	}
	x, err := t.Sample(n, temperature)
	if err != nil {
		return ImageBatch{}, err
	}
	return t.toPixels(x), nil
}

// Reconstruct maps the first n held-out images forward and back and
// reports the error and every block's fixed-point iterations.
func (t *Trainer) Reconstruct(n int) (Reconstruction, error) {
	return t.reconstruct(n, false)
}

// ReconstructLenient is Reconstruct for a model that may not invert, such
// as the paper's unconstrained ("vanilla") network: a residual block whose
// fixed point does not converge hands its last iterate on, so
// Reconstructed shows what the failing inverse produces. The error is then
// a *blocks.FailedBlocksError naming every such block; Reconstructed is
// filled unless the iteration blew up to Inf or NaN.
func (t *Trainer) ReconstructLenient(n int) (Reconstruction, error) {
	return t.reconstruct(n, true)
}

func (t *Trainer) reconstruct(n int, lenient bool) (Reconstruction, error) {
	var r Reconstruction
	if !t.cfg.Data.Quantized() {
		return r, errors.New("trainer: Reconstruct needs an image model")
	}
	if t.src == nil {
		return r, errNoData
	}
	points := t.src.HeldOut().Points
	d := t.cfg.dim()
	n = min(n, len(points)/d)
	s := t.cfg.Model.inputShape()
	x := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(n, s[0], s[1], s[2]))
	copyF32(x, points[:n*d])
	err := t.withEvalWeights(func() error {
		z, err := blocks.Apply(t.model, x)
		if err != nil {
			return err
		}
		invert := func(y *tensor.Dense) (*tensor.Dense, map[string]blocks.FixedPointStats, error) {
			x, err := t.model.Inverse(y)
			return x, nil, err
		}
		if si, ok := t.model.(statsInverter); ok {
			invert = si.InverseWithStats
			if lenient {
				invert = si.InverseLenient
			}
		}
		back, stats, err := invert(z)
		r.Stats = stats
		if back == nil {
			return err
		}
		xb := floats64(back)
		for i := range xb {
			r.MaxAbsErr = math.Max(r.MaxAbsErr, math.Abs(xb[i]-points[i]))
		}
		r.Reconstructed = t.toPixels(xb)
		return err
	})
	r.Original = t.toPixels(points[:n*d])
	return r, err
}

func floats64(x *tensor.Dense) []float64 {
	d := x.Data().([]float32)
	out := make([]float64, len(d))
	for i, v := range d {
		out[i] = float64(v)
	}
	return out
}
