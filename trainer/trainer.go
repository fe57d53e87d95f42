package trainer

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/datasets"
	"github.com/iresnet/iresnet/estimator"
	"github.com/iresnet/iresnet/graph"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// A Trainer owns a model, its training and evaluation graphs (each built
// once), the optimizer and every random choice of a run.
type Trainer struct {
	cfg        Config
	limits     Limits
	evalMemory int64 // budget of the evaluation graph's values, bytes
	model      Model
	flow       blocks.Flow
	src        datasets.Source
	trunk      Trunk                  // the model, when a head reads its features
	head       *blocks.ClassifierHead // classification and hybrid tasks only

	pcg *rand.PCG // the run's random source; its state is checkpointed
	rng *rand.Rand

	train *compiled // training graph: loss and gradients
	eval  *compiled // evaluation graph: exact (or long-series) log p

	params []*graph.Param // learnable, in graph order
	opt    *optimizer
	ema    []*tensor.Dense // nil without EMA

	// applied holds the current step's certified evaluation weight of
	// every spectrally normalized layer (by parameter name), computed on
	// first use or restored from a checkpoint; cert is their certificate.
	// Both are cleared by Step.
	applied  map[string]*tensor.Dense
	cert     Certification
	certKey  uint64 // evalKey of the weights cert was computed from
	restored bool   // applied was read from a checkpoint, not computed

	step int // completed training steps

	// onEvalBatch, when set, is called after each batch of an evaluation
	// pass with the batches done and in all (progress output).
	onEvalBatch func(done, total int)

	// forward holds compiled graphs of the model's forward pass by batch
	// size (Trained.Forward); they read the parameter tensors in place.
	forward map[int]*graph.Func
}

// maxForwardFuncs caps the forward graphs kept by batch size.
const maxForwardFuncs = 4

// forwardFunc returns the compiled forward pass of the model for a batch
// of n samples, compiling it on first use.
func (t *Trainer) forwardFunc(n int) (*graph.Func, error) {
	if f, ok := t.forward[n]; ok {
		return f, nil
	}
	if len(t.forward) >= maxForwardFuncs {
		for k, f := range t.forward { // drop one; any will do
			f.Close()
			delete(t.forward, k)
			break
		}
	}
	f, err := graph.NewFunc(tensor.Float32, append([]int{n}, t.cfg.Model.inputShape()...), func(b *graph.Builder, x *G.Node) (*G.Node, error) {
		y, _, err := t.model.Forward(b, x)
		return y, err
	})
	if err != nil {
		return nil, errors.Wrap(err, "trainer: building the forward pass")
	}
	if t.forward == nil {
		t.forward = map[int]*graph.Func{}
	}
	t.forward[n] = f
	return f, nil
}

// compiled is a graph built once and re-run.
type compiled struct {
	b      *graph.Builder
	m      *graph.Runner
	bytes  int64         // graph.ValueBytes of the compiled graph
	x      *tensor.Dense // the input batch, filled before each run
	logp   *G.Node       // (N)
	logDet *G.Node       // (N)
	loss   *G.Node       // scalar; training graph only
	grads  G.Nodes       // training graph only
	logits *G.Node       // (N, classes); with a classifier head
	onehot *tensor.Dense // (N, classes) labels input; with a classifier head
	// noNoise says the compiled program reads none of b's noise inputs
	// (classification compiles no log-det estimator), so runs skip
	// redrawing them: a classifier step drew its probes for nothing
	// (about 5% of the step).
	noNoise bool
}

// StepStats reports one training step.
type StepStats struct {
	Step     int     // steps completed after this one
	Loss     float64 // −mean log p on the batch, nats
	LogDet   float64 // mean log-det on the batch
	LR       float64 // learning rate used
	GradNorm float64 // global gradient norm before clipping
	MaxSigma float64 // largest σ̂ over all spectrally normalized layers
	Duration time.Duration
}

// EvalStats reports a held-out evaluation.
type EvalStats struct {
	Step    int
	NLL     float64 // mean −log p over the held-out set, nats (not for Classify)
	Error   float64 // held-out classification error, a fraction (with a head)
	BPD     float64 // bits/dim in the 256-level pixel space (images only)
	NLLStd  float64 // standard error of NLL
	LogDet  float64 // mean log-det
	Exact   bool    // log-det computed exactly
	UsedEMA bool
}

// New builds a trainer for cfg. All randomness (weights, data, probes) comes
// from cfg.Seed. cfg's sizes are checked against DefaultLimits unless an
// option (WithLimits) gives others.
func New(cfg Config, opts ...Option) (*Trainer, error) {
	return construct(cfg, true, buildOptions(opts))
}

// errNoData is the error of what needs the data source in a trainer built
// for inference (Open).
var errNoData = errors.New("trainer: the model was opened for inference, without its data; use Load to train or evaluate on held-out data")

// construct builds a trainer for cfg; withData opens the data source and
// builds the training graph, without it only the evaluation graph is
// built (inference).
func construct(cfg Config, withData bool, o options) (*Trainer, error) {
	cfg, err := cfg.withDefaults(o.limits)
	if err != nil {
		return nil, err
	}
	if cfg.dtype() != tensor.Float32 {
		return nil, errors.Errorf("trainer: training runs in float32, got %v", cfg.dtype())
	}
	pcg := rand.NewPCG(cfg.Seed, 0x1e5e7)
	t := &Trainer{cfg: cfg, limits: o.limits, evalMemory: o.evalMemory, pcg: pcg, rng: rand.New(pcg)}
	if t.model, err = cfg.Model.build(t.rng); err != nil {
		return nil, err
	}
	if withData {
		if t.src, err = cfg.openData(cfg.EvalSize); err != nil {
			return nil, err
		}
	}
	if cfg.Objective.Task != Density {
		var ok bool
		if t.trunk, ok = t.model.(Trunk); !ok {
			return nil, errors.Errorf("trainer: the %v task needs a model with a feature map for the classifier head", cfg.Objective.Task)
		}
		fs := t.trunk.FinalShape()
		if t.head, err = blocks.NewClassifierHead(blocks.HeadConfig{Channels: fs[0], Classes: cfg.Data.Classes(), Dtype: tensor.Float32}, t.rng); err != nil {
			return nil, err
		}
	}
	t.flow = blocks.Flow{F: t.model}
	if cfg.Model.LearnedPrior {
		if t.flow.Prior, err = blocks.NewGaussianPrior(cfg.dim(), tensor.Float32); err != nil {
			return nil, err
		}
	}
	if err := t.build(); err != nil {
		return nil, err
	}
	return t, nil
}

// openData opens the configured data source with evalSize held-out points
// and checks that its samples have the shape the model takes (a test split
// of other-shaped images is an error, not a silent reshape).
func (c Config) openData(evalSize int) (datasets.Source, error) {
	src, err := c.Data.Open(c.Seed, evalSize)
	if err != nil {
		return nil, err
	}
	if got, want := src.Shape(), c.Model.inputShape(); !slices.Equal(got, want) {
		return nil, errors.Errorf("trainer: %s samples (padding %d) have shape %v, the model takes %v", c.Data.Name, c.Data.Pad, got, want)
	}
	return src, nil
}

// build compiles the training and evaluation graphs and the optimizer.
func (t *Trainer) build() error {
	var err error
	if t.eval, err = t.compile(t.cfg.EvalBatch, t.cfg.evalEstimator(), false); err != nil {
		return errors.Wrap(err, "trainer: building the evaluation graph")
	}
	// Evaluate in batches sized to memory: a graph whose values exceed
	// the budget (WithEvalMemory) is rebuilt at a proportionally smaller batch until
	// it fits (the parameters, counted too, do not shrink with the batch,
	// so a second rebuild may be needed), or at batch 1.
	for bs := t.eval.x.Shape()[0]; t.eval.bytes > t.evalMemory && bs > 1; bs = t.eval.x.Shape()[0] {
		fit := max(1, min(bs-1, int(int64(bs)*t.evalMemory/t.eval.bytes)))
		t.eval.m.Close()
		if t.eval, err = t.compile(fit, t.cfg.evalEstimator(), false); err != nil {
			return errors.Wrap(err, "trainer: building the evaluation graph")
		}
	}
	if t.src == nil { // inference: the evaluation graph holds every parameter
		t.params = t.eval.b.Params()
	} else if t.train, err = t.compile(t.cfg.BatchSize, t.cfg.trainEstimator(), true); err != nil {
		return errors.Wrap(err, "trainer: building the training graph")
	}
	if t.train != nil {
		t.params = t.train.b.Params()
	}
	values := make([]*tensor.Dense, len(t.params))
	for i, p := range t.params {
		values[i] = p.Value
	}
	t.opt = newOptimizer(t.cfg.Optim, values)
	if t.cfg.Optim.EMADecay > 0 {
		t.ema = make([]*tensor.Dense, len(values))
		for i, v := range values {
			t.ema[i] = v.Clone().(*tensor.Dense)
		}
	}
	return nil
}

// compile builds log p for a batch of n points with the log-det estimator
// est, with the loss and its gradients when withGrad is set.
func (t *Trainer) compile(n int, est estimator.Estimator, withGrad bool) (*compiled, error) {
	b, err := graph.NewBuilder(tensor.Float32)
	if err != nil {
		return nil, err
	}
	c := &compiled{b: b, x: tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(append([]int{n}, t.cfg.Model.inputShape()...)...))}
	xn, err := b.Input("x", c.x)
	if err != nil {
		return nil, err
	}
	z, logDet, err := t.model.ForwardWith(b, xn, est)
	if err != nil {
		return nil, err
	}
	var lpz *G.Node
	if t.flow.Prior != nil {
		lpz, err = t.flow.Prior.LogProb(b, z)
	} else {
		lpz, err = blocks.GaussianLogProb(b, z)
	}
	if err != nil {
		return nil, err
	}
	if c.logp, err = G.Add(lpz, logDet); err != nil {
		return nil, err
	}
	c.logDet = logDet
	var ce *G.Node
	if t.head != nil {
		feat, err := t.trunk.FeatureMap(z)
		if err != nil {
			return nil, err
		}
		if c.logits, err = t.head.Logits(b, feat); err != nil { // builds in scope "head"
			return nil, err
		}
		if ce, c.onehot, err = blocks.SoftmaxCrossEntropy(b, c.logits, nil); err != nil {
			return nil, err
		}
	}
	task := t.cfg.Objective.Task
	if withGrad {
		switch task {
		case Classify:
			if c.loss, err = G.Mean(ce); err != nil {
				return nil, err
			}
		case Hybrid:
			if c.loss, err = blocks.HybridLoss(b, c.logp, ce, t.cfg.Objective.HybridWeight, t.cfg.dim()); err != nil {
				return nil, err
			}
		default:
			negMean, err := b.Scalar("loss/neg_inv_n", -1/float64(n))
			if err != nil {
				return nil, err
			}
			sum, err := G.Sum(c.logp)
			if err != nil {
				return nil, err
			}
			if c.loss, err = G.Mul(sum, negMean); err != nil {
				return nil, err
			}
		}
		one, err := b.Scalar("loss/one", 1)
		if err != nil {
			return nil, err
		}
		params := b.Params()
		wrt := make(G.Nodes, len(params))
		for i, p := range params {
			wrt[i] = p.Node
		}
		if c.grads, err = graph.VJP(G.Nodes{c.loss}, G.Nodes{one}, wrt); err != nil {
			return nil, err
		}
		for i, g := range c.grads {
			if g == nil {
				return nil, errors.Errorf("trainer: the loss does not depend on %s", params[i].Name)
			}
		}
	}
	if task == Classify {
		// Compile only what classification needs: no log-det estimator.
		roots := append(G.Nodes{c.logits}, c.grads...)
		if c.loss != nil {
			roots = append(roots, c.loss)
		}
		c.logp, c.logDet = nil, nil
		sub := b.Graph().ExactSubgraphRoots(roots...)
		c.noNoise = !readsNoise(sub, b)
		c.m, c.bytes = graph.NewRunner(G.NewTapeMachine(sub)), graph.ValueBytes(sub)
		return c, nil
	}
	c.m, c.bytes = graph.NewRunner(G.NewTapeMachine(b.Graph())), graph.ValueBytes(b.Graph())
	return c, nil
}

// Epoch returns how many passes over the training images the steps so far
// amount to (steps × batch / training images), or 0 for toy densities,
// which draw fresh points every step.
func (t *Trainer) Epoch() float64 {
	if t.src == nil {
		return 0
	}
	n := t.src.TrainSize()
	if n == 0 {
		return 0
	}
	return float64(t.step) * float64(t.cfg.BatchSize) / float64(n)
}

// StepsPerEpoch returns the steps of one pass over the training images
// (rounded up), or 0 for toy densities.
func (t *Trainer) StepsPerEpoch() int {
	if t.src == nil {
		return 0
	}
	return (t.src.TrainSize() + t.cfg.BatchSize - 1) / t.cfg.BatchSize
}

// Config returns the run's configuration with defaults filled in.
func (t *Trainer) Config() Config { return t.cfg }

// InputShape returns the shape of one sample the model takes: (2) for a
// toy density, (C, H, W) for images.
func (t *Trainer) InputShape() []int { return t.cfg.Model.inputShape() }

// BlockNames returns the scope path of each residual block, in the order
// of Model().Residuals() and of the certificates: "block3" in a dense flow,
// "scale0/block1" in a multi-scale model, as the checkpoint names its
// tensors.
func (t *Trainer) BlockNames() []string {
	names := map[*tensor.Dense]string{}
	for _, nt := range t.model.Tensors() {
		names[nt.Value] = nt.Name
	}
	var out []string
	for i, r := range t.model.Residuals() {
		name := fmt.Sprintf("residual %d", i)
		if ls := r.SpectralLayers(); len(ls) > 0 {
			if full, ok := names[ls[0].Weight]; ok {
				name = strings.TrimSuffix(full, "/"+ls[0].Name+"/weight")
			}
		}
		out = append(out, name)
	}
	return out
}

// Model returns the model being trained.
func (t *Trainer) Model() Model { return t.model }

// Flow returns the density model.
func (t *Trainer) Flow() blocks.Flow { return t.flow }

// Steps returns the number of completed training steps.
func (t *Trainer) Steps() int { return t.step }

// Builder returns the builder of the training graph, e.g. for DOT export.
func (t *Trainer) Builder() *graph.Builder {
	if t.train == nil {
		return t.eval.b
	}
	return t.train.b
}

// Step runs one training step. A non-finite loss or gradient returns an
// error naming the step and leaves the parameters untouched.
func (t *Trainer) Step() (StepStats, error) {
	start := time.Now()
	st := StepStats{Step: t.step + 1}
	if t.src == nil {
		return st, errNoData
	}
	batch := make([]float64, t.train.x.Shape().TotalSize())
	var labels []int
	if t.head != nil {
		labels = make([]int, t.cfg.BatchSize)
	}
	if err := t.src.Batch(t.rng, batch, labels); err != nil {
		return st, errors.Wrapf(err, "trainer: step %d: drawing a batch", st.Step)
	}
	copyF32(t.train.x, batch)
	if t.head != nil {
		if err := blocks.OneHot(t.train.onehot, labels); err != nil {
			return st, err
		}
	}
	if t.step == 0 {
		for _, a := range t.model.ActNorms() {
			if !a.Initialized() {
				if err := t.model.InitFromBatch(t.train.x); err != nil {
					return st, errors.Wrap(err, "trainer: ActNorm data initialization")
				}
				break
			}
		}
		if t.head != nil && !t.head.Initialized() {
			if err := t.initHead(); err != nil {
				return st, err
			}
		}
		// The average starts from the data-initialized parameters, not
		// from the identity ActNorms it was copied from at construction.
		for i, e := range t.ema {
			copy(e.Data().([]float32), t.params[i].Value.Data().([]float32))
		}
	}
	if err := t.model.UpdateSpectralNorms(t.cfg.PowerIters); err != nil {
		return st, errors.Wrapf(err, "trainer: step %d: power iteration", st.Step)
	}
	if !t.train.noNoise {
		t.train.b.Resample(t.rng)
	}
	if err := t.train.m.Run(); err != nil {
		return st, errors.Wrapf(err, "trainer: step %d", st.Step)
	}
	st.Loss = scalar(t.train.loss)
	if t.train.logDet != nil {
		st.LogDet = mean(t.train.logDet)
	}
	if math.IsNaN(st.Loss) || math.IsInf(st.Loss, 0) {
		return st, errors.Errorf("trainer: step %d: loss is %v (mean log-det %v); parameters left at step %d", st.Step, st.Loss, st.LogDet, t.step)
	}
	grads := make([][]float32, len(t.train.grads))
	for i, g := range t.train.grads {
		grads[i] = g.Value().Data().([]float32)
	}
	var err error
	switch st.LR, st.GradNorm, err = t.opt.step(grads); err {
	case nil:
	case errNonFiniteGradient:
		if nf, bad := t.opt.firstNonFinite(func(i int) []float32 { return grads[i] }); bad {
			return st, errors.Errorf("trainer: step %d: gradient of %s is %v; parameters left at step %d", st.Step, t.params[nf.param].Name, nf.v, t.step)
		}
		return st, err
	case errOverflow:
		return st, t.overflowError(st.Step)
	default:
		return st, err
	}
	param := func(i int) []float32 { return t.params[i].Value.Data().([]float32) }
	if t.ema != nil {
		rate := emaRate(t.cfg.Optim.EMADecay, t.step+1)
		t.opt.forPieces(func(_ int, p piece) {
			ed, pd := t.ema[p.param].Data().([]float32), param(p.param)
			for j := p.lo; j < p.hi; j++ {
				ed[j] = float32(float64(ed[j]) + rate*(float64(pd[j])-float64(ed[j])))
			}
		})
	}
	t.applied, t.cert, t.restored = nil, Certification{}, false // they belong to the previous step
	t.step++
	st.MaxSigma = t.maxSigma()
	st.Duration = time.Since(start)
	return st, nil
}

// tensors lists every persistent tensor of the model and the head.
func (t *Trainer) tensors() []blocks.NamedTensor {
	out := t.model.Tensors()
	if t.head != nil {
		out = append(out, t.head.Tensors()...)
	}
	if t.flow.Prior != nil {
		out = append(out, t.flow.Prior.Tensors()...)
	}
	return out
}

// initHead sets the head's normalization from the feature maps of the
// current training batch.
func (t *Trainer) initHead() error {
	z, err := blocks.Apply(t.trunk, t.train.x)
	if err != nil {
		return errors.Wrap(err, "trainer: head initialization")
	}
	feat, err := t.trunk.FeatureTensor(z)
	if err != nil {
		return err
	}
	return errors.Wrap(t.head.InitFromBatch(feat), "trainer: head initialization")
}

// maxSigma returns the largest σ̂ over all layers.
func (t *Trainer) maxSigma() float64 {
	m := 0.0
	for _, r := range t.model.Residuals() {
		for _, s := range r.SpectralNorms() {
			m = math.Max(m, s[0])
		}
	}
	return m
}

// Evaluate returns the held-out NLL, using the EMA weights when the run
// keeps an average.
func (t *Trainer) Evaluate() (EvalStats, error) {
	if t.src == nil {
		return EvalStats{Step: t.step, Exact: t.evalExact(), UsedEMA: t.ema != nil}, errNoData
	}
	return t.evaluate(t.src.HeldOut())
}

// HeldOutSize returns the number of held-out points (test images, for
// image data) that Evaluate uses: the configured eval size, or the whole
// test set when that is smaller; 0 for a trainer opened for inference.
func (t *Trainer) HeldOutSize() int {
	if t.src == nil {
		return 0
	}
	return len(t.src.HeldOut().Points) / t.cfg.dim()
}

// evalExact reports whether evaluation uses the exact log-det: always for
// the coupling and autoregressive families (NICE, Real NVP, Glow, MADE,
// MAF), whose log-det is a sum of logs by construction; for i-ResNets and
// FFJORD on vectors of dimension ≤ 16, such as the 2-D toys.
func (t *Trainer) evalExact() bool {
	m := t.cfg.Model
	return t.cfg.dim() <= exactMaxDim || !m.IResNet() && m.FFJORD == nil
}

// evaluate returns the NLL (and error, with a head) of a held-out set with
// the evaluation weights.
func (t *Trainer) evaluate(held datasets.HeldOut) (EvalStats, error) {
	st := EvalStats{Step: t.step, Exact: t.evalExact(), UsedEMA: t.ema != nil}
	if len(held.Labels) == 0 && t.head != nil && t.cfg.Objective.Task == Classify {
		return st, errors.New("trainer: a classifier needs a labeled held-out set")
	}
	var res evalResult
	err := t.withEvalWeights(func() error {
		var err error
		res, err = t.evalPass(held.Points)
		return err
	})
	if err != nil {
		return st, err
	}
	if res.preds != nil && held.Labels != nil {
		if len(held.Labels) != len(res.preds) {
			return st, errors.Errorf("trainer: %d labels for %d held-out points", len(held.Labels), len(res.preds))
		}
		wrong := 0
		for i, p := range res.preds {
			if p != held.Labels[i] {
				wrong++
			}
		}
		st.Error = float64(wrong) / float64(len(res.preds))
	}
	if res.logp == nil { // classification only
		return st, nil
	}
	n := float64(len(res.logp))
	var sum, sq, ld float64
	for i, v := range res.logp {
		sum -= v
		sq += v * v
		ld += res.logDet[i]
	}
	st.NLL = sum / n
	st.NLLStd = math.Sqrt(math.Max(sq/n-st.NLL*st.NLL, 0) / n)
	st.LogDet = ld / n
	if math.IsNaN(st.NLL) || math.IsInf(st.NLL, 0) {
		return st, errors.Errorf("trainer: held-out NLL is %v", st.NLL)
	}
	if t.cfg.Data.Quantized() {
		if held.PreLogDet != nil && len(held.PreLogDet) != len(res.logp) {
			return st, errors.Errorf("trainer: %d preprocessing log-dets for %d held-out points", len(held.PreLogDet), len(res.logp))
		}
		bpd := datasets.BitsPerDim(res.logp, t.cfg.dim(), held.PreLogDet)
		for _, v := range bpd {
			st.BPD += v / n
		}
	}
	return st, nil
}

// evalResult holds per-point outputs of the evaluation graph.
type evalResult struct {
	logp, logDet []float64 // nil for classification-only models
	preds        []int     // predicted classes, with a head
}

// evalPass runs the evaluation graph over points (n × size).
func (t *Trainer) evalPass(points []float64) (evalResult, error) {
	var r evalResult
	d, bs := t.cfg.dim(), t.eval.x.Shape()[0] // Config.EvalBatch or less (WithEvalMemory)
	if len(points)%d != 0 {
		return r, errors.Errorf("trainer: %d coordinates are not a whole number of %d-D points", len(points), d)
	}
	n := len(points) / d
	rng := t.sideRng(0xe7a1)
	batches := (n + bs - 1) / bs
	for lo := 0; lo < n; lo += bs {
		hi := min(lo+bs, n)
		chunk := make([]float64, bs*d)
		copy(chunk, points[lo*d:hi*d]) // a short last batch is zero-padded
		copyF32(t.eval.x, chunk)
		if !t.eval.noNoise {
			t.eval.b.Resample(rng)
		}
		if err := t.eval.m.Run(); err != nil {
			return r, errors.Wrap(err, "trainer: evaluation")
		}
		if t.eval.logp != nil {
			lp := t.eval.logp.Value().Data().([]float32)
			ld := t.eval.logDet.Value().Data().([]float32)
			for i := 0; i < hi-lo; i++ {
				r.logp = append(r.logp, float64(lp[i]))
				r.logDet = append(r.logDet, float64(ld[i]))
			}
		}
		if t.eval.logits != nil {
			preds, err := blocks.Predictions(t.eval.logits.Value().(*tensor.Dense))
			if err != nil {
				return r, errors.Wrapf(err, "trainer: held-out batch from point %d", lo)
			}
			r.preds = append(r.preds, preds[:hi-lo]...)
		}
		if t.onEvalBatch != nil {
			t.onEvalBatch(lo/bs+1, batches)
		}
	}
	return r, nil
}

// LogProb evaluates log p at points (n × size, any n) with the evaluation
// estimator and the EMA weights when kept, e.g. on a grid for a density
// picture.
func (t *Trainer) LogProb(points []float64) ([]float64, error) {
	var out []float64
	err := t.withEvalWeights(func() error {
		r, err := t.evalPass(points)
		out = r.logp
		return err
	})
	if err == nil && out == nil {
		return nil, errors.New("trainer: a classification-only model has no log p")
	}
	return out, err
}

// Sample draws n points from the model at temperature T (z ~ N(0, T²I);
// T = 1 is the model's density) by inverting the flow, with the evaluation
// weights. The result is n × size values, row-major, float64: the layout and
// element type LogProb takes, so t.LogProb(samples) works as is.
func (t *Trainer) Sample(n int, temperature float64) ([]float64, error) {
	var x *tensor.Dense
	err := t.withEvalWeights(func() error {
		var err error
		x, err = t.flow.Sample(t.sideRng(0x5a3b1e), tensor.Float32, n, []int{t.cfg.dim()}, temperature)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := floats64(x)
	if bad := notFinite(out); bad > 0 {
		return nil, &NotFiniteError{What: "samples", Bad: bad, Total: len(out)}
	}
	return out, nil
}

// sideRng returns a random source for evaluation and sampling, determined
// by the seed, the purpose and the step, so that evaluating or sampling
// never changes the training trajectory.
func (t *Trainer) sideRng(purpose uint64) *rand.Rand {
	return rand.New(rand.NewPCG(t.cfg.Seed^purpose, uint64(t.step)))
}

// emaRate returns the weight of the parameters of update t (1-based) in
// the bias-corrected exponential moving average with decay d:
// (1−d)/(1−dᵗ). Updating e ← e + rate·(θ − e) keeps e equal to
// Σₛ (1−d)·d^(t−s)·θₛ / (1 − dᵗ), the average of the parameters after
// updates 1…t with weights summing to 1 — Adam's bias correction applied to
// the average, so no weight is left on the initialization (the first
// update copies θ₁).
func emaRate(d float64, t int) float64 {
	return (1 - d) / (1 - math.Pow(d, float64(t)))
}

// withEvalWeights runs fn with the evaluation weights in the parameters:
// the EMA average when kept, with every spectrally normalized weight
// certified (blocks.Residual.Certify), so that each layer the graphs apply
// has an operator norm of at most c by a certified bound, not by the
// lagging power-iteration estimate. The certified weights and their
// certificate are computed once per training step and reused by every
// evaluation, sample and save of that step; weights restored from a
// checkpoint's "applied/" section are used as stored (and only bounded,
// not rescaled), so that what cmd/eval checks is what it evaluates. The
// training weights are restored afterwards.
func (t *Trainer) withEvalWeights(fn func() error) error {
	saved := make([][]float32, len(t.params))
	for i, p := range t.params {
		saved[i] = append([]float32(nil), p.Value.Data().([]float32)...)
	}
	defer func() {
		for i, p := range t.params {
			copy(p.Value.Data().([]float32), saved[i])
		}
	}()
	if t.ema != nil {
		for i, p := range t.params {
			copy(p.Value.Data().([]float32), t.ema[i].Data().([]float32))
		}
	}
	// Certify anew unless this step's certificate is of these very weights
	// (they can change between calls only by a caller editing tensors).
	sp := t.spectralParams()
	if key := evalKey(sp); t.cert.Blocks == nil || (!t.restored && key != t.certKey) {
		if err := t.certify(sp); err != nil {
			return err
		}
		t.certKey = key
	}
	for _, p := range sp {
		copy(p.Value.Data().([]float32), t.applied[p.Name].Data().([]float32))
	}
	return fn()
}

// certify fills t.applied and t.cert for the current step from the
// spectrally normalized weights sp as they are in the parameters (the EMA
// average, swapped in): it rescales them and keeps a copy of the result,
// or, for weights restored into t.applied, bounds those as they are.
func (t *Trainer) certify(sp []*graph.Param) error {
	stored := t.restored
	if stored {
		for _, p := range sp {
			copy(p.Value.Data().([]float32), t.applied[p.Name].Data().([]float32))
		}
	}
	start := time.Now()
	certs := make([]blocks.BlockCertificate, 0, len(t.model.Residuals()))
	for i, r := range t.model.Residuals() {
		certify := r.Certify
		if stored {
			certify = r.Bounds
		}
		c, err := certify()
		if err != nil {
			return errors.Wrapf(err, "trainer: residual block %d", i)
		}
		certs = append(certs, c)
	}
	if !stored {
		t.applied = map[string]*tensor.Dense{}
		for _, p := range sp {
			t.applied[p.Name] = p.Value.Clone().(*tensor.Dense)
		}
	}
	t.cert = Certification{Blocks: certs, Stored: stored, Duration: time.Since(start)}
	return nil
}

// evalKey fingerprints the values of the spectrally normalized weights sp
// (FNV-1a of their bits): certify's input.
func evalKey(sp []*graph.Param) uint64 {
	h := fnv.New64a()
	var b [4]byte
	for _, p := range sp {
		for _, v := range p.Value.Data().([]float32) {
			binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
			h.Write(b[:])
		}
	}
	return h.Sum64()
}

// spectralParams returns the parameters that are spectrally normalized
// weights, in parameter order.
func (t *Trainer) spectralParams() []*graph.Param {
	sn := map[*tensor.Dense]bool{}
	for _, r := range t.model.Residuals() {
		for _, l := range r.SpectralLayers() {
			sn[l.Weight] = true
		}
	}
	var out []*graph.Param
	for _, p := range t.params {
		if sn[p.Value] {
			out = append(out, p)
		}
	}
	return out
}

// Certification is the certificate of the evaluation weights of a step.
type Certification struct {
	Blocks   []blocks.BlockCertificate // one per residual block, in model order
	Stored   bool                      // weights read from a checkpoint's applied/ section, not certified anew
	Duration time.Duration             // time spent bounding (and rescaling) the layers
}

// MaxLipschitz returns the largest bound on Lip(g) over the blocks.
func (c Certification) MaxLipschitz() float64 {
	m := 0.0
	for _, b := range c.Blocks {
		m = math.Max(m, b.Lipschitz)
	}
	return m
}

// Certificates returns the certificate of the current step's evaluation
// weights, computing it if no evaluation has run since the last step.
func (t *Trainer) Certificates() (Certification, error) {
	if err := t.withEvalWeights(func() error { return nil }); err != nil {
		return Certification{}, err
	}
	return t.cert, nil
}

// appliedWeights returns the certified evaluation weight of every
// spectrally normalized layer, keyed by parameter name, for checkpoints.
func (t *Trainer) appliedWeights() (map[string]*tensor.Dense, error) {
	if err := t.withEvalWeights(func() error { return nil }); err != nil {
		return nil, err
	}
	return t.applied, nil
}

// Close releases the graphs' machines.
func (t *Trainer) Close() error {
	var first error
	for _, c := range []*compiled{t.train, t.eval} {
		if c != nil {
			if err := c.m.Close(); err != nil && first == nil {
				first = err
			}
		}
	}
	for _, f := range t.forward {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	t.forward = nil
	return first
}

// readsNoise reports whether g, a graph compiled from b's, holds any of b's
// noise inputs.
func readsNoise(g *G.ExprGraph, b *graph.Builder) bool {
	nodes := map[*G.Node]bool{}
	for _, n := range g.AllNodes() {
		nodes[n] = true
	}
	for _, nz := range b.Noise() {
		if nodes[nz.Node] {
			return true
		}
	}
	return false
}

func copyF32(dst *tensor.Dense, src []float64) {
	d := dst.Data().([]float32)
	for i := range d {
		d[i] = float32(src[i])
	}
}

func scalar(n *G.Node) float64 {
	switch v := n.Value().Data().(type) {
	case float32:
		return float64(v)
	case float64:
		return v
	}
	panic(fmt.Sprintf("trainer: node %s is not a scalar", n.Name()))
}

func mean(n *G.Node) float64 {
	s := 0.0
	d := n.Value().Data().([]float32)
	for _, v := range d {
		s += float64(v)
	}
	return s / float64(len(d))
}

// SetSteps changes the total number of training steps, e.g. to extend a
// resumed run. It must not be below the steps already completed.
func (t *Trainer) SetSteps(n int) error {
	if n < t.step {
		return errors.Errorf("trainer: cannot set %d total steps: %d are already done", n, t.step)
	}
	if n > t.limits.Steps {
		return errors.Errorf("trainer: %d total steps exceed the limit %d (a larger one needs -limit steps=N, trainer.WithLimits)", n, t.limits.Steps)
	}
	t.cfg.Steps = n
	return nil
}

// overflowError names where the last update overflowed float32. A finite
// gradient can still do that — in a weight, or in a moment (g² of
// |g| > 1.8e19 is beyond float32, and a second moment at +Inf freezes its
// weight silently): none of them may reach a checkpoint, which Load would
// refuse.
func (t *Trainer) overflowError(step int) error {
	param := func(i int) []float32 { return t.params[i].Value.Data().([]float32) }
	if nf, bad := t.opt.firstNonFinite(param); bad {
		return errors.Errorf("trainer: step %d: the update made a parameter non-finite; the run cannot continue from memory: tensor %q holds %v at %d", step, t.params[nf.param].Name, nf.v, nf.at)
	}
	for _, mo := range [...]struct {
		what string
		ts   []*tensor.Dense
	}{{"first moment", t.opt.m}, {"second moment", t.opt.v}} {
		if nf, bad := t.opt.firstNonFinite(func(i int) []float32 { return mo.ts[i].Data().([]float32) }); bad {
			return errors.Errorf("trainer: step %d: the optimizer's %s of %q overflowed float32 (%v at %d): a gradient too large to square or accumulate; clip it (-clip, Optim.ClipNorm); the run cannot continue from memory", step, mo.what, t.params[nf.param].Name, nf.v, nf.at)
		}
	}
	return errors.Errorf("trainer: step %d: the update overflowed float32; the run cannot continue from memory", step)
}
