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

// DenseConfig configures a residual block on vectors (N, Dim) whose branch
// is an MLP g = W_k ∘ φ ∘ … ∘ φ ∘ W_1 (∘ φ if InputAct) with spectrally
// normalized weights.
type DenseConfig struct {
	Dim    int   // input and output width d, ≥ 1
	Hidden []int // hidden widths; nil means [64, 64]
	Lipschitz
}

// denseBranch is the MLP of a dense residual block; layer i computes
// h·W̃ᵢ + bᵢ with Wᵢ of shape (in, out).
type denseBranch struct {
	act           graph.Activation
	inputAct      bool
	unconstrained bool
	ws, bs        []*tensor.Dense
	sns           []*normalize.SpectralNorm
}

// NewDense returns a dense residual block with weights drawn from rng.
func NewDense(cfg DenseConfig, rng *rand.Rand) (*Residual, error) {
	l, err := cfg.Lipschitz.withDefaults()
	if err != nil {
		return nil, err
	}
	if cfg.Dim < 1 {
		return nil, errors.Errorf("blocks: dense block width %d must be ≥ 1", cfg.Dim)
	}
	hidden := cfg.Hidden
	if hidden == nil {
		hidden = []int{64, 64}
	}
	widths := append(append([]int{cfg.Dim}, hidden...), cfg.Dim)
	br := &denseBranch{act: l.Act, inputAct: l.InputAct, unconstrained: l.Unconstrained}
	for i := 0; i+1 < len(widths); i++ {
		in, out := widths[i], widths[i+1]
		if out < 1 {
			return nil, errors.Errorf("blocks: hidden width %d is %d, must be ≥ 1", i, out)
		}
		bound := fanInBound(in)
		br.ws = append(br.ws, uniformTensor(l.Dtype, rng, bound, in, out))
		br.bs = append(br.bs, uniformTensor(l.Dtype, rng, bound, out))
		sn, err := normalize.NewDense(in, out, l.Coeff, l.Dtype, rng)
		if err != nil {
			return nil, err
		}
		br.sns = append(br.sns, sn)
	}
	return newResidual(br, l)
}

func layerName(i int) string { return "fc" + strconv.Itoa(i) }

func (d *denseBranch) build(b *graph.Builder, x *G.Node) (*G.Node, error) {
	s := x.Shape()
	if s.Dims() != 2 || s[1] != d.ws[0].Shape()[0] {
		return nil, errors.Errorf("blocks: dense block of width %d got input of shape %v, want (N, %d)", d.ws[0].Shape()[0], s, d.ws[0].Shape()[0])
	}
	h := x
	var err error
	if d.inputAct {
		if h, err = graph.Activate(d.act, h); err != nil {
			return nil, err
		}
	}
	for i := range d.ws {
		err = b.Scoped(layerName(i), func() error {
			w, err := b.Param("weight", d.ws[i])
			if err != nil {
				return err
			}
			bias, err := b.Param("bias", d.bs[i])
			if err != nil {
				return err
			}
			wn := w
			if !d.unconstrained {
				if wn, err = d.sns[i].Normalize(b, "weight", w); err != nil {
					return err
				}
			}
			if h, err = G.Mul(h, wn); err != nil {
				return errors.Wrap(err, "blocks: h·W̃")
			}
			if h, err = graph.AddBias(h, bias); err != nil {
				return err
			}
			if i+1 < len(d.ws) {
				h, err = graph.Activate(d.act, h)
			}
			return err
		})
		if err != nil {
			return nil, errors.Wrapf(err, "blocks: layer %s", layerName(i))
		}
	}
	return h, nil
}

func (d *denseBranch) layers() []snLayer {
	out := make([]snLayer, len(d.ws))
	for i := range d.ws {
		out[i] = snLayer{name: layerName(i), w: d.ws[i], sn: d.sns[i]}
	}
	return out
}

func (d *denseBranch) tensors() []NamedTensor {
	var out []NamedTensor
	for i := range d.ws {
		p := layerName(i) + "/"
		out = append(out,
			NamedTensor{Name: p + "weight", Value: d.ws[i], Learnable: true},
			NamedTensor{Name: p + "bias", Value: d.bs[i], Learnable: true},
			// PyTorch names: weight_v in the input space, weight_u in the output space.
			NamedTensor{Name: p + "weight_v", Value: d.sns[i].U(), Check: normalize.CheckUnit},
			NamedTensor{Name: p + "weight_u", Value: d.sns[i].V(), Check: normalize.CheckUnit},
			NamedTensor{Name: p + "weight_sigma", Value: d.sns[i].SigmaTensor(), Check: normalize.CheckSigma},
		)
	}
	return out
}

func (d *denseBranch) normalized() bool { return !d.unconstrained }
