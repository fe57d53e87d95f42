package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/datasets"
	"github.com/iresnet/iresnet/estimator"
	"github.com/iresnet/iresnet/graph"
	"github.com/iresnet/iresnet/internal/heatmap"
	"github.com/iresnet/iresnet/internal/imagetest"
	"github.com/iresnet/iresnet/trainer"
)

func imageConfig(dir string) trainer.Config {
	return trainer.Config{
		Data: datasets.SourceConfig{Name: "mnist", Dir: dir, LogitAlpha: 1e-6},
		Model: trainer.ModelConfig{MultiScale: &blocks.MultiScaleConfig{
			Channels: 1, Height: 8, Width: 8, Scales: 2, Blocks: 1, Hidden: []int{4, 4},
			InitSqueeze: true, ActNorm: true, Lipschitz: blocks.Lipschitz{Act: graph.ELU}}},
		Terms: 2, Gradient: estimator.NeumannGradient, Optim: trainer.Optim{LR: 1e-3},
		BatchSize: 16, Steps: 6, EvalSize: 32, EvalBatch: 16, EvalEvery: 3, LogEvery: 3, SaveEvery: 3, Seed: 1,
	}
}

// checkpoint trains cfg for two steps and saves it in a new run folder.
func checkpoint(t *testing.T, cfg trainer.Config) string {
	t.Helper()
	tr, err := trainer.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	for i := 0; i < 2; i++ {
		if _, err := tr.Step(); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(t.TempDir(), "run")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := tr.Save(filepath.Join(dir, trainer.CheckpointFile)); err != nil {
		t.Fatal(err)
	}
	return dir
}

// gridSize is the size of heatmap.ImageGrid's grid of n 8×8 images.
func gridSize(n, cols, scale int) (w, h int) {
	cols = min(cols, n)
	rows := (n + cols - 1) / cols
	return cols*8*scale + (cols-1)*heatmap.GridGap, rows*8*scale + (rows-1)*heatmap.GridGap
}

// captionH is the height heatmap.Captioned adds for lines of caption.
func captionH(lines int) int { return lines*15 + 4 }

// TestSamplesAndReconstructions checks the captioned grids' sizes, that
// they go to RUN/sample by default (never over the training run's own
// pictures), and the printed report.
func TestSamplesAndReconstructions(t *testing.T) {
	run1 := checkpoint(t, imageConfig(imagetest.TinyMNIST(t)))
	trained := []byte("the training run's picture")
	for _, f := range []string{"samples.png", reconFile} {
		if err := os.WriteFile(filepath.Join(run1, f), trained, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var out, errb bytes.Buffer
	if err := run([]string{"-checkpoint", run1, "-n", "10", "-recon", "5"}, &out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	t.Log(out.String())
	for _, f := range []string{"samples.png", reconFile} {
		if b, err := os.ReadFile(filepath.Join(run1, f)); err != nil || !bytes.Equal(b, trained) {
			t.Errorf("%s of the training run was overwritten (%v)", f, err)
		}
	}
	dst1 := filepath.Join(run1, defaultOutDir)
	w, h := imagetest.PNGSize(t, filepath.Join(dst1, "samples.png"))
	if ww, wh := gridSize(10, 8, 2); w < ww || h != wh+captionH(2) {
		t.Errorf("samples.png is %d×%d, want width ≥ %d and height %d (grid and two caption lines)", w, h, ww, wh+captionH(2))
	}
	w, h = imagetest.PNGSize(t, filepath.Join(dst1, reconFile))
	if ww, wh := gridSize(5, 8, 2); w < ww || h != 2*wh+heatmap.Gap+captionH(2) {
		t.Errorf("%s is %d×%d, want width ≥ %d and height %d (two grids, two caption lines)", reconFile, w, h, ww, 2*wh+heatmap.Gap+captionH(2))
	}
	for _, s := range []string{"fixed-point iterations per block min", "max reconstruction error", "in pixels", "5 test images"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("output does not mention %q:\n%s", s, out.String())
		}
	}

	// A temperature goes into the file name; -out may be a new folder; the
	// checkpoint may be named as a file.
	dst := filepath.Join(t.TempDir(), "pics")
	out.Reset()
	args := []string{"-checkpoint", filepath.Join(run1, trainer.CheckpointFile), "-out", dst, "-temperature", "0.7", "-n", "3", "-recon", "0", "-cols", "2", "-scale", "1"}
	if err := run(args, &out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	w, h = imagetest.PNGSize(t, filepath.Join(dst, "samples_T0.7.png"))
	if ww, wh := gridSize(3, 2, 1); w < ww || h != wh+captionH(2) {
		t.Errorf("samples_T0.7.png is %d×%d, want width ≥ %d and height %d", w, h, ww, wh+captionH(2))
	}
	if _, err := os.Stat(filepath.Join(dst, reconFile)); err == nil {
		t.Errorf("-recon 0 wrote %s", reconFile)
	}
}

func TestNonConvergingInverseWritesNothing(t *testing.T) {
	cfg := imageConfig(imagetest.TinyMNIST(t))
	cfg.Model.MultiScale.Inverse = blocks.FixedPoint{MaxIter: 1} // no inverse converges in one step
	dir := checkpoint(t, cfg)
	for _, args := range [][]string{{"-n", "4"}, {"-n", "0", "-recon", "4"}} {
		var out, errb bytes.Buffer
		err := run(append([]string{"-checkpoint", dir}, args...), &out, &errb)
		t.Log(err)
		if err == nil {
			t.Fatalf("%v: no error", args)
		}
		for _, s := range []string{"did not converge", "inverting block", "inverting scale"} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%v: error %q does not mention %q", args, err, s)
			}
		}
		for _, f := range []string{"samples.png", reconFile} {
			if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
				t.Errorf("%v: %s written despite the failing inverse", args, f)
			}
		}
	}
}

// readCSV reads the points of a samples CSV file, checking its header.
func readCSV(t *testing.T, path string) [][2]float64 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if lines[0] != "x1,x2" {
		t.Fatalf("%s: header %q, want x1,x2", path, lines[0])
	}
	var pts [][2]float64
	for i, l := range lines[1:] {
		var p [2]float64
		if _, err := fmt.Sscanf(l, "%g,%g", &p[0], &p[1]); err != nil {
			t.Fatalf("%s line %d %q: %v", path, i+2, l, err)
		}
		pts = append(pts, p)
	}
	return pts
}

// TestToySamples: a toy checkpoint gives a scatter plot and a CSV of the
// points (2000 by default), named by temperature, in RUN/sample; a lower
// temperature draws points closer to F⁻¹(0), i.e. with a smaller spread
// around their mean.
func TestToySamples(t *testing.T) {
	cfg := trainer.DefaultToyConfig()
	cfg.Model.DenseFlow.Blocks, cfg.Model.DenseFlow.Hidden, cfg.BatchSize, cfg.EvalSize, cfg.EvalBatch = 1, []int{8}, 16, 16, 16
	dir := checkpoint(t, cfg)
	var out, errb bytes.Buffer
	if err := run([]string{"-checkpoint", dir}, &out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	t.Log(out.String())
	full := readCSV(t, filepath.Join(dir, defaultOutDir, "samples.csv"))
	if len(full) != defaultToySamples {
		t.Errorf("samples.csv holds %d points, want the default %d", len(full), defaultToySamples)
	}
	if w, h := imagetest.PNGSize(t, filepath.Join(dir, defaultOutDir, "samples.png")); w < 400 || h < 400 {
		t.Errorf("samples.png is %d×%d, want a plot at least 400×400", w, h)
	}
	if err := run([]string{"-checkpoint", dir, "-n", "500", "-temperature", "0.5"}, &out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	cold := readCSV(t, filepath.Join(dir, defaultOutDir, "samples_T0.5.csv"))
	if len(cold) != 500 {
		t.Errorf("samples_T0.5.csv holds %d points, want 500", len(cold))
	}
	if _, err := os.Stat(filepath.Join(dir, defaultOutDir, "samples_T0.5.png")); err != nil {
		t.Error(err)
	}
	spread := func(pts [][2]float64) float64 {
		var mx, my, s float64
		for _, p := range pts {
			mx, my = mx+p[0]/float64(len(pts)), my+p[1]/float64(len(pts))
		}
		for _, p := range pts {
			s += (p[0]-mx)*(p[0]-mx) + (p[1]-my)*(p[1]-my)
		}
		return s / float64(len(pts))
	}
	// A nearly untrained one-block model is close to the identity: the
	// variance scales with T², so 0.25 of the T = 1 variance, give or take.
	if sc, sf := spread(cold), spread(full); !(sc < 0.5*sf) {
		t.Errorf("variance of the samples: %g at T = 0.5, %g at T = 1; want the first well below", sc, sf)
	}
	if !strings.Contains(out.String(), "samples_T0.5.csv") {
		t.Errorf("output does not name the CSV file:\n%s", out.String())
	}
	// The image-only flags would be ignored on a toy model: refused.
	if err := run([]string{"-checkpoint", dir, "-cols", "4"}, &out, &errb); err == nil || !strings.Contains(err.Error(), "-cols is for image models") {
		t.Errorf("-cols on a toy model returned %v", err)
	}
}

func TestBadFlagsAreClearErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		args []string
		want string
	}{
		{nil, "-checkpoint is required"},
		{[]string{"-checkpoint", dir, "-temperature", "0"}, "-temperature 0: must be a finite number > 0"},
		{[]string{"-checkpoint", dir, "-temperature", "-1"}, "must be a finite number > 0"},
		{[]string{"-checkpoint", dir, "-temperature", "NaN"}, "must be a finite number > 0"},
		{[]string{"-checkpoint", dir, "-n", "-1"}, "-n -1: must lie in [0, 65536]"},
		{[]string{"-checkpoint", dir, "-n", "100000000"}, "-n 100000000: must lie in [0, 65536]"},
		{[]string{"-checkpoint", dir, "-recon", "-2"}, "-recon -2: must lie in [0, 65536]"},
		{[]string{"-checkpoint", dir, "-n", "0", "-recon", "0"}, "nothing to do"},
		{[]string{"-checkpoint", dir, "-cols", "0"}, "-cols 0"},
		{[]string{"-checkpoint", dir, "-scale", "0"}, "-scale 0"},
		{[]string{"-checkpoint", "/nonexistent/run"}, "/nonexistent/run"},
		{[]string{"-checkpoint", dir}, "not a run folder"},
		{[]string{"-no-such-flag"}, "flag provided but not defined"},
		{[]string{"extra"}, "unexpected arguments"},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		err := run(c.args, &out, &errb)
		if err == nil {
			t.Errorf("%v: no error", c.args)
			continue
		}
		if msg := err.Error() + errb.String(); !strings.Contains(msg, c.want) {
			t.Errorf("%v: error %q does not mention %q", c.args, msg, c.want)
		}
	}
}

func TestHelpDocumentsEveryFlag(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run([]string{"-help"}, &out, &errb); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-help returned %v", err)
	}
	for _, f := range []string{"-checkpoint", "-out", "-n", "-temperature", "-recon", "-cols", "-scale"} {
		if !strings.Contains(errb.String(), f) {
			t.Errorf("-help does not mention %s", f)
		}
	}
}

func TestSamplesFile(t *testing.T) {
	for temp, want := range map[float64]string{1: "samples.png", 0.7: "samples_T0.7.png", 1.25: "samples_T1.25.png"} {
		if got := samplesFile(temp); got != want {
			t.Errorf("samplesFile(%v) = %q, want %q", temp, got, want)
		}
	}
}

// vanillaCheckpoint saves the tiny image model with spectral normalization
// switched off and its conv kernels scaled up, so that its fixed point
// cannot converge: the paper's vanilla ResNet after training.
func vanillaCheckpoint(t *testing.T, dir string) string {
	t.Helper()
	cfg := imageConfig(dir)
	cfg.Objective.Task = trainer.Classify
	cfg.Model.MultiScale.Unconstrained = true
	cfg.Model.MultiScale.Inverse = blocks.FixedPoint{MaxIter: 40}
	tr, err := trainer.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	for _, nt := range tr.Model().(blocks.Tensorer).Tensors() {
		if nt.Learnable && nt.Value.Dims() == 4 {
			for i := range nt.Value.Data().([]float32) {
				nt.Value.Data().([]float32)[i] *= 3
			}
		}
	}
	out := filepath.Join(t.TempDir(), "vanilla")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := tr.Save(filepath.Join(out, trainer.CheckpointFile)); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCompareWithVanilla(t *testing.T) {
	data := imagetest.TinyMNIST(t)
	iresnet := checkpoint(t, imageConfig(data))
	vanilla := vanillaCheckpoint(t, data)
	for _, c := range []struct {
		name, other string
		want        []string
	}{
		{"vanilla", vanilla, []string{"vanilla ResNet (no spectral norm)", "did NOT converge", "not an inverse"}},
		{"itself", iresnet, []string{"i-ResNet (c = 0.9)", "inverse converged"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := t.TempDir()
			var stdout, stderr bytes.Buffer
			if err := run([]string{"-checkpoint", iresnet, "-n", "0", "-recon", "4", "-compare", c.other, "-out", out}, &stdout, &stderr); err != nil {
				t.Fatalf("%v\n%s", err, stderr.String())
			}
			for _, w := range c.want {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, stdout.String())
				}
			}
			w, h := imagetest.PNGSize(t, filepath.Join(out, compareFile))
			gw, gh := gridSize(4, 8, 2)
			// Three captioned grids: test images (one caption line), then
			// each model's reconstructions (two lines), Gap apart.
			if wantH := 3*gh + 5*15 + 3*4 + 2*heatmap.Gap; h != wantH || w < gw {
				t.Errorf("%s is %d×%d, want height %d and width ≥ %d", compareFile, w, h, wantH, gw)
			}
		})
	}
	var stdout, stderr bytes.Buffer
	err := run([]string{"-checkpoint", iresnet, "-recon", "0", "-compare", vanilla}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "-compare needs -recon") {
		t.Errorf("-compare with -recon 0: error %v", err)
	}
}

// TestClassifierHasNoSamples: a classifier's prior was never trained, so
// cmd/sample draws no samples from it unless asked, and refuses when asked.
func TestClassifierHasNoSamples(t *testing.T) {
	cfg := imageConfig(imagetest.TinyMNIST(t))
	cfg.Objective.Task = trainer.Classify
	dir := checkpoint(t, cfg)
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	if err := run([]string{"-checkpoint", dir, "-recon", "3", "-out", out}, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "no density to sample") {
		t.Errorf("output:\n%s", stdout.String())
	}
	if _, err := os.Stat(filepath.Join(out, "samples.png")); !os.IsNotExist(err) {
		t.Errorf("samples.png written for a classifier (%v)", err)
	}
	err := run([]string{"-checkpoint", dir, "-n", "4", "-out", out}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "is a classifier") {
		t.Errorf("-n 4 on a classifier: error %v", err)
	}
	// A temperature would be silently ignored: refused, naming the flag.
	err = run([]string{"-checkpoint", dir, "-temperature", "0.7", "-out", out}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "-temperature sets the spread of sampled latents") {
		t.Errorf("-temperature on a classifier: error %v", err)
	}
}
