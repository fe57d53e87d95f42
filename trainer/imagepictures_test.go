package trainer

import (
	"context"
	"encoding/json"
	"errors"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/internal/heatmap"
	"github.com/iresnet/iresnet/internal/imagetest"
)

func pngSize(t *testing.T, path string) (w, h int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img.Bounds().Dx(), img.Bounds().Dy()
}

// TestWriteImagePictures runs each image task through Run and writes its
// pictures: samples only where there is a density, reconstructions and
// curves always; a vanilla classifier whose inverse fails still gets its
// reconstruction picture (captioned), not an error.
func TestWriteImagePictures(t *testing.T) {
	data := imagetest.TinyMNIST(t)
	for _, c := range []struct {
		name        string
		task        Task
		vanilla     bool
		wantSamples bool
		pad         int
	}{
		{"density", Density, false, true, 0},
		{"classify", Classify, false, false, 0},
		{"hybrid", Hybrid, false, true, 0},
		{"vanilla classifier", Classify, true, false, 0},
		{"classifier with injective padding", Classify, false, false, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := imageConfig(data)
			cfg.Objective.Task = c.task
			if c.pad > 0 {
				cfg.Model.MultiScale.PadChannels, cfg.Model.MultiScale.NoSplit = c.pad, true
			}
			if c.vanilla {
				cfg.Model.MultiScale.Unconstrained = true
				cfg.Model.MultiScale.Inverse = blocks.FixedPoint{MaxIter: 20}
			}
			tr := newTrainer(t, cfg)
			out := t.TempDir()
			if _, err := tr.Run(context.Background(), RunOptions{OutDir: out}); err != nil {
				t.Fatal(err)
			}
			if c.vanilla { // make sure this vanilla model cannot invert
				for _, nt := range tr.Model().(blocks.Tensorer).Tensors() {
					if nt.Learnable && nt.Value.Dims() == 4 {
						for i := range nt.Value.Data().([]float32) {
							nt.Value.Data().([]float32)[i] *= 3
						}
					}
				}
				tr.ema = nil
				var failed *blocks.FailedBlocksError
				if r, err := tr.ReconstructLenient(4); !errors.As(err, &failed) || r.Reconstructed.N != 4 {
					t.Fatalf("vanilla reconstruction: error %v with %d images; want a *FailedBlocksError and the last iterates", err, r.Reconstructed.N)
				}
				if _, err := tr.Reconstruct(4); err == nil {
					t.Fatal("the strict inverse of the vanilla model succeeded")
				}
			}
			paths, err := tr.WriteImagePictures(out, ImagePictureOptions{Samples: 6, Recon: 4, Cols: 4, Scale: 1})
			if err != nil {
				t.Fatal(err)
			}
			written := map[string]bool{}
			for _, p := range paths {
				written[filepath.Base(p)] = true
			}
			if written[SamplesPicture] != c.wantSamples || !written[ReconstructionsPicture] || !written[CurvesPicture] {
				t.Fatalf("wrote %v", paths)
			}
			// A row of four 8×8 test images above a row of four
			// reconstructions (heatmap.Gap apart), under a two-line caption.
			w, h := pngSize(t, filepath.Join(out, ReconstructionsPicture))
			if grid := 4*8 + 3*heatmap.GridGap; w < grid || h != (2*15+4)+8+heatmap.Gap+8 {
				t.Errorf("reconstructions.png is %d×%d", w, h)
			}
		})
	}
}

// TestEarlyStopLineCarriesTheTaskMetric: a run stopped early (time limit)
// evaluates where it is, and that last metrics line holds the classifier's
// test error, or the density's bits/dim.
func TestEarlyStopLineCarriesTheTaskMetric(t *testing.T) {
	data := imagetest.TinyMNIST(t)
	for _, task := range []Task{Classify, Density} {
		cfg := imageConfig(data)
		cfg.Objective.Task = task
		tr := newTrainer(t, cfg)
		out := t.TempDir()
		if _, err := tr.Run(context.Background(), RunOptions{OutDir: out, TimeLimit: time.Nanosecond}); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(out, MetricsFile))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		var m Metric
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &m); err != nil {
			t.Fatal(err)
		}
		switch {
		case m.Step != 1:
			t.Errorf("%v: last line at step %d, want 1", task, m.Step)
		case task == Classify && (m.TestError == nil || m.TestNLL != nil):
			t.Errorf("classifier's last line %s", lines[len(lines)-1])
		case task == Density && (m.TestBPD == nil || m.TestError != nil):
			t.Errorf("density's last line %s", lines[len(lines)-1])
		}
	}
}
