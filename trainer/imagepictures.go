package trainer

import (
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"sort"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/internal/heatmap"
	"github.com/pkg/errors"
)

// ReconstructionsPicture is the file of test images above their
// reconstructions.
const ReconstructionsPicture = "reconstructions.png"

// ImagePictureOptions configures WriteImagePictures; zero fields take the
// defaults.
type ImagePictureOptions struct {
	Samples int // images in samples.png (density and hybrid models); 0 means 64
	Recon   int // test images in reconstructions.png; 0 means 16
	Cols    int // images per grid row; 0 means 8
	Scale   int // each pixel drawn as a Scale×Scale block; 0 means 2
}

// WriteImagePictures writes, into dir, the pictures of an image model:
// samples.png (a grid of samples at temperature 1, for density and hybrid
// models), reconstructions.png (test images above F⁻¹(F(x)), captioned
// with the inverse's iterations and error) and curves.png (the training
// loss beside the held-out bits/dim or test error, from the metrics file
// in dir when present). It returns the paths written; a non-converging
// inverse is an error that names the block, with the pictures written so
// far kept.
func (t *Trainer) WriteImagePictures(dir string, o ImagePictureOptions) ([]string, error) {
	if t.cfg.Images == nil {
		return nil, errors.New("trainer: image pictures need an image model; toy models use WritePictures")
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.Samples, 64)
	def(&o.Recon, 16)
	def(&o.Cols, 8)
	def(&o.Scale, 2)
	var written []string
	save := func(name string, img image.Image) error {
		p := filepath.Join(dir, name)
		if err := heatmap.SavePNG(p, img); err != nil {
			return err
		}
		written = append(written, p)
		return nil
	}
	if t.cfg.Images.Task != Classify {
		b, err := t.SampleImages(o.Samples, 1)
		if err != nil {
			return written, errors.Wrap(err, "trainer: samples picture")
		}
		img, err := heatmap.ImageGrid(b.Pixels, b.N, b.C, b.H, b.W, o.Cols, o.Scale)
		if err != nil {
			return written, err
		}
		if err := save(SamplesPicture, img); err != nil {
			return written, err
		}
	}
	// A vanilla model is not expected to invert: show what its failing
	// inverse produces, and say so in the caption.
	vanilla := t.cfg.Images.Model.Unconstrained
	recon := t.Reconstruct
	if vanilla {
		recon = t.ReconstructLenient
	}
	r, err := recon(o.Recon)
	var failed *blocks.FailedBlocksError
	verdict := ""
	switch {
	case vanilla && errors.As(err, &failed):
		verdict = fmt.Sprintf("vanilla: inverse did NOT converge in %d of %d blocks", len(failed.Blocks), len(r.Stats))
	case err != nil && !(vanilla && r.Reconstructed.N == 0):
		return written, errors.Wrap(err, "trainer: reconstructions picture")
	case err != nil:
		verdict = "vanilla: inverse blew up (Inf or NaN)"
	}
	img, err := ReconstructionGrid(r, o.Cols, o.Scale)
	if err != nil {
		return written, err
	}
	if verdict == "" {
		it := SummarizeIterations(r.Stats)
		verdict = fmt.Sprintf("max error %.2g; %d-%d iterations per block", r.MaxAbsErr, it.Min, it.Max)
	}
	if err := save(ReconstructionsPicture, heatmap.Captioned(img, "test images (top), F^-1(F(x)) (below)", verdict)); err != nil {
		return written, err
	}
	if img, err := imageCurves(filepath.Join(dir, MetricsFile), t.cfg.Images.Task); err == nil {
		if err := save(CurvesPicture, img); err != nil {
			return written, err
		}
	} else if !os.IsNotExist(errors.Cause(err)) {
		return written, err
	}
	return written, nil
}

// ReconstructionGrid draws the original images of r in a grid above the
// grid of their reconstructions.
func ReconstructionGrid(r Reconstruction, cols, scale int) (*image.RGBA, error) {
	o, rec := r.Original, r.Reconstructed
	top, err := heatmap.ImageGrid(o.Pixels, o.N, o.C, o.H, o.W, cols, scale)
	if err != nil {
		return nil, errors.Wrap(err, "trainer: test images")
	}
	if rec.N == 0 {
		return heatmap.Stacked(top), nil
	}
	bottom, err := heatmap.ImageGrid(rec.Pixels, rec.N, rec.C, rec.H, rec.W, cols, scale)
	if err != nil {
		return nil, errors.Wrap(err, "trainer: reconstructions")
	}
	return heatmap.Stacked(top, bottom), nil
}

// imageCurves draws the training loss beside the held-out bits/dim
// (density, hybrid) or test error (classify) read from a metrics file.
func imageCurves(path string, task Task) (image.Image, error) {
	ms, err := readMetrics(path)
	if err != nil {
		return nil, err
	}
	var loss, test []float64
	for _, m := range ms {
		if m.Loss != 0 {
			loss = append(loss, m.Loss)
		}
		switch {
		case task == Classify && m.TestError != nil:
			test = append(test, 100**m.TestError)
		case task != Classify && m.TestBPD != nil:
			test = append(test, *m.TestBPD)
		}
	}
	if len(loss) < 2 {
		return nil, errors.Wrapf(os.ErrNotExist, "trainer: %s has fewer than two loss lines", path)
	}
	left, err := heatmap.LinePlot([][]float64{loss}, 384, 256)
	if err != nil {
		return nil, err
	}
	panels := []image.Image{heatmap.Captioned(left, fmt.Sprintf("training loss: %.4g -> %.4g", loss[0], loss[len(loss)-1]))}
	if len(test) > 0 {
		right, err := heatmap.LinePlot([][]float64{test}, 384, 256)
		if err != nil {
			return nil, err
		}
		what := fmt.Sprintf("test bits/dim per evaluation: last %.4f", test[len(test)-1])
		if task == Classify {
			what = fmt.Sprintf("test error %% per evaluation: last %.2f%%", test[len(test)-1])
		}
		panels = append(panels, heatmap.Captioned(right, what))
	}
	return heatmap.SideBySide(panels...), nil
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

// SummarizeIterations summarizes per-block fixed-point stats, as returned
// by Reconstruct.
func SummarizeIterations(stats map[string]blocks.FixedPointStats) IterationSummary {
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

// MaxPixelError is the largest |original − reconstruction| over the pixel
// intensities (in [0, 1]) of r.
func MaxPixelError(r Reconstruction) float64 {
	worst := 0.0
	for i, v := range r.Original.Pixels {
		if i < len(r.Reconstructed.Pixels) {
			worst = math.Max(worst, math.Abs(float64(v-r.Reconstructed.Pixels[i])))
		}
	}
	return worst
}
