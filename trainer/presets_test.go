package trainer

import (
	"os"
	"testing"
	"time"

	"github.com/iresnet/iresnet/datasets"
)

// TestPaperPresets builds the paper's configurations, reports their
// parameter counts, and (without -short) times one training step at a
// small batch. CIFAR-10 runs on a tiny set in its binary format, since the
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
	}
	for _, p := range presets {
		t.Run(p.name, func(t *testing.T) {
			cfg := p.cfg
			cfg.EvalSize, cfg.EvalBatch = 2, 2
			cfg.BatchSize = 2
			if p.name != "small MNIST" {
				cfg.Images.Model.InitPowerIters = 5
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
