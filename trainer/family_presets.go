package trainer

import (
	"strings"

	"github.com/pkg/errors"

	"github.com/iresnet/iresnet/blocks/autoregressive"
	"github.com/iresnet/iresnet/blocks/coupling"
	"github.com/iresnet/iresnet/blocks/ode"
	"github.com/iresnet/iresnet/datasets"
	"github.com/iresnet/iresnet/graph"
)

// The paper presets of the comparison families: each paper's image
// architecture for MNIST and CIFAR-10 (CIFAR-100 takes the CIFAR-10
// layout), for users who have the data and a big machine. They share this
// library's data handling, so their bits/dim compare with the i-ResNet's:
// uniform dequantization and the logit transform with α = 1e-6 on MNIST
// and α = 0.05 on CIFAR (datasets.SourceConfig; the i-ResNet presets use
// the same), a standard normal prior (no family here has a learned one),
// and evaluation on the whole test set once per epoch. Where a paper or
// its authors' code trains differently (another prior, ZCA whitening,
// batch normalization, early stopping), the preset says so; where a number
// could not be checked against the paper's text here, its doc comment says
// where it comes from.

// Training images per epoch.
const (
	mnistTrain = 60000
	cifarTrain = 50000
)

// epochSteps returns the steps of one pass over n images at batch b.
func epochSteps(n, b int) int { return (n + b - 1) / b }

// trainImages returns the training images per epoch of set.
func trainImages(set datasets.ImageSet) int {
	if set == datasets.MNIST {
		return mnistTrain
	}
	return cifarTrain
}

// paperFamilyData is the data of every family paper preset: set at its
// own size (pad pixels on each side, e.g. 2 to bring MNIST to 32×32) with
// the logit α of the i-ResNet density presets.
func paperFamilyData(set datasets.ImageSet, dir string, pad int) datasets.SourceConfig {
	alpha := 0.05
	if set == datasets.MNIST {
		alpha = 1e-6
	}
	return datasets.SourceConfig{Name: set.String(), Dir: dir, Pad: pad, LogitAlpha: alpha}
}

// paperFamilyRun fills the training settings the family paper presets
// share: batch, epochs (one evaluation on all 10,000 test images each),
// and logging and checkpoint intervals.
func paperFamilyRun(c Config, set datasets.ImageSet, batch, epochs int) Config {
	epoch := epochSteps(trainImages(set), batch)
	c.BatchSize, c.Steps, c.EvalEvery = batch, epochs*epoch, epoch
	c.EvalSize, c.EvalBatch = 10000, 100
	c.LogEvery, c.SaveEvery, c.Seed = 100, 1000, 1
	return c
}

// imageShape returns (C, H, W) of set's images with pad pixels on every
// side.
func imageShape(set datasets.ImageSet, pad int) (c, h, w int) {
	if set == datasets.MNIST {
		return 1, 28 + 2*pad, 28 + 2*pad
	}
	return 3, 32 + 2*pad, 32 + 2*pad
}

// PaperNICE is NICE as Dinh et al. (2014, §5.1 and Table 1) train it on
// images: four additive coupling layers with alternating (odd/even)
// partitions, each a ReLU MLP, and the diagonal scaling layer; on MNIST 5
// hidden layers of 1000 units (coupling.NICEMNIST; the authors' config
// exp/nice_mnist.yaml in github.com/laurent-dinh/nice has exactly these),
// on CIFAR-10 4 hidden layers of 2000 units as the paper's Table 1 reports
// them (not checked against the paper's text here; the repository's
// exp/nice_cifar.yaml differs: 8 couplings of 1 to 3 layers of 2400
// units). Training as the authors' MNIST config: batch 200, 1500 epochs;
// the paper's Adam with learning rate 1e-3, β1 = 0.9, β2 = 0.99 (0.01 in
// the first Adam paper's notation) and ε = 1e-4 (§5.1, as we read it; the
// repository's configs use RMSProp with momentum and an exponential
// learning-rate decay instead).
//
// Differences: the paper's prior is the standard logistic distribution
// and its CIFAR-10 inputs are ZCA-whitened; here the prior is the standard
// normal and the inputs are logit pixels like every density preset's. The
// coupling MLPs read the whole masked vector and write a masked
// full-width output (coupling.Coupling), so they store D·h + h·D weights
// at either end where the paper's read and write D/2: the masked half
// gets no gradient, so the model is the paper's, with 22,295,920 stored
// parameters on MNIST (19,158,352 of them effective) and 97,199,360 on
// CIFAR-10 (72,617,216 effective).
func PaperNICE(set datasets.ImageSet, dir string) Config {
	m := coupling.NICEMNIST()
	if set != datasets.MNIST {
		m = coupling.NICEConfig{Channels: 3, Height: 32, Width: 32, Layers: 4, Hidden: []int{2000, 2000, 2000, 2000}}
	}
	c := Config{
		Data:  paperFamilyData(set, dir, 0),
		Model: ModelConfig{NICE: &m},
		Optim: Optim{Algorithm: Adam, LR: 1e-3, Beta1: 0.9, Beta2: 0.99, Eps: 1e-4},
	}
	return paperFamilyRun(c, set, 200, 1500)
}

// madeWidths returns the hidden widths of the MADE layers of the MAF
// paper's image experiments (Papamakarios et al. 2017, §4) as the
// authors' run_experiments.py (github.com/gpapamak/maf) runs them, and
// whether their hidden degrees are drawn at random: on MNIST two hidden
// layers of 1024 ReLU units with sequential degrees; on CIFAR-10 the
// script sweeps one or two layers of 1024 or 2048 units with random
// degrees and the paper reports the best on validation, which the script
// does not name, so the preset takes the largest, two layers of 2048.
func madeWidths(set datasets.ImageSet) (hidden []int, random bool) {
	if set == datasets.MNIST {
		return []int{1024, 1024}, false
	}
	return []int{2048, 2048}, true
}

// PaperMADE is the Gaussian MADE (Germain et al. 2015) as Papamakarios et
// al. (2017, §4) train it on images for their comparison, where
// the MNIST and CIFAR-10 bits/dim of MADE that Behrmann et al. (2019)
// quote come from: one MADE layer with the hidden widths of madeWidths
// (MNIST two layers of 1024 units, CIFAR-10 two of 2048 with random
// degrees), ReLU, and the authors' training (experiments.py): Adam with
// learning rate 1e-3, batch 100 and an L2 weight decay of 1e-6. The
// authors stop early, once 30 epochs pass without a better validation
// loss; the preset runs a fixed 200 epochs, an upper bound of this
// library's choosing. The MADE of Germain et al.'s own paper models
// binarized MNIST with Bernoulli outputs, which bits/dim on dequantized
// pixels cannot use. Parameters: 3,460,640 on MNIST, 23,078,912 on
// CIFAR-10 (dense weight matrices counted whole, masked entries
// included, as in every MADE implementation).
func PaperMADE(set datasets.ImageSet, dir string) Config {
	c := PaperMAF(set, dir)
	c.Model.MAF.Layers, c.Model.MAF.ActNorm = 1, false
	c.Optim.LR = 1e-3
	return c
}

// PaperMAF is MAF 5 as Papamakarios et al. (2017, §4) train it
// on images, in the authors' run_experiments.py and experiments.py
// (github.com/gpapamak/maf): five MADE layers with the hidden widths of
// madeWidths (MNIST two layers of 1024 units, CIFAR-10 two of 2048 with
// random degrees), ReLU, the order reversed between layers, a
// normalization layer after each MADE, Adam with learning rate 1e-4,
// batch 100 and an L2 weight decay of 1e-6; MAF 10 is the same with
// Layers = 10. The paper normalizes with batch normalization, this
// library with ActNorm (autoregressive.MAFConfig.ActNorm); the authors
// stop early after 30 epochs without a better validation loss, the preset
// runs a fixed 200 epochs (this library's choice). Parameters: 17,311,040
// on MNIST, 115,425,280 on CIFAR-10, whose weights, masks, gradients and
// Adam moments alone take about 2.3 GB in float32.
func PaperMAF(set datasets.ImageSet, dir string) Config {
	c, h, w := imageShape(set, 0)
	hidden, random := madeWidths(set)
	cfg := Config{
		Data: paperFamilyData(set, dir, 0),
		Model: ModelConfig{
			MAF:     &autoregressive.MAFConfig{Dim: c * h * w, Layers: 5, Hidden: hidden, ActNorm: true, RandomDegrees: random},
			Flatten: []int{c, h, w},
		},
		Optim: Optim{Algorithm: Adam, LR: 1e-4, WeightDecay: 1e-6},
	}
	return paperFamilyRun(cfg, set, 100, 200)
}

// PaperRealNVP is the multi-scale Real NVP of Dinh et al. (2017, §4.1 and
// Appendix) on CIFAR-10: affine couplings whose scale and translation come
// from a ResNet of 8 residual blocks with 64 feature maps, and one
// downscaling, i.e. two scales: 3 checkerboard couplings, a squeeze and 3
// channel couplings, then half the channels factored out and 4
// checkerboard couplings on the rest; tanh-bounded log-scales; Adam with
// learning rate 1e-3, an L2 weight decay of 5e-5 and batch 64 (these
// numbers as we recall §4.1; they were not checked against the paper's
// text here). The paper does not say how long it trains; the preset runs
// 200 epochs, this library's choice. MNIST is not in the paper: the preset
// is the same layout on 1×28×28 (28 → 14 after the squeeze).
//
// Differences: the paper's coupling ResNets use batch normalization and
// weight normalization and it normalizes activations between couplings
// with batch statistics, and it trains CIFAR-10 with horizontal flips;
// this library has none of these. Parameters: 5,997,401 on CIFAR-10,
// 5,938,547 on MNIST.
func PaperRealNVP(set datasets.ImageSet, dir string) Config {
	c, h, w := imageShape(set, 0)
	cfg := Config{
		Data: paperFamilyData(set, dir, 0),
		Model: ModelConfig{RealNVP: &coupling.RealNVPConfig{Channels: c, Height: h, Width: w,
			Scales: 2, Couplings: 3, FinalCouplings: 4, HiddenChannels: 64, ResBlocks: 8}},
		Optim: Optim{Algorithm: Adam, LR: 1e-3, WeightDecay: 5e-5},
	}
	return paperFamilyRun(cfg, set, 64, 200)
}

// PaperGlow is Glow as Kingma & Dhariwal (2018, §5) train it on CIFAR-10
// for their quantitative results, in the command line of the authors' README
// (github.com/openai/glow: --n_level 3 --depth 32 --flow_permutation 2
// --flow_coupling 1 --learntop --lr 0.001, with train.py's defaults
// --width 512, --n_batch_train 64, --optimizer adamax, --epochs_warmup 10,
// --polyak_epochs 1): L = 3 levels of K = 32 steps of ActNorm, invertible
// 1×1 convolution (LU form) and affine coupling with 512 hidden channels
// (coupling.GlowPaper), Adamax with learning rate 1e-3 after 10 warm-up
// epochs, batch 64, and an average of the weights over about an epoch
// (EMA 0.999). MNIST is not in the paper; the authors' code pads it to
// 32×32 (and repeats it over 3 channels), and the preset pads it to
// 32×32, one channel, with the CIFAR-10 layout. The authors' code trains
// until stopped; the preset runs 200 epochs, this library's choice.
//
// Differences: the authors learn the prior's mean and scale (--learntop)
// and the factored-out latents' prior from the kept half; here both are
// standard normal. Their coupling nets have ActNorm instead of biases in
// the hidden layers and a learned scale on the zero-initialized output;
// here they are plain biased convolutions. Parameters: 44,047,872 on
// CIFAR-10 (later papers quote about 44.0M for Glow on CIFAR-10, e.g. Ho
// et al. 2019, Flow++; not checked here), 31,482,368 on MNIST.
func PaperGlow(set datasets.ImageSet, dir string) Config {
	pad := 0
	if set == datasets.MNIST {
		pad = 2
	}
	c, h, w := imageShape(set, pad)
	m := coupling.GlowPaper()
	m.Channels, m.Height, m.Width = c, h, w
	epoch := epochSteps(trainImages(set), 64)
	cfg := Config{
		Data:  paperFamilyData(set, dir, pad),
		Model: ModelConfig{Glow: &m},
		Optim: Optim{Algorithm: Adamax, LR: 1e-3, Warmup: 10 * epoch, EMADecay: 0.999},
	}
	return paperFamilyRun(cfg, set, 64, 200)
}

// PaperGlowAdditive is PaperGlow with additive couplings and reversed
// channel orders in place of the 1×1 convolutions, the additive, reverse
// baseline of Kingma & Dhariwal (2018, §5.1, Figure 3; --flow_coupling 0
// --flow_permutation 0 in the authors' code) that Behrmann et al. (2019)
// also compare as a classifier. Parameters: 37,657,152 on CIFAR-10,
// 29,395,136 on MNIST.
func PaperGlowAdditive(set datasets.ImageSet, dir string) Config {
	c := PaperGlow(set, dir)
	m := *c.Model.Glow
	m.Coupling, m.Mixing = coupling.Additive, coupling.Reverse
	c.Model.Glow = &m
	return c
}

// PaperFFJORD is the closest this library comes to FFJORD's image models
// (Grathwohl et al. 2019, §5, the MNIST and CIFAR-10 rows that Behrmann et
// al. 2019 quote), and it is not theirs. FFJORD models MNIST and CIFAR-10
// with a multi-scale architecture of continuous flows whose dynamics are
// convolutional nets (per scale two CNF blocks of three 3×3 convolutions
// with 64 channels, Softplus, the time concatenated to each layer's input,
// as we recall the authors' README; not checked here), integrated by the
// adaptive dopri5 solver (train_cnf.py's default in
// github.com/rtqichen/ffjord; tolerance 1e-5 as we recall the paper's text,
// unchecked); this library's continuous flow (ode.FFJORDConfig) has dense
// dynamics only. The preset is therefore one dense CNF on the flattened
// image: dynamics with three hidden layers of 1024 Softplus units and the
// time in every layer (the same concat form), integrated by 10 fixed RK4
// steps over [0, 1] with one Gaussian Hutchinson probe per image
// (train_cnf.py's default divergence estimator). Its widths and steps are
// this library's choices, not the paper's. Training as train_cnf.py's
// defaults: Adam with learning rate 1e-3 after 1000 warm-up steps, batch
// 200; the preset runs 100 epochs (train_cnf.py's default is 1000), and
// takes CIFAR's logit α = 0.05 like every density preset here (train_cnf.py
// uses 1e-6 on every dataset). Expect it to trail the paper's numbers: a
// dense net ignores the images' locality that the convolutions use.
// Parameters: 3,710,496 on MNIST, 8,400,896 on CIFAR-10.
func PaperFFJORD(set datasets.ImageSet, dir string) Config {
	c, h, w := imageShape(set, 0)
	cfg := Config{
		Data: paperFamilyData(set, dir, 0),
		Model: ModelConfig{
			FFJORD:  &ode.FFJORDConfig{Dim: c * h * w, Hidden: []int{1024, 1024, 1024}, Act: graph.Softplus, Steps: 10, EndTime: 1, Probes: 1},
			Flatten: []int{c, h, w},
		},
		Optim: Optim{Algorithm: Adam, LR: 1e-3, Warmup: 1000},
	}
	return paperFamilyRun(cfg, set, 200, 100)
}

// paperFamilies maps each family to its paper preset.
var paperFamilies = map[string]func(datasets.ImageSet, string) Config{
	"nice":          PaperNICE,
	"made":          PaperMADE,
	"maf":           PaperMAF,
	"realnvp":       PaperRealNVP,
	"glow":          PaperGlow,
	"glow-additive": PaperGlowAdditive,
	"ffjord":        PaperFFJORD,
}

// FamilyPreset returns the configuration of a model family (Families, or
// "iresnet") of the given preset size for a dataset and task, reading the
// data from dir ("" finds MNIST by itself). For the density task the small
// preset is the family's default model (WithFamily) trained as
// SmallMNISTDensity (adapted to CIFAR) is, and the paper preset is the
// family's own paper configuration: PaperNICE, PaperMADE, PaperMAF,
// PaperRealNVP, PaperGlow, PaperGlowAdditive, PaperFFJORD (CIFAR-100 takes
// the CIFAR-10 one). For the classify and hybrid tasks, which only
// ClassifierFamilies train, each preset is the i-ResNet's of that size
// (Preset) with its trunk replaced by the family's, shaped like it
// (WithFamily), as Behrmann et al. (2019) compare them in their table
// "i-ResNets across tasks".
func FamilyPreset(family string, size PresetSize, set datasets.ImageSet, task Task, dir string) (Config, error) {
	c, err := Preset(size, set, task, dir)
	if err != nil || family == "iresnet" {
		return c, err
	}
	paper, known := paperFamilies[family]
	if !known {
		return c, errors.Errorf("trainer: unknown model family %q (known: %s)", family, strings.Join(Families(), ", "))
	}
	if size == PaperPreset && task == Density {
		c = paper(set, dir)
		c.Data.Name, c.Data.Dir = set.String(), dir
		return c.WithDefaults()
	}
	if c, err = c.WithFamily(family, c.Model.InputShape()); err != nil {
		return c, err
	}
	return c.WithDefaults()
}
