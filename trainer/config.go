package trainer

import (
	"fmt"
	"math"
	"strings"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/blocks/autoregressive"
	"github.com/iresnet/iresnet/blocks/coupling"
	"github.com/iresnet/iresnet/blocks/ode"
	"github.com/iresnet/iresnet/datasets"
	"github.com/iresnet/iresnet/estimator"
	"github.com/iresnet/iresnet/graph"
	"github.com/pkg/errors"
	"gorgonia.org/tensor"
)

// Algorithm is an optimizer.
type Algorithm int

// Optimizers. Adamax is the paper's choice for density models
// (Behrmann et al. 2019, Appendix C) and SGD with momentum for its
// classifiers; Adam (Kingma & Ba 2015) trains the toy models faster.
const (
	Adam Algorithm = iota
	Adamax
	SGD // stochastic gradient descent with (heavy-ball) momentum, the paper's classifier optimizer
)

var algorithmNames = [...]string{"adam", "adamax", "sgd"}

// String returns "adam", "adamax" or "sgd".
func (a Algorithm) String() string {
	if a < 0 || int(a) >= len(algorithmNames) {
		return "Algorithm(?)"
	}
	return algorithmNames[a]
}

// ParseAlgorithm returns the optimizer with the given name.
func ParseAlgorithm(s string) (Algorithm, error) {
	for i, n := range algorithmNames {
		if n == s {
			return Algorithm(i), nil
		}
	}
	return 0, errors.Errorf("trainer: unknown optimizer %q (known: %s)", s, strings.Join(algorithmNames[:], ", "))
}

// MarshalText implements encoding.TextMarshaler.
func (a Algorithm) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (a *Algorithm) UnmarshalText(b []byte) error {
	v, err := ParseAlgorithm(string(b))
	*a = v
	return err
}

// EstimatorKind selects the training log-det estimator.
type EstimatorKind int

// Estimator kinds.
const (
	PowerSeries     EstimatorKind = iota // truncated series, Behrmann et al. 2019
	RussianRoulette                      // unbiased, Chen et al. 2019
	ExactLogDet                          // exact Jacobian; small dimensions only
)

var estimatorNames = [...]string{"powerseries", "roulette", "exact"}

// String returns the estimator's flag name.
func (k EstimatorKind) String() string {
	if k < 0 || int(k) >= len(estimatorNames) {
		return "EstimatorKind(?)"
	}
	return estimatorNames[k]
}

// ParseEstimatorKind returns the estimator kind with the given name.
func ParseEstimatorKind(s string) (EstimatorKind, error) {
	for i, n := range estimatorNames {
		if n == s {
			return EstimatorKind(i), nil
		}
	}
	return 0, errors.Errorf("trainer: unknown estimator %q (known: %s)", s, strings.Join(estimatorNames[:], ", "))
}

// MarshalText implements encoding.TextMarshaler.
func (k EstimatorKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *EstimatorKind) UnmarshalText(b []byte) error {
	v, err := ParseEstimatorKind(string(b))
	*k = v
	return err
}

// Optim configures the optimizer. Zero fields take the defaults noted.
type Optim struct {
	Algorithm   Algorithm `json:"algorithm"`
	LR          float64   `json:"lr"`           // peak learning rate; 0 means 1e-3
	Beta1       float64   `json:"beta1"`        // 0 means 0.9; SGD's momentum
	Beta2       float64   `json:"beta2"`        // 0 means 0.999
	Eps         float64   `json:"eps"`          // 0 means 1e-8
	WeightDecay float64   `json:"weight_decay"` // L2 coefficient added to the gradient, ≥ 0
	Warmup      int       `json:"warmup"`       // steps of linear learning-rate warm-up, ≥ 0
	// DecaySteps > 0 lowers the rate after warm-up along a half cosine,
	// from LR at step Warmup to 0 at step DecaySteps (Loshchilov & Hutter
	// 2017, without restarts), so a run ends on small, settled steps and
	// its final evaluation holds; 0 keeps LR constant.
	DecaySteps int     `json:"decay_steps"`
	ClipNorm   float64 `json:"clip_norm"` // clip the global gradient norm to this; 0 means no clipping
	EMADecay   float64 `json:"ema_decay"` // decay of the weight average used to evaluate and sample; 0 means no average
}

// Task is what a model is trained for.
type Task int

// Tasks (Behrmann et al. 2019, §5).
const (
	Density  Task = iota // maximize log p(x): bits/dim
	Classify             // minimize cross-entropy of the head on the last scale
	Hybrid               // both: cross-entropy − weight·log p(x)/D
)

var taskNames = [...]string{"density", "classify", "hybrid"}

// String returns the task's flag name.
func (k Task) String() string {
	if k < 0 || int(k) >= len(taskNames) {
		return "Task(?)"
	}
	return taskNames[k]
}

// ParseTask returns the task with the given name.
func ParseTask(s string) (Task, error) {
	for i, n := range taskNames {
		if n == s {
			return Task(i), nil
		}
	}
	return 0, errors.Errorf("trainer: unknown task %q (known: density, classify, hybrid)", s)
}

// MarshalText implements encoding.TextMarshaler.
func (k Task) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *Task) UnmarshalText(b []byte) error {
	v, err := ParseTask(string(b))
	*k = v
	return err
}

// A run is a data source, a model, an objective and training settings:
// Config holds one of each, as plain JSON-serializable data.

// ModelConfig selects the model: exactly one of its architectures is set.
type ModelConfig struct {
	// DenseFlow is a stack of dense residual blocks on vectors, the
	// paper's toy model (blocks.NewDenseFlow).
	DenseFlow *blocks.DenseFlowConfig `json:"dense_flow,omitempty"`
	// MultiScale is the multi-scale convolutional i-ResNet for images
	// (blocks.NewMultiScale).
	MultiScale *blocks.MultiScaleConfig `json:"multi_scale,omitempty"`
	// The flow families the seed compares i-ResNets with (Behrmann et al.
	// 2019, Table 3), trained by the same loop for density.
	NICE         *coupling.NICEConfig         `json:"nice,omitempty"`
	DenseRealNVP *coupling.DenseRealNVPConfig `json:"dense_real_nvp,omitempty"`
	RealNVP      *coupling.RealNVPConfig      `json:"real_nvp,omitempty"`
	DenseGlow    *coupling.DenseGlowConfig    `json:"dense_glow,omitempty"`
	Glow         *coupling.GlowConfig         `json:"glow,omitempty"`
	MAF          *autoregressive.MAFConfig    `json:"maf,omitempty"`
	FFJORD       *ode.FFJORDConfig            `json:"ffjord,omitempty"`
	// Flatten, for a dense family (maf, ffjord) on images, is the image
	// shape (C, H, W) the model flattens into its vectors first.
	Flatten []int `json:"flatten,omitempty"`
	// LearnedPrior learns the mean and standard deviation of a diagonal
	// Gaussian prior on the latent (blocks.GaussianPrior), as the
	// authors' code does by default for images; false keeps N(0, I).
	LearnedPrior bool `json:"learned_prior,omitempty"`
}

// kind names the architecture set, or "" when none or several are.
// Name names the model's architecture: "dense flow" and "multi-scale"
// for i-ResNets, or the family ("nice", "real nvp", "glow", "maf", …).
func (m ModelConfig) Name() string { return m.kind() }

func (m ModelConfig) kind() string {
	if a, ok := m.architecture(); ok {
		return a.name
	}
	return ""
}

// IResNet reports whether the model is an i-ResNet (a dense flow or a
// multi-scale model of residual blocks), as opposed to another family.
func (m ModelConfig) IResNet() bool { return m.DenseFlow != nil || m.MultiScale != nil }

// classifies reports whether the model has the multi-scale feature map a
// classifier head reads (Trunk): the multi-scale i-ResNet, Glow and the
// multi-scale Real NVP.
func (m ModelConfig) classifies() bool {
	return len(m.Flatten) == 0 && (m.MultiScale != nil || m.Glow != nil || m.RealNVP != nil)
}

// validateFamily checks another family's configuration and that its input
// takes the data's samples (2-D vectors for toy densities).
func (m ModelConfig) validateFamily(toy bool) error {
	a, _ := m.architecture()
	err := a.validate()
	if err != nil {
		return err
	}
	if len(m.Flatten) > 0 {
		if a.shape[0] != m.dim() || len(m.Flatten) != 3 || m.MAF == nil && m.FFJORD == nil {
			return errors.Errorf("trainer: flatten %v is for maf and ffjord models whose dimension is C·H·W", m.Flatten)
		}
	}
	if in := m.inputShape(); toy != (len(in) == 1 && in[0] == 2) {
		return errors.Errorf("trainer: the %s model takes samples of shape %v, which the data does not have", m.kind(), in)
	}
	return nil
}

// Lipschitz returns the settings the model's residual blocks share.
func (m ModelConfig) Lipschitz() blocks.Lipschitz {
	if m.DenseFlow != nil {
		return m.DenseFlow.Lipschitz
	}
	if m.MultiScale != nil {
		return m.MultiScale.Lipschitz
	}
	return blocks.Lipschitz{}
}

// lipschitz returns a pointer to the shared block settings, to set them.
func (m *ModelConfig) lipschitz() *blocks.Lipschitz {
	if m.DenseFlow != nil {
		return &m.DenseFlow.Lipschitz
	}
	return &m.MultiScale.Lipschitz
}

// Objective is what the model is trained for and how its loss is built.
type Objective struct {
	Task Task `json:"task"`
	// HybridWeight is the weight of the density term of the hybrid loss
	// mean(CE) − w·mean(log p(x))/D (blocks.HybridLoss), in (0, 1e6]; 0
	// means 1, i.e. the density term in nats per dimension. Hybrid only.
	HybridWeight float64 `json:"hybrid_weight,omitempty"`
}

// Config is a complete, JSON-serializable training configuration. Zero
// fields take the defaults noted; WithDefaults fills them in and checks
// every field against its range.
type Config struct {
	Data      datasets.SourceConfig `json:"data"`
	Model     ModelConfig           `json:"model"`
	Objective Objective             `json:"objective"`
	Estimator EstimatorKind         `json:"estimator"`
	Terms     int                   `json:"terms"`  // series terms (power series) or cap (roulette), 1 … 1000; 0 means 5 / 20
	Probes    int                   `json:"probes"` // Hutchinson vectors, 1 … 64; 0 means 1
	// Gradient selects how the power series is differentiated; the
	// Neumann form (Chen et al. 2019) has the same expected gradient and is
	// several times cheaper. Roulette and exact estimators ignore it.
	Gradient estimator.GradientMode `json:"gradient"`
	Optim    Optim                  `json:"optim"`

	BatchSize  int    `json:"batch_size"`  // 1 … 65536; 0 means 500
	Steps      int    `json:"steps"`       // total training steps, 1 … 1e9; 0 means 5000
	PowerIters int    `json:"power_iters"` // power-iteration steps per training step, 1 … 1000; 0 means 1
	EvalEvery  int    `json:"eval_every"`  // steps between evaluations, ≥ 1; 0 means 500
	EvalSize   int    `json:"eval_size"`   // held-out points, 1 … 2²⁰; 0 means 10000
	EvalBatch  int    `json:"eval_batch"`  // batch of the evaluation graph, 1 … 65536; 0 means 1000
	LogEvery   int    `json:"log_every"`   // steps between metric lines, ≥ 1; 0 means 50
	SaveEvery  int    `json:"save_every"`  // steps between checkpoints, ≥ 1; 0 means 500
	Seed       uint64 `json:"seed"`        // seeds every random choice of the run
}

// The default limits of Config's sizes beyond the model's own
// (blocks.MaxBlocks, …): DefaultLimits.
const (
	MaxBatch      = 1 << 16
	MaxSteps      = 1e9
	MaxTerms      = 1000
	MaxProbes     = 64
	MaxPowerIters = 1000
)

// exactMaxDim is the largest data dimension evaluated with the exact
// log-det; larger models use a 20-term series with 4 probes.
const exactMaxDim = 16

// WithDefaults returns c with zero fields set, or an error naming the first
// invalid field and its valid range (within DefaultLimits).
func (c Config) WithDefaults() (Config, error) { return c.withDefaults(DefaultLimits()) }

func (c Config) withDefaults(l Limits) (Config, error) {
	if err := c.Data.Validate(); err != nil {
		return c, errors.Wrap(err, "trainer: data")
	}
	_, toy := c.Data.Toy()
	switch c.Model.kind() {
	case "dense flow":
		m, err := c.Model.DenseFlow.WithDefaults()
		if err != nil {
			return c, err
		}
		if !toy || m.Dim != 2 {
			return c, errors.Errorf("trainer: the dense flow takes %d-D vectors, %s is not a 2-D toy density", m.Dim, c.Data.Name)
		}
		c.Model.DenseFlow = &m
	case "multi-scale":
		m := *c.Model.MultiScale
		if toy {
			return c, errors.Errorf("trainer: the multi-scale model takes images, %s is a 2-D toy density", c.Data.Name)
		}
		if m.Dtype == (tensor.Dtype{}) {
			m.Dtype = tensor.Float32
		}
		if m.Scales == 0 {
			m.Scales = 3 // blocks.MultiScaleConfig's defaults
		}
		if m.Blocks == 0 {
			m.Blocks = 4
		}
		if m.Coeff == 0 {
			m.Coeff = 0.9
		}
		c.Model.MultiScale = &m
	case "":
		return c, errors.New("trainer: the model needs exactly one architecture (dense_flow, multi_scale, nice, dense_real_nvp, real_nvp, dense_glow, glow, maf or ffjord)")
	default:
		if err := c.Model.validateFamily(toy); err != nil {
			return c, err
		}
		if c.Objective.Task != Density && !c.Model.classifies() {
			return c, errors.Errorf("trainer: the %s model is trained for density only; the %v task needs a multi-scale feature map for the classifier head (families %s)", c.Model.kind(), c.Objective.Task, strings.Join(ClassifierFamilies(), ", "))
		}
	}
	if c.Model.LearnedPrior && c.Model.MultiScale == nil {
		return c, errors.New("trainer: a learned prior is for image models")
	}
	o := &c.Objective
	if o.Task < Density || o.Task > Hybrid {
		return c, errors.Errorf("trainer: unknown task %d", int(o.Task))
	}
	if o.Task != Density && !c.Data.Quantized() {
		return c, errors.Errorf("trainer: the %v task needs labelled image data, %s is a toy density", o.Task, c.Data.Name)
	}
	if o.Task != Density && !c.Model.classifies() {
		return c, errors.Errorf("trainer: the %v task needs a multi-scale model (its classifier head reads the last scale: families %s)", o.Task, strings.Join(ClassifierFamilies(), ", "))
	}
	if o.Task == Hybrid && o.HybridWeight == 0 {
		o.HybridWeight = 1
	}
	if o.Task != Hybrid && o.HybridWeight != 0 {
		return c, errors.Errorf("trainer: a hybrid weight applies to the hybrid task, not %v", o.Task)
	}
	if !(o.HybridWeight >= 0 && o.HybridWeight <= 1e6) {
		return c, errors.Errorf("trainer: hybrid weight %v must lie in (0, 1e6]", o.HybridWeight)
	}
	def := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	defF := func(p *float64, v float64) {
		if *p == 0 {
			*p = v
		}
	}
	if c.Estimator == RussianRoulette {
		def(&c.Terms, 20)
	}
	def(&c.Terms, 5)
	def(&c.Probes, 1)
	def(&c.BatchSize, 500)
	def(&c.Steps, 5000)
	def(&c.PowerIters, 1)
	def(&c.EvalEvery, 500)
	def(&c.EvalSize, 10000)
	def(&c.EvalBatch, 1000)
	def(&c.LogEvery, 50)
	def(&c.SaveEvery, 500)
	opt := &c.Optim
	defF(&opt.LR, 1e-3)
	defF(&opt.Beta1, 0.9)
	defF(&opt.Beta2, 0.999)
	defF(&opt.Eps, 1e-8)
	return c, c.ValidateWithin(l)
}

// Validate checks every field of a configuration whose defaults are filled
// in against its documented range within DefaultLimits: unlike
// WithDefaults it treats zero as the value it is, so a command line's
// -steps 0 is an error, not 5000.
func (c Config) Validate() error { return c.ValidateWithin(DefaultLimits()) }

// ValidateWithin is Validate with other limits (zero fields: the
// defaults). A size over its limit is an error that names the flag and
// how to raise the limit.
func (c Config) ValidateWithin(l Limits) error {
	l = l.WithDefaults()
	over := func(what, flag string, max int, name string) string {
		return fmt.Sprintf("%s (-%s) must lie in [1, %d] (a larger one needs -limit %s=N, trainer.WithLimits), got %%v", what, flag, max, name)
	}
	o := c.Optim
	finite := func(vs ...float64) bool {
		for _, v := range vs {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return false
			}
		}
		return true
	}
	checks := []struct {
		ok  bool
		msg string
		v   any
	}{
		{c.Model.kind() != "", "the model needs exactly one architecture (dense_flow or multi_scale), got %v", c.Model.kind()},
		{c.Terms >= 1 && c.Terms <= l.Terms, over("terms", "terms", l.Terms, "terms"), c.Terms},
		{c.Probes >= 1 && c.Probes <= l.Probes, over("probes", "probes", l.Probes, "probes"), c.Probes},
		{c.BatchSize >= 1 && c.BatchSize <= l.Batch, over("batch size", "batch", l.Batch, "batch"), c.BatchSize},
		{c.Steps >= 1 && c.Steps <= l.Steps, over("steps", "steps", l.Steps, "steps"), c.Steps},
		{c.PowerIters >= 1 && c.PowerIters <= l.PowerIters, over("power iterations per step", "power-iters", l.PowerIters, "power_iters"), c.PowerIters},
		{c.EvalEvery >= 1 && c.LogEvery >= 1 && c.SaveEvery >= 1, "eval, log and save intervals (-eval-every, -log-every, -save-every) must be ≥ 1, got %v", []int{c.EvalEvery, c.LogEvery, c.SaveEvery}},
		{c.EvalSize >= 1 && c.EvalSize <= datasets.MaxEvalSize, "eval size (-eval-size) must lie in [1, 1048576], got %v", c.EvalSize},
		{c.EvalBatch >= 1 && c.EvalBatch <= l.Batch, over("eval batch", "eval-batch", l.Batch, "batch"), c.EvalBatch},
		{finite(o.LR, o.Beta1, o.Beta2, o.Eps, o.WeightDecay, o.ClipNorm, o.EMADecay), "optimizer settings (-lr, -beta1, -beta2, -wd, -clip, -ema) must be finite numbers, got %+v", o},
		{o.LR > 0 && o.LR <= 10, "learning rate (-lr) must lie in (0, 10], got %v", o.LR},
		{o.Beta1 >= 0 && o.Beta1 < 1 && o.Beta2 >= 0 && o.Beta2 < 1, "betas (-beta1, -beta2) must lie in [0, 1), got %v", []float64{o.Beta1, o.Beta2}},
		{o.Eps > 0 && o.Eps <= 1, "eps must lie in (0, 1], got %v", o.Eps},
		{o.WeightDecay >= 0 && o.WeightDecay <= 1, "weight decay (-wd) must lie in [0, 1], got %v", o.WeightDecay},
		{o.Warmup >= 0 && o.Warmup <= l.Steps, fmt.Sprintf("warm-up (-warmup) must lie in [0, %d] steps, got %%v", l.Steps), o.Warmup},
		{o.DecaySteps == 0 || o.DecaySteps > o.Warmup, "cosine decay must end after the warm-up (decay steps 0 or > warm-up), got %v", []int{o.DecaySteps, o.Warmup}},
		{o.ClipNorm >= 0, "gradient clip norm (-clip) must be ≥ 0 (0: no clipping), got %v", o.ClipNorm},
		{o.EMADecay >= 0 && o.EMADecay < 1, "EMA decay (-ema) must lie in [0, 1), got %v", o.EMADecay},
		{c.Estimator >= PowerSeries && c.Estimator <= ExactLogDet, "unknown estimator %v", int(c.Estimator)},
		{c.Estimator != ExactLogDet || c.dim() <= exactMaxDim, "exact log-det training needs dim ≤ 16, got %v", c.dim()},
		{c.Model.MultiScale == nil || c.Model.MultiScale.PadChannels == 0 || c.Objective.Task == Classify, "injective channel padding leaves no density: pad_channels %v needs the classify task", padChannels(c)},
	}
	for _, ch := range checks {
		if !ch.ok {
			return errors.Errorf("trainer: "+ch.msg, ch.v)
		}
	}
	return c.Model.validate()
}

// validate checks the model's sizes as given, zeros included (the blocks
// constructors would read a zero as "default").
func (m ModelConfig) validate() error {
	if !m.IResNet() {
		return nil // the families' Validate ran in WithDefaults
	}
	l := m.Lipschitz()
	if !(l.Coeff > 0 && l.Coeff < 1) {
		return errors.Errorf("trainer: coefficient c (-coeff) = %v must lie in (0, 1) for the blocks to be invertible", l.Coeff)
	}
	if d := m.DenseFlow; d != nil {
		if d.Blocks < 1 || d.Dim < 1 || len(d.Hidden) == 0 {
			return errors.Errorf("trainer: the dense flow needs dim, blocks (-blocks) and hidden widths (-hidden), got %d, %d and %v", d.Dim, d.Blocks, d.Hidden)
		}
		_, err := d.WithDefaults()
		return err
	}
	ms := m.MultiScale
	if ms.Blocks < 1 || ms.Blocks > blocks.MaxBlocks || ms.Scales < 1 || ms.Scales > blocks.MaxScales {
		return errors.Errorf("trainer: the multi-scale model needs 1 … %d scales and 1 … %d blocks per scale (-blocks), got %d and %d", blocks.MaxScales, blocks.MaxBlocks, ms.Scales, ms.Blocks)
	}
	return nil
}

// trainEstimator returns the estimator the training graph uses.
func (c Config) trainEstimator() estimator.Estimator {
	switch c.Estimator {
	case RussianRoulette:
		return estimator.RussianRoulette{MaxTerms: c.Terms, Probes: c.Probes}
	case ExactLogDet:
		return estimator.Exact{}
	}
	return estimator.PowerSeries{Terms: c.Terms, Probes: c.Probes, Dist: graph.Gaussian, Gradient: c.Gradient}
}

// dim returns the size of one sample.
func (c Config) dim() int {
	d := 1
	for _, s := range c.Model.inputShape() {
		d *= s
	}
	return d
}

func padChannels(c Config) int {
	if c.Model.MultiScale == nil {
		return 0
	}
	return c.Model.MultiScale.PadChannels
}

// dtype returns the model's element type.
func (c Config) dtype() tensor.Dtype {
	if d := c.Model.Lipschitz().Dtype; d != (tensor.Dtype{}) {
		return d
	}
	return tensor.Float32
}

// evalEstimator returns the estimator for held-out NLL: exact wherever the
// dimension allows, otherwise a 20-term series with 4 probes (images: 10
// terms and one probe, to keep evaluation affordable; the truncation error
// of each block is at most estimator.WeakBound(σ, D, 10)).
func (c Config) evalEstimator() estimator.Estimator {
	if c.dim() <= exactMaxDim {
		return estimator.Exact{}
	}
	if c.Data.Quantized() {
		return estimator.PowerSeries{Terms: 10, Probes: 1}
	}
	return estimator.PowerSeries{Terms: 20, Probes: 4}
}
