package interop_test

import (
	"bytes"
	"encoding/json"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/datasets"
	"github.com/iresnet/iresnet/estimator"
	"github.com/iresnet/iresnet/graph"
	"github.com/iresnet/iresnet/internal/imagetest"
	"github.com/iresnet/iresnet/trainer"
	"github.com/iresnet/iresnet/trainer/checkpoint"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// tolerance is the agreement the PyTorch model must reach on every
// compared number: |python − go| ≤ tolerance·max(1, |go|), absolute near
// zero and relative for large values (log-densities of images reach
// hundreds of nats).
const tolerance = 1e-5

// keepEnv names an environment variable: when set to a folder, the test
// writes its checkpoints and numbers there instead of a temporary folder,
// to rerun interop/check.py on them by hand.
const keepEnv = "IRESNET_INTEROP_DIR"

// torchPython returns a python3 on PATH that imports torch, or skips t.
func torchPython(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: the PyTorch interop test trains three models")
	}
	seen := map[string]bool{}
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		py := filepath.Join(dir, "python3")
		if seen[py] {
			continue
		}
		seen[py] = true
		if fi, err := os.Stat(py); err != nil || fi.IsDir() {
			continue
		}
		if exec.Command(py, "-c", "import torch").Run() == nil {
			return py
		}
	}
	t.Skip("no python3 on PATH imports torch; install it with `apt-get install python3-torch python3-numpy` to run the PyTorch interop test")
	return ""
}

// toyConfig is a tiny dense flow on 8gaussians: ActNorm, LipSwish and an
// input activation in every block, an EMA that differs from the weights.
func toyConfig() trainer.Config {
	return trainer.Config{
		Data: datasets.SourceConfig{Name: datasets.EightGaussians.String()},
		Model: trainer.ModelConfig{DenseFlow: &blocks.DenseFlowConfig{
			Dim: 2, Blocks: 3, Hidden: []int{8, 8}, ActNorm: true,
			Lipschitz: blocks.Lipschitz{Coeff: 0.9, Act: graph.LipSwish, InputAct: true}}},
		Terms: 2, Gradient: estimator.NeumannGradient,
		Optim:     trainer.Optim{LR: 1e-2, EMADecay: 0.5},
		BatchSize: 32, Steps: 3, EvalSize: 8, EvalBatch: 8, Seed: 3,
	}
}

// hybridConfig is a tiny multi-scale model on 8×8 MNIST-format images
// with every part of a density model: initial squeeze, ActNorm, ELU
// bottlenecks, factor-out, a learned prior, and a classifier head
// (hybrid objective).
func hybridConfig(dir string) trainer.Config {
	return trainer.Config{
		Data: datasets.SourceConfig{Name: "mnist", Dir: dir, LogitAlpha: 1e-6},
		Model: trainer.ModelConfig{
			MultiScale: &blocks.MultiScaleConfig{
				Channels: 1, Height: 8, Width: 8, Scales: 2, Blocks: 1, Hidden: []int{4, 4},
				InitSqueeze: true, ActNorm: true, Lipschitz: blocks.Lipschitz{Act: graph.ELU}},
			LearnedPrior: true,
		},
		Objective: trainer.Objective{Task: trainer.Hybrid},
		Terms:     2, Gradient: estimator.NeumannGradient,
		Optim:     trainer.Optim{LR: 1e-2, EMADecay: 0.5},
		BatchSize: 16, Steps: 3, EvalSize: 16, EvalBatch: 16, Seed: 1,
	}
}

// classifierConfig is a tiny classifier: no initial squeeze, injective
// channel padding, no factor-out, ReLU, plain weights (no EMA).
func classifierConfig(dir string) trainer.Config {
	return trainer.Config{
		Data: datasets.SourceConfig{Name: "mnist", Dir: dir, LogitAlpha: 1e-6},
		Model: trainer.ModelConfig{MultiScale: &blocks.MultiScaleConfig{
			Channels: 1, Height: 8, Width: 8, Scales: 2, Blocks: 2, Hidden: []int{4, 6},
			PadChannels: 2, NoSplit: true, Lipschitz: blocks.Lipschitz{Coeff: 0.8, Act: graph.ReLU}}},
		Objective: trainer.Objective{Task: trainer.Classify},
		Optim:     trainer.Optim{LR: 1e-2},
		BatchSize: 16, Steps: 2, EvalSize: 16, EvalBatch: 16, Seed: 2,
	}
}

// numbers is what Go computed on a checkpoint, for interop/check.py: the
// inputs x (rows of the flattened sample shape) with their latents z,
// exact log-dets and log-densities (nil for a padded classifier), the
// classifier's logits (with a head), and latents with their inverses.
type numbers struct {
	Shape          []int       `json:"shape"`
	X              [][]float64 `json:"x"`
	Z              [][]float64 `json:"z"`
	LogDet         []float64   `json:"log_det,omitempty"`
	LogProb        []float64   `json:"log_prob,omitempty"`
	TrainerLogProb []float64   `json:"trainer_log_prob,omitempty"` // Trainer.LogProb, where it is exact
	Logits         [][]float64 `json:"logits,omitempty"`
	Latents        [][]float64 `json:"latents"`
	Inverse        [][]float64 `json:"inverse"`
}

// report is check.py's output: for each compared quantity the largest
// |python − go| and the largest |python − go| / max(1, |go|).
type report map[string]struct {
	MaxAbs    float64 `json:"max_abs"`
	MaxScaled float64 `json:"max_scaled"`
}

// TestPyTorchReproducesGo trains three tiny models for a few steps, saves
// them, computes latents, exact log-dets, log-densities, logits and
// inverses in Go with the evaluation weights, and has interop/check.py
// rebuild each model in PyTorch from the checkpoint alone and reproduce
// every number to within tolerance.
func TestPyTorchReproducesGo(t *testing.T) {
	py := torchPython(t)
	out := t.TempDir()
	if d := os.Getenv(keepEnv); d != "" {
		out = d
		if err := os.MkdirAll(out, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	images := imagetest.TinyMNIST(t)
	cases := []struct {
		name string
		cfg  trainer.Config
		want []string // quantities check.py must compare
	}{
		{"toy", toyConfig(), []string{"z", "log_det", "log_prob", "trainer_log_prob", "inverse"}},
		{"hybrid", hybridConfig(images), []string{"z", "log_det", "log_prob", "logits", "inverse"}},
		{"classifier", classifierConfig(images), []string{"z", "logits", "inverse"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ckpt := filepath.Join(out, c.name+".safetensors")
			train(t, c.cfg, ckpt)
			nums := goNumbers(t, ckpt)
			path := filepath.Join(out, c.name+".json")
			data, err := json.Marshal(nums)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			rep := runCheck(t, py, ckpt, path)
			for _, q := range c.want {
				if _, ok := rep[q]; !ok {
					t.Errorf("check.py did not compare %s", q)
				}
			}
			names := slices.Sorted(maps.Keys(rep))
			for _, q := range names {
				r := rep[q]
				t.Logf("%-16s max |Δ| %.3g, max |Δ|/max(1, |go|) %.3g", q, r.MaxAbs, r.MaxScaled)
				if !(r.MaxScaled <= tolerance) {
					t.Errorf("%s: PyTorch and Go differ by %.3g (scaled), more than %g", q, r.MaxScaled, tolerance)
				}
			}
		})
	}
}

// train runs cfg for its steps and saves the checkpoint at path.
func train(t *testing.T, cfg trainer.Config, path string) {
	t.Helper()
	tr, err := trainer.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	for i := 0; i < cfg.Steps; i++ {
		if _, err := tr.Step(); err != nil {
			t.Fatal(err)
		}
	}
	if err := tr.Save(path); err != nil {
		t.Fatal(err)
	}
}

// runCheck runs interop/check.py on a checkpoint and Go's numbers and
// returns its report.
func runCheck(t *testing.T, py, ckpt, nums string) report {
	t.Helper()
	cmd := exec.Command(py, "check.py", ckpt, nums)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var rep report
	if jerr := json.Unmarshal(stdout.Bytes(), &rep); jerr != nil {
		t.Fatalf("check.py: %v (%v)\nstdout:\n%s\nstderr:\n%s", err, jerr, stdout.String(), stderr.String())
	}
	if err != nil { // check.py exits 1 when a difference exceeds its tolerance; the assertions above say which
		t.Logf("check.py: %v\n%s", err, strings.TrimSpace(stderr.String()))
	}
	return rep
}

// goNumbers loads the checkpoint at path, puts the evaluation weights into
// the model (evalWeights) and computes the numbers check.py compares.
func goNumbers(t *testing.T, path string) numbers {
	t.Helper()
	tr, err := trainer.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	cfg := tr.Config()
	shape := tr.InputShape()
	d := 1
	for _, s := range shape {
		d *= s
	}
	// Inputs: held-out images, or fixed points around the toy density.
	var points []float64
	if cfg.Model.MultiScale != nil {
		src, err := cfg.Data.Open(cfg.Seed, 3)
		if err != nil {
			t.Fatal(err)
		}
		points = src.HeldOut().Points
	} else {
		points = []float64{0, 0, 1.5, -2, -3.1, 0.4, 2.2, 2.9, -0.7, -1.3}
	}
	n := len(points) / d
	nums := numbers{Shape: shape, X: rows(points, d)}
	padded := cfg.Model.MultiScale != nil && cfg.Model.MultiScale.PadChannels > 0
	if cfg.Model.DenseFlow != nil {
		// The trainer's own log p: exact log-det and evaluation weights
		// chosen by the trainer, an independent check of evalWeights.
		if nums.TrainerLogProb, err = tr.LogProb(points); err != nil {
			t.Fatal(err)
		}
	}

	f, err := checkpoint.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	model := tr.Model()
	evalWeights(t, f, model.Tensors())
	var prior *blocks.GaussianPrior
	if p := tr.Flow().Prior; p != nil {
		prior = p
		evalWeights(t, f, p.Tensors())
	}
	var head *blocks.ClassifierHead
	if b, ok := f.Tensors["model/head/fc/bias"]; ok {
		fs := model.(*blocks.MultiScale).FinalShape()
		head, err = blocks.NewClassifierHead(blocks.HeadConfig{Channels: fs[0], Classes: b.Shape()[0]}, rand.New(rand.NewPCG(1, 2)))
		if err != nil {
			t.Fatal(err)
		}
		evalWeights(t, f, head.Tensors())
	}

	x := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(append([]int{n}, shape...)...))
	store(x, points)
	// Each quantity is the output of a graph of its own: the tape machine
	// reuses the buffers of intermediate nodes (the head's ReLU writes
	// into the latent's), so only a graph's output is safe to read.
	zv := call(t, x, func(b *graph.Builder, xn *G.Node) (*G.Node, error) {
		z, _, err := model.ForwardWith(b, xn, nil)
		return z, err
	})
	nums.Z = rows(zv, len(zv)/n)
	if !padded {
		// Exact log-det (per-block Jacobians) and log p = log prior + log-det.
		logDet := func(b *graph.Builder, xn *G.Node) (*G.Node, *G.Node, error) {
			return model.ForwardWith(b, xn, estimator.Exact{})
		}
		nums.LogDet = call(t, x, func(b *graph.Builder, xn *G.Node) (*G.Node, error) {
			_, ld, err := logDet(b, xn)
			return ld, err
		})
		nums.LogProb = call(t, x, func(b *graph.Builder, xn *G.Node) (*G.Node, error) {
			z, ld, err := logDet(b, xn)
			if err != nil {
				return nil, err
			}
			var lpz *G.Node
			if prior != nil {
				lpz, err = prior.LogProb(b, z)
			} else {
				lpz, err = blocks.GaussianLogProb(b, z)
			}
			if err != nil {
				return nil, err
			}
			return G.Add(lpz, ld)
		})
	}
	if head != nil {
		lv := call(t, x, func(b *graph.Builder, xn *G.Node) (*G.Node, error) {
			z, _, err := model.ForwardWith(b, xn, nil)
			if err != nil {
				return nil, err
			}
			feat, err := model.(*blocks.MultiScale).FeatureMap(z)
			if err != nil {
				return nil, err
			}
			return head.Logits(b, feat)
		})
		nums.Logits = rows(lv, len(lv)/n)
	}

	// Latents to invert: the forward latents, moved a little, and a draw
	// from N(0, 0.7²).
	dz := len(zv) / n
	rng := rand.New(rand.NewPCG(7, 7))
	lat := make([]float64, 0, (n+1)*dz)
	for i, v := range zv {
		lat = append(lat, v+0.05*math.Sin(float64(i)))
	}
	for i := 0; i < dz; i++ {
		lat = append(lat, 0.7*rng.NormFloat64())
	}
	zt := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(n+1, dz))
	store(zt, lat)
	inv, err := model.Inverse(zt)
	if err != nil {
		t.Fatal(err)
	}
	nums.Latents = rows(lat, dz)
	nums.Inverse = rows(floats(inv), d)
	return nums
}

// evalWeights overwrites every learnable tensor of ts with the weight the
// evaluation applies, as stored in the checkpoint f: the certified weight
// under "applied/" for spectrally normalized layers, else the average under
// "ema/" when the run kept one, else the weight itself under "model/"
// (already loaded). State tensors (power-iteration vectors, σ̂, ActNorm
// flags) stay as loaded.
func evalWeights(t *testing.T, f checkpoint.File, ts []blocks.NamedTensor) {
	t.Helper()
	for _, nt := range ts {
		if !nt.Learnable {
			continue
		}
		for _, prefix := range []string{"applied/", "ema/", "model/"} {
			if src, ok := f.Tensors[prefix+nt.Name]; ok {
				if err := tensor.Copy(nt.Value, src); err != nil {
					t.Fatalf("%s%s: %v", prefix, nt.Name, err)
				}
				break
			}
		}
	}
}

func rows(v []float64, width int) [][]float64 {
	var out [][]float64
	for i := 0; i+width <= len(v); i += width {
		out = append(out, v[i:i+width])
	}
	return out
}

func store(dst *tensor.Dense, src []float64) {
	d := dst.Data().([]float32)
	for i := range d {
		d[i] = float32(src[i])
	}
}

func floats(t *tensor.Dense) []float64 {
	d := t.Data().([]float32)
	out := make([]float64, len(d))
	for i, v := range d {
		out[i] = float64(v)
	}
	return out
}

// call builds the graph of build on an input like x, runs it on x and
// returns its output's values.
func call(t *testing.T, x *tensor.Dense, build func(b *graph.Builder, x *G.Node) (*G.Node, error)) []float64 {
	t.Helper()
	f, err := graph.NewFunc(x.Dtype(), x.Shape(), build)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out, err := f.Call(x)
	if err != nil {
		t.Fatal(err)
	}
	return floats(out)
}
