package trainer

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/iresnet/iresnet/datasets"
	"github.com/iresnet/iresnet/internal/figure"
	"github.com/iresnet/iresnet/internal/heatmap"
	"github.com/pkg/errors"
)

// Picture file names written by WritePictures.
const (
	DataPicture    = "data.png"
	DensityPicture = "density.png"
	SamplesPicture = "samples.png"
	CurvesPicture  = "curves.png"
	PanelPicture   = "panel.png" // data | density | samples side by side
)

// PictureOptions configures WritePictures; zero fields take the defaults.
type PictureOptions struct {
	Bounds  heatmap.Rect // plotted region; zero means [−4, 4]², the usual toy range
	Size    int          // cells per side of the grid the density is evaluated on; 0 means 256 (the plots are 400 pixels square)
	Samples int          // points in the data and sample scatter plots; 0 means 20000
}

// WritePictures writes, into dir: data.png (a scatter plot of the training
// distribution), density.png (a heat map of the model's density exp(log p)
// on a grid, with the evaluation estimator — exact for 2-D — and a colour
// bar), samples.png (a scatter plot of base samples pushed through the
// inverse), panel.png (the three side by side, each titled) and curves.png
// (training loss and held-out NLL against the step, with the data's entropy
// where it is known, from the metrics file, when present). Every plot has
// axes, ticks and a title. It returns the paths written.
func (t *Trainer) WritePictures(dir string, o PictureOptions) ([]string, error) {
	if o.Bounds == (heatmap.Rect{}) {
		o.Bounds = heatmap.Rect{XMin: -4, XMax: 4, YMin: -4, YMax: 4}
	}
	if o.Size == 0 {
		o.Size = 256
	}
	if o.Samples == 0 {
		o.Samples = 20000
	}
	if _, ok := t.cfg.Data.Toy(); !ok {
		return nil, errors.Errorf("trainer: density pictures need 2-D toy data, model is %d-D", t.cfg.dim())
	}
	var written []string
	save := func(name string, height int, panels ...figure.Panel) error {
		img, err := figure.Render(height, panels...)
		if err != nil {
			return errors.Wrapf(err, "trainer: drawing %s", name)
		}
		p := filepath.Join(dir, name)
		if err := heatmap.SavePNG(p, img); err != nil {
			return err
		}
		written = append(written, p)
		return nil
	}
	const side = 400 // pixels per square plot
	toy, _ := t.cfg.Data.Toy()
	data, err := toy.Sample(t.sideRng(0xda7a), o.Samples)
	if err != nil {
		return written, err
	}
	dataPlot, err := figure.Scatter(fmt.Sprintf("data: %v, %d points", t.cfg.Data, o.Samples), data, o.Bounds)
	if err != nil {
		return written, errors.Wrap(err, "trainer: data picture")
	}
	if err := save(DataPicture, side, figure.Panel{Plot: dataPlot}); err != nil {
		return written, err
	}
	logp, err := t.LogProb(heatmap.Grid(o.Bounds, o.Size))
	if err != nil {
		return written, errors.Wrap(err, "trainer: density on the grid")
	}
	how := "exact log-det"
	if !t.evalExact() {
		how = "estimated log-det"
	}
	densPlot, bar, err := figure.Density(fmt.Sprintf("model density p(x), step %d (%s)", t.step, how), "p(x)", logp, o.Bounds, o.Size)
	if err != nil {
		return written, errors.Wrap(err, "trainer: density picture")
	}
	if err := save(DensityPicture, side, figure.Panel{Plot: densPlot, Bar: bar}); err != nil {
		return written, err
	}
	pts, err := t.Sample(o.Samples, 1)
	if err != nil {
		return written, err
	}
	samplePlot, err := figure.Scatter(fmt.Sprintf("model samples F⁻¹(z), z ~ N(0, I), step %d", t.step), pts, o.Bounds)
	if err != nil {
		return written, errors.Wrap(err, "trainer: samples picture")
	}
	if err := save(SamplesPicture, side, figure.Panel{Plot: samplePlot}); err != nil {
		return written, err
	}
	if err := save(PanelPicture, side, figure.Panel{Plot: dataPlot}, figure.Panel{Plot: densPlot, Bar: bar}, figure.Panel{Plot: samplePlot}); err != nil {
		return written, err
	}
	ms, err := readMetrics(filepath.Join(dir, MetricsFile))
	if err != nil && !os.IsNotExist(errors.Cause(err)) {
		return written, err
	}
	if c, ok := toyCurves(ms, toy, t.cfg.Optim.EMADecay > 0); ok {
		p, err := c.Plot()
		if err != nil {
			return written, errors.Wrap(err, "trainer: curves picture")
		}
		if err := save(CurvesPicture, side, figure.Panel{Plot: p, Width: 2 * side}); err != nil {
			return written, err
		}
	}
	return written, nil
}

// evalExact reports whether evaluation uses the exact log-det (2-D toys:
// always, see Evaluate).
func (t *Trainer) evalExact() bool { return t.cfg.dim() <= exactMaxDim }

// toyCurves describes the training curves of a toy run: the training loss
// (the estimated −log p of each batch) and the held-out NLL with the exact
// log-det (of the averaged weights when ema) against the step, and the
// entropy of the data where it is known, the lowest NLL any model can
// reach. ok is false with fewer than two metric lines.
func toyCurves(ms []Metric, data datasets.Toy, ema bool) (c figure.Curves, ok bool) {
	var step, loss, nllStep, nll []float64
	for _, m := range ms {
		if m.TestNLL != nil {
			nllStep = append(nllStep, float64(m.Step))
			nll = append(nll, *m.TestNLL)
		}
		if !hasTrainingLoss(m) {
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
	if h, ok := toyEntropy(data); ok {
		c.Refs = append(c.Refs, figure.Ref{Name: fmt.Sprintf("entropy of the data %.3f (best possible)", h), Y: h})
	}
	return c, true
}

// hasTrainingLoss reports whether m carries a training loss: an
// evaluation-only line (in older files: loss and lr 0) has none.
func hasTrainingLoss(m Metric) bool { return !m.EvalOnly && !(m.Loss == 0 && m.LR == 0) }

// toyEntropy returns the differential entropy of a toy density where it is
// known in closed form or by quadrature: the lowest expected NLL.
func toyEntropy(d datasets.Toy) (float64, bool) {
	switch d {
	case datasets.EightGaussians:
		return datasets.EightGaussiansEntropy, true
	case datasets.Checkerboard: // uniform on 8 squares of side 2: log 32
		return math.Log(32), true
	}
	return 0, false
}

// readMetrics reads every line of a metrics file.
func readMetrics(path string) ([]Metric, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Metric
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m Metric
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			return nil, errors.Wrapf(err, "trainer: %s", path)
		}
		out = append(out, m)
	}
	return out, errors.Wrapf(sc.Err(), "trainer: %s", path)
}
