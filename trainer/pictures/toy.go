// Package pictures draws what a trained model does, as PNG files a person
// can read: for a 2-D toy density the data, the model's density as a heat
// map with a colour bar, samples and the training curves against the
// data's entropy (Toy); for an image model grids of samples and of test
// images above their reconstructions, captioned, and the loss beside the
// held-out bits/dim or test error (Images). Every plot has axes, ticks, a
// title and a legend where it has several series (gonum/plot). A model is a
// *trainer.Trained: opened from a checkpoint (trainer.Open) or a running
// trainer's (Trainer.Trained).
package pictures

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/iresnet/iresnet/datasets"
	"github.com/iresnet/iresnet/internal/figure"
	"github.com/iresnet/iresnet/internal/heatmap"
	"github.com/iresnet/iresnet/trainer"
	"github.com/pkg/errors"
	"gonum.org/v1/plot"
)

// File names of the pictures.
const (
	Data            = "data.png"
	Density         = "density.png"
	Samples         = "samples.png"
	Curves          = "curves.png"
	Panel           = "panel.png" // data | density | samples side by side
	Reconstructions = "reconstructions.png"
)

// ToyOptions configures Toy; zero fields take the defaults.
type ToyOptions struct {
	Bounds  heatmap.Rect // plotted region; zero means [−4, 4]², the usual toy range
	Size    int          // cells per side of the grid the density is evaluated on; 0 means 256 (the plots are 400 pixels square)
	Samples int          // points in the data and sample scatter plots; 0 means 20000
	// Metrics is the metrics file the curves are drawn from; "" means
	// trainer.MetricsFile in dir. No curves are drawn when it is missing.
	Metrics string
}

// Toy writes, into dir: data.png (a scatter plot of the training
// distribution), density.png (a heat map of the model's density exp(log p)
// on a grid, with the exact log-det, and a colour bar), samples.png (a
// scatter plot of base samples pushed through the inverse), panel.png (the
// three side by side, each titled) and curves.png (training loss and
// held-out NLL against the step, with the data's entropy where it is known,
// from the metrics file when present). It returns the paths written.
func Toy(dir string, m *trainer.Trained, o ToyOptions) ([]string, error) {
	if o.Bounds == (heatmap.Rect{}) {
		o.Bounds = heatmap.Rect{XMin: -4, XMax: 4, YMin: -4, YMax: 4}
	}
	if o.Size == 0 {
		o.Size = 256
	}
	if o.Samples == 0 {
		o.Samples = 20000
	}
	if o.Metrics == "" {
		o.Metrics = filepath.Join(dir, trainer.MetricsFile)
	}
	cfg := m.Config()
	toy, ok := cfg.Data.Toy()
	if !ok {
		return nil, errors.Errorf("pictures: density pictures need 2-D toy data, the model takes %v", m.InputShape())
	}
	var written []string
	save := func(name string, height int, panels ...figure.Panel) error {
		img, err := figure.Render(height, panels...)
		if err != nil {
			return errors.Wrapf(err, "pictures: drawing %s", name)
		}
		p := filepath.Join(dir, name)
		if err := heatmap.SavePNG(p, img); err != nil {
			return err
		}
		written = append(written, p)
		return nil
	}
	const side = 400 // pixels per square plot
	// The data's draw depends on the seed and step only, as the model's
	// samples do, so the pictures of one checkpoint are always the same.
	rng := rand.New(rand.NewPCG(cfg.Seed^0xda7a, uint64(m.Steps())))
	data, err := toy.Sample(rng, o.Samples)
	if err != nil {
		return written, err
	}
	dataPlot, err := figure.Scatter(fmt.Sprintf("data: %v, %d points", cfg.Data, o.Samples), data, o.Bounds)
	if err != nil {
		return written, errors.Wrap(err, "pictures: data")
	}
	if err := save(Data, side, figure.Panel{Plot: dataPlot}); err != nil {
		return written, err
	}
	logp, err := m.LogProb(heatmap.Grid(o.Bounds, o.Size))
	if err != nil {
		return written, errors.Wrap(err, "pictures: density on the grid")
	}
	how := "exact log-det"
	if !m.ExactLogDet() {
		how = "estimated log-det"
	}
	densPlot, bar, err := figure.Density(fmt.Sprintf("model density p(x), step %d (%s)", m.Steps(), how), "p(x)", logp, o.Bounds, o.Size)
	if err != nil {
		return written, errors.Wrap(err, "pictures: density")
	}
	if err := save(Density, side, figure.Panel{Plot: densPlot, Bar: bar}); err != nil {
		return written, err
	}
	samplePlot, err := samplesPlot(m, o.Samples, o.Bounds)
	if err != nil {
		return written, err
	}
	if err := save(Samples, side, figure.Panel{Plot: samplePlot}); err != nil {
		return written, err
	}
	if err := save(Panel, side, figure.Panel{Plot: dataPlot}, figure.Panel{Plot: densPlot, Bar: bar}, figure.Panel{Plot: samplePlot}); err != nil {
		return written, err
	}
	ms, err := trainer.ReadMetrics(o.Metrics)
	if err != nil && !os.IsNotExist(errors.Cause(err)) {
		return written, err
	}
	if c, ok := toyCurves(ms, toy, cfg.Optim.EMADecay > 0); ok {
		p, err := c.Plot()
		if err != nil {
			return written, errors.Wrap(err, "pictures: curves")
		}
		if err := save(Curves, side, figure.Panel{Plot: p, Width: 2 * side}); err != nil {
			return written, err
		}
	}
	return written, nil
}

// samplesPlot draws n samples of a toy model at temperature 1 and
// returns their scatter plot over bounds.
func samplesPlot(m *trainer.Trained, n int, bounds heatmap.Rect) (*plot.Plot, error) {
	pts, err := m.Sample(n, 1)
	if err != nil {
		return nil, err
	}
	p, err := figure.Scatter(fmt.Sprintf("model samples F⁻¹(z), z ~ N(0, I), step %d", m.Steps()), pts, bounds)
	return p, errors.Wrap(err, "pictures: samples")
}

// toyCurves describes the training curves of a toy run: the training loss
// (the estimated −log p of each batch) and the held-out NLL with the exact
// log-det (of the averaged weights when ema) against the step, and the
// entropy of the data where it is known, the lowest NLL any model can
// reach. ok is false with fewer than two metric lines.
func toyCurves(ms []trainer.Metric, data datasets.Toy, ema bool) (c figure.Curves, ok bool) {
	var step, loss, nllStep, nll []float64
	for _, m := range ms {
		if m.TestNLL != nil {
			nllStep = append(nllStep, float64(m.Step))
			nll = append(nll, *m.TestNLL)
		}
		if !m.HasTrainingLoss() {
			continue
		}
		step = append(step, float64(m.Step))
		loss = append(loss, m.Loss)
	}
	if len(step) < 2 {
		return c, false
	}
	c = figure.Curves{
		Title:  fmt.Sprintf("training on %v", data),
		XLabel: "step",
		YLabel: "negative log-likelihood (nats per point)",
		Series: []figure.Series{
			{Name: "training loss (batch, estimated log-det)", X: step, Y: loss},
			{Name: "held-out NLL (exact log-det)", X: nllStep, Y: nll, Dots: true},
		},
	}
	if ema {
		c.Series[1].Name = "held-out NLL (exact log-det, EMA weights)"
	}
	if h, ok := data.Entropy(); ok {
		c.Refs = append(c.Refs, figure.Ref{Name: fmt.Sprintf("entropy of the data %.3f (best possible)", h), Y: h})
	}
	return c, true
}
