package pictures

import (
	"fmt"
	"image"
	"os"
	"path/filepath"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/internal/figure"
	"github.com/iresnet/iresnet/internal/heatmap"
	"github.com/iresnet/iresnet/trainer"
	"github.com/pkg/errors"
)

// ImageOptions configures Images; zero fields take the defaults.
type ImageOptions struct {
	Samples int // images in samples.png (density and hybrid models); 0 means 64
	Recon   int // test images in reconstructions.png; 0 means 16
	Cols    int // images per grid row; 0 means 8
	Scale   int // each pixel drawn as a Scale×Scale block; 0 means 2
	// Metrics is the metrics file the curves are drawn from; "" means
	// trainer.MetricsFile in dir. No curves are drawn when it is missing.
	Metrics string
}

// Images writes, into dir, the pictures of an image model: samples.png (a
// grid of samples at temperature 1, for density and hybrid models),
// reconstructions.png (the first test images above F⁻¹(F(x)), captioned
// with the inverse's iterations and error) and curves.png (the training
// loss beside the held-out bits/dim or test error, from the metrics file
// when present). It returns the paths written; a non-converging inverse is
// an error that names the block, with the pictures written so far kept. A
// vanilla model (spectral normalization off) is not expected to invert:
// its reconstructions show what the failing inverse produces, and say so.
func Images(dir string, m *trainer.Trained, o ImageOptions) ([]string, error) {
	cfg := m.Config()
	if !cfg.Data.Quantized() {
		return nil, errors.New("pictures: image pictures need an image model; toy models use Toy")
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
	if o.Metrics == "" {
		o.Metrics = filepath.Join(dir, trainer.MetricsFile)
	}
	var written []string
	save := func(name string, img image.Image) error {
		p := filepath.Join(dir, name)
		if err := heatmap.SavePNG(p, img); err != nil {
			return err
		}
		written = append(written, p)
		return nil
	}
	// Nothing guarantees the inverse of a vanilla network or of another
	// family numerically: a failure is shown (captioned), not fatal.
	vanilla := cfg.Model.Lipschitz().Unconstrained
	unbounded := vanilla || !cfg.Model.IResNet()
	var nf *trainer.NotFiniteError
	if cfg.Objective.Task != trainer.Classify {
		b, err := m.SampleImages(o.Samples, 1)
		var img image.Image
		switch {
		case err == nil:
			if img, err = SampleGrid(b, SamplesCaption(b.N, 1, m.Steps()), o.Cols, o.Scale); err != nil {
				return written, err
			}
		case unbounded && errors.As(err, &nf):
			img = heatmap.Captioned(image.NewRGBA(image.Rect(0, 0, 1, 1)), fmt.Sprintf("%d samples at step %d: the inverse blew up", o.Samples, m.Steps()), fmt.Sprintf("(NaN or Inf in %d of %d values)", nf.Bad, nf.Total))
		default:
			return written, errors.Wrap(err, "pictures: samples")
		}
		if err := save(Samples, img); err != nil {
			return written, err
		}
	}
	held, err := m.HeldOut(o.Recon)
	if err != nil {
		return written, err
	}
	recon := m.Reconstruct
	if vanilla {
		recon = m.ReconstructLenient
	}
	r, err := recon(held.Points)
	var failed *blocks.FailedBlocksError
	verdict := ""
	switch {
	case vanilla && errors.As(err, &failed):
		verdict = fmt.Sprintf("vanilla: inverse did NOT converge in %d of %d blocks", len(failed.Blocks), len(r.Stats))
	case err != nil && r.Reconstructed.N == 0 && unbounded:
		verdict = "inverse blew up (Inf or NaN): not numerically invertible"
		if vanilla {
			verdict = "vanilla: " + verdict
		}
	case err != nil:
		return written, errors.Wrap(err, "pictures: reconstructions")
	}
	img, err := CaptionedReconstructions(r, o.Cols, o.Scale, verdict)
	if err != nil {
		return written, err
	}
	if err := save(Reconstructions, img); err != nil {
		return written, err
	}
	if img, err := imageCurves(o.Metrics, cfg.Objective.Task, cfg.Optim.EMADecay > 0); err == nil {
		if err := save(Curves, img); err != nil {
			return written, err
		}
	} else if !os.IsNotExist(errors.Cause(err)) {
		return written, err
	}
	return written, nil
}

// SamplesCaption is the caption of a grid of n samples drawn at the given
// temperature from the model at the given step, in two lines.
func SamplesCaption(n int, temperature float64, step int) []string {
	return []string{
		fmt.Sprintf("%d samples F^-1(z), z ~ N(0, T^2 I)", n),
		fmt.Sprintf("temperature T = %g, model at step %d", temperature, step),
	}
}

// SampleGrid draws the images of b in a grid of cols columns, each pixel a
// scale×scale block, under a caption of one or more lines.
func SampleGrid(b trainer.ImageBatch, caption []string, cols, scale int) (image.Image, error) {
	img, err := heatmap.ImageGrid(b.Pixels, b.N, b.C, b.H, b.W, cols, scale)
	if err != nil {
		return nil, errors.Wrap(err, "pictures: sample grid")
	}
	return heatmap.Captioned(img, caption...), nil
}

// CaptionedReconstructions draws r with ReconstructionGrid under a caption
// that says which rows are which and, as its second line, verdict; an
// empty verdict is replaced by the largest error and the range of
// fixed-point iterations per block.
func CaptionedReconstructions(r trainer.Reconstruction, cols, scale int, verdict string) (image.Image, error) {
	img, err := ReconstructionGrid(r, cols, scale)
	if err != nil {
		return nil, err
	}
	if verdict == "" {
		it := r.Iterations()
		verdict = fmt.Sprintf("max error %.2g; %d-%d fixed-point iterations per block", r.MaxAbsErr, it.Min, it.Max)
	}
	return heatmap.Captioned(img, fmt.Sprintf("%d test images (top), F^-1(F(x)) (below)", r.Original.N), verdict), nil
}

// ReconstructionGrid draws the original images of r in a grid above the
// grid of their reconstructions.
func ReconstructionGrid(r trainer.Reconstruction, cols, scale int) (*image.RGBA, error) {
	o, rec := r.Original, r.Reconstructed
	top, err := heatmap.ImageGrid(o.Pixels, o.N, o.C, o.H, o.W, cols, scale)
	if err != nil {
		return nil, errors.Wrap(err, "pictures: test images")
	}
	if rec.N == 0 {
		return heatmap.Stacked(top), nil
	}
	bottom, err := heatmap.ImageGrid(rec.Pixels, rec.N, rec.C, rec.H, rec.W, cols, scale)
	if err != nil {
		return nil, errors.Wrap(err, "pictures: reconstructions")
	}
	return heatmap.Stacked(top, bottom), nil
}

// imageCurves draws the training loss beside the held-out bits/dim
// (density, hybrid) or test error (classify) read from a metrics file, each
// against the step with axes, ticks, a title and a legend. ema says the
// evaluations used the averaged weights, which the legend then says.
func imageCurves(path string, task trainer.Task, ema bool) (image.Image, error) {
	ms, err := trainer.ReadMetrics(path)
	if err != nil {
		return nil, err
	}
	var step, loss, testStep, test []float64
	for _, m := range ms {
		if m.HasTrainingLoss() {
			step = append(step, float64(m.Step))
			loss = append(loss, m.Loss)
		}
		switch {
		case task == trainer.Classify && m.TestError != nil:
			testStep, test = append(testStep, float64(m.Step)), append(test, 100**m.TestError)
		case task != trainer.Classify && m.TestBPD != nil:
			testStep, test = append(testStep, float64(m.Step)), append(test, *m.TestBPD)
		}
	}
	if len(loss) < 2 {
		return nil, errors.Wrapf(os.ErrNotExist, "pictures: %s has fewer than two loss lines", path)
	}
	lossName := map[trainer.Task]string{trainer.Density: "−mean log p(x), nats per image", trainer.Classify: "cross-entropy", trainer.Hybrid: "hybrid loss"}[task]
	left, err := figure.Curves{
		Title:  fmt.Sprintf("training loss: %.4g at step %.0f, %.4g at step %.0f", loss[0], step[0], loss[len(loss)-1], step[len(step)-1]),
		XLabel: "step", YLabel: "loss",
		Series: []figure.Series{{Name: "training loss (" + lossName + ")", X: step, Y: loss}},
	}.Plot()
	if err != nil {
		return nil, errors.Wrap(err, "pictures: loss curve")
	}
	panels := []figure.Panel{{Plot: left, Width: 560}}
	if len(test) > 0 {
		weights := ""
		if ema {
			weights = ", EMA weights"
		}
		c := figure.Curves{
			Title:  fmt.Sprintf("held-out bits/dim: %.4f at step %.0f", test[len(test)-1], testStep[len(testStep)-1]),
			XLabel: "step", YLabel: "bits per dimension",
			XMin: step[0], XMax: step[len(step)-1],
			Series: []figure.Series{{Name: "test bits/dim" + weights, X: testStep, Y: test, Dots: true}},
		}
		if task == trainer.Classify {
			c.Title = fmt.Sprintf("held-out error: %.2f%% at step %.0f", test[len(test)-1], testStep[len(testStep)-1])
			c.YLabel = "test error (%)"
			c.Series[0].Name = "test error" + weights
		}
		right, err := c.Plot()
		if err != nil {
			return nil, errors.Wrap(err, "pictures: test curve")
		}
		panels = append(panels, figure.Panel{Plot: right, Width: 560})
	}
	return figure.Render(360, panels...)
}
