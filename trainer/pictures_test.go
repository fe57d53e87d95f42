package trainer

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iresnet/iresnet/datasets"
)

func f64(v float64) *float64 { return &v }

// TestToyCurves checks what the toy curves show: the training loss at the
// logged steps (not the final evaluation line, which has none), the
// held-out NLL at the evaluated steps, the entropy floor of 8gaussians and
// of the checkerboard (log 32) and none for 2moons, and the EMA label.
func TestToyCurves(t *testing.T) {
	ms := []Metric{
		{Step: 50, Loss: 4.2, LR: 1e-3},
		{Step: 100, Loss: 3.9, LR: 1e-3, TestNLL: f64(4.0)},
		{Step: 150, Loss: 3.5, LR: 1e-3},
		{Step: 150, TestNLL: f64(3.6)}, // final evaluation
	}
	c, ok := toyCurves(ms, datasets.EightGaussians, true)
	if !ok {
		t.Fatal("no curves from three loss lines")
	}
	loss, nll := c.Series[0], c.Series[1]
	if len(loss.X) != 3 || loss.X[2] != 150 || loss.Y[2] != 3.5 {
		t.Errorf("loss series %v %v, want steps 50, 100, 150", loss.X, loss.Y)
	}
	if len(nll.X) != 2 || nll.X[0] != 100 || nll.Y[1] != 3.6 || !nll.Dots {
		t.Errorf("held-out series %v %v, want (100, 4.0), (150, 3.6) with dots", nll.X, nll.Y)
	}
	if !strings.Contains(nll.Name, "EMA") || !strings.Contains(nll.Name, "exact") {
		t.Errorf("held-out legend %q should say exact log-det and EMA weights", nll.Name)
	}
	if len(c.Refs) != 1 || c.Refs[0].Y != datasets.EightGaussiansEntropy || !strings.Contains(c.Refs[0].Name, "entropy") {
		t.Errorf("8gaussians reference lines %+v", c.Refs)
	}
	if c.XLabel == "" || c.YLabel == "" || c.Title == "" {
		t.Errorf("curves lack a title or axis label: %+v", c)
	}
	if c, _ := toyCurves(ms, datasets.Checkerboard, false); len(c.Refs) != 1 || math.Abs(c.Refs[0].Y-3.4657359) > 1e-6 || strings.Contains(c.Series[1].Name, "EMA") {
		t.Errorf("checkerboard: refs %+v, held-out legend %q", c.Refs, c.Series[1].Name)
	}
	if c, _ := toyCurves(ms, datasets.TwoMoons, false); len(c.Refs) != 0 {
		t.Errorf("2moons has no known entropy, got reference lines %+v", c.Refs)
	}
	if _, ok := toyCurves(ms[:1], datasets.EightGaussians, false); ok {
		t.Error("curves from a single loss line")
	}
}

// TestWritePicturesSizes checks that every toy picture is a plot of the
// documented layout: 400-pixel squares, the density with a 90-pixel colour
// bar, the panel all three side by side, the curves twice as wide as high.
func TestWritePicturesSizes(t *testing.T) {
	dir := t.TempDir()
	tr := newTrainer(t, tinyConfig(3))
	if _, err := tr.Run(context.Background(), RunOptions{OutDir: dir}); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.WritePictures(dir, PictureOptions{Size: 24, Samples: 300}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][2]int{
		DataPicture:    {400, 400},
		DensityPicture: {490, 400},
		SamplesPicture: {400, 400},
		PanelPicture:   {1290, 400},
		CurvesPicture:  {800, 400},
	} {
		if w, h := pngSize(t, filepath.Join(dir, name)); w != want[0] || h != want[1] {
			t.Errorf("%s is %d×%d, want %d×%d", name, w, h, want[0], want[1])
		}
	}
}

// TestImageCurves checks the image curves picture: two panels (loss and the
// task's test metric) of 560×360, or the loss alone before any evaluation.
func TestImageCurves(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, MetricsFile)
	write := func(ms ...Metric) {
		var b strings.Builder
		for _, m := range ms {
			line, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			b.Write(append(line, '\n'))
		}
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(Metric{Step: 10, Loss: 2, LR: 1e-3}, Metric{Step: 20, Loss: 1.5, LR: 1e-3, TestError: f64(0.2)}, Metric{Step: 20, TestError: f64(0.18)})
	img, err := imageCurves(path, Classify, true)
	if err != nil {
		t.Fatal(err)
	}
	if w, h := img.Bounds().Dx(), img.Bounds().Dy(); w != 1120 || h != 360 {
		t.Errorf("curves with a test metric are %d×%d, want 1120×360", w, h)
	}
	write(Metric{Step: 10, Loss: 2, LR: 1e-3}, Metric{Step: 20, Loss: 1.5, LR: 1e-3})
	if img, err = imageCurves(path, Density, false); err != nil {
		t.Fatal(err)
	}
	if w := img.Bounds().Dx(); w != 560 {
		t.Errorf("loss-only curves are %d wide, want 560", w)
	}
	write(Metric{Step: 10, Loss: 2, LR: 1e-3})
	if _, err := imageCurves(path, Density, false); !os.IsNotExist(err) && !strings.Contains(err.Error(), "fewer than two") {
		t.Errorf("one loss line: error %v, want fewer than two", err)
	}
}

// TestSamplesCaption: an image sample grid says what it shows, at which
// temperature and of which step, in lines no wider than a 64-image grid
// of 28×28 digits (8 columns at scale 2: 8·56 + 7 gaps ≈ 460 pixels, 65
// characters of the 7-pixel caption font).
func TestSamplesCaption(t *testing.T) {
	lines := SamplesCaption(64, 0.7, 150)
	text := strings.Join(lines, "\n")
	for _, want := range []string{"64 samples", "T = 0.7", "step 150"} {
		if !strings.Contains(text, want) {
			t.Errorf("caption %q lacks %q", text, want)
		}
	}
	for _, l := range lines {
		if len(l) > 65 {
			t.Errorf("caption line %q is %d characters, wider than the grid", l, len(l))
		}
	}
}
