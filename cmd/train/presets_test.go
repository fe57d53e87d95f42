package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iresnet/iresnet/datasets"
	"github.com/iresnet/iresnet/trainer"
)

// TestFamilyPresetsSelect: -preset paper with -model gives the family's
// own paper configuration for the data (CIFAR-100 the CIFAR-10 one), and
// -preset small (the default) the family's default model, as before.
func TestFamilyPresetsSelect(t *testing.T) {
	cases := []struct {
		args  []string
		check func(trainer.Config) bool
		want  string
	}{
		{[]string{"-data", "cifar10", "-data-dir", "/data", "-model", "glow", "-preset", "paper"},
			func(c trainer.Config) bool {
				g := c.Model.Glow
				return g != nil && g.Levels == 3 && g.Steps == 32 && g.HiddenChannels == 512 && c.BatchSize == 64 && c.Optim.Algorithm == trainer.Adamax
			}, "Glow L = 3, K = 32, 512 channels, batch 64, Adamax"},
		{[]string{"-data", "cifar100", "-data-dir", "/data", "-model", "realnvp", "-preset", "paper"},
			func(c trainer.Config) bool {
				r := c.Model.RealNVP
				return r != nil && r.ResBlocks == 8 && r.HiddenChannels == 64 && r.Scales == 2 && r.Channels == 3 && c.Data.Name == "cifar100"
			}, "Real NVP with 8 residual blocks of 64 feature maps on CIFAR-100"},
		{[]string{"-data", "mnist", "-model", "nice", "-preset", "paper"},
			func(c trainer.Config) bool {
				n := c.Model.NICE
				return n != nil && n.Layers == 4 && len(n.Hidden) == 5 && n.Hidden[0] == 1000 && c.BatchSize == 200
			}, "NICE 4 × (5 × 1000)"},
		{[]string{"-data", "mnist", "-model", "maf", "-preset", "paper", "-batch", "10"},
			func(c trainer.Config) bool {
				m := c.Model.MAF
				return m != nil && m.Layers == 5 && len(m.Hidden) == 2 && m.Hidden[0] == 1024 && c.BatchSize == 10
			}, "MAF 5 of 2 × 1024, with -batch overriding the preset's"},
		{[]string{"-data", "mnist", "-model", "glow"},
			func(c trainer.Config) bool {
				g := c.Model.Glow
				return g != nil && g.Levels == 0 && g.Steps == 0 && g.HiddenChannels == 0 && c.BatchSize == 64
			}, "coupling.GlowConfig's defaults at the small preset's batch"},
		{[]string{"-data", "mnist", "-model", "glow", "-preset", "small"},
			func(c trainer.Config) bool {
				g := c.Model.Glow
				return g != nil && g.Levels == 0 && g.Steps == 0 && g.HiddenChannels == 0
			}, "coupling.GlowConfig's defaults"},
	}
	for _, c := range cases {
		_, cfg, _, err := configure(c.args, io.Discard)
		if err != nil {
			t.Errorf("%v: %v", c.args, err)
			continue
		}
		if !c.check(cfg) {
			t.Errorf("%v: got %+v at batch %d, want %s", c.args, cfg.Model, cfg.BatchSize, c.want)
		}
	}
	// The run folder names the preset, as the i-ResNet's does.
	for args, want := range map[string]string{
		"-data cifar10 -data-dir /data -model glow -preset paper":           "runs/cifar10-glow-paper",
		"-data mnist -model maf -preset small":                              "runs/mnist-maf",
		"-data mnist -model realnvp -preset paper -task classify -warmup 0": "runs/mnist-realnvp-paper-classify",
		"-data mnist -preset paper":                                         "runs/mnist-paper",
		"-data 2moons -model nice":                                          "runs/2moons-nice",
	} {
		o, cfg, _, err := configure(strings.Fields(args), io.Discard)
		if err != nil {
			t.Errorf("%s: %v", args, err)
			continue
		}
		if got := defaultOut(o, cfg.Objective.Task); got != filepath.FromSlash(want) {
			t.Errorf("%s: run folder %s, want %s", args, got, want)
		}
	}
}

// TestFamilyPresetRefusals: a paper preset on toy data, an unknown preset
// and a family that does not classify are refused, naming the flag.
func TestFamilyPresetRefusals(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-model", "glow", "-preset", "paper"}, "-preset paper selects a configuration for image data (-data mnist, cifar10, cifar100); on the toy density 8gaussians, -model glow takes its toy default"},
		{[]string{"-data", "checkerboard", "-model", "maf", "-preset", "small"}, "-preset small selects a configuration for image data"},
		{[]string{"-data", "mnist", "-model", "glow", "-preset", "huge"}, "-preset: trainer: unknown preset family \"huge\""},
		{[]string{"-data", "mnist", "-model", "ffjord", "-preset", "paper", "-task", "classify"}, "-model: trainer: the ffjord family is trained for density only"},
		{[]string{"-data", "mnist", "-model", "flowpp", "-preset", "paper"}, "-model: trainer: unknown model family \"flowpp\""},
		{[]string{"-data", "mnist", "-model", "nice", "-preset", "paper", "-hidden", "64"}, "-hidden applies to i-ResNets"},
		{[]string{"-data", "cifar10", "-model", "glow", "-preset", "paper"}, "-data cifar10 needs -data-dir"},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		err := run(c.args, &out, &errb)
		if err == nil {
			t.Errorf("%v: no error", c.args)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %q does not say %q", c.args, err, c.want)
		}
	}
}

// writeCIFAR10 writes a CIFAR-10 of n images per file (every training
// batch and the test batch) in the official binary format into dir.
func writeCIFAR10(t *testing.T, dir string, n int) {
	t.Helper()
	names := append(datasets.CIFAR10Files(datasets.Train), datasets.CIFAR10Files(datasets.Test)...)
	for f, name := range names {
		im := &datasets.Images{N: n, C: 3, H: 32, W: 32, Pixels: make([]uint8, n*datasets.CIFARPixels), Labels: make([]int, n), Classes: 10}
		for i := range im.Pixels {
			im.Pixels[i] = uint8(i*7 + f*13 + i/1024*29)
		}
		for i := range im.Labels {
			im.Labels[i] = (i + f) % 10
		}
		if err := datasets.WriteCIFAR10(filepath.Join(dir, name), im); err != nil {
			t.Fatal(err)
		}
	}
}

// TestEveryFamilyTrainsOnCIFAR10 trains every family's small model two
// steps at batch 2 through the command line on a synthetic CIFAR-10 in the
// official binary format (the real one cannot be downloaded here), with
// its checkpoint, metrics and pictures (samples through the inverse,
// reconstructions, curves) in the run folder, named as -preset small runs
// are.
func TestEveryFamilyTrainsOnCIFAR10(t *testing.T) {
	if testing.Short() {
		t.Skip("trains seven models on images")
	}
	data := t.TempDir()
	writeCIFAR10(t, data, 4)
	for _, family := range trainer.Families() {
		t.Run(family, func(t *testing.T) {
			start := time.Now()
			root := t.TempDir()
			t.Chdir(root) // the run folder's default name, runs/cifar10-<family>
			var out, errb bytes.Buffer
			args := []string{"-model", family, "-data", "cifar10", "-data-dir", data, "-steps", "2", "-batch", "2",
				"-eval-every", "2", "-eval-size", "4", "-eval-batch", "4", "-save-every", "2", "-log-every", "1",
				"-warmup", "0", "-ema", "0", "-quiet"}
			if err := run(args, &out, &errb); err != nil {
				t.Fatalf("%v\n%s", err, errb.String())
			}
			dir := filepath.Join(root, "runs", "cifar10-"+family)
			for _, f := range []string{trainer.CheckpointFile, trainer.MetricsFile, "samples.png", "reconstructions.png", "curves.png"} {
				if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Size() == 0 {
					t.Errorf("%s not written: %v", f, err)
				}
			}
			metrics, err := os.ReadFile(filepath.Join(dir, trainer.MetricsFile))
			if err != nil || !strings.Contains(string(metrics), `"test_bpd":`) {
				t.Errorf("metrics without held-out bits/dim (%v):\n%s", err, metrics)
			}
			tr, err := trainer.Load(filepath.Join(dir, trainer.CheckpointFile))
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()
			if tr.Steps() != 2 || tr.Config().Data.Name != "cifar10" || tr.Config().Model.IResNet() {
				t.Errorf("checkpoint at step %d of a %s model on %s", tr.Steps(), tr.Config().Model.Name(), tr.Config().Data.Name)
			}
			t.Logf("%s: %v", family, time.Since(start).Round(10*time.Millisecond))
		})
	}
}
