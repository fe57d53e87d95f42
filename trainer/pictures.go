package trainer

import (
	"bufio"
	"encoding/json"
	"image"
	"math"
	"os"
	"path/filepath"

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
	Size    int          // pixels per side; 0 means 256
	Samples int          // points in the data and sample histograms; 0 means 20000
}

// WritePictures writes, into dir: data.png (a histogram of the training
// distribution), density.png (the model's density exp(log p) on a grid,
// with the evaluation estimator: exact for 2-D), samples.png (a histogram
// of base samples pushed through the inverse), panel.png (the three side
// by side) and curves.png (training loss and held-out NLL from the metrics
// file, when present). It returns the paths written.
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
	if t.cfg.Images != nil || t.cfg.Model.Dim != 2 {
		return nil, errors.Errorf("trainer: density pictures need 2-D toy data, model is %d-D", t.cfg.dim())
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
	data, err := t.cfg.Data.Sample(t.sideRng(0xda7a), o.Samples)
	if err != nil {
		return written, err
	}
	img, err := heatmap.Histogram(data, o.Bounds, o.Size)
	if err != nil {
		return written, errors.Wrap(err, "trainer: data picture")
	}
	if err := save(DataPicture, img); err != nil {
		return written, err
	}
	panel := []image.Image{img}
	logp, err := t.LogProb(heatmap.Grid(o.Bounds, o.Size))
	if err != nil {
		return written, errors.Wrap(err, "trainer: density on the grid")
	}
	if img, err = heatmap.Density(logp, o.Size); err != nil {
		return written, errors.Wrap(err, "trainer: density picture")
	}
	if err := save(DensityPicture, img); err != nil {
		return written, err
	}
	panel = append(panel, img)
	pts, err := t.Sample(o.Samples, 1)
	if err != nil {
		return written, err
	}
	if img, err = heatmap.Histogram(pts, o.Bounds, o.Size); err != nil {
		return written, errors.Wrap(err, "trainer: samples picture")
	}
	if err := save(SamplesPicture, img); err != nil {
		return written, err
	}
	if err := save(PanelPicture, heatmap.SideBySide(append(panel, img)...)); err != nil {
		return written, err
	}
	if curves, err := curvesFrom(filepath.Join(dir, MetricsFile)); err == nil && len(curves[0]) > 1 {
		img, err := heatmap.LinePlot(curves, 3*o.Size, o.Size)
		if err != nil {
			return written, err
		}
		if err := save(CurvesPicture, img); err != nil {
			return written, err
		}
	}
	return written, nil
}

// curvesFrom reads the training loss and the held-out NLL (NaN where not
// evaluated) from a metrics file.
func curvesFrom(path string) ([][]float64, error) {
	ms, err := readMetrics(path)
	if err != nil {
		return nil, err
	}
	var loss, nll []float64
	for _, m := range ms {
		if m.Loss == 0 && m.TestNLL != nil { // final evaluation line
			continue
		}
		loss = append(loss, m.Loss)
		if m.TestNLL != nil {
			nll = append(nll, *m.TestNLL)
		} else {
			nll = append(nll, math.NaN())
		}
	}
	return [][]float64{loss, nll}, nil
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
