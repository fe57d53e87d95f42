package trainer

import (
	"slices"
	"strings"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/blocks/autoregressive"
	"github.com/iresnet/iresnet/blocks/coupling"
	"github.com/iresnet/iresnet/blocks/ode"
	"github.com/pkg/errors"
)

// familyModel returns the default model of a family for samples of the
// given shape: (2) for toy densities, (C, H, W) for images.
func familyModel(family string, shape []int) (ModelConfig, error) {
	image := len(shape) == 3
	d := 1
	for _, s := range shape {
		d *= s
	}
	var c, h, w int
	if image {
		c, h, w = shape[0], shape[1], shape[2]
	}
	var m ModelConfig
	switch family {
	case "nice":
		if image {
			m.NICE = &coupling.NICEConfig{Channels: c, Height: h, Width: w}
		} else {
			m.NICE = &coupling.NICEConfig{Dim: d}
		}
	case "realnvp":
		if image {
			m.RealNVP = &coupling.RealNVPConfig{Channels: c, Height: h, Width: w}
		} else {
			m.DenseRealNVP = &coupling.DenseRealNVPConfig{Dim: d}
		}
	case "glow", "glow-additive":
		kind, mix := coupling.Affine, coupling.Conv1x1
		if family == "glow-additive" {
			kind, mix = coupling.Additive, coupling.Reverse
		}
		if image {
			m.Glow = &coupling.GlowConfig{Channels: c, Height: h, Width: w, Coupling: kind, Mixing: mix}
		} else {
			m.DenseGlow = &coupling.DenseGlowConfig{Dim: d, Coupling: kind, Mixing: mix}
		}
	case "maf", "made":
		m.MAF = &autoregressive.MAFConfig{Dim: d, ActNorm: family == "maf"}
		if family == "made" {
			m.MAF.Layers = 1
		}
	case "ffjord":
		m.FFJORD = &ode.FFJORDConfig{Dim: d}
	default:
		return m, errors.Errorf("trainer: unknown model family %q (known: %s)", family, strings.Join(Families(), ", "))
	}
	if image && (m.MAF != nil || m.FFJORD != nil) {
		m.Flatten = append([]int(nil), shape...)
	}
	return m, nil
}

// Families lists the model families besides the i-ResNet that
// WithFamily takes.
func Families() []string {
	return []string{"ffjord", "glow", "glow-additive", "made", "maf", "nice", "realnvp"}
}

// ClassifierFamilies lists the model families that train for the classify
// and hybrid tasks: those with a multi-scale feature map for the classifier
// head of Behrmann et al. (2019, §5.1), the i-ResNet and the Glow-style
// flows the paper compares it with in its table "i-ResNets across tasks"
// (affine Glow with 1×1 convolutions, additive Glow with reverse
// permutations), and the multi-scale Real NVP.
func ClassifierFamilies() []string {
	return []string{"glow", "glow-additive", "iresnet", "realnvp"}
}

// WithFamily returns c with its model replaced by the default model of the
// named family (nice, made, maf, realnvp, glow, glow-additive with reverse
// permutations, ffjord) for the data's samples of the given shape. "iresnet"
// returns c unchanged. For the density task each family gets its own
// default architecture. For the classify and hybrid tasks only
// ClassifierFamilies are taken, and they are shaped like the i-ResNet
// classifier they replace (c.Model.MultiScale, or SmallMNISTClassifier's
// when c has none), as Behrmann et al. (2019) compare them: see
// classifierFamilyModel.
func (c Config) WithFamily(family string, shape []int) (Config, error) {
	if family == "iresnet" {
		return c, nil
	}
	var m ModelConfig
	var err error
	if c.Objective.Task == Density {
		m, err = familyModel(family, shape)
	} else {
		m, err = classifierFamilyModel(family, shape, c.Objective.Task, c.Model.MultiScale)
	}
	if err != nil {
		return c, err
	}
	c.Model = m
	return c, nil
}

// classifierFamilyModel returns a classifier trunk of the family (glow,
// glow-additive, realnvp) for images of the given shape (C, H, W), shaped
// like the i-ResNet classifier like (nil: SmallMNISTClassifier's): as many
// squeezes, so the head reads the same resolution; Glow has one level per
// squeeze with like's blocks per scale as steps and the hidden widths of
// like's squeezing scales as its per-level coupling widths; Real NVP has one
// scale per squeeze plus its final one, like's blocks per scale as its
// couplings per group, like's narrowest hidden width (its first scale's
// checkerboard couplings run at full resolution, which the i-ResNet never
// does after its initial squeeze) and one residual block per coupling net;
// both factor out exactly when like does (the small and paper classifiers
// do not). Unlike the i-ResNet classifier they have no
// injective zero-channel padding, which would leave the coupling flows'
// multi-scale latent layout, so the head reads fewer channels (64×4×4 for
// Glow on MNIST padded to 32×32 against the i-ResNet's 128×4×4).
func classifierFamilyModel(family string, shape []int, task Task, like *blocks.MultiScaleConfig) (ModelConfig, error) {
	var m ModelConfig
	if !slices.Contains(ClassifierFamilies(), family) {
		if _, err := familyModel(family, shape); err != nil {
			return m, err // unknown family
		}
		return m, errors.Errorf("trainer: the %s family is trained for density only; the %v task takes the families with a multi-scale feature map for the classifier head: %s", family, task, strings.Join(ClassifierFamilies(), ", "))
	}
	if len(shape) != 3 {
		return m, errors.Errorf("trainer: the %v task needs images (C, H, W), got samples of shape %v", task, shape)
	}
	if like == nil {
		like = SmallMNISTClassifier("").Model.MultiScale
	}
	scales, blocksPer := like.Scales, like.Blocks
	if scales == 0 {
		scales = 3 // blocks.MultiScaleConfig's defaults
	}
	if blocksPer == 0 {
		blocksPer = 4
	}
	hidden := like.Hidden
	if len(hidden) != scales {
		hidden = slices.Repeat([]int{32}, scales)
	}
	squeezes := scales - 1
	if like.InitSqueeze {
		squeezes++
	}
	squeezes = max(squeezes, 1)                     // ≤ scales
	hidden = slices.Clone(hidden[scales-squeezes:]) // the squeezing scales
	c, h, w := shape[0], shape[1], shape[2]
	switch family {
	case "glow", "glow-additive":
		kind, mix := coupling.Affine, coupling.Conv1x1
		if family == "glow-additive" {
			kind, mix = coupling.Additive, coupling.Reverse
		}
		m.Glow = &coupling.GlowConfig{Channels: c, Height: h, Width: w, Levels: squeezes, Steps: blocksPer,
			LevelHidden: hidden, Coupling: kind, Mixing: mix, NoSplit: like.NoSplit}
	case "realnvp":
		m.RealNVP = &coupling.RealNVPConfig{Channels: c, Height: h, Width: w, Scales: squeezes + 1,
			Couplings: blocksPer, FinalCouplings: blocksPer, HiddenChannels: slices.Min(hidden), ResBlocks: 1, NoSplit: like.NoSplit}
	}
	a, _ := m.architecture()
	if err := a.validate(); err != nil {
		return m, errors.Wrapf(err, "trainer: a %s classifier for images %v", family, shape)
	}
	return m, nil
}
