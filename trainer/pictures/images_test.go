package pictures

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/internal/heatmap"
	"github.com/iresnet/iresnet/internal/imagetest"
	"github.com/iresnet/iresnet/internal/traintest"
	"github.com/iresnet/iresnet/trainer"
)

// TestImages runs each image task through Run and writes its pictures:
// samples only where there is a density, reconstructions and curves
// always; a vanilla classifier whose inverse fails still gets its
// reconstruction picture (captioned), not an error.
func TestImages(t *testing.T) {
	data := imagetest.TinyMNIST(t)
	for _, c := range []struct {
		name        string
		task        trainer.Task
		vanilla     bool
		wantSamples bool
		pad         int
	}{
		{"density", trainer.Density, false, true, 0},
		{"classify", trainer.Classify, false, false, 0},
		{"hybrid", trainer.Hybrid, false, true, 0},
		{"vanilla classifier", trainer.Classify, true, false, 0},
		{"classifier with injective padding", trainer.Classify, false, false, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := traintest.Image(data)
			cfg.Objective.Task = c.task
			if c.pad > 0 {
				cfg.Model.MultiScale.PadChannels, cfg.Model.MultiScale.NoSplit = c.pad, true
			}
			if c.vanilla {
				cfg.Model.MultiScale.Unconstrained = true
				cfg.Model.MultiScale.Inverse = blocks.FixedPoint{MaxIter: 20}
				cfg.Optim.EMADecay = 0 // evaluation reads the weights scaled below
			}
			tr := traintest.New(t, cfg)
			out := t.TempDir()
			if _, err := tr.Run(context.Background(), trainer.RunOptions{OutDir: out}); err != nil {
				t.Fatal(err)
			}
			m := tr.Trained()
			if c.vanilla { // make sure this vanilla model cannot invert
				for _, nt := range m.Model().Tensors() {
					if nt.Learnable && nt.Value.Dims() == 4 {
						for i := range nt.Value.Data().([]float32) {
							nt.Value.Data().([]float32)[i] *= 3
						}
					}
				}
				held, err := m.HeldOut(4)
				if err != nil {
					t.Fatal(err)
				}
				var failed *blocks.FailedBlocksError
				if r, err := m.ReconstructLenient(held.Points); !errors.As(err, &failed) || r.Reconstructed.N != 4 {
					t.Fatalf("vanilla reconstruction: error %v with %d images; want a *FailedBlocksError and the last iterates", err, r.Reconstructed.N)
				}
				if _, err := m.Reconstruct(held.Points); err == nil {
					t.Fatal("the strict inverse of the vanilla model succeeded")
				}
			}
			paths, err := Images(out, m, ImageOptions{Samples: 6, Recon: 4, Cols: 4, Scale: 1})
			if err != nil {
				t.Fatal(err)
			}
			written := map[string]bool{}
			for _, p := range paths {
				written[filepath.Base(p)] = true
			}
			if written[Samples] != c.wantSamples || !written[Reconstructions] || !written[Curves] {
				t.Fatalf("wrote %v", paths)
			}
			// A row of four 8×8 test images above a row of four
			// reconstructions (heatmap.Gap apart), under a two-line caption.
			w, h := imagetest.PNGSize(t, filepath.Join(out, Reconstructions))
			if grid := 4*8 + 3*heatmap.GridGap; w < grid || h != (2*15+4)+8+heatmap.Gap+8 {
				t.Errorf("reconstructions.png is %d×%d", w, h)
			}
		})
	}
}

// TestImageCurves checks the image curves picture: two panels (loss and the
// task's test metric) of 560×360, or the loss alone before any evaluation.
func TestImageCurves(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, trainer.MetricsFile)
	write := func(ms ...trainer.Metric) {
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
	write(trainer.Metric{Step: 10, Loss: 2, LR: 1e-3}, trainer.Metric{Step: 20, Loss: 1.5, LR: 1e-3, TestError: f64(0.2)}, trainer.Metric{Step: 20, TestError: f64(0.18), EvalOnly: true})
	img, err := imageCurves(path, trainer.Classify, true)
	if err != nil {
		t.Fatal(err)
	}
	if w, h := img.Bounds().Dx(), img.Bounds().Dy(); w != 1120 || h != 360 {
		t.Errorf("curves with a test metric are %d×%d, want 1120×360", w, h)
	}
	write(trainer.Metric{Step: 10, Loss: 2, LR: 1e-3}, trainer.Metric{Step: 20, Loss: 1.5, LR: 1e-3})
	if img, err = imageCurves(path, trainer.Density, false); err != nil {
		t.Fatal(err)
	}
	if w := img.Bounds().Dx(); w != 560 {
		t.Errorf("loss-only curves are %d wide, want 560", w)
	}
	write(trainer.Metric{Step: 10, Loss: 2, LR: 1e-3})
	if _, err := imageCurves(path, trainer.Density, false); !os.IsNotExist(err) && !strings.Contains(err.Error(), "fewer than two") {
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

// TestImagesOfAnOverflowingInverse: a Glow model whose affine couplings
// scale by sigmoid(−200) (0 in float32) cannot be inverted numerically: the
// inverse divides by 0. The
// reconstruction is an error that says so (not NaN numbers), and the
// pictures show the failure in the caption instead of failing the run.
func TestImagesOfAnOverflowingInverse(t *testing.T) {
	cfg, err := traintest.Image(imagetest.TinyMNIST(t)).WithFamily("glow", []int{1, 8, 8})
	if err != nil {
		t.Fatal(err)
	}
	tr := traintest.New(t, cfg)
	traintest.Steps(t, tr, 1)
	m := tr.Trained()
	scaled := 0
	for _, nt := range m.Model().Tensors() {
		if strings.HasSuffix(nt.Name, "/net/conv_out/b") { // the coupling nets' last biases: s and t
			for i := range nt.Value.Data().([]float32) {
				nt.Value.Data().([]float32)[i] = -200
			}
			scaled++
		}
	}
	if scaled == 0 {
		t.Fatal("no coupling nets")
	}
	held, err := m.HeldOut(4)
	if err != nil {
		t.Fatal(err)
	}
	r, err := m.Reconstruct(held.Points)
	if err == nil || !strings.Contains(err.Error(), "NaN or Inf") || r.Reconstructed.N != 0 || r.MaxAbsErr != 0 {
		t.Fatalf("reconstruction: error %v, %d images, max error %v; want the NaN/Inf error and no numbers", err, r.Reconstructed.N, r.MaxAbsErr)
	}
	out := t.TempDir()
	paths, err := Images(out, m, ImageOptions{Samples: 4, Recon: 4, Cols: 4, Scale: 1})
	if err != nil {
		t.Fatalf("pictures of a non-invertible Glow: %v", err)
	}
	found := false
	for _, p := range paths {
		found = found || filepath.Base(p) == Reconstructions
	}
	if !found {
		t.Errorf("wrote %v, want %s", paths, Reconstructions)
	}
}
