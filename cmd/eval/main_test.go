package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/blocks/coupling"
	"github.com/iresnet/iresnet/datasets"
	"github.com/iresnet/iresnet/estimator"
	"github.com/iresnet/iresnet/graph"
	"github.com/iresnet/iresnet/internal/imagetest"
	"github.com/iresnet/iresnet/trainer"
	"github.com/iresnet/iresnet/trainer/checkpoint"
	"gonum.org/v1/gonum/mat"
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

// newCheckpoint trains cfg for two steps and saves it in a new run folder.
func newCheckpoint(t *testing.T, cfg trainer.Config) string {
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

// sigmaLine matches the rows of the certificate: block, layer, four numbers.
var sigmaLine = regexp.MustCompile(`(?m)^\s*(scale\d+/)?block\d+\s+(conv|fc)\d+\s+[0-9.]+\s+[0-9.]+\s+[0-9.]+\s+[0-9.]+\s*$`)

// layers counts the spectrally normalized layers of the checkpoint's model.
func layers(t *testing.T, dir string) int {
	t.Helper()
	tr, err := trainer.Load(filepath.Join(dir, trainer.CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	k := 0
	for _, r := range tr.Model().Residuals() {
		k += len(r.SpectralNorms())
	}
	return k
}

func TestImageEvaluation(t *testing.T) {
	dir := newCheckpoint(t, imageConfig(imagetest.TinyMNIST(t)))
	want := layers(t, dir)
	if want == 0 {
		t.Fatal("the model has no spectrally normalized layers")
	}
	var out, errb bytes.Buffer
	if err := run([]string{"-checkpoint", dir, "-recon", "4"}, &out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	s := out.String()
	t.Log(s)
	for _, w := range []string{"test bits/dim", "±", "test NLL", "nats", "held-out set: the first 32 test images", "reconstruction of 4 test images", "inverse iterations per block: min"} {
		if !strings.Contains(s, w) {
			t.Errorf("output does not mention %q", w)
		}
	}
	if got := len(sigmaLine.FindAllString(s, -1)); got != want {
		t.Errorf("%d σ̂ lines, want one per layer (%d)", got, want)
	}

	// -json and -n: one object with the same quantities on fewer images.
	out.Reset()
	if err := run([]string{"-checkpoint", filepath.Join(dir, trainer.CheckpointFile), "-json", "-n", "16", "-recon", "2", "-power-iters", "20"}, &out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	var rep report
	dec := json.NewDecoder(&out)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("JSON: %v", err)
	}
	if dec.More() {
		t.Error("more than one JSON value")
	}
	if !rep.Images || rep.TestPoints != 16 || rep.BPD == nil || !(*rep.BPD > 0) || rep.BPDSE == nil || !(*rep.BPDSE > 0) {
		t.Errorf("report %+v", rep)
	}
	if d := 64.0; math.Abs(*rep.BPDSE-rep.NLLSE/(d*math.Ln2)) > 1e-12 {
		t.Errorf("bits/dim SE %v, want NLL SE/(d ln 2) = %v", *rep.BPDSE, rep.NLLSE/(64*math.Ln2))
	}
	if rc := rep.Reconstruction; rc == nil || rc.Images != 2 || rc.Error != "" || rc.IterMin < 1 || rc.MaxPixelErr > 1e-4 {
		t.Errorf("reconstruction %+v", rc)
	}
	if len(rep.SpectralNorms) != want || rep.Exceeding != 0 {
		t.Errorf("%d spectral norms (%d exceeding), want %d", len(rep.SpectralNorms), rep.Exceeding, want)
	}
	for _, l := range rep.SpectralNorms {
		if !(l.Sigma > 0) || !(l.RawBound >= l.Sigma*(1-1e-6)) || !(float64(l.Applied) <= l.Coeff*(1+1e-6)) || l.Coeff != 0.9 {
			t.Errorf("layer %+v", l)
		}
	}
	// The run folder is left as it was: -n changes only the held-out set built in memory.
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 {
		t.Errorf("run folder holds %v (%v)", entries, err)
	}
}

func TestToyEvaluation(t *testing.T) {
	cfg := trainer.DefaultToyConfig()
	cfg.Model.DenseFlow.Blocks, cfg.Model.DenseFlow.Hidden, cfg.BatchSize, cfg.EvalSize, cfg.EvalBatch = 2, []int{8}, 16, 50, 50
	dir := newCheckpoint(t, cfg)
	var out, errb bytes.Buffer
	if err := run([]string{"-checkpoint", dir}, &out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	s := out.String()
	t.Log(s)
	if !strings.Contains(s, "test NLL") || !strings.Contains(s, "exact log-det") || strings.Contains(s, "bits/dim") || strings.Contains(s, "reconstruction") {
		t.Errorf("toy output:\n%s", s)
	}
	if got := len(sigmaLine.FindAllString(s, -1)); got != 2*2 {
		t.Errorf("%d σ̂ lines, want 4 (2 blocks × 2 layers)", got)
	}
	// A toy model has no test images: -recon would be ignored, so it is refused.
	err := run([]string{"-checkpoint", dir, "-recon", "4"}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "-recon reconstructs test images") || !strings.Contains(err.Error(), "8gaussians") {
		t.Errorf("-recon on a toy model: error %v", err)
	}
}

// TestFamilyEvaluation: a Glow toy model is evaluated with its exact
// log-det and gets no empty certificate table: it has nothing to certify.
func TestFamilyEvaluation(t *testing.T) {
	cfg, err := trainer.DefaultToyConfig().WithFamily("glow", []int{2})
	if err != nil {
		t.Fatal(err)
	}
	cfg.BatchSize, cfg.EvalSize, cfg.EvalBatch = 16, 50, 50
	dir := newCheckpoint(t, cfg)
	var out, errb bytes.Buffer
	if err := run([]string{"-checkpoint", dir}, &out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	s := out.String()
	if !strings.Contains(s, "exact log-det") || !strings.Contains(s, "certificate: none needed: the dense glow model") || strings.Contains(s, "raw bound") {
		t.Errorf("glow output:\n%s", s)
	}
	// Nothing is spectrally normalized: -power-iters would be ignored, so it is refused.
	err = run([]string{"-checkpoint", dir, "-power-iters", "5"}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "-power-iters refines σ̂ of spectrally normalized layers") {
		t.Errorf("-power-iters on a glow model: error %v", err)
	}
}

func TestFailingInverseIsReported(t *testing.T) {
	cfg := imageConfig(imagetest.TinyMNIST(t))
	cfg.Model.MultiScale.Inverse = blocks.FixedPoint{MaxIter: 1}
	dir := newCheckpoint(t, cfg)
	var out, errb bytes.Buffer
	err := run([]string{"-checkpoint", dir, "-recon", "2"}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "did not converge") || !strings.Contains(err.Error(), "inverting block") {
		t.Errorf("error %v", err)
	}
	if !strings.Contains(out.String(), "reconstruction: FAILED") || !strings.Contains(out.String(), "bits/dim") {
		t.Errorf("output:\n%s", out.String())
	}
}

// TestClassifierEvaluation: classifiers report a test error with its
// binomial standard error and no bits/dim; a vanilla classifier whose
// inverse fails is reported as such, with its raw σ̂, and is not an error.
func TestClassifierEvaluation(t *testing.T) {
	data := imagetest.TinyMNIST(t)
	for _, vanilla := range []bool{false, true} {
		cfg := imageConfig(data)
		cfg.Objective.Task = trainer.Classify
		if vanilla {
			cfg.Model.MultiScale.Unconstrained = true
			cfg.Model.MultiScale.Inverse = blocks.FixedPoint{MaxIter: 1}
		}
		dir := newCheckpoint(t, cfg)
		var out, errb bytes.Buffer
		if err := run([]string{"-checkpoint", dir, "-recon", "2", "-json"}, &out, &errb); err != nil {
			t.Fatalf("vanilla %v: %v", vanilla, err)
		}
		var rep report
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			t.Fatal(err)
		}
		if rep.TestError == nil || rep.BPD != nil || rep.Task != "classify" || rep.Vanilla != vanilla {
			t.Fatalf("vanilla %v: report %+v", vanilla, rep)
		}
		p, n := *rep.TestError, 32.0
		if want := math.Sqrt(p * (1 - p) / n); math.Abs(*rep.TestErrorSE-want) > 1e-12 || p < 0 || p > 1 {
			t.Errorf("test error %v ± %v, want SE %v", p, *rep.TestErrorSE, want)
		}
		if vanilla && (rep.Reconstruction.Error == "" || rep.Reconstruction.Blocks == 0 || rep.Exceeding != 0) {
			t.Errorf("vanilla reconstruction %+v, %d exceeding", rep.Reconstruction, rep.Exceeding)
		}
		out.Reset()
		if err := run([]string{"-checkpoint", dir, "-recon", "2"}, &out, &errb); err != nil {
			t.Fatal(err)
		}
		for _, w := range []string{"test error:", "%"} {
			if !strings.Contains(out.String(), w) {
				t.Errorf("text output lacks %q:\n%s", w, out.String())
			}
		}
		if vanilla && !strings.Contains(out.String(), "FAILED, as expected without spectral normalization") {
			t.Errorf("text output:\n%s", out.String())
		}
	}
}

// TestGlowClassifierEvaluation: a Glow classifier's checkpoint (Behrmann
// et al. 2019 train Glow-style flows with the i-ResNet's head) reports its
// test error and an exact reconstruction, with no residual blocks.
func TestGlowClassifierEvaluation(t *testing.T) {
	cfg := imageConfig(imagetest.TinyMNIST(t))
	cfg.Objective.Task = trainer.Classify
	cfg.Model = trainer.ModelConfig{Glow: &coupling.GlowConfig{Channels: 1, Height: 8, Width: 8, Levels: 2, Steps: 1, HiddenChannels: 4, NoSplit: true}}
	dir := newCheckpoint(t, cfg)
	var out, errb bytes.Buffer
	if err := run([]string{"-checkpoint", dir, "-recon", "2", "-json"}, &out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	var rep report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.TestError == nil || *rep.TestError < 0 || *rep.TestError > 1 || rep.Task != "classify" || rep.BPD != nil {
		t.Fatalf("report %+v", rep)
	}
	if rc := rep.Reconstruction; rc.Error != "" || rc.MaxAbsErr > 1e-4 {
		t.Errorf("reconstruction %+v", rc)
	}
	out.Reset()
	if err := run([]string{"-checkpoint", dir}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "test error:") {
		t.Errorf("text output lacks the test error:\n%s", out.String())
	}
}

func TestBadFlagsAreClearErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		args []string
		want string
	}{
		{nil, "-checkpoint is required"},
		{[]string{"-checkpoint", dir, "-n", "-1"}, "-n -1: must be ≥ 1"},
		{[]string{"-checkpoint", dir, "-recon", "-1"}, "-recon -1: must be ≥ 0"},
		{[]string{"-checkpoint", dir, "-power-iters", "0"}, "-power-iters 0: must lie in [1, 1000]"},
		{[]string{"-checkpoint", dir, "-power-iters", "1001"}, "-power-iters 1001: must lie in [1, 1000] (more needs -limit power_iters=N)"},
		{[]string{"-checkpoint", dir, "-limit", "power_iters=2000", "-power-iters", "2001"}, "-power-iters 2001: must lie in [1, 2000]"},
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
	for _, f := range []string{"-checkpoint", "-n", "-recon", "-power-iters", "-json", "bits/dim", "d·ln 2"} {
		if !strings.Contains(errb.String(), f) {
			t.Errorf("-help does not mention %s", f)
		}
	}
}

func TestTextFlagsExceedingLayers(t *testing.T) {
	var out bytes.Buffer
	writeText(&out, report{Checkpoint: "x", Shape: []int{2}, PowerIters: 1, Exceeding: 1, SpectralNorms: []layerNorm{
		{Block: 0, Layer: "fc0", Sigma: 0.5, RawBound: 0.5, Applied: 0.5, Coeff: 0.9},
		{Block: 3, Layer: "fc1", Sigma: 0.95, RawBound: 0.95, Applied: 0.95, Coeff: 0.9, Exceeds: true},
	}, Blocks: []blockBound{{Block: 0, Lipschitz: 0.5, Certified: true}, {Block: 3, Lipschitz: 0.95, Certified: true}}})
	lines := strings.Split(out.String(), "\n")
	var flagged []string
	for _, l := range lines {
		if strings.Contains(l, "EXCEEDS") {
			flagged = append(flagged, l)
		}
	}
	if len(flagged) != 1 || !strings.Contains(flagged[0], "fc1") || !strings.Contains(out.String(), "1 layers exceed c") {
		t.Errorf("output:\n%s", out.String())
	}
}

// appliedNorms returns the largest singular value of every applied/ weight
// of a toy checkpoint (dense layers), from gonum's SVD.
func appliedNorms(t *testing.T, path string) map[string]float64 {
	t.Helper()
	f, err := checkpoint.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for name, w := range f.Tensors {
		if !strings.HasPrefix(name, "applied/") {
			continue
		}
		sh := w.Shape()
		m := mat.NewDense(sh[0], sh[1], nil)
		for i, v := range w.Data().([]float32) {
			m.Set(i/sh[1], i%sh[1], float64(v))
		}
		var svd mat.SVD
		if !svd.Factorize(m, mat.SVDNone) {
			t.Fatal("SVD failed")
		}
		out[name] = svd.Values(nil)[0]
	}
	return out
}

// TestCertificateCanFail checks a trained toy checkpoint by an independent
// SVD of its applied weights, then scales those weights past c and
// expects the command to warn and exit with an error.
func TestCertificateCanFail(t *testing.T) {
	cfg := trainer.DefaultToyConfig()
	cfg.Model.DenseFlow.Blocks, cfg.Model.DenseFlow.Hidden, cfg.BatchSize, cfg.EvalSize, cfg.EvalBatch = 2, []int{8}, 16, 50, 50
	dir := newCheckpoint(t, cfg)
	path := filepath.Join(dir, trainer.CheckpointFile)
	norms := appliedNorms(t, path)
	if len(norms) != 2*2 {
		t.Fatalf("%d applied weights, want 4", len(norms))
	}
	for name, s := range norms {
		if s > cfg.Model.DenseFlow.Coeff*(1+1e-6) {
			t.Errorf("%s: SVD norm %.8g > c = %g", name, s, cfg.Model.DenseFlow.Coeff)
		}
	}
	var out, errb bytes.Buffer
	if err := run([]string{"-checkpoint", dir, "-json"}, &out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	var rep report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if !rep.StoredWeights || rep.Uncertified != 0 || rep.Exceeding != 0 || len(rep.Blocks) != 2 {
		t.Fatalf("report of the trained checkpoint: %+v", rep)
	}
	for _, l := range rep.SpectralNorms {
		s, ok := norms[fmt.Sprintf("applied/%s/%s/weight", l.Name, l.Layer)]
		if !ok {
			t.Fatalf("no applied weight for block %d %s among %v", l.Block, l.Layer, norms)
		}
		if !(float64(l.Applied) >= s*(1-1e-9)) || !(float64(l.Applied) <= s*(1+1e-6)) {
			t.Errorf("block %d %s: reported bound %.8g, SVD %.8g (dense bounds are exact)", l.Block, l.Layer, l.Applied, s)
		}
	}

	// Scale the applied weights by 1.3: each layer 1.3·(≤ 0.9) ≈ 1.17.
	f, err := checkpoint.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, w := range f.Tensors {
		if strings.HasPrefix(name, "applied/") {
			d := w.Data().([]float32)
			for i := range d {
				d[i] *= 1.3
			}
		}
	}
	// Unsealed, the edit is caught as corruption before anything runs.
	if err := checkpoint.Save(path, f); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"-checkpoint", dir}, &out, &errb); err == nil || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Fatalf("edited checkpoint without a new checksum: %v", err)
	}
	// Resealed (a deliberate edit), it loads, and the certificate fails.
	if err := checkpoint.Seal(f); err != nil {
		t.Fatal(err)
	}
	if err := checkpoint.Save(path, f); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	errb.Reset()
	err = run([]string{"-checkpoint", dir}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "Lipschitz bound ≥ 1") {
		t.Fatalf("scaled weights: error %v, want a Lipschitz bound ≥ 1\n%s", err, out.String())
	}
	if !strings.Contains(errb.String(), "warning") || !strings.Contains(out.String(), "EXCEEDS") || !strings.Contains(out.String(), "NOT CERTIFIED") {
		t.Errorf("scaled weights: stdout\n%s\nstderr\n%s", out.String(), errb.String())
	}
}

// TestJSONWritesNonFiniteAsNull: a diverged weight's bound (NaN, +Inf) is
// written as null instead of making the JSON encoder fail the command.
func TestJSONWritesNonFiniteAsNull(t *testing.T) {
	b, err := json.Marshal(layerNorm{Sigma: number(math.NaN()), RawBound: number(math.Inf(1)), Applied: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	if s := string(b); !strings.Contains(s, `"sigma":null`) || !strings.Contains(s, `"raw_bound":null`) || !strings.Contains(s, `"applied":0.5`) {
		t.Errorf("JSON %s", s)
	}
}

// TestEvalBar: on a terminal the evaluation shows a bar over its batches
// with what it evaluates; it is drawn from the first batch on and finished
// at the last.
func TestEvalBar(t *testing.T) {
	var w bytes.Buffer
	report := evalBar(&w, 10000)
	for done := 1; done <= 20; done++ {
		report(done, 20)
	}
	out := w.String()
	for _, want := range []string{"evaluating 10000 held-out points", "1/20", "batches"} {
		if !strings.Contains(out, want) {
			t.Errorf("bar output lacks %q:\n%q", want, out)
		}
	}
}
