package trainer

import (
	"strings"

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

// WithFamily returns c with its model replaced by the default model of the
// named family (nice, made, maf, realnvp, glow, glow-additive with reverse
// permutations, ffjord) for the data's samples of the given shape, trained
// for density. "iresnet" returns c unchanged.
func (c Config) WithFamily(family string, shape []int) (Config, error) {
	if family == "iresnet" {
		return c, nil
	}
	m, err := familyModel(family, shape)
	if err != nil {
		return c, err
	}
	c.Model = m
	return c, nil
}
