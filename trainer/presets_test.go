package trainer

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/iresnet/iresnet/datasets"
)

// TestPaperPresets builds the paper's configurations, reports their
// parameter counts, and (without -short) times one training step at a
// small batch (not of the paper CIFAR-10 density model, whose step needs
// 3 GB). CIFAR-10 runs on a tiny set in its binary format, since the
// real one cannot be downloaded here.
func TestPaperPresets(t *testing.T) {
	if testing.Short() {
		t.Skip("builds models of tens of millions of parameters")
	}
	mnistDir, err := datasets.MNISTDir()
	if err != nil {
		t.Skipf("real MNIST not found: %v", err)
	}
	cifarDir := t.TempDir()
	for _, name := range datasets.CIFAR10Files(datasets.Train) {
		writeTinyCIFAR(t, cifarDir, name)
	}
	for _, name := range datasets.CIFAR10Files(datasets.Test) {
		writeTinyCIFAR(t, cifarDir, name)
	}
	presets := []struct {
		name string
		cfg  Config
	}{
		{"small MNIST", SmallMNISTDensity(mnistDir)},
		{"paper MNIST", PaperMNISTDensity(mnistDir)},
		{"paper CIFAR-10", PaperCIFAR10Density(cifarDir)},
		{"paper CIFAR-10 classifier", PaperCIFAR10Classifier(cifarDir)},
		{"small MNIST classifier", SmallMNISTClassifier(mnistDir)},
	}
	for _, p := range presets {
		t.Run(p.name, func(t *testing.T) {
			cfg := p.cfg
			cfg.EvalSize, cfg.EvalBatch = 2, 2
			cfg.BatchSize = 2
			if !strings.HasPrefix(p.name, "small") {
				cfg.Model.MultiScale.InitPowerIters = 5
			}
			start := time.Now()
			tr, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()
			built := time.Since(start)
			params := 0
			for _, nt := range tr.Model().Tensors() {
				if nt.Learnable {
					params += nt.Value.Shape().TotalSize()
				}
			}
			if p.name == "paper CIFAR-10" {
				// Its step holds every value of the gradient through the
				// series, 3 GB at batch 2 (the suite's bound); the paper
				// MNIST step above runs the same architecture.
				t.Logf("%s: %d parameters, built in %v; step not run", p.name, params, built.Round(time.Millisecond))
				return
			}
			st, err := tr.Step()
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %d parameters, built in %v, one step at batch %d: %v", p.name, params, built.Round(time.Millisecond), cfg.BatchSize, st.Duration.Round(time.Millisecond))
		})
	}
}

func writeTinyCIFAR(t *testing.T, dir, name string) {
	t.Helper()
	n := 4
	im := &datasets.Images{N: n, C: 3, H: 32, W: 32, Pixels: make([]uint8, n*3*32*32), Labels: make([]int, n), Classes: 10}
	for i := range im.Pixels {
		im.Pixels[i] = uint8(i * 7)
	}
	if err := datasets.WriteCIFAR10(dir+string(os.PathSeparator)+name, im); err != nil {
		t.Fatal(err)
	}
}

// TestPresetTable checks that every family, dataset and task has a valid
// preset with the architecture the documentation promises.
func TestPresetTable(t *testing.T) {
	for _, size := range []PresetSize{SmallPreset, PaperPreset} {
		for _, set := range []datasets.ImageSet{datasets.MNIST, datasets.CIFAR10, datasets.CIFAR100} {
			for _, task := range []Task{Density, Classify, Hybrid} {
				c, err := Preset(size, set, task, "/data")
				if err != nil {
					t.Errorf("%s %v %v: %v", size, set, task, err)
					continue
				}
				m := *c.Model.MultiScale
				wantC := 3
				if set == datasets.MNIST {
					wantC = 1
				}
				side := m.Height - 2*c.Data.Pad
				if set == datasets.MNIST && side != 28 || set != datasets.MNIST && side != 32 || m.Channels != wantC {
					t.Errorf("%s %v %v: model input %d×%d×%d with padding %d does not fit the images", size, set, task, m.Channels, m.Height, m.Width, c.Data.Pad)
				}
				if c.Data.Name != set.String() || c.Objective.Task != task || c.Data.Dir != "/data" {
					t.Errorf("%s %v %v: preset says %v %v %q", size, set, task, c.Data.Name, c.Objective.Task, c.Data.Dir)
				}
				if (task == Classify || size == SmallPreset && task == Hybrid) && !m.NoSplit {
					t.Errorf("%s %v %v: a classifier trunk should keep every channel", size, set, task)
				}
				if size == PaperPreset && task == Classify && (m.PadChannels != 13 || m.Blocks != 7 || c.Optim.Algorithm != SGD) {
					t.Errorf("paper classifier: padding %d, %d blocks, %v; want 13, 7, sgd", m.PadChannels, m.Blocks, c.Optim.Algorithm)
				}
				if size == PaperPreset && task == Density && (m.Blocks != 16 || m.Hidden[0] != 512 || c.BatchSize != 128 || c.Optim.Algorithm != Adamax) {
					t.Errorf("paper density: %d blocks of %v, batch %d, %v; want 16 of 512, 128, adamax", m.Blocks, m.Hidden, c.BatchSize, c.Optim.Algorithm)
				}
			}
		}
	}
	if _, err := Preset("huge", datasets.MNIST, Density, ""); err == nil {
		t.Error("an unknown preset family was accepted")
	}
	c := SmallMNISTDensity("")
	c.Model.MultiScale.PadChannels = 3
	if _, err := c.WithDefaults(); err == nil {
		t.Error("a density model with injective padding was accepted")
	}
}
