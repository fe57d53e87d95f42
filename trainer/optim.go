package trainer

import (
	"math"

	"github.com/pkg/errors"
	"gorgonia.org/tensor"
)

// optimizer is Adam or Adamax over a fixed list of parameter tensors,
// updated in place. Its state (moments and step) is explicit so checkpoints
// can restore it exactly.
type optimizer struct {
	cfg    Optim
	params []*tensor.Dense
	m, v   []*tensor.Dense // first moment; second moment (Adam) or infinity norm (Adamax)
	t      int             // updates applied
}

func newOptimizer(cfg Optim, params []*tensor.Dense) *optimizer {
	o := &optimizer{cfg: cfg, params: params}
	for _, p := range params {
		o.m = append(o.m, tensor.New(tensor.Of(p.Dtype()), tensor.WithShape(p.Shape()...)))
		o.v = append(o.v, tensor.New(tensor.Of(p.Dtype()), tensor.WithShape(p.Shape()...)))
	}
	return o
}

// lr returns the learning rate for update number t (1-based): linear
// warm-up, then constant or, with DecaySteps, a half cosine down to 0.
func (o *optimizer) lr(t int) float64 {
	return scheduledLR(o.cfg, t)
}

func scheduledLR(cfg Optim, t int) float64 {
	switch {
	case cfg.Warmup > 0 && t < cfg.Warmup:
		return cfg.LR * float64(t) / float64(cfg.Warmup)
	case cfg.DecaySteps <= 0:
		return cfg.LR
	case t >= cfg.DecaySteps:
		return 0
	}
	frac := float64(t-cfg.Warmup) / float64(cfg.DecaySteps-cfg.Warmup)
	return cfg.LR * 0.5 * (1 + math.Cos(math.Pi*frac))
}

// step applies one update with gradients grads (same order and shapes as
// the parameters) and returns the learning rate used and the global
// gradient norm before clipping.
func (o *optimizer) step(grads [][]float32) (lr, norm float64, err error) {
	if len(grads) != len(o.params) {
		return 0, 0, errors.Errorf("trainer: %d gradients for %d parameters", len(grads), len(o.params))
	}
	for _, g := range grads {
		for _, v := range g {
			norm += float64(v) * float64(v)
		}
	}
	norm = math.Sqrt(norm)
	scale := 1.0
	if o.cfg.ClipNorm > 0 && norm > o.cfg.ClipNorm {
		scale = o.cfg.ClipNorm / norm
	}
	o.t++
	lr = o.lr(o.t)
	b1, b2, eps, wd := o.cfg.Beta1, o.cfg.Beta2, o.cfg.Eps, o.cfg.WeightDecay
	c1 := 1 - math.Pow(b1, float64(o.t))
	c2 := 1 - math.Pow(b2, float64(o.t))
	for i, p := range o.params {
		pd := p.Data().([]float32)
		md := o.m[i].Data().([]float32)
		vd := o.v[i].Data().([]float32)
		for j, g32 := range grads[i] {
			g := float64(g32)*scale + wd*float64(pd[j])
			if o.cfg.Algorithm == SGD { // v ← β₁v + g; p ← p − lr·v (PyTorch's form of momentum)
				m := b1*float64(md[j]) + g
				md[j] = float32(m)
				pd[j] = float32(float64(pd[j]) - lr*m)
				continue
			}
			m := b1*float64(md[j]) + (1-b1)*g
			md[j] = float32(m)
			var step float64
			switch o.cfg.Algorithm {
			case Adamax:
				u := math.Max(b2*float64(vd[j]), math.Abs(g))
				vd[j] = float32(u)
				step = lr / c1 * m / (u + eps)
			default:
				v := b2*float64(vd[j]) + (1-b2)*g*g
				vd[j] = float32(v)
				step = lr * (m / c1) / (math.Sqrt(v/c2) + eps)
			}
			pd[j] = float32(float64(pd[j]) - step)
		}
	}
	return lr, norm, nil
}
