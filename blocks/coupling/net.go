package coupling

import (
	"math/rand/v2"
	"strconv"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/graph"
	"github.com/iresnet/iresnet/internal/dense"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// condNet is a coupling layer's conditioning network: any function of
// x_a (the unconstrained part of a coupling flow).
type condNet interface {
	build(b *graph.Builder, h *G.Node) (*G.Node, error)
	tensors() []blocks.NamedTensor
}

// mlp is a dense net (N, in) → (N, out): layers h·Wᵢ + bᵢ with ReLU between.
type mlp struct {
	ws, bs []*tensor.Dense // (in, out) and (out)
}

// newMLP draws the layers of an MLP with the given widths (input, hidden…,
// output). zeroLast zero-initializes the output layer so the net starts
// at 0.
func newMLP(dt tensor.Dtype, widths []int, zeroLast bool, rng *rand.Rand) *mlp {
	m := &mlp{}
	for i := 0; i+1 < len(widths); i++ {
		in, out := widths[i], widths[i+1]
		bound := fanIn(in)
		if zeroLast && i+2 == len(widths) {
			bound = 0
		}
		m.ws = append(m.ws, dense.Uniform(dt, rng, bound, in, out))
		m.bs = append(m.bs, dense.Uniform(dt, rng, bound, out))
	}
	return m
}

func fcName(i int) string { return "fc" + strconv.Itoa(i) }

func (m *mlp) build(b *graph.Builder, h *G.Node) (*G.Node, error) {
	for i := range m.ws {
		err := b.Scoped(fcName(i), func() error {
			w, err := b.Param("w", m.ws[i])
			if err != nil {
				return err
			}
			bias, err := b.Param("b", m.bs[i])
			if err != nil {
				return err
			}
			if h, err = G.Mul(h, w); err != nil {
				return errors.Wrap(err, "coupling: h·W")
			}
			if h, err = graph.AddBias(h, bias); err != nil {
				return err
			}
			if i+1 < len(m.ws) {
				h, err = graph.Activate(graph.ReLU, h)
			}
			return err
		})
		if err != nil {
			return nil, errors.Wrapf(err, "coupling: layer %s", fcName(i))
		}
	}
	return h, nil
}

func (m *mlp) tensors() []blocks.NamedTensor {
	var out []blocks.NamedTensor
	for i := range m.ws {
		p := fcName(i) + "/"
		out = append(out,
			blocks.NamedTensor{Name: p + "w", Value: m.ws[i], Learnable: true},
			blocks.NamedTensor{Name: p + "b", Value: m.bs[i], Learnable: true})
	}
	return out
}

// conv is one convolution with "same" padding and a bias.
type conv struct {
	name string
	w, b *tensor.Dense // (O, C, K, K) and (O)
}

func newConv(dt tensor.Dtype, name string, in, out, k int, zero bool, rng *rand.Rand) conv {
	bound := fanIn(in * k * k)
	if zero {
		bound = 0
	}
	return conv{name: name, w: dense.Uniform(dt, rng, bound, out, in, k, k), b: dense.Uniform(dt, rng, bound, out)}
}

func (c conv) build(b *graph.Builder, h *G.Node) (*G.Node, error) {
	err := b.Scoped(c.name, func() error {
		w, err := b.Param("w", c.w)
		if err != nil {
			return err
		}
		bias, err := b.Param("b", c.b)
		if err != nil {
			return err
		}
		if h, err = graph.Conv2d(h, w, 1, c.w.Shape()[2]/2); err != nil {
			return err
		}
		h, err = graph.AddBias(h, bias)
		return err
	})
	return h, errors.Wrapf(err, "coupling: convolution %s", c.name)
}

func (c conv) tensors() []blocks.NamedTensor {
	return []blocks.NamedTensor{
		{Name: c.name + "/w", Value: c.w, Learnable: true},
		{Name: c.name + "/b", Value: c.b, Learnable: true},
	}
}

// convNet is a convolutional coupling net (N, in, H, W) → (N, out, H, W).
//
// Without residual blocks it is Glow's net (Kingma & Dhariwal 2018, §3.3):
// 3×3 conv, ReLU, 1×1 conv, ReLU, 3×3 conv. With r > 0 residual blocks it
// is Real NVP's ResNet (Dinh et al. 2017, §4.1): a 3×3 conv into the hidden
// width, r blocks h ← h + conv(ReLU(conv(ReLU(h)))) of 3×3 convs, ReLU and a
// 3×3 conv out.
type convNet struct {
	in       conv
	mid      []conv // Glow: one 1×1; Real NVP: two 3×3 per residual block
	residual bool
	out      conv
}

func newConvNet(dt tensor.Dtype, in, hidden, out, resBlocks int, zeroLast bool, rng *rand.Rand) *convNet {
	n := &convNet{in: newConv(dt, "conv_in", in, hidden, 3, false, rng), residual: resBlocks > 0}
	if resBlocks == 0 {
		n.mid = []conv{newConv(dt, "conv_mid", hidden, hidden, 1, false, rng)}
	}
	for r := 0; r < resBlocks; r++ {
		for k := 0; k < 2; k++ {
			n.mid = append(n.mid, newConv(dt, "res"+strconv.Itoa(r)+"/conv"+strconv.Itoa(k), hidden, hidden, 3, false, rng))
		}
	}
	n.out = newConv(dt, "conv_out", hidden, out, 3, zeroLast, rng)
	return n
}

func (n *convNet) build(b *graph.Builder, x *G.Node) (*G.Node, error) {
	h, err := n.in.build(b, x)
	if err != nil {
		return nil, err
	}
	relu := func(v *G.Node) (*G.Node, error) { return graph.Activate(graph.ReLU, v) }
	if !n.residual {
		if h, err = relu(h); err != nil {
			return nil, err
		}
		for _, c := range n.mid {
			if h, err = c.build(b, h); err != nil {
				return nil, err
			}
			if h, err = relu(h); err != nil {
				return nil, err
			}
		}
		return n.out.build(b, h)
	}
	for k := 0; k < len(n.mid); k += 2 {
		r, err := relu(h)
		if err != nil {
			return nil, err
		}
		if r, err = n.mid[k].build(b, r); err != nil {
			return nil, err
		}
		if r, err = relu(r); err != nil {
			return nil, err
		}
		if r, err = n.mid[k+1].build(b, r); err != nil {
			return nil, err
		}
		if h, err = G.Add(h, r); err != nil {
			return nil, errors.Wrap(err, "coupling: residual sum")
		}
	}
	if h, err = relu(h); err != nil {
		return nil, err
	}
	return n.out.build(b, h)
}

func (n *convNet) tensors() []blocks.NamedTensor {
	out := n.in.tensors()
	for _, c := range n.mid {
		out = append(out, c.tensors()...)
	}
	return append(out, n.out.tensors()...)
}
