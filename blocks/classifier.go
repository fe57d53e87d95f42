package blocks

import (
	"math"
	"math/rand/v2"

	"github.com/iresnet/iresnet/graph"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// HeadConfig configures a [ClassifierHead].
type HeadConfig struct {
	Channels int          // channels C of the feature map the head reads, ≥ 1
	Classes  int          // number of classes K, ≥ 2
	Dtype    tensor.Dtype // element type; the zero value means tensor.Float32
}

// ClassifierHead is the classification head that Behrmann et al. (2019,
// §5.1) put on the invertible stack, as in their code: normalization, ReLU,
// global average pooling and a linear layer,
//
//	logits = mean_{h,w} ReLU((feat + β) ⊙ exp(s)) · W + b,
//
// for a feature map feat (N, C, H, W), giving (N, K).
//
// Their code normalizes with batch normalization. Here the normalization is
// an [ActNorm]: a per-channel affine map with learned shift β and log-scale
// s and data-dependent initialization ([ClassifierHead.InitFromBatch] sets
// them so one batch comes out with zero mean and unit variance per channel,
// which is what batch normalization does at the start of training). Unlike
// batch normalization it uses no batch statistics in the graph, so a
// sample's logits do not depend on the rest of its batch and the graph is a
// deterministic function of its inputs; the head is not invertible and its
// log-det is not used.
//
// W (C, K) and b (K) are initialized like PyTorch's nn.Linear: uniform on
// ±1/√C.
type ClassifierHead struct {
	cfg  HeadConfig
	norm *ActNorm
	w, b *tensor.Dense
}

var (
	_ DataInitializer = (*ClassifierHead)(nil)
	_ Tensorer        = (*ClassifierHead)(nil)
)

// NewClassifierHead returns a head with weights drawn from rng and an
// identity normalization until InitFromBatch.
func NewClassifierHead(cfg HeadConfig, rng *rand.Rand) (*ClassifierHead, error) {
	if cfg.Dtype == (tensor.Dtype{}) {
		cfg.Dtype = tensor.Float32
	}
	switch {
	case cfg.Dtype != tensor.Float32 && cfg.Dtype != tensor.Float64:
		return nil, errors.Errorf("blocks: head dtype %v not supported (want float32 or float64)", cfg.Dtype)
	case cfg.Channels < 1:
		return nil, errors.Errorf("blocks: head channels %d must be ≥ 1", cfg.Channels)
	case cfg.Classes < 2:
		return nil, errors.Errorf("blocks: head classes %d must be ≥ 2", cfg.Classes)
	case rng == nil:
		return nil, errors.New("blocks: NewClassifierHead needs a random source")
	}
	norm, err := NewActNorm(cfg.Channels, cfg.Dtype)
	if err != nil {
		return nil, err
	}
	bound := fanInBound(cfg.Channels)
	return &ClassifierHead{
		cfg:  cfg,
		norm: norm,
		w:    uniformTensor(cfg.Dtype, rng, bound, cfg.Channels, cfg.Classes),
		b:    uniformTensor(cfg.Dtype, rng, bound, cfg.Classes),
	}, nil
}

// Config returns the configuration with defaults filled in.
func (h *ClassifierHead) Config() HeadConfig { return h.cfg }

// Norm returns the head's normalization, e.g. to set its parameters.
func (h *ClassifierHead) Norm() *ActNorm { return h.norm }

// Initialized reports whether the normalization has been initialized from
// data (or restored from a checkpoint with SetInitialized).
func (h *ClassifierHead) Initialized() bool { return h.norm.Initialized() }

// SetInitialized records that the normalization holds trained values, for
// restoring checkpoints.
func (h *ClassifierHead) SetInitialized(v bool) { h.norm.SetInitialized(v) }

func (h *ClassifierHead) checkFeat(s tensor.Shape) error {
	if s.Dims() != 4 || s[1] != h.cfg.Channels {
		return errors.Errorf("blocks: classifier head over %d channels got a feature map of shape %v, want (N, %d, H, W)", h.cfg.Channels, s, h.cfg.Channels)
	}
	return nil
}

// InitFromBatch implements DataInitializer: it initializes the
// normalization from a batch of feature maps (N, C, H, W) of the kind
// Logits will see, e.g. [FinalFeatureTensor] of the model's latents.
func (h *ClassifierHead) InitFromBatch(feat *tensor.Dense) error {
	if err := h.checkFeat(feat.Shape()); err != nil {
		return err
	}
	return h.norm.InitFromBatch(feat)
}

// Logits builds the head on a feature map feat (N, C, H, W) and returns the
// logits (N, K). Its parameters are registered under the scope "head"
// ("head/norm/bias", "head/norm/logscale", "head/fc/weight", "head/fc/bias"), the
// names Tensors uses, so one graph holds at most one head at a given scope.
func (h *ClassifierHead) Logits(b *graph.Builder, feat *G.Node) (*G.Node, error) {
	if err := h.checkFeat(feat.Shape()); err != nil {
		return nil, err
	}
	if feat.Dtype() != h.cfg.Dtype {
		return nil, errors.Errorf("blocks: classifier head of dtype %v got a feature map of dtype %v", h.cfg.Dtype, feat.Dtype())
	}
	var out *G.Node
	err := b.Scoped("head", func() error {
		var y *G.Node
		err := b.Scoped("norm", func() error {
			var err error
			y, _, err = h.norm.Forward(b, feat) // the log-det side branch is unused
			return err
		})
		if err != nil {
			return err
		}
		if y, err = graph.Activate(graph.ReLU, y); err != nil {
			return err
		}
		pooled, err := graph.SpatialMean(y)
		if err != nil {
			return err
		}
		return b.Scoped("fc", func() error {
			w, err := b.Param("weight", h.w)
			if err != nil {
				return err
			}
			bias, err := b.Param("bias", h.b)
			if err != nil {
				return err
			}
			lin, err := G.Mul(pooled, w)
			if err != nil {
				return errors.Wrap(err, "blocks: head pooled·W")
			}
			out, err = graph.AddBias(lin, bias)
			return err
		})
	})
	if err != nil {
		return nil, errors.Wrap(err, "blocks: classifier head")
	}
	return out, nil
}

// Tensors implements Tensorer. Unlike a bijector's, the names include the
// head's scope: "head/norm/bias", "head/norm/logscale", "head/fc/weight" (C, K)
// and "head/fc/bias" (K), the names of the parameters Logits registers.
func (h *ClassifierHead) Tensors() []NamedTensor {
	var out []NamedTensor
	for _, nt := range h.norm.Tensors() {
		nt.Name = "head/norm/" + nt.Name
		out = append(out, nt)
	}
	return append(out,
		NamedTensor{Name: "head/fc/weight", Value: h.w, Learnable: true},
		NamedTensor{Name: "head/fc/bias", Value: h.b, Learnable: true},
	)
}

// A FinalLayout is a multi-scale model whose latent vector (N, Dim) ends
// with its last scale's output, flattened in (C, H, W) order after the
// factored-out parts (Dinh et al. 2017, §3.6): the layout of [MultiScale]
// and of the Glow and Real NVP models (coupling.MultiScale), so one
// classifier head (Behrmann et al. 2019, §5.1) reads any of them the same
// way.
type FinalLayout interface {
	// Dim is the size D of the latent vector.
	Dim() int
	// FinalShape is (C, H, W) of the last scale's output.
	FinalShape() [3]int
}

// FinalFeatureMap returns the last scale's feature map (N, C, H, W) as a
// node, cut from the tail of the latent z (N, D) that m.Forward returned
// and reshaped to FinalShape. The gradient of anything built on it flows
// back into z and from there into the model, so one graph can hold both the
// density (on z) and the classifier (on the feature map).
func FinalFeatureMap(m FinalLayout, z *G.Node) (*G.Node, error) {
	s := z.Shape()
	if s.Dims() != 2 || s[1] != m.Dim() {
		return nil, errors.Errorf("blocks: multi-scale latent must be (N, %d), got %v", m.Dim(), s)
	}
	fs := m.FinalShape()
	size := fs[0] * fs[1] * fs[2]
	tail := z
	if size < s[1] {
		var err error
		if tail, err = G.Slice(z, G.S(0, s[0]), G.S(s[1]-size, s[1])); err != nil {
			return nil, errors.Wrap(err, "blocks: cutting the final feature map from the latent")
		}
	}
	out, err := G.Reshape(tail, []int{s[0], fs[0], fs[1], fs[2]})
	return out, errors.Wrap(err, "blocks: reshaping the final feature map")
}

// FinalFeatureTensor is [FinalFeatureMap] on a latent tensor (N, D), e.g.
// Apply(m, x), for initializing a head with InitFromBatch. It returns a new
// tensor.
func FinalFeatureTensor(m FinalLayout, z *tensor.Dense) (*tensor.Dense, error) {
	s := z.Shape()
	if s.Dims() != 2 || s[1] != m.Dim() {
		return nil, errors.Errorf("blocks: multi-scale latent must be (N, %d), got %v", m.Dim(), s)
	}
	fs := m.FinalShape()
	size := fs[0] * fs[1] * fs[2]
	zd := toFloat64(z)
	tail := make([]float64, s[0]*size)
	for r := 0; r < s[0]; r++ {
		copy(tail[r*size:(r+1)*size], zd[(r+1)*s[1]-size:(r+1)*s[1]])
	}
	out := tensor.New(tensor.Of(z.Dtype()), tensor.WithShape(s[0], fs[0], fs[1], fs[2]))
	storeFloat64(out, tail)
	return out, nil
}

// OneHot writes the one-hot encoding of labels into dst (N, K): dst[n, k] =
// 1 if labels[n] = k, else 0. It is how a training loop refills the label
// input of [SoftmaxCrossEntropy] for each batch without rebuilding the graph.
func OneHot(dst *tensor.Dense, labels []int) error {
	s := dst.Shape()
	if s.Dims() != 2 || s[0] != len(labels) {
		return errors.Errorf("blocks: one-hot target of shape %v for %d labels, want (%d, K)", s, len(labels), len(labels))
	}
	k := s[1]
	for i, l := range labels {
		if l < 0 || l >= k {
			return errors.Errorf("blocks: label %d of sample %d outside [0, %d)", l, i, k)
		}
	}
	switch d := dst.Data().(type) {
	case []float64:
		clear(d)
		for i, l := range labels {
			d[i*k+l] = 1
		}
	case []float32:
		clear(d)
		for i, l := range labels {
			d[i*k+l] = 1
		}
	default:
		return errors.Errorf("blocks: one-hot target of dtype %v not supported", dst.Dtype())
	}
	return nil
}

// SoftmaxCrossEntropy builds the per-sample cross-entropy (N) of logits
// (N, K) against labels: −log softmax(logits_n)[labels_n]. The labels enter
// as a one-hot input tensor (N, K) named "labels" in the current scope,
// which is returned: fill it with [OneHot] before each run. labels may be
// nil to leave it zero (no loss) until then. See [CrossEntropyOneHot].
func SoftmaxCrossEntropy(b *graph.Builder, logits *G.Node, labels []int) (ce *G.Node, onehot *tensor.Dense, err error) {
	s := logits.Shape()
	if s.Dims() != 2 {
		return nil, nil, errors.Errorf("blocks: logits must be (N, K), got %v", s)
	}
	onehot = tensor.New(tensor.Of(b.Dtype()), tensor.WithShape(s...))
	if labels != nil {
		if err := OneHot(onehot, labels); err != nil {
			return nil, nil, err
		}
	}
	yn, err := b.Input("labels", onehot)
	if err != nil {
		return nil, nil, err
	}
	if ce, err = CrossEntropyOneHot(logits, yn); err != nil {
		return nil, nil, err
	}
	return ce, onehot, nil
}

// CrossEntropyOneHot builds, for logits and targets of one shape (N, K),
//
//	ce_n = logsumexp(logits_n) − ⟨targets_n, logits_n⟩,
//
// the cross-entropy of softmax(logits_n) against one-hot (or any
// probability-vector) targets. The log-sum-exp subtracts the row maximum m
// first, logsumexp(l) = m + log Σ_k exp(l_k − m), so no exponent is positive
// and logits of any size give finite values; m enters through a
// stop-gradient, which leaves the derivative exact (the true logsumexp does
// not depend on m) and keeps gorgonia's max, whose symbolic derivative VJP
// does not need, out of the backward graph. The gradient w.r.t. the logits
// is softmax(logits) − targets.
func CrossEntropyOneHot(logits, targets *G.Node) (*G.Node, error) {
	s := logits.Shape()
	if s.Dims() != 2 || !targets.Shape().Eq(s) {
		return nil, errors.Errorf("blocks: cross-entropy wants logits and targets of one shape (N, K), got %v and %v", s, targets.Shape())
	}
	n := s[0]
	mx, err := G.Max(logits, 1)
	if err != nil {
		return nil, errors.Wrap(err, "blocks: row maximum of the logits")
	}
	if mx, err = graph.StopGradient(mx); err != nil {
		return nil, err
	}
	col, err := G.Reshape(mx, []int{n, 1})
	if err != nil {
		return nil, err
	}
	shifted, err := G.BroadcastSub(logits, col, nil, []byte{1})
	if err != nil {
		return nil, errors.Wrap(err, "blocks: logits − row maximum")
	}
	e, err := G.Exp(shifted)
	if err != nil {
		return nil, err
	}
	se, err := G.Sum(e, 1)
	if err != nil {
		return nil, err
	}
	lse, err := G.Log(se)
	if err != nil {
		return nil, err
	}
	if lse, err = G.Add(lse, mx); err != nil {
		return nil, err
	}
	fit, err := graph.DotPerSample(targets, logits)
	if err != nil {
		return nil, err
	}
	out, err := G.Sub(lse, fit)
	return out, errors.Wrap(err, "blocks: cross-entropy")
}

// HybridLoss builds the scalar loss of a hybrid generative–discriminative
// model from the per-sample log-density logpx (N, in nats, e.g. from
// Flow.LogProb) and cross-entropy ce (N):
//
//	loss = mean(ce) − lambda · mean(logpx) / dim.
//
// Behrmann et al. (2019) train i-ResNet hybrids with the weighted maximum
// likelihood objective of Nalisnick et al. (2019),
//
//	max (1/N) Σ_n [ λ · log p(x_n) + log p(y_n | x_n) ],
//
// weighting the density term by λ, with λ = 1/D (D the data dimension)
// as the balanced setting next to λ = 0 (classifier) and λ = 1. HybridLoss
// minimizes the negative of that objective with λ = lambda/dim: the density
// term is the log-likelihood per dimension (nats/dim; bits/dim is this over
// ln 2), so lambda = 1 with dim = D is the paper's λ = 1/D, lambda = dim
// gives λ = 1, and lambda = 0 trains the classifier alone (logpx may then
// be nil and dim is ignored). Both terms are means over the batch.
//
// The weights are scalar inputs named "hybrid/ce_weight" and
// "hybrid/logp_weight" in the current scope.
func HybridLoss(b *graph.Builder, logpx, ce *G.Node, lambda float64, dim int) (*G.Node, error) {
	if ce == nil || ce.Dims() != 1 {
		return nil, errors.New("blocks: hybrid loss needs a per-sample cross-entropy (N)")
	}
	if lambda < 0 || math.IsNaN(lambda) || math.IsInf(lambda, 0) {
		return nil, errors.Errorf("blocks: hybrid weight lambda = %v must be finite and ≥ 0", lambda)
	}
	n := ce.Shape()[0]
	withDensity := lambda > 0
	if withDensity {
		if logpx == nil || !logpx.Shape().Eq(ce.Shape()) {
			var got any = "nil"
			if logpx != nil {
				got = logpx.Shape()
			}
			return nil, errors.Errorf("blocks: hybrid loss needs log p(x) of shape %v, got %v", ce.Shape(), got)
		}
		if dim < 1 {
			return nil, errors.Errorf("blocks: hybrid loss data dimension %d must be ≥ 1", dim)
		}
	}
	var loss *G.Node
	err := b.Scoped("hybrid", func() error {
		wc, err := b.Scalar("ce_weight", 1/float64(n))
		if err != nil {
			return err
		}
		sc, err := G.Sum(ce)
		if err != nil {
			return err
		}
		if loss, err = G.Mul(sc, wc); err != nil {
			return err
		}
		if !withDensity {
			return nil
		}
		wp, err := b.Scalar("logp_weight", -lambda/(float64(n)*float64(dim)))
		if err != nil {
			return err
		}
		sp, err := G.Sum(logpx)
		if err != nil {
			return err
		}
		dp, err := G.Mul(sp, wp)
		if err != nil {
			return err
		}
		loss, err = G.Add(loss, dp)
		return err
	})
	if err != nil {
		return nil, errors.Wrap(err, "blocks: hybrid loss")
	}
	return loss, nil
}

// Predictions returns the arg-max class of each row of logits (N, K). A
// NaN or infinite logit is an error naming its row and class: the arg-max
// of such a row would be a meaningless but plausible class.
func Predictions(logits *tensor.Dense) ([]int, error) {
	s := logits.Shape()
	if s.Dims() != 2 {
		return nil, errors.Errorf("blocks: logits must be (N, K), got %v", s)
	}
	d := toFloat64(logits)
	k := s[1]
	out := make([]int, s[0])
	for r := range out {
		best := 0
		for j := 0; j < k; j++ {
			if v := d[r*k+j]; math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, errors.Errorf("blocks: logit of row %d, class %d is %v", r, j, v)
			}
			if j == 0 {
				continue
			}
			if d[r*k+j] > d[r*k+best] {
				best = j
			}
		}
		out[r] = best
	}
	return out, nil
}
