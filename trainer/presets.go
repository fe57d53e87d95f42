package trainer

import (
	"github.com/pkg/errors"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/datasets"
	"github.com/iresnet/iresnet/estimator"
	"github.com/iresnet/iresnet/graph"
)

// SmallMNISTDensity is a multi-scale i-ResNet that trains usefully on two CPU
// cores: an initial squeeze (1×28×28 → 4×14×14), two scales of four ActNorm +
// conv bottleneck blocks with 32 hidden channels, ELU, c = 0.9, logit
// transform with α = 1e-6 (as Residual Flows does for MNIST), 5-term power
// series with the Neumann gradient, batch 64, Adam 1e-3 with warm-up,
// evaluation on 1,000 test images with a 10-term series.
func SmallMNISTDensity(dir string) Config {
	return Config{
		Data: datasets.SourceConfig{Name: "mnist", Dir: dir, LogitAlpha: 1e-6},
		Model: ModelConfig{MultiScale: &blocks.MultiScaleConfig{
			Channels: 1, Height: 28, Width: 28, Scales: 2, Blocks: 4, Hidden: []int{32, 32},
			InitSqueeze: true, ActNorm: true, Lipschitz: blocks.Lipschitz{Coeff: 0.9, Act: graph.ELU}}},
		Terms: 5, Probes: 1, Gradient: estimator.NeumannGradient,
		Optim:     Optim{Algorithm: Adam, LR: 1e-3, Warmup: 100, EMADecay: 0.995},
		BatchSize: 64, Steps: 20000, EvalEvery: mnistEpoch, EvalSize: 1000, EvalBatch: 200,
		LogEvery: 20, SaveEvery: 250, Seed: 1,
	}
}

// Steps of one pass over the training images: the image presets evaluate
// once per epoch.
const (
	mnistEpoch    = (60000 + 63) / 64   // MNIST at batch 64
	mnistEpoch128 = (60000 + 127) / 128 // MNIST at batch 128
	cifarEpoch128 = (50000 + 127) / 128 // CIFAR at batch 128
)

// SmallMNISTClassifier is an i-ResNet classifier sized for an hour on two
// CPU cores. Like the paper's classifiers (Behrmann et al. 2019, §5.1) it
// pads the input with zero channels (injective padding, which gives the
// blocks room for features besides the image) and keeps every channel
// through every scale (no factor-out), and the classifier head reads the
// last scale: MNIST padded to 32×32 with pixels in [0, 1], an initial
// squeeze (4×16×16) and 4 zero channels (8×16×16), three scales of two
// ActNorm + conv bottleneck blocks (hidden 32, 64, 64 channels) ending at
// 128×4×4, ELU, c = 0.9; Adam 1e-3 with 200 warm-up steps and a cosine
// decay to 0 at the last step (6,500 steps of 64, 6.9 epochs, about 0.41 s
// each with OpenBLAS), so the final test error is the settled one;
// evaluation on all 10,000 test images once per epoch. The hybrid preset
// drops the padding, which leaves no density.
func SmallMNISTClassifier(dir string) Config {
	return Config{
		Data: datasets.SourceConfig{Name: "mnist", Dir: dir, Pad: 2}, Objective: Objective{Task: Classify},
		Model: ModelConfig{MultiScale: &blocks.MultiScaleConfig{
			Channels: 1, Height: 32, Width: 32, Scales: 3, Blocks: 2, Hidden: []int{32, 64, 64}, PadChannels: 4,
			InitSqueeze: true, ActNorm: true, NoSplit: true, Lipschitz: blocks.Lipschitz{Coeff: 0.9, Act: graph.ELU}}},
		Terms: 5, Probes: 1, Gradient: estimator.NeumannGradient,
		Optim:     Optim{Algorithm: Adam, LR: 1e-3, Warmup: 200, DecaySteps: 6500, EMADecay: 0.999},
		BatchSize: 64, Steps: 6500, EvalEvery: mnistEpoch, EvalSize: 10000, EvalBatch: 500,
		LogEvery: 50, SaveEvery: 500, Seed: 1,
	}
}

// PaperMNISTDensity is the paper's MNIST density configuration as the
// authors' code runs it (Behrmann et al. 2019, §5.2; the density command
// line of github.com/jhjacobsen/invertible-resnet: --nBlocks 16 16 16
// --nStrides 1 2 2 --nChannels 512 512 512 --coeff 0.9 -densityEstimation
// -multiScale --lr 0.003 --weight_decay 0 --numSeriesTerms 5 --batch 128
// --warmup_epochs 1, with its defaults Adamax, 5 power iterations, ELU,
// ActNorm, initial squeeze, learned prior): MNIST padded to 32×32, 3 scales × 16 blocks
// of ActNorm + conv bottleneck with 512 hidden channels, 200 epochs. It is
// meant for bigger machines: one step at batch 128 takes minutes on two
// CPU cores.
func PaperMNISTDensity(dir string) Config {
	return Config{
		Data: datasets.SourceConfig{Name: "mnist", Dir: dir, Pad: 2, LogitAlpha: 1e-6},
		Model: ModelConfig{LearnedPrior: true, MultiScale: &blocks.MultiScaleConfig{
			Channels: 1, Height: 32, Width: 32, Scales: 3, Blocks: 16, Hidden: []int{512, 512, 512},
			InitSqueeze: true, ActNorm: true, Lipschitz: blocks.Lipschitz{Coeff: 0.9, Act: graph.ELU}}},
		Terms: 5, Probes: 1, PowerIters: 5,
		Optim:     Optim{Algorithm: Adamax, LR: 3e-3, Warmup: mnistEpoch128, EMADecay: 0.999},
		BatchSize: 128, Steps: 200 * mnistEpoch128, EvalEvery: mnistEpoch128, EvalSize: 10000, EvalBatch: 200,
		LogEvery: 100, SaveEvery: 1000, Seed: 1,
	}
}

// PaperCIFAR10Density is the paper's CIFAR-10 density configuration (same
// command line as PaperMNISTDensity with --dataset cifar10: the same
// architecture on 3×32×32, 200 epochs at batch 128; logit α = 0.05 as
// Residual Flows uses for CIFAR). dir must hold the CIFAR-10 binary batches.
func PaperCIFAR10Density(dir string) Config {
	c := PaperMNISTDensity(dir)
	c.Data = datasets.SourceConfig{Name: "cifar10", Dir: dir, LogitAlpha: 0.05}
	m := *c.Model.MultiScale
	m.Channels = 3
	c.Model.MultiScale = &m
	c.Optim.Warmup, c.Steps, c.EvalEvery = cifarEpoch128, 200*cifarEpoch128, cifarEpoch128
	return c
}

// PaperCIFAR10Classifier is the paper's CIFAR-10 classifier with c = 0.9
// (Behrmann et al. 2019, §5.1, Table 2: 6.78% test error) as the authors'
// classification command line runs it (--nBlocks 7 7 7 --nStrides 1 2 2
// --nChannels 32 64 128 --coeff 0.9 --batch 128 --init_ds 1 --inj_pad 13
// --powerIterSpectralNorm 1 --nonlin elu --optimizer sgd): no initial
// squeeze, 13 zero channels of injective padding (3 → 16), three scales of
// 7 ActNorm + conv bottleneck blocks with 32, 64 and 128 hidden channels
// and squeezes as the strides, no factor-out, and the classifier head; SGD
// with momentum 0.9, learning rate 0.1 and weight decay 5e-4 for 200
// epochs. Differences: the rate follows a cosine instead of the authors'
// steps, and there is no crop-and-flip augmentation (the uniform
// dequantization noise is the only one). dir must hold the CIFAR-10 binary
// batches.
func PaperCIFAR10Classifier(dir string) Config {
	return Config{
		Data: datasets.SourceConfig{Name: "cifar10", Dir: dir}, Objective: Objective{Task: Classify},
		Model: ModelConfig{MultiScale: &blocks.MultiScaleConfig{
			Channels: 3, Height: 32, Width: 32, Scales: 3, Blocks: 7, Hidden: []int{32, 64, 128},
			PadChannels: 13, ActNorm: true, NoSplit: true, Lipschitz: blocks.Lipschitz{Coeff: 0.9, Act: graph.ELU}}},
		Terms: 5, Probes: 1, PowerIters: 1,
		Optim:     Optim{Algorithm: SGD, LR: 0.1, Beta1: 0.9, WeightDecay: 5e-4, Warmup: cifarEpoch128, DecaySteps: 200 * cifarEpoch128},
		BatchSize: 128, Steps: 200 * cifarEpoch128, EvalEvery: cifarEpoch128, EvalSize: 10000, EvalBatch: 500,
		LogEvery: 50, SaveEvery: 500, Seed: 1,
	}
}

// PresetSize names a family of presets.
type PresetSize string

// Preset families.
const (
	SmallPreset PresetSize = "small" // trains usefully on two CPU cores
	PaperPreset PresetSize = "paper" // the paper's configurations, for bigger machines
)

// Preset returns the configuration of the given family for a dataset and
// task, reading the data from dir ("" finds MNIST by itself). The small
// presets adapt SmallMNISTDensity and SmallMNISTClassifier (hybrid uses the
// classifier's model) to CIFAR's 3×32×32 images; the paper family has
// PaperMNISTDensity, PaperCIFAR10Density and PaperCIFAR10Classifier, which
// serves CIFAR-100 and, on MNIST padded to 32×32, MNIST as well. The paper
// trains no hybrid models of its own, so the paper hybrid preset is the
// paper's density model with the classifier head.
func Preset(size PresetSize, set datasets.ImageSet, task Task, dir string) (Config, error) {
	var c Config
	switch size {
	case SmallPreset:
		switch task {
		case Density:
			c = SmallMNISTDensity(dir)
		case Hybrid: // a density needs a bijection: no padding
			c = SmallMNISTClassifier(dir)
			m := *c.Model.MultiScale
			m.PadChannels = 0
			c.Model.MultiScale = &m
		default:
			c = SmallMNISTClassifier(dir)
		}
		if set != datasets.MNIST { // CIFAR: already 32×32, three channels
			m := *c.Model.MultiScale
			c.Model.MultiScale = &m
			c.Data.Pad = 0
			if c.Data.LogitAlpha > 0 { // density: CIFAR's α (Residual Flows); classifiers stay in [0, 1]
				c.Data.LogitAlpha = 0.05
			}
			m.Channels, m.Height, m.Width = 3, 32, 32
			c.EvalEvery = (50000 + c.BatchSize - 1) / c.BatchSize
		}
	case PaperPreset:
		switch {
		case task == Classify:
			c = PaperCIFAR10Classifier(dir)
			if set == datasets.MNIST {
				m := *c.Model.MultiScale
				m.Channels = 1
				c.Model.MultiScale = &m
				c.Data.Pad = 2
				c.Steps, c.Optim.DecaySteps, c.EvalEvery, c.Optim.Warmup = 200*mnistEpoch128, 200*mnistEpoch128, mnistEpoch128, mnistEpoch128
			}
		case set == datasets.MNIST:
			c = PaperMNISTDensity(dir)
		default:
			c = PaperCIFAR10Density(dir)
		}
	default:
		return c, errors.Errorf("trainer: unknown preset family %q (known: small, paper)", size)
	}
	c.Data.Name, c.Data.Dir, c.Objective.Task = set.String(), dir, task
	return c.WithDefaults()
}
