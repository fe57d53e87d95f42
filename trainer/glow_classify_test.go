package trainer

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/iresnet/iresnet/blocks/coupling"
	"github.com/iresnet/iresnet/graph"
	"github.com/iresnet/iresnet/internal/imagetest"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestFamilyClassifierShape: for the classify and hybrid tasks WithFamily
// shapes Glow and Real NVP like the i-ResNet classifier they replace (the
// comparison of Behrmann et al. 2019, table "i-ResNets across tasks"), and
// refuses the families without a multi-scale feature map, naming those
// with one.
func TestFamilyClassifierShape(t *testing.T) {
	base := SmallMNISTClassifier("")
	shape := base.Model.InputShape() // MNIST padded to 32×32
	for _, fam := range []string{"glow", "glow-additive"} {
		c, err := base.WithFamily(fam, shape)
		if err != nil {
			t.Fatal(err)
		}
		g := c.Model.Glow
		if g == nil {
			t.Fatalf("%s: model %+v, want Glow", fam, c.Model)
		}
		// Three squeezes (32 → 4) like the i-ResNet's initial squeeze and
		// two strided scales, two steps per level like its two blocks per
		// scale, its widths, no factor-out.
		if g.Levels != 3 || g.Steps != 2 || !slices.Equal(g.LevelHidden, []int{32, 64, 64}) || !g.NoSplit {
			t.Errorf("%s classifier %+v, want 3 levels × 2 steps, widths 32-64-64, no split", fam, *g)
		}
		if add := fam == "glow-additive"; add != (g.Coupling == coupling.Additive && g.Mixing == coupling.Reverse) {
			t.Errorf("%s: coupling %v, mixing %v", fam, g.Coupling, g.Mixing)
		}
		if _, err := c.WithDefaults(); err != nil {
			t.Errorf("%s classifier: %v", fam, err)
		}
	}
	rn, err := base.WithFamily("realnvp", shape)
	if err != nil {
		t.Fatal(err)
	}
	if r := rn.Model.RealNVP; r == nil || r.Scales != 4 || !r.NoSplit || r.Couplings != 2 {
		t.Errorf("realnvp classifier %+v", rn.Model)
	}
	if _, err := rn.WithDefaults(); err != nil {
		t.Errorf("realnvp classifier: %v", err)
	}
	// The trunk reads the last level: 64×4×4, the whole latent.
	c, _ := base.WithFamily("glow", shape)
	m, err := c.Model.build(rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	trunk, ok := m.(Trunk)
	if !ok {
		t.Fatalf("the Glow classifier %T is no Trunk", m)
	}
	if fs := trunk.FinalShape(); fs != [3]int{64, 4, 4} || fs[0]*fs[1]*fs[2] != c.Model.dim() {
		t.Errorf("Glow classifier's feature map %v, want the whole latent, 64×4×4", fs)
	}
	for _, fam := range []string{"nice", "maf", "made", "ffjord"} {
		_, err := base.WithFamily(fam, shape)
		if err == nil || !strings.Contains(err.Error(), "glow, glow-additive, iresnet, realnvp") || !strings.Contains(err.Error(), fam) {
			t.Errorf("%s classifier: error %v, want a refusal naming the families that classify", fam, err)
		}
	}
	// A hand-made configuration is refused at WithDefaults the same way.
	bad := base
	bad.Model = ModelConfig{NICE: &coupling.NICEConfig{Channels: 1, Height: 32, Width: 32}}
	if _, err := bad.WithDefaults(); err == nil || !strings.Contains(err.Error(), "glow, glow-additive, iresnet, realnvp") {
		t.Errorf("NICE classifier: error %v", err)
	}
	// Density keeps each family's own default (Glow factors out).
	d, err := SmallMNISTDensity("").WithFamily("glow", []int{1, 28, 28})
	if err != nil {
		t.Fatal(err)
	}
	if d.Model.Glow == nil || d.Model.Glow.NoSplit || d.Model.Glow.LevelHidden != nil {
		t.Errorf("density Glow %+v, want the family's default", d.Model.Glow)
	}
}

// tinyGlowClassifier is a Glow classifier for the tiny 8×8 images, shaped
// by WithFamily after a tiny i-ResNet classifier: 2 levels × 2 steps,
// widths 8, no factor-out, head on 16×2×2.
func tinyGlowClassifier(t *testing.T, family, dir string) Config {
	t.Helper()
	cfg := imageConfig(dir)
	cfg.Data.LogitAlpha = 0 // pixels in [0, 1], as the classifier presets
	cfg.Objective.Task = Classify
	ms := *cfg.Model.MultiScale
	ms.Blocks, ms.Hidden, ms.NoSplit = 2, []int{8, 8}, true
	cfg.Model.MultiScale = &ms
	cfg.BatchSize, cfg.Optim.LR = 64, 3e-3
	cfg, err := cfg.WithFamily(family, []int{1, 8, 8})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestGlowClassifies trains affine and additive Glow classifiers on tiny
// MNIST-like data through the trainer's classify path, which compiles only
// the subgraph of the logits, loss and gradients (the tape-machine hazard
// of blocks/ode TestSubgraphMachineHazard). It checks that
//   - the head reads the whole latent of the trunk (16×2×2);
//   - the gradients of the compiled subgraph machine equal those of a fresh
//     machine of the whole graph on the same batch;
//   - each parameter tensor's gradient g agrees with a central difference
//     of the loss along g (float32, as the trainer runs);
//   - the loss on a fixed batch of training images goes down;
//   - the classifier saves, loads and evaluates to a test error.
func TestGlowClassifies(t *testing.T) {
	dir := imagetest.TinyMNIST(t)
	for _, fam := range []string{"glow", "glow-additive"} {
		t.Run(fam, func(t *testing.T) {
			tr := newTrainer(t, tinyGlowClassifier(t, fam, dir))
			if _, ok := tr.model.(*coupling.MultiScale); !ok {
				t.Fatalf("model %T, want *coupling.MultiScale", tr.model)
			}
			if fs := tr.trunk.FinalShape(); fs != [3]int{16, 2, 2} {
				t.Fatalf("feature map %v, want 16×2×2", fs)
			}
			steps(t, tr, 1) // data-initialized ActNorms and head
			c := tr.train
			x := c.x.Clone().(*tensor.Dense) // a fixed batch and its labels
			onehot := c.onehot.Clone().(*tensor.Dense)
			loss := func() float64 {
				copy(c.x.Data().([]float32), x.Data().([]float32))
				copy(c.onehot.Data().([]float32), onehot.Data().([]float32))
				if err := c.m.Run(); err != nil {
					t.Fatal(err)
				}
				return scalar(c.loss)
			}
			steps(t, tr, 3) // move the zero-initialized coupling nets
			l0 := loss()
			sub := make([][]float32, len(c.grads))
			for i, g := range c.grads {
				sub[i] = slices.Clone(g.Value().Data().([]float32))
			}
			// A fresh machine of the whole graph.
			whole := graph.NewRunner(G.NewTapeMachine(c.b.Graph()))
			defer whole.Close()
			if err := whole.Run(); err != nil {
				t.Fatal(err)
			}
			worst := 0.0
			for i, g := range c.grads {
				for j, v := range g.Value().Data().([]float32) {
					worst = math.Max(worst, math.Abs(float64(v-sub[i][j]))/(1+math.Abs(float64(v))))
				}
			}
			if worst > 1e-5 {
				t.Errorf("subgraph and whole-graph gradients differ by %.3g (relative)", worst)
			}

			// Directional central differences, tensor by tensor.
			checked := 0
			for i, p := range tr.params {
				g := sub[i]
				norm := 0.0
				for _, v := range g {
					norm += float64(v) * float64(v)
				}
				norm = math.Sqrt(norm)
				if norm < 1e-3 {
					continue // below what float32 differences resolve
				}
				// Step length in parameter space: the ReLU kinks of the head
				// and the LU convolutions' curvature give 5% errors at 1e-2,
				// float32 rounding gives them below 1e-3.
				const eps = 3e-3
				d := p.Value.Data().([]float32)
				orig := slices.Clone(d)
				shift := func(s float64) float64 {
					for j := range d {
						d[j] = orig[j] + float32(s*float64(g[j])/norm)
					}
					return loss()
				}
				fd := (shift(eps) - shift(-eps)) / (2 * eps)
				copy(d, orig)
				if math.Abs(fd-norm) > 0.05*norm+1e-4 {
					t.Errorf("%s: |gradient| %.5g, central difference along it %.5g", p.Name, norm, fd)
				}
				checked++
			}
			if checked < len(tr.params)/2 {
				t.Errorf("only %d of %d parameter tensors had a gradient to check", checked, len(tr.params))
			}
			if l := loss(); math.Abs(l-l0) > 1e-5*(1+math.Abs(l0)) {
				t.Fatalf("restored parameters give loss %v, want %v", l, l0)
			}

			steps(t, tr, 40)
			l1 := loss()
			t.Logf("subgraph vs whole graph %.3g; %d tensors checked; fixed-batch loss %.3f → %.3f", worst, checked, l0, l1)
			if !(l1 < 0.9*l0) {
				t.Errorf("fixed-batch cross-entropy %.4f → %.4f after 40 steps, want a 10%% drop", l0, l1)
			}

			ev, err := tr.Evaluate()
			if err != nil {
				t.Fatal(err)
			}
			if ev.Error < 0 || ev.Error > 1 || ev.NLL != 0 {
				t.Errorf("evaluation %+v", ev)
			}
			path := filepath.Join(t.TempDir(), CheckpointFile)
			if err := tr.Save(path); err != nil {
				t.Fatal(err)
			}
			back, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			defer back.Close()
			ev2, err := back.Evaluate()
			if err != nil {
				t.Fatal(err)
			}
			if ev2.Error != ev.Error {
				t.Errorf("loaded classifier's test error %v, saved one's %v", ev2.Error, ev.Error)
			}
		})
	}
}
