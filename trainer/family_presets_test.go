package trainer

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iresnet/iresnet/datasets"
)

// The parameter counts of the paper presets, from the architectures'
// formulas, written out here without the code under test.

// mlpParams counts a dense net of the given widths (input, hidden…,
// output): a weight matrix and perBias bias columns per layer (FFJORD's
// layers add b + t·c, two columns).
func mlpParams(widths []int, perBias int) int {
	n := 0
	for i := 0; i+1 < len(widths); i++ {
		n += widths[i]*widths[i+1] + perBias*widths[i+1]
	}
	return n
}

// niceParams: L additive couplings whose MLP reads and writes the whole
// masked vector (d → hidden… → d), then the scaling layer's d log-scales.
func niceParams(d int, hidden []int, layers int) int {
	return layers*mlpParams(append(append([]int{d}, hidden...), d), 1) + d
}

// mafParams: L Gaussian MADEs (hidden layers, then a mean and a log-scale
// head of d outputs each), with 2d ActNorm parameters after each when
// actnorm is set.
func mafParams(d int, hidden []int, layers int, actnorm bool) int {
	made := mlpParams(append([]int{d}, hidden...), 1) + 2*(hidden[len(hidden)-1]*d+d)
	if actnorm {
		made += 2 * d
	}
	return layers * made
}

// convNetParams: a coupling's conv net, in → hidden (3×3), then either
// Glow's 1×1 hidden → hidden (res = 0) or res residual blocks of two 3×3
// convs, then hidden → out (3×3), every conv with a bias.
func convNetParams(in, hidden, out, res int) int {
	n := hidden*in*9 + hidden
	if res == 0 {
		n += hidden*hidden + hidden
	}
	n += 2 * res * (hidden*hidden*9 + hidden)
	return n + out*hidden*9 + out
}

// realNVPParams: two scales; affine couplings with tanh-bounded scales
// carry one learned factor per transformed channel. Scale one: three
// checkerboard couplings on c channels, a squeeze, three channel couplings
// on 4c (nets 2c → 4c); half factored out; the last scale four
// checkerboard couplings on 2c.
func realNVPParams(c, hidden, res int) int {
	cb := func(c int) int { return convNetParams(c, hidden, 2*c, res) + c }
	ch := func(c int) int { return convNetParams(c/2, hidden, c, res) + c/2 }
	return 3*cb(c) + 3*ch(4*c) + 4*cb(2*c)
}

// glowParams: L levels of a squeeze and K steps (ActNorm 2C; the LU 1×1
// convolution's L, U and log|s|, 2C² + C; the coupling's net from C/2
// channels to C, affine, or C/2, additive), half the channels factored
// out between levels.
func glowParams(c, levels, steps, hidden int, affine, conv1x1 bool) int {
	n := 0
	for l := 0; l < levels; l++ {
		c *= 4
		out := c / 2
		if affine {
			out = c
		}
		step := 2*c + convNetParams(c/2, hidden, out, 0)
		if conv1x1 {
			step += 2*c*c + c
		}
		n += steps * step
		if l+1 < levels {
			c /= 2
		}
	}
	return n
}

func repeat(v, n int) []int { return slices.Repeat([]int{v}, n) }

// TestFamilyPaperPresets builds every family's paper preset for MNIST and
// CIFAR-10 and holds its parameter count to the paper architecture's
// formula and to the number its documentation gives. Without -short every
// model is built (the largest, MAF on CIFAR-10, holds 115M parameters and
// as many mask entries: about 1 GB for a few seconds); with -short only
// those under 10M parameters.
func TestFamilyPaperPresets(t *testing.T) {
	cases := []struct {
		family  string
		set     datasets.ImageSet
		formula int
		doc     int // as the preset's doc comment states it
		batch   int
	}{
		{"nice", datasets.MNIST, niceParams(784, repeat(1000, 5), 4), 22295920, 200},
		{"nice", datasets.CIFAR10, niceParams(3072, repeat(2000, 4), 4), 97199360, 200},
		{"made", datasets.MNIST, mafParams(784, repeat(1024, 2), 1, false), 3460640, 100},
		{"made", datasets.CIFAR10, mafParams(3072, repeat(2048, 2), 1, false), 23078912, 100},
		{"maf", datasets.MNIST, mafParams(784, repeat(1024, 2), 5, true), 17311040, 100},
		{"maf", datasets.CIFAR10, mafParams(3072, repeat(2048, 2), 5, true), 115425280, 100},
		{"realnvp", datasets.MNIST, realNVPParams(1, 64, 8), 5938547, 64},
		{"realnvp", datasets.CIFAR10, realNVPParams(3, 64, 8), 5997401, 64},
		{"glow", datasets.MNIST, glowParams(1, 3, 32, 512, true, true), 31482368, 64},
		{"glow", datasets.CIFAR10, glowParams(3, 3, 32, 512, true, true), 44047872, 64},
		{"glow-additive", datasets.MNIST, glowParams(1, 3, 32, 512, false, false), 29395136, 64},
		{"glow-additive", datasets.CIFAR10, glowParams(3, 3, 32, 512, false, false), 37657152, 64},
		{"ffjord", datasets.MNIST, mlpParams([]int{784, 1024, 1024, 1024, 784}, 2), 3710496, 200},
		{"ffjord", datasets.CIFAR10, mlpParams([]int{3072, 1024, 1024, 1024, 3072}, 2), 8400896, 200},
	}
	covered := map[string]int{}
	for _, c := range cases {
		covered[c.family]++
		t.Run(c.family+"/"+c.set.String(), func(t *testing.T) {
			if c.formula != c.doc {
				t.Errorf("the architecture's formula gives %d parameters, the documentation %d", c.formula, c.doc)
			}
			cfg, err := FamilyPreset(c.family, PaperPreset, c.set, Density, "/data")
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Data.Name != c.set.String() || cfg.Data.Dir != "/data" || cfg.Objective.Task != Density || cfg.BatchSize != c.batch {
				t.Errorf("preset for %s %q, task %v, batch %d; want %s /data density, batch %d", cfg.Data.Name, cfg.Data.Dir, cfg.Objective.Task, cfg.BatchSize, c.set, c.batch)
			}
			wantAlpha := 0.05
			if c.set == datasets.MNIST {
				wantAlpha = 1e-6
			}
			if cfg.Data.LogitAlpha != wantAlpha {
				t.Errorf("logit α %v, want %v (the i-ResNet density presets')", cfg.Data.LogitAlpha, wantAlpha)
			}
			shape := cfg.Model.InputShape()
			wantShape := []int{3, 32, 32}
			if c.set == datasets.MNIST {
				side := 28 + 2*cfg.Data.Pad
				wantShape = []int{1, side, side}
			}
			if !slices.Equal(shape, wantShape) {
				t.Errorf("model input %v, want %v", shape, wantShape)
			}
			if epoch := (map[datasets.ImageSet]int{datasets.MNIST: 60000, datasets.CIFAR10: 50000}[c.set] + c.batch - 1) / c.batch; cfg.EvalEvery != epoch || cfg.Steps%epoch != 0 || cfg.EvalSize != 10000 {
				t.Errorf("evaluation every %d steps on %d images over %d steps; want once an epoch (%d steps) on all 10000", cfg.EvalEvery, cfg.EvalSize, cfg.Steps, epoch)
			}
			if testing.Short() && c.formula > 10_000_000 {
				t.Skipf("builds %d parameters", c.formula)
			}
			start := time.Now()
			m, err := cfg.Model.build(rand.New(rand.NewPCG(1, 2)))
			if err != nil {
				t.Fatal(err)
			}
			params := 0
			for _, nt := range m.Tensors() {
				if nt.Learnable {
					params += nt.Value.Shape().TotalSize()
				}
			}
			if params != c.formula {
				t.Errorf("built %d parameters, the architecture's formula gives %d", params, c.formula)
			}
			t.Logf("%d parameters, built in %v", params, time.Since(start).Round(time.Millisecond))
		})
	}
	for _, f := range Families() {
		if covered[f] != 2 {
			t.Errorf("family %s has %d paper presets checked, want MNIST and CIFAR-10", f, covered[f])
		}
	}
}

// TestFamilyPresetTable: every family has a valid preset of each size for
// every dataset, CIFAR-100 takes the CIFAR-10 layout under its own name,
// the small preset is the family's default model, and the classifier
// families' classify presets are shaped like the i-ResNet's of that size.
func TestFamilyPresetTable(t *testing.T) {
	sets := []datasets.ImageSet{datasets.MNIST, datasets.CIFAR10, datasets.CIFAR100}
	for _, family := range Families() {
		for _, set := range sets {
			for _, size := range []PresetSize{SmallPreset, PaperPreset} {
				c, err := FamilyPreset(family, size, set, Density, "/data")
				if err != nil {
					t.Errorf("%s %s %s: %v", family, size, set, err)
					continue
				}
				if c.Data.Name != set.String() {
					t.Errorf("%s %s %s: data %s", family, size, set, c.Data.Name)
				}
				if c.Model.Name() == "" || c.Model.IResNet() {
					t.Errorf("%s %s %s: model %q", family, size, set, c.Model.Name())
				}
				if size == SmallPreset {
					small, _ := Preset(SmallPreset, set, Density, "/data")
					want, err := small.WithFamily(family, small.Model.InputShape())
					if err != nil {
						t.Fatal(err)
					}
					if c.BatchSize != small.BatchSize || c.Model.Name() != want.Model.Name() {
						t.Errorf("%s small %s: batch %d, model %s; want the family default (%s) at batch %d", family, set, c.BatchSize, c.Model.Name(), want.Model.Name(), small.BatchSize)
					}
				}
			}
		}
		paper10, _ := FamilyPreset(family, PaperPreset, datasets.CIFAR10, Density, "/data")
		paper100, _ := FamilyPreset(family, PaperPreset, datasets.CIFAR100, Density, "/data")
		paper100.Data.Name = "cifar10"
		if a, b := paperJSON(t, paper10), paperJSON(t, paper100); a != b {
			t.Errorf("%s: the CIFAR-100 paper preset is not the CIFAR-10 one:\n%s\n%s", family, a, b)
		}
	}
	for _, family := range []string{"glow", "glow-additive", "realnvp"} {
		c, err := FamilyPreset(family, PaperPreset, datasets.CIFAR10, Classify, "/data")
		if err != nil {
			t.Errorf("%s paper classifier: %v", family, err)
			continue
		}
		if c.Optim.Algorithm != SGD || c.BatchSize != 128 || c.Model.Name() == "" || c.Model.IResNet() {
			t.Errorf("%s paper classifier: %v at batch %d, model %q; want the i-ResNet paper classifier's training with the family's trunk", family, c.Optim.Algorithm, c.BatchSize, c.Model.Name())
		}
	}
	if _, err := FamilyPreset("nice", PaperPreset, datasets.MNIST, Classify, ""); err == nil || !strings.Contains(err.Error(), "density only") {
		t.Errorf("a NICE classifier preset: %v", err)
	}
	if _, err := FamilyPreset("flowpp", PaperPreset, datasets.MNIST, Density, ""); err == nil || !strings.Contains(err.Error(), "unknown model family") {
		t.Errorf("an unknown family: %v", err)
	}
	if _, err := FamilyPreset("glow", "huge", datasets.MNIST, Density, ""); err == nil || !strings.Contains(err.Error(), "unknown preset family") {
		t.Errorf("an unknown preset: %v", err)
	}
}

func paperJSON(t *testing.T, c Config) string {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
