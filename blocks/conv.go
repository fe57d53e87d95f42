package blocks

import (
	"math/rand/v2"
	"strconv"

	"github.com/iresnet/iresnet/graph"
	"github.com/iresnet/iresnet/normalize"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// ConvConfig configures a residual block on images (N, C, H, W) whose
// branch is the bottleneck of Behrmann et al. (2019, §5 and Appendix):
// 3×3 conv (C → Hidden), φ, 1×1 conv (Hidden → Hidden), φ, 3×3 conv
// (Hidden → C), all stride 1 with "same" padding, each spectrally
// normalized as an operator on its input shape.
type ConvConfig struct {
	Channels, Height, Width int // C, H, W of the input, each ≥ 1
	Hidden                  int // bottleneck channels; 0 means 32
	Lipschitz
}

// convLayer is one convolution of the bottleneck.
type convLayer struct {
	geom graph.ConvGeom // with N = 1; the batch comes from the input
	w, b *tensor.Dense  // (O, C, K, K) and (O)
	sn   *normalize.SpectralNorm
}

type convBranch struct {
	act           graph.Activation
	inputAct      bool
	unconstrained bool
	ls            []convLayer
}

// NewConv returns a convolutional bottleneck residual block with weights
// drawn from rng. Hidden = 0 means 32 channels.
func NewConv(cfg ConvConfig, rng *rand.Rand) (*Residual, error) {
	l, err := cfg.Lipschitz.withDefaults()
	if err != nil {
		return nil, err
	}
	c, h, w := cfg.Channels, cfg.Height, cfg.Width
	if c < 1 || h < 1 || w < 1 {
		return nil, errors.Errorf("blocks: conv block input (C, H, W) = (%d, %d, %d) must be positive", c, h, w)
	}
	hid := cfg.Hidden
	if hid == 0 {
		hid = 32
	}
	if hid < 1 {
		return nil, errors.Errorf("blocks: conv block hidden channels %d must be ≥ 1", hid)
	}
	br := &convBranch{act: l.Act, inputAct: l.InputAct, unconstrained: l.Unconstrained}
	for _, spec := range []struct{ in, out, k int }{{c, hid, 3}, {hid, hid, 1}, {hid, c, 3}} {
		g := graph.ConvGeom{N: 1, C: spec.in, H: h, W: w, O: spec.out, KH: spec.k, KW: spec.k, Stride: 1, Pad: spec.k / 2}
		sn, err := normalize.NewConv(g, l.Coeff, l.Dtype, rng)
		if err != nil {
			return nil, err
		}
		bound := fanInBound(spec.in * spec.k * spec.k)
		br.ls = append(br.ls, convLayer{
			geom: g,
			w:    uniformTensor(l.Dtype, rng, bound, g.KernelShape()...),
			b:    uniformTensor(l.Dtype, rng, bound, spec.out),
			sn:   sn,
		})
	}
	return newResidual(br, l)
}

func convName(i int) string { return "conv" + strconv.Itoa(i) }

func (cb *convBranch) build(b *graph.Builder, x *G.Node) (*G.Node, error) {
	s := x.Shape()
	g0 := cb.ls[0].geom
	if s.Dims() != 4 || s[1] != g0.C || s[2] != g0.H || s[3] != g0.W {
		return nil, errors.Errorf("blocks: conv block for (C, H, W) = (%d, %d, %d) got input of shape %v", g0.C, g0.H, g0.W, s)
	}
	h := x
	var err error
	if cb.inputAct {
		if h, err = graph.Activate(cb.act, h); err != nil {
			return nil, err
		}
	}
	for i, l := range cb.ls {
		err = b.Scoped(convName(i), func() error {
			w, err := b.Param("weight", l.w)
			if err != nil {
				return err
			}
			bias, err := b.Param("bias", l.b)
			if err != nil {
				return err
			}
			wn := w
			if !cb.unconstrained {
				if wn, err = l.sn.Normalize(b, "weight", w); err != nil {
					return err
				}
			}
			if h, err = graph.Conv2d(h, wn, l.geom.Stride, l.geom.Pad); err != nil {
				return err
			}
			if h, err = graph.AddBias(h, bias); err != nil {
				return err
			}
			if i+1 < len(cb.ls) {
				h, err = graph.Activate(cb.act, h)
			}
			return err
		})
		if err != nil {
			return nil, errors.Wrapf(err, "blocks: layer %s", convName(i))
		}
	}
	return h, nil
}

func (cb *convBranch) layers() []snLayer {
	out := make([]snLayer, len(cb.ls))
	for i, l := range cb.ls {
		out[i] = snLayer{name: convName(i), w: l.w, sn: l.sn}
	}
	return out
}

func (cb *convBranch) tensors() []NamedTensor {
	var out []NamedTensor
	for i, l := range cb.ls {
		p := convName(i) + "/"
		out = append(out,
			NamedTensor{Name: p + "weight", Value: l.w, Learnable: true},
			NamedTensor{Name: p + "bias", Value: l.b, Learnable: true},
			// PyTorch names: weight_v in the input space, weight_u in the output space.
			NamedTensor{Name: p + "weight_v", Value: l.sn.U(), Check: normalize.CheckUnit},
			NamedTensor{Name: p + "weight_u", Value: l.sn.V(), Check: normalize.CheckUnit},
			NamedTensor{Name: p + "weight_sigma", Value: l.sn.SigmaTensor(), Check: normalize.CheckSigma},
		)
	}
	return out
}

func (cb *convBranch) normalized() bool { return !cb.unconstrained }
