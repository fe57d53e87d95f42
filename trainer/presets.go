package trainer

import (
	"github.com/iresnet/iresnet/blocks"
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
		Images: &ImageConfig{Set: MNIST, Dir: dir, LogitAlpha: 1e-6, Model: blocks.MultiScaleConfig{
			Channels: 1, Height: 28, Width: 28, Scales: 2, Blocks: 4, Hidden: []int{32, 32},
			InitSqueeze: true, ActNorm: true, Lipschitz: blocks.Lipschitz{Coeff: 0.9, Act: graph.ELU}}},
		Terms: 5, Probes: 1, Gradient: estimator.NeumannGradient,
		Optim:     Optim{Algorithm: Adam, LR: 1e-3, Warmup: 100, EMADecay: 0.995},
		BatchSize: 64, Steps: 20000, EvalEvery: mnistEpoch, EvalSize: 1000, EvalBatch: 200,
		LogEvery: 20, SaveEvery: 250, Seed: 1,
	}
}

// mnistEpoch is one pass over MNIST's 60,000 training images at batch 64:
// the image presets evaluate once per epoch.
const mnistEpoch = (60000 + 63) / 64

// SmallMNISTClassifier is an i-ResNet classifier that reaches under 1.5%
// test error on MNIST within an hour on two CPU cores. Like the paper's
// classifiers (Behrmann et al. 2019, §5.1) it keeps every channel through
// every scale (no factor-out) and reads the last scale with the classifier
// head: MNIST padded to 32×32, an initial squeeze (4×16×16), three scales of
// two ActNorm + conv bottleneck blocks (hidden 32, 64, 64 channels) ending
// at 64×4×4, ELU, c = 0.9; Adam 1e-3 with warm-up and a cosine decay to 0 at
// the last step (10,000 steps of 64, 10.7 epochs, about 280 ms each with
// OpenBLAS), so the final test error is the settled one; evaluation on all
// 10,000 test images once per epoch.
func SmallMNISTClassifier(dir string) Config {
	return Config{
		Images: &ImageConfig{Set: MNIST, Dir: dir, Pad: 2, LogitAlpha: 1e-6, Task: Classify, Model: blocks.MultiScaleConfig{
			Channels: 1, Height: 32, Width: 32, Scales: 3, Blocks: 2, Hidden: []int{32, 64, 64},
			InitSqueeze: true, ActNorm: true, NoSplit: true, Lipschitz: blocks.Lipschitz{Coeff: 0.9, Act: graph.ELU}}},
		Terms: 5, Probes: 1, Gradient: estimator.NeumannGradient,
		Optim:     Optim{Algorithm: Adam, LR: 1e-3, Warmup: 200, DecaySteps: 10000, EMADecay: 0.999},
		BatchSize: 64, Steps: 10000, EvalEvery: mnistEpoch, EvalSize: 10000, EvalBatch: 500,
		LogEvery: 50, SaveEvery: 500, Seed: 1,
	}
}

// PaperMNISTDensity is the paper's MNIST density configuration as its code
// runs it (Behrmann et al. 2019, §5.2 and Appendix; design brief §5): MNIST
// padded to 32×32, an initial squeeze, 3 scales × 16 blocks of ActNorm +
// conv bottleneck with 512 hidden channels, ELU, c = 0.9, 5 power-series
// terms, Adamax. It is meant for bigger machines: one step at batch 64 takes
// minutes on two CPU cores.
func PaperMNISTDensity(dir string) Config {
	return Config{
		Images: &ImageConfig{Set: MNIST, Dir: dir, Pad: 2, LogitAlpha: 1e-6, Model: blocks.MultiScaleConfig{
			Channels: 1, Height: 32, Width: 32, Scales: 3, Blocks: 16, Hidden: []int{512, 512, 512},
			InitSqueeze: true, ActNorm: true, Lipschitz: blocks.Lipschitz{Coeff: 0.9, Act: graph.ELU}}},
		Terms: 5, Probes: 1,
		Optim:     Optim{Algorithm: Adamax, LR: 3e-3, Warmup: 1000, EMADecay: 0.999},
		BatchSize: 64, Steps: 200000, EvalEvery: mnistEpoch, EvalSize: 10000, EvalBatch: 200,
		LogEvery: 100, SaveEvery: 1000, Seed: 1,
	}
}

// PaperCIFAR10Density is the paper's CIFAR-10 density configuration (same
// architecture on 3×32×32, logit α = 0.05 as Residual Flows uses for CIFAR).
// dir must hold the CIFAR-10 binary batches.
func PaperCIFAR10Density(dir string) Config {
	c := PaperMNISTDensity(dir)
	c.Images = &ImageConfig{Set: CIFAR10, Dir: dir, LogitAlpha: 0.05, Model: c.Images.Model}
	c.Images.Model.Channels = 3
	return c
}
