package trainer

import (
	"flag"
	"strconv"
	"strings"

	"github.com/pkg/errors"
)

// RegisterFlags declares a command-line flag for every field of c that a
// run may set, bound to that field, so that a flag given on the command
// line overrides a preset or default by the same path for every data kind.
// Model flags bind to the architecture c holds (a dense flow or a
// multi-scale model); -hidden means the widths of each block's hidden
// layers and exists only for dense flows (the multi-scale presets fix
// their per-scale channels). Ranges are checked afterwards by
// Config.Validate, which treats every value, zero included, as given.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.IntVar(&c.Steps, "steps", c.Steps, "training steps, 1 … 1e9")
	fs.IntVar(&c.BatchSize, "batch", c.BatchSize, "batch size, 1 … 65536")
	fs.Uint64Var(&c.Seed, "seed", c.Seed, "random seed: weights, data, probes")
	fs.IntVar(&c.EvalEvery, "eval-every", c.EvalEvery, "steps between held-out evaluations, ≥ 1")
	fs.IntVar(&c.EvalSize, "eval-size", c.EvalSize, "held-out points or images, 1 … 1048576")
	fs.IntVar(&c.EvalBatch, "eval-batch", c.EvalBatch, "batch of the evaluation graph (memory), 1 … 65536")
	fs.IntVar(&c.LogEvery, "log-every", c.LogEvery, "steps between metric lines, ≥ 1")
	fs.IntVar(&c.SaveEvery, "save-every", c.SaveEvery, "steps between checkpoints, ≥ 1")

	fs.TextVar(&c.Estimator, "estimator", c.Estimator, "training log-det estimator: powerseries, roulette, exact (dimension ≤ 16)")
	fs.IntVar(&c.Terms, "terms", c.Terms, "power-series terms, or the roulette's maximum, 1 … 1000")
	fs.IntVar(&c.Probes, "probes", c.Probes, "Hutchinson vectors per sample, 1 … 64")
	fs.TextVar(&c.Gradient, "gradient", c.Gradient, "log-det gradient of the power series: neumann (Chen et al. 2019; same expectation, cheaper) or series (differentiate the estimate)")
	fs.IntVar(&c.PowerIters, "power-iters", c.PowerIters, "power-iteration steps per training step, 1 … 1000")

	o := &c.Optim
	fs.TextVar(&o.Algorithm, "optimizer", o.Algorithm, "adam, adamax or sgd (heavy-ball momentum -beta1)")
	fs.Float64Var(&o.LR, "lr", o.LR, "peak learning rate, (0, 10]")
	fs.Float64Var(&o.Beta1, "beta1", o.Beta1, "Adam's β₁ or SGD's momentum, [0, 1)")
	fs.Float64Var(&o.Beta2, "beta2", o.Beta2, "Adam's β₂, [0, 1)")
	fs.IntVar(&o.Warmup, "warmup", o.Warmup, "steps of linear learning-rate warm-up, ≥ 0")
	fs.Float64Var(&o.WeightDecay, "wd", o.WeightDecay, "L2 weight decay, [0, 1]")
	fs.Float64Var(&o.ClipNorm, "clip", o.ClipNorm, "clip the global gradient norm to this, finite ≥ 0 (0: off)")
	fs.Float64Var(&o.EMADecay, "ema", o.EMADecay, "decay of the weight average used for evaluation, samples and the applied/ weights, [0, 1) (0: off)")

	if !c.Model.IResNet() {
		// Declared so that a command can refuse them by name: the other
		// families take their architecture from their own configuration.
		for _, name := range []string{"coeff", "act", "blocks", "actnorm", "hidden"} {
			fs.Var(anyValue{isBool: name == "actnorm"}, name, "i-ResNet models only")
		}
		return
	}
	l := c.Model.lipschitz()
	fs.Float64Var(&l.Coeff, "coeff", l.Coeff, "spectral-norm coefficient c in (0, 1). Training normalizes each layer by a one-step power-iteration estimate, which lags the true norm, so a training-time layer may exceed c slightly; evaluation, sampling, inversion and the saved applied/ weights are certified: every layer ≤ c by a proven upper bound, so Lip(g) ≤ c^layers < 1")
	fs.TextVar(&l.Act, "act", l.Act, "activation: relu, elu, lipswish, softplus")
	switch {
	case c.Model.DenseFlow != nil:
		m := c.Model.DenseFlow
		fs.IntVar(&m.Blocks, "blocks", m.Blocks, "residual blocks (per scale for images), 1 … 1024")
		fs.BoolVar(&m.ActNorm, "actnorm", m.ActNorm, "ActNorm before each residual block")
		fs.Var(intList{&m.Hidden}, "hidden", "hidden widths of each block's MLP, comma separated, each 1 … 8192 (toy densities)")
	case c.Model.MultiScale != nil:
		m := c.Model.MultiScale
		fs.IntVar(&m.Blocks, "blocks", m.Blocks, "residual blocks (per scale for images), 1 … 1024")
		fs.BoolVar(&m.ActNorm, "actnorm", m.ActNorm, "ActNorm before each residual block")
		// Declared so that the command can refuse it by name: a
		// multi-scale block's widths are per scale, not per layer.
		fs.Var(anyValue{}, "hidden", "hidden widths of each block's MLP, comma separated, each 1 … 8192 (toy densities)")
	}
}

// intList is a flag.Value of comma-separated positive integers.
type intList struct{ v *[]int }

func (l intList) String() string {
	if l.v == nil {
		return ""
	}
	s := make([]string, len(*l.v))
	for i, x := range *l.v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

func (l intList) Set(s string) error {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 1 {
			return errors.Errorf("%q is not a comma-separated list of positive widths", s)
		}
		out = append(out, v)
	}
	*l.v = out
	return nil
}

// anyValue is a flag.Value that accepts any value, for flags declared only
// so that a command can refuse them by name.
type anyValue struct{ isBool bool }

func (anyValue) String() string     { return "" }
func (anyValue) Set(string) error   { return nil }
func (v anyValue) IsBoolFlag() bool { return v.isBool }
