package trainer

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/datasets"
	"github.com/iresnet/iresnet/estimator"
	"github.com/iresnet/iresnet/graph"
	"gorgonia.org/tensor"
)

// tinyConfig trains fast enough for unit tests: two blocks of width 8.
func tinyConfig(seed uint64) Config {
	return Config{
		Data: datasets.SourceConfig{Name: "8gaussians"},
		Model: ModelConfig{DenseFlow: &blocks.DenseFlowConfig{Dim: 2, Blocks: 2, Hidden: []int{8}, ActNorm: true,
			Lipschitz: blocks.Lipschitz{Coeff: 0.9, Act: graph.ELU}}},
		Terms: 3, Gradient: estimator.NeumannGradient,
		Optim:     Optim{LR: 3e-3, Warmup: 3, ClipNorm: 10, EMADecay: 0.9},
		BatchSize: 64, Steps: 12, EvalEvery: 5, EvalSize: 300, EvalBatch: 128,
		LogEvery: 2, SaveEvery: 4, Seed: seed,
	}
}

func newTrainer(t *testing.T, cfg Config) *Trainer {
	t.Helper()
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

func steps(t *testing.T, tr *Trainer, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if _, err := tr.Step(); err != nil {
			t.Fatal(err)
		}
	}
}

// state returns every tensor a checkpoint holds, by name, as float64.
func state(tr *Trainer) map[string][]float64 {
	out := map[string][]float64{}
	add := func(name string, v *tensor.Dense) {
		switch d := v.Data().(type) {
		case []float64:
			out[name] = append([]float64(nil), d...)
		case []float32:
			f := make([]float64, len(d))
			for i, x := range d {
				f[i] = float64(x)
			}
			out[name] = f
		}
	}
	for _, nt := range tr.tensors() {
		add(prefixModel+nt.Name, nt.Value)
	}
	for i, p := range tr.params {
		add(prefixM+p.Name, tr.opt.m[i])
		add(prefixV+p.Name, tr.opt.v[i])
		if tr.ema != nil {
			add(prefixEMA+p.Name, tr.ema[i])
		}
	}
	return out
}

func sameState(t *testing.T, a, b map[string][]float64) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%d tensors vs %d", len(a), len(b))
	}
	for name, av := range a {
		bv := b[name]
		for i := range av {
			if av[i] != bv[i] && !(math.IsNaN(av[i]) && math.IsNaN(bv[i])) {
				t.Fatalf("%s[%d]: %v vs %v", name, i, av[i], bv[i])
			}
		}
	}
}

func TestReproducible(t *testing.T) {
	a, b := newTrainer(t, tinyConfig(7)), newTrainer(t, tinyConfig(7))
	steps(t, a, 5)
	steps(t, b, 5)
	sameState(t, state(a), state(b))
	c := newTrainer(t, tinyConfig(8))
	steps(t, c, 5)
	sa, sc := state(a), state(c)
	name := prefixModel + "block0/fc0/weight"
	if sa[name][0] == sc[name][0] {
		t.Errorf("seeds 7 and 8 gave the same %s[0] = %v", name, sa[name][0])
	}
}

// TestResumeMatchesUninterrupted: N steps, save, load, M more steps gives
// bit-identical parameters, optimizer state and EMA as N+M steps in one go.
func TestResumeMatchesUninterrupted(t *testing.T) {
	const n, m = 4, 5
	whole := newTrainer(t, tinyConfig(3))
	steps(t, whole, n+m)

	first := newTrainer(t, tinyConfig(3))
	steps(t, first, n)
	path := filepath.Join(t.TempDir(), CheckpointFile)
	if err := first.Save(path); err != nil {
		t.Fatal(err)
	}
	resumed, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	defer resumed.Close()
	if resumed.Steps() != n {
		t.Fatalf("resumed at step %d, want %d", resumed.Steps(), n)
	}
	if a, b := first.maxSigma(), resumed.maxSigma(); a != b {
		t.Errorf("largest σ̂ %v before saving, %v after loading", a, b)
	}
	steps(t, resumed, m)
	sameState(t, state(whole), state(resumed))
	ew, _ := whole.Evaluate()
	er, _ := resumed.Evaluate()
	if ew.NLL != er.NLL {
		t.Errorf("held-out NLL %v (uninterrupted) vs %v (resumed)", ew.NLL, er.NLL)
	}
}

// saveLoopEnv makes the test binary a child process that saves
// checkpoints in a loop until it is killed.
const saveLoopEnv = "IRESNET_TRAINER_SAVE_LOOP"

func TestHelperSaveLoop(t *testing.T) {
	path := os.Getenv(saveLoopEnv)
	if path == "" {
		t.Skip("helper process for TestKilledWhileSaving")
	}
	tr := newTrainer(t, tinyConfig(5))
	for {
		if _, err := tr.Step(); err != nil {
			t.Fatal(err)
		}
		if err := tr.Save(path); err != nil {
			t.Fatal(err)
		}
	}
}

// TestKilledWhileSaving kills a process that checkpoints continuously at
// random moments (SIGKILL, no chance to clean up) and checks that the
// checkpoint on disk always loads.
func TestKilledWhileSaving(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, CheckpointFile)
	rng := rand.New(rand.NewPCG(1, 1))
	lastStep := -1
	for round := 0; round < 5; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperSaveLoop$")
		cmd.Env = append(os.Environ(), saveLoopEnv+"="+path)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Wait for the first checkpoint, then kill at a random moment.
		deadline := time.Now().Add(60 * time.Second)
		for {
			if _, err := os.Stat(path); err == nil || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(time.Duration(50+rng.IntN(400)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		tr, err := Load(path)
		if err != nil {
			t.Fatalf("round %d: checkpoint of a killed process does not load: %v", round, err)
		}
		if tr.Steps() < 1 {
			t.Errorf("round %d: loaded step %d", round, tr.Steps())
		}
		lastStep = tr.Steps()
		tr.Close()
	}
	t.Logf("last checkpoint loaded at step %d", lastStep)
}

func TestNonFiniteLossStopsWithLastCheckpoint(t *testing.T) {
	dir := t.TempDir()
	cfg := tinyConfig(9)
	tr := newTrainer(t, cfg)
	if _, err := tr.Run(context.Background(), RunOptions{OutDir: dir}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, CheckpointFile)
	before := state(tr)
	// Poison a weight: the next loss is NaN.
	if err := tr.SetSteps(cfg.Steps + 8); err != nil {
		t.Fatal(err)
	}
	w := tr.params[len(tr.params)-2].Value.Data().([]float32)
	w[0] = float32(math.NaN())
	before[prefixModel+tr.params[len(tr.params)-2].Name][0] = math.NaN()
	_, err := tr.Run(context.Background(), RunOptions{OutDir: dir})
	if err == nil || !strings.Contains(err.Error(), "step 13") {
		t.Fatalf("Run with a NaN weight returned %v, want an error naming step 13", err)
	}
	// Learnable parameters, optimizer moments and EMA are untouched by the
	// failed step (its power-iteration update of u, v and σ̂ is not: it runs
	// before the forward pass, and the checkpoint holds the last good one).
	after := state(tr)
	for name := range before {
		if strings.HasSuffix(name, "_u") || strings.HasSuffix(name, "_v") || strings.HasSuffix(name, "_sigma") {
			delete(before, name)
			delete(after, name)
		}
	}
	sameState(t, before, after)
	saved, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	defer saved.Close()
	if saved.Steps() != cfg.Steps {
		t.Errorf("checkpoint is at step %d, want the last good one, %d", saved.Steps(), cfg.Steps)
	}
}

func TestRunWritesMetricsAndPictures(t *testing.T) {
	dir := t.TempDir()
	tr := newTrainer(t, tinyConfig(2))
	sum, err := tr.Run(context.Background(), RunOptions{OutDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Steps != 12 || sum.Final.Step != 12 || !sum.Final.Exact {
		t.Errorf("summary %+v", sum)
	}
	data, err := os.ReadFile(filepath.Join(dir, MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 7 { // steps 2,4,5,6,8,10,12
		t.Errorf("%d metric lines, want 7:\n%s", len(lines), data)
	}
	for _, f := range []string{CheckpointFile, MetricsFile} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s not written: %v", f, err)
		}
	}
}

func TestInvalidConfig(t *testing.T) {
	bad := map[string]func(*Config){
		"coefficient 1":         func(c *Config) { c.Model.DenseFlow.Coeff = 1 },
		"negative batch":        func(c *Config) { c.BatchSize = -1 },
		"huge batch":            func(c *Config) { c.BatchSize = 2e9 },
		"negative lr":           func(c *Config) { c.Optim.LR = -1 },
		"infinite clip":         func(c *Config) { c.Optim.ClipNorm = math.Inf(1) },
		"EMA decay 1":           func(c *Config) { c.Optim.EMADecay = 1 },
		"zero width":            func(c *Config) { c.Model.DenseFlow.Hidden = []int{0} },
		"huge width":            func(c *Config) { c.Model.DenseFlow.Hidden = []int{200000} },
		"million blocks":        func(c *Config) { c.Model.DenseFlow.Blocks = 1e6 },
		"exact at dim 100":      func(c *Config) { c.Estimator = ExactLogDet; c.Model.DenseFlow.Dim = 100 },
		"dim 3 on 2-D data":     func(c *Config) { c.Model.DenseFlow.Dim = 3 },
		"no architecture":       func(c *Config) { c.Model.DenseFlow = nil },
		"two architectures":     func(c *Config) { c.Model.MultiScale = &blocks.MultiScaleConfig{Channels: 1, Height: 2, Width: 2} },
		"unknown data":          func(c *Config) { c.Data.Name = "9gaussians" },
		"padding a toy":         func(c *Config) { c.Data.Pad = 2 },
		"classifying a toy":     func(c *Config) { c.Objective.Task = Classify },
		"hybrid weight density": func(c *Config) { c.Objective.HybridWeight = 2 },
		"learned prior on toy":  func(c *Config) { c.Model.LearnedPrior = true },
		"too many terms":        func(c *Config) { c.Terms = 1e6 },
		"huge eval size":        func(c *Config) { c.EvalSize = 1e8 },
	}
	for name, f := range bad {
		cfg := tinyConfig(1)
		m := *cfg.Model.DenseFlow
		cfg.Model.DenseFlow = &m
		f(&cfg)
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New accepted an invalid configuration", name)
		}
	}
}

// TestLearns: a few hundred steps bring the held-out NLL well below that of
// the untrained model.
func TestLearns(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for a while")
	}
	cfg := tinyConfig(4)
	cfg.Model.DenseFlow.Hidden = []int{32, 32}
	cfg.Model.DenseFlow.Blocks = 4
	cfg.Steps = 300
	tr := newTrainer(t, cfg)
	before, err := tr.Evaluate()
	if err != nil {
		t.Fatal(err)
	}
	steps(t, tr, cfg.Steps)
	after, err := tr.Evaluate()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("held-out NLL %.3f → %.3f nats", before.NLL, after.NLL)
	if after.NLL > before.NLL-0.5 {
		t.Errorf("held-out NLL went from %.3f to %.3f; expected a drop of at least 0.5 nats", before.NLL, after.NLL)
	}
}

// TestEMAStartsAfterDataInit: the weight average must start from the
// data-initialized ActNorm parameters (a bug once made it start from the
// identity, so early evaluations used a badly scaled model).
func TestEMAStartsAfterDataInit(t *testing.T) {
	cfg := tinyConfig(6)
	cfg.Optim.EMADecay = 0.999
	tr := newTrainer(t, cfg)
	steps(t, tr, 1)
	for i, p := range tr.params {
		if !strings.HasSuffix(p.Name, "logscale") {
			continue
		}
		pv, ev := p.Value.Data().([]float32), tr.ema[i].Data().([]float32)
		for j := range pv {
			if math.Abs(float64(pv[j]-ev[j])) > 0.01 {
				t.Fatalf("%s[%d]: parameter %v, average %v after one step", p.Name, j, pv[j], ev[j])
			}
		}
	}
}
