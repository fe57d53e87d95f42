package main

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iresnet/iresnet/trainer"
)

func TestBadFlagsAreClearErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-data", "9gaussians"}, "not a toy density (8gaussians"},
		{[]string{"-act", "gelu"}, "unknown activation"},
		{[]string{"-coeff", "1"}, "must lie in (0, 1)"},
		{[]string{"-coeff", "1.5"}, "must lie in (0, 1)"},
		{[]string{"-hidden", "64,x"}, "comma-separated list"},
		{[]string{"-estimator", "hutch"}, "unknown estimator"},
		{[]string{"-gradient", "magic"}, "unknown gradient mode"},
		{[]string{"-optimizer", "rmsprop"}, "unknown optimizer"},
		{[]string{"-batch", "0"}, "batch size (-batch) must lie in [1, 65536] (a larger one needs -limit batch=N, trainer.WithLimits), got 0"},
		{[]string{"-steps", "-5"}, "steps (-steps) must lie in [1, 1000000000] (a larger one needs -limit steps=N, trainer.WithLimits), got -5"},
		{[]string{"-steps", "0"}, "steps (-steps) must lie in [1, 1000000000] (a larger one needs -limit steps=N, trainer.WithLimits), got 0"},
		{[]string{"-lr", "-1"}, "learning rate (-lr) must lie in (0, 10]"},
		{[]string{"-lr", "0"}, "learning rate (-lr) must lie in (0, 10], got 0"},
		{[]string{"-clip", "Inf"}, "must be finite numbers"},
		{[]string{"-coeff", "0"}, "must lie in (0, 1)"},
		{[]string{"-batch", "2000000000"}, "batch size (-batch) must lie in [1, 65536]"},
		{[]string{"-limit", "batch=100000", "-batch", "2000000000"}, "batch size (-batch) must lie in [1, 100000]"},
		{[]string{"-limit", "bogus=3"}, `limit "bogus=3": want name=value with name one of batch, power_iters, probes, steps, terms`},
		{[]string{"-limit", "batch=0"}, "limit batch=0: want a whole number in [1, 2147483647]"},
		{[]string{"-hidden", "200000"}, "must lie in [1, 8192]"},
		{[]string{"-blocks", "1000000"}, "blocks in [1, 1024]"},
		{[]string{"-eval-size", "100000000"}, "eval size (-eval-size) must lie in [1, 1048576]"},
		// Image data takes the same flags with the same meaning, or refuses them.
		{[]string{"-data", "mnist", "-act", "gelu"}, "unknown activation"},
		{[]string{"-data", "mnist", "-estimator", "hutch"}, "unknown estimator"},
		{[]string{"-data", "mnist", "-gradient", "magic"}, "unknown gradient mode"},
		{[]string{"-data", "mnist", "-hidden", "64"}, "-hidden sets the widths of a toy block's hidden layers"},
		{[]string{"-data", "mnist", "-steps", "0"}, "steps (-steps) must lie in [1, 1000000000] (a larger one needs -limit steps=N, trainer.WithLimits), got 0"},
		{[]string{"-data", "mnist", "-batch", "0"}, "batch size (-batch) must lie in [1, 65536] (a larger one needs -limit batch=N, trainer.WithLimits), got 0"},
		{[]string{"-data", "mnist", "-coeff", "0"}, "must lie in (0, 1)"},
		{[]string{"-data", "mnist", "-blocks", "0"}, "1 … 1024 blocks per scale"},
		{[]string{"-data", "mnist", "-estimator", "exact"}, "exact log-det training needs dim ≤ 16"},
		{[]string{"-no-such-flag"}, "flag provided but not defined"},
		{[]string{"extra"}, "unexpected arguments"},
		{[]string{"-resume", "/nonexistent/run"}, "/nonexistent/run"},
		{[]string{"-vanilla"}, "applies to image data"},
		{[]string{"-preset", "paper"}, "applies to image data"},
		{[]string{"-data", "mnist", "-preset", "huge"}, "unknown preset family \"huge\""},
		{[]string{"-data", "cifar10"}, "-data cifar10 needs -data-dir: a folder holding the official CIFAR-10 binary version"},
		{[]string{"-data", "cifar100", "-task", "classify"}, "-data cifar100 needs -data-dir: a folder holding the official CIFAR-100 binary version"},
		{[]string{"-data", "cifar10", "-data-dir", "/nonexistent/cifar"}, "/nonexistent/cifar"},
		{[]string{"-data", "mnist", "-optimizer", "lbfgs"}, "unknown optimizer"},
		{[]string{"-data", "mnist", "-vanilla"}, "-vanilla needs -task classify"},
		{[]string{"-schedule", "step"}, "-schedule \"step\": want constant or cosine"},
		{[]string{"-data", "mnist", "-task", "classify", "-schedule", "linear"}, "want constant or cosine"},
		{[]string{"-data", "mnist", "-task", "classify", "-steps", "100"}, "pass -warmup N with N < 100, or -schedule constant"},
		{[]string{"-data", "mnist", "-task", "classify", "-steps", "40"}, "-steps 40 ends the run inside the"},
		{[]string{"-schedule", "cosine", "-steps", "50"}, "pass -warmup N with N < 50, or -schedule constant"},
		// Only the families with a multi-scale feature map classify.
		{[]string{"-data", "mnist", "-model", "nice", "-task", "classify"}, "families with a multi-scale feature map for the classifier head: glow, glow-additive, iresnet, realnvp"},
		{[]string{"-data", "mnist", "-model", "maf", "-task", "hybrid"}, "the maf family is trained for density only"},
		// A flag the chosen model, task or estimator would not use is
		// refused by name, never silently ignored (refuseInapplicable).
		// Exact-log-det families: no estimator, no spectral normalization.
		{[]string{"-model", "nice", "-estimator", "roulette"}, "-estimator applies to i-ResNets"},
		{[]string{"-model", "maf", "-probes", "4"}, "-probes applies to i-ResNets"},
		{[]string{"-model", "made", "-terms", "9"}, "-terms applies to i-ResNets"},
		{[]string{"-model", "realnvp", "-gradient", "series"}, "-gradient applies to i-ResNets"},
		{[]string{"-data", "mnist", "-model", "glow", "-power-iters", "3"}, "-model glow computes its log-determinant exactly"},
		// FFJORD: traces, not a power series.
		{[]string{"-model", "ffjord", "-terms", "7"}, "-terms applies to the i-ResNet's power series"},
		{[]string{"-model", "ffjord", "-gradient", "series"}, "-gradient applies to the i-ResNet's power series"},
		{[]string{"-model", "ffjord", "-power-iters", "2"}, "-power-iters applies to the i-ResNet's power series"},
		{[]string{"-model", "ffjord", "-estimator", "roulette"}, "-estimator roulette applies to i-ResNets; FFJORD's log-det"},
		{[]string{"-model", "ffjord", "-estimator", "exact", "-probes", "2"}, "-probes does not apply to -estimator exact"},
		// Classification computes no log-det and has no prior.
		{[]string{"-data", "mnist", "-task", "classify", "-terms", "10"}, "-terms sets the log-det estimator, and -task classify computes no log-det"},
		{[]string{"-data", "mnist", "-task", "classify", "-estimator", "roulette"}, "-estimator sets the log-det estimator"},
		{[]string{"-data", "mnist", "-task", "classify", "-learned-prior"}, "-learned-prior: -task classify has no prior"},
		// No spectral normalization without it.
		{[]string{"-data", "mnist", "-task", "classify", "-vanilla", "-coeff", "0.5"}, "-coeff sets the spectral normalization, which -vanilla switches off"},
		{[]string{"-data", "mnist", "-task", "classify", "-vanilla", "-power-iters", "3"}, "-power-iters sets the spectral normalization"},
		// Sub-flags of another estimator.
		{[]string{"-estimator", "exact", "-terms", "50"}, "-terms does not apply to -estimator exact"},
		{[]string{"-estimator", "exact", "-probes", "8"}, "-probes does not apply to -estimator exact"},
		{[]string{"-estimator", "exact", "-gradient", "series"}, "-gradient does not apply to -estimator exact"},
		{[]string{"-estimator", "roulette", "-gradient", "series"}, "-gradient chooses how the power series is differentiated"},
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
	err := run([]string{"-help"}, &out, &errb)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-help returned %v", err)
	}
	for _, f := range []string{"-data", "-out", "-resume", "-steps", "-coeff", "-estimator", "-gradient", "-terms", "-ema", "-time"} {
		if !strings.Contains(errb.String(), f) {
			t.Errorf("-help does not mention %s", f)
		}
	}
}

func TestTrainsAndResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("trains")
	}
	dir := filepath.Join(t.TempDir(), "run")
	common := []string{"-quiet", "-blocks", "2", "-hidden", "8", "-batch", "64", "-eval-size", "500", "-eval-every", "5", "-save-every", "5", "-log-every", "5"}
	var out, errb bytes.Buffer
	if err := run(append([]string{"-data", "2moons", "-out", dir, "-steps", "5"}, common...), &out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	for _, f := range []string{"checkpoint.safetensors", "metrics.jsonl", "data.png", "density.png", "samples.png"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s missing: %v", f, err)
		}
	}
	if err := run([]string{"-resume", dir, "-steps", "10", "-quiet"}, &out, &errb); err != nil {
		t.Fatalf("resume: %v\n%s", err, errb.String())
	}
	if err := run([]string{"-resume", dir, "-blocks", "3"}, &out, &errb); err == nil || !strings.Contains(err.Error(), "cannot change when resuming") {
		t.Errorf("changing -blocks on resume returned %v", err)
	}
}

// TestBannerNamesTheConstraint: the banner of a vanilla network says that
// it has no spectral normalization instead of quoting a coefficient.
func TestBannerNamesTheConstraint(t *testing.T) {
	if got := coeffText(0.9, false); got != "spectral norm c = 0.9" {
		t.Errorf("i-ResNet: %q", got)
	}
	if got := coeffText(0.9, true); strings.Contains(got, "0.9") || !strings.Contains(got, "no spectral normalization") {
		t.Errorf("vanilla: %q", got)
	}
	if netName(true) != "vanilla ResNet" || netName(false) != "i-ResNet" {
		t.Errorf("names %q, %q", netName(true), netName(false))
	}
}

// TestEMANote: a run shorter than its weight average's horizon is warned
// about, with the flag to pass; a long enough one is not.
func TestEMANote(t *testing.T) {
	if n := emaNote(0.999, 40); !strings.Contains(n, "40 steps") || !strings.Contains(n, "1000 steps") || !strings.Contains(n, "-ema 0") {
		t.Errorf("short run: %q", n)
	}
	if n := emaNote(0.99, 2500); n != "" {
		t.Errorf("long run: %q", n)
	}
}

// TestEveryFamilyTrainsOnAToy trains every model family a few steps on
// 8gaussians through the command line, with its held-out NLL (exact
// log-det) and pictures.
func TestEveryFamilyTrainsOnAToy(t *testing.T) {
	if testing.Short() {
		t.Skip("trains seven models")
	}
	for _, family := range []string{"nice", "made", "maf", "realnvp", "glow", "glow-additive", "ffjord"} {
		t.Run(family, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			var out, errb bytes.Buffer
			args := []string{"-model", family, "-steps", "4", "-batch", "64", "-eval-every", "2", "-eval-size", "200",
				"-save-every", "2", "-log-every", "2", "-warmup", "0", "-ema", "0", "-out", dir, "-quiet"}
			if err := run(args, &out, &errb); err != nil {
				t.Fatalf("%v\n%s", err, errb.String())
			}
			for _, f := range []string{"checkpoint.safetensors", "metrics.jsonl", "density.png", "samples.png"} {
				if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Size() == 0 {
					t.Errorf("%s not written: %v", f, err)
				}
			}
		})
	}
}

// TestFamiliesRefuseIResNetFlags: the i-ResNet's architecture flags do not
// apply to the other families, and say so.
func TestFamiliesRefuseIResNetFlags(t *testing.T) {
	var out, errb bytes.Buffer
	err := run([]string{"-model", "maf", "-coeff", "0.5"}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "-coeff applies to i-ResNets") {
		t.Errorf("-model maf -coeff 0.5: %v", err)
	}
	err = run([]string{"-data", "mnist", "-model", "glow", "-blocks", "4"}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "-blocks applies to i-ResNets") || !strings.Contains(err.Error(), "-preset small or paper") {
		t.Errorf("-data mnist -model glow -blocks 4: %v", err)
	}
	err = run([]string{"-model", "flowpp"}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "unknown model family") {
		t.Errorf("-model flowpp: %v", err)
	}
}

// TestGlowClassifies trains the affine Glow classifier (the i-ResNet
// classifier's head and shape, Behrmann et al. 2019, table "i-ResNets
// across tasks") on MNIST through the command line for three steps: it
// writes the checkpoint, metrics with a test error, the reconstructions
// and the curves, and the checkpoint loads back as a classifier.
func TestGlowClassifies(t *testing.T) {
	if testing.Short() {
		t.Skip("loads MNIST and trains")
	}
	dir := filepath.Join(t.TempDir(), "run")
	var out, errb bytes.Buffer
	args := []string{"-model", "glow", "-task", "classify", "-data", "mnist", "-steps", "3", "-batch", "8", "-eval-size", "64",
		"-warmup", "0", "-log-every", "1", "-out", dir, "-quiet"}
	if err := run(args, &out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	for _, f := range []string{"checkpoint.safetensors", "metrics.jsonl", "reconstructions.png", "curves.png"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	metrics, err := os.ReadFile(filepath.Join(dir, "metrics.jsonl"))
	if err != nil || !strings.Contains(string(metrics), `"test_error":`) {
		t.Errorf("metrics without a test error (%v):\n%s", err, metrics)
	}
	tr, err := trainer.Load(filepath.Join(dir, "checkpoint.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	c := tr.Config()
	if c.Model.Glow == nil || c.Objective.Task != trainer.Classify {
		t.Fatalf("checkpoint holds %+v for %v, want a Glow classifier", c.Model, c.Objective.Task)
	}
	ev, err := tr.Evaluate()
	if err != nil {
		t.Fatal(err)
	}
	if ev.Error < 0 || ev.Error > 1 {
		t.Errorf("test error %v", ev.Error)
	}
}
