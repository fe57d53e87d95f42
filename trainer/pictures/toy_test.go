package pictures

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iresnet/iresnet/datasets"
	"github.com/iresnet/iresnet/internal/imagetest"
	"github.com/iresnet/iresnet/internal/traintest"
	"github.com/iresnet/iresnet/trainer"
)

func f64(v float64) *float64 { return &v }

// TestToyCurves checks what the toy curves show: the training loss at the
// logged steps (not the final evaluation line, which has none), the
// held-out NLL at the evaluated steps, the entropy floor of 8gaussians and
// of the checkerboard (log 32) and none for 2moons, and the EMA label.
func TestToyCurves(t *testing.T) {
	ms := []trainer.Metric{
		{Step: 50, Loss: 4.2, LR: 1e-3},
		{Step: 100, Loss: 3.9, LR: 1e-3, TestNLL: f64(4.0)},
		{Step: 150, Loss: 3.5, LR: 1e-3},
		{Step: 150, TestNLL: f64(3.6), EvalOnly: true}, // final evaluation
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

// TestToySizes checks that every toy picture is a plot of the documented
// layout: 400-pixel squares, the density with a 90-pixel colour bar, the
// panel all three side by side, the curves twice as wide as high; and that
// the pictures of a checkpoint opened from disk are those of the trainer
// that wrote it, byte for byte.
func TestToySizes(t *testing.T) {
	dir := t.TempDir()
	tr := traintest.New(t, traintest.Toy(3))
	if _, err := tr.Run(context.Background(), trainer.RunOptions{OutDir: dir}); err != nil {
		t.Fatal(err)
	}
	o := ToyOptions{Size: 24, Samples: 300}
	if _, err := Toy(dir, tr.Trained(), o); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][2]int{
		Data:    {400, 400},
		Density: {490, 400},
		Samples: {400, 400},
		Panel:   {1290, 400},
		Curves:  {800, 400},
	} {
		if w, h := imagetest.PNGSize(t, filepath.Join(dir, name)); w != want[0] || h != want[1] {
			t.Errorf("%s is %d×%d, want %d×%d", name, w, h, want[0], want[1])
		}
	}
	m, err := trainer.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	again := t.TempDir()
	o.Metrics = filepath.Join(dir, trainer.MetricsFile)
	if _, err := Toy(again, m, o); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{Data, Density, Samples, Curves} {
		a, _ := os.ReadFile(filepath.Join(dir, name))
		b, _ := os.ReadFile(filepath.Join(again, name))
		if string(a) != string(b) {
			t.Errorf("%s of the opened checkpoint differs from the trainer's", name)
		}
	}
}
