package trainer

import (
	"fmt"
	"math"
	"sort"

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

// MaxPixelError is the largest |original − reconstruction| over the pixel
// intensities (in [0, 1]).
func (r Reconstruction) MaxPixelError() float64 {
	worst := 0.0
	for i, v := range r.Original.Pixels {
		if i < len(r.Reconstructed.Pixels) {
			worst = math.Max(worst, math.Abs(float64(v-r.Reconstructed.Pixels[i])))
		}
	}
	return worst
}

// IterationSummary summarizes the fixed-point iterations of an inverse
// over its residual blocks.
type IterationSummary struct {
	Blocks   int
	Min, Max int
	Mean     float64
	MaxBlock string  // the block that needed the most
	Residual float64 // largest final step over blocks
}

// Iterations summarizes the fixed-point iterations of the inverse over the
// residual blocks (Stats).
func (r Reconstruction) Iterations() IterationSummary {
	stats := r.Stats
	names := make([]string, 0, len(stats))
	for k := range stats {
		names = append(names, k)
	}
	sort.Strings(names)
	var it IterationSummary
	for i, k := range names {
		s := stats[k]
		if i == 0 || s.Iter < it.Min {
			it.Min = s.Iter
		}
		if i == 0 || s.Iter > it.Max {
			it.Max, it.MaxBlock = s.Iter, k
		}
		it.Mean += float64(s.Iter) / float64(len(names))
		it.Residual = math.Max(it.Residual, s.Residual)
	}
	it.Blocks = len(names)
	return it
}

// toPixels maps points of the model's input space back to [0, 1]
// intensities: the inverse logit transform when one is used, then clamping.
func (t *Trainer) toPixels(x []float64) ImageBatch {
	s := t.cfg.Model.inputShape()
	return ImageBatch{N: len(x) / t.cfg.dim(), C: s[0], H: s[1], W: s[2], Pixels: t.cfg.Data.ToPixels(x)}
}

// reconstruct maps the rows of points forward and back with the
// evaluation weights and reports the error and every block's fixed-point
// iterations; lenient hands on the last iterate of a block that does not
// converge.
func (t *Trainer) reconstruct(points []float64, lenient bool) (Reconstruction, error) {
	var r Reconstruction
	if !t.cfg.Data.Quantized() {
		return r, errors.New("trainer: reconstructions are of image models")
	}
	d := t.cfg.dim()
	n := len(points) / d
	s := t.cfg.Model.inputShape()
	x := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(n, s[0], s[1], s[2]))
	copyF32(x, points)
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
		bad := 0
		for i := range xb {
			if math.IsNaN(xb[i]) || math.IsInf(xb[i], 0) {
				bad++
				continue
			}
			r.MaxAbsErr = math.Max(r.MaxAbsErr, math.Abs(xb[i]-points[i]))
		}
		if bad > 0 { // e.g. an affine coupling's exp(−s) overflowing float32
			r.MaxAbsErr = 0
			return &NotFiniteError{What: "reconstructions", Bad: bad, Total: len(xb)}
		}
		r.Reconstructed = t.toPixels(xb)
		return err
	})
	r.Original = t.toPixels(points)
	return r, err
}

// NotFiniteError reports an inverse that produced NaN or Inf: the model is
// not numerically invertible at those inputs (nothing bounds the inverse of
// an affine coupling, say; a certified i-ResNet's inverse is bounded).
type NotFiniteError struct {
	What       string // "samples" or "reconstructions"
	Bad, Total int    // values that are NaN or ±Inf, of all
}

func (e *NotFiniteError) Error() string {
	return fmt.Sprintf("trainer: the inverse produced NaN or Inf in %d of %d values of the %s: the model is not numerically invertible there", e.Bad, e.Total, e.What)
}

// notFinite counts the NaN and infinite values of x.
func notFinite(x []float64) int {
	bad := 0
	for _, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			bad++
		}
	}
	return bad
}

func floats64(x *tensor.Dense) []float64 {
	d := x.Data().([]float32)
	out := make([]float64, len(d))
	for i, v := range d {
		out[i] = float64(v)
	}
	return out
}
