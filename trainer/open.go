package trainer

import (
	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/datasets"
	"github.com/iresnet/iresnet/graph"
	"github.com/pkg/errors"
	"gorgonia.org/tensor"
)

// A Trained is a model loaded for inference: its evaluation weights (the
// EMA average when the run kept one, with the certified applied/ weight of
// every spectrally normalized layer), without the optimizer or the training
// graph, and without the data until HeldOut reads it. Every method takes
// and returns rows of float64 values in row-major order, n × the size of one
// sample. The pictures (package trainer/pictures) and graph drawings
// (package trainer/modelgraph) of a model are drawn from a Trained.
type Trained struct {
	t    *Trainer
	view bool // a view of a Trainer (Trainer.Trained): Close leaves it open
}

// Open loads the model of a checkpoint file, or of the checkpoint in a run
// folder, for inference. It reads no dataset: the model's shape and
// preprocessing are in the checkpoint. opts are as for Load.
func Open(path string, opts ...Option) (*Trained, error) {
	p, err := CheckpointPath(path)
	if err != nil {
		return nil, err
	}
	t, err := load(p, false, buildOptions(opts))
	if err != nil {
		return nil, err
	}
	return &Trained{t: t}, nil
}

// Trained returns the trainer's model for inference, sharing the
// trainer's weights and evaluation graph (and its data, for HeldOut):
// what a run draws its pictures from without writing and reading a
// checkpoint. Its Close does nothing; close the Trainer.
func (t *Trainer) Trained() *Trained { return &Trained{t: t, view: true} }

// Limits returns the limits the model was opened with.
func (m *Trained) Limits() Limits { return m.t.limits }

// Close releases the model's compiled graphs.
func (m *Trained) Close() error {
	if m.view {
		return nil
	}
	return m.t.Close()
}

// Config returns the configuration the model was trained with.
func (m *Trained) Config() Config { return m.t.Config() }

// Steps returns the training steps the checkpoint was written after.
func (m *Trained) Steps() int { return m.t.Steps() }

// InputShape returns the shape of one sample: (2) for a toy density,
// (C, H, W) for images (after padding, in the model's input space).
func (m *Trained) InputShape() []int { return m.t.InputShape() }

// Model returns the model's blocks, e.g. to read each residual block's
// spectral norms. Changing them changes what the other methods compute.
func (m *Trained) Model() Model { return m.t.model }

// Flow returns the model with its prior: what the expression graph of
// log p(x) is built from (blocks.Flow.LogProb).
func (m *Trained) Flow() blocks.Flow { return m.t.flow }

// BlockNames returns the checkpoint scope of each residual block, in the
// order of Model().Residuals() and of Certificates().Blocks.
func (m *Trained) BlockNames() []string { return m.t.BlockNames() }

// ExactLogDet reports whether LogProb and Evaluate use the exact log-det
// (vectors of dimension ≤ 16, such as the toy densities) rather than a
// power series.
func (m *Trained) ExactLogDet() bool { return m.t.evalExact() }

// OnEvalBatch sets a function called after each batch of the evaluation
// graph (LogProb, Evaluate, Classify) with the batches done and in all, to
// show progress; nil removes it.
func (m *Trained) OnEvalBatch(f func(done, total int)) { m.t.onEvalBatch = f }

// LogProb returns log p(x) of each row of x in nats, with the exact
// log-det where the dimension allows (toy densities) and a 10-term power
// series otherwise. A classifier trained with injective padding has no
// density and returns an error.
func (m *Trained) LogProb(x []float64) ([]float64, error) {
	if err := m.rows(x, m.t.cfg.dim()); err != nil {
		return nil, err
	}
	return m.t.LogProb(x)
}

// Sample draws n points at temperature T (z ~ N(0, T²I); 1 is the model's
// density) through the inverse, as rows of the input space. The draw is
// determined by the run's seed and step.
func (m *Trained) Sample(n int, temperature float64) ([]float64, error) {
	if n < 1 || n > m.t.limits.Batch {
		return nil, errors.Errorf("trainer: %d samples: want 1 … %d per call (the batch limit, trainer.WithLimits)", n, m.t.limits.Batch)
	}
	return m.t.Sample(n, temperature)
}

// SampleImages is Sample for an image model, with the samples mapped to
// pixel intensities in [0, 1] (Pixels).
func (m *Trained) SampleImages(n int, temperature float64) (ImageBatch, error) {
	if !m.t.cfg.Data.Quantized() {
		return ImageBatch{}, errors.New("trainer: SampleImages needs an image model")
	}
	x, err := m.Sample(n, temperature)
	if err != nil {
		return ImageBatch{}, err
	}
	return m.t.toPixels(x), nil
}

// Pixels maps rows of an image model's input space (samples, or held-out
// points) to images with intensities in [0, 1]: the inverse of the logit
// transform when the run used one, then clamping.
func (m *Trained) Pixels(x []float64) (ImageBatch, error) {
	if !m.t.cfg.Data.Quantized() {
		return ImageBatch{}, errors.New("trainer: Pixels needs an image model")
	}
	if err := m.rows(x, m.t.cfg.dim()); err != nil {
		return ImageBatch{}, err
	}
	return m.t.toPixels(x), nil
}

// Forward returns z = F(x) for each row of x: the latent, of the same size
// as a sample for a flow (larger with injective channel padding). The
// graph of F is compiled once per batch size (the last few sizes are kept)
// and re-run.
func (m *Trained) Forward(x []float64) ([]float64, error) {
	n, err := m.count(x, m.t.cfg.dim())
	if err != nil {
		return nil, err
	}
	var z *tensor.Dense
	err = m.t.withEvalWeights(func() error {
		f, err := m.t.forwardFunc(n)
		if err != nil {
			return err
		}
		copyF32(f.Input(), x)
		if err := f.Run(); err != nil {
			return err
		}
		z, err = graph.Value(f.Output())
		return err
	})
	if err != nil {
		return nil, err
	}
	return floats64(z), nil
}

// Inverse returns x = F⁻¹(z) for each row of z, by the blocks' fixed-point
// iterations; a block that does not converge is an error
// (*blocks.NotConvergedError) rather than a wrong answer.
func (m *Trained) Inverse(z []float64) ([]float64, error) {
	d := m.t.cfg.dim()
	n, err := m.count(z, d)
	if err != nil {
		return nil, err
	}
	var x *tensor.Dense
	err = m.t.withEvalWeights(func() error {
		zt := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(n, d))
		copyF32(zt, z)
		var err error
		x, err = m.t.model.Inverse(zt)
		return err
	})
	if err != nil {
		return nil, err
	}
	return floats64(x), nil
}

// Reconstruct maps the rows of x (images of the model's input space, such
// as HeldOut(n).Points) forward and back and reports the error and every
// block's fixed-point iterations. A block that does not converge is an
// error naming it.
func (m *Trained) Reconstruct(x []float64) (Reconstruction, error) {
	if err := m.rows(x, m.t.cfg.dim()); err != nil {
		return Reconstruction{}, err
	}
	return m.t.reconstruct(x, false)
}

// ReconstructLenient is Reconstruct for a model that may not invert, such
// as the paper's unconstrained ("vanilla") network: a residual block whose
// fixed point does not converge hands its last iterate on, so
// Reconstructed shows what the failing inverse produces. The error is then
// a *blocks.FailedBlocksError naming every such block; Reconstructed is
// filled unless the iteration blew up to Inf or NaN.
func (m *Trained) ReconstructLenient(x []float64) (Reconstruction, error) {
	if err := m.rows(x, m.t.cfg.dim()); err != nil {
		return Reconstruction{}, err
	}
	return m.t.reconstruct(x, true)
}

// Classify returns the predicted class of each row of x, for models trained
// to classify (the classify and hybrid objectives).
func (m *Trained) Classify(x []float64) ([]int, error) {
	if m.t.head == nil {
		return nil, errors.Errorf("trainer: a model trained for %v has no classifier head", m.t.cfg.Objective.Task)
	}
	if err := m.rows(x, m.t.cfg.dim()); err != nil {
		return nil, err
	}
	var preds []int
	err := m.t.withEvalWeights(func() error {
		r, err := m.t.evalPass(x)
		preds = r.preds
		return err
	})
	return preds, err
}

// HeldOut returns the first n points of the run's held-out set (n = 0:
// the configured eval size): the test images with the run's dequantization
// noise and preprocessing, with their labels, or the points of the toy's
// held-out stream. It reads the dataset (the checkpoint names it) unless
// the model is a running Trainer's, whose held-out set it reuses; the first
// n points are the same either way.
func (m *Trained) HeldOut(n int) (datasets.HeldOut, error) {
	cfg := m.t.cfg
	if n == 0 {
		n = cfg.EvalSize
	}
	if n < 1 || n > datasets.MaxEvalSize {
		return datasets.HeldOut{}, errors.Errorf("trainer: held-out size %d must lie in [1, %d]", n, datasets.MaxEvalSize)
	}
	d := cfg.dim()
	if m.t.src != nil {
		if h := m.t.src.HeldOut(); len(h.Points) >= n*d {
			return firstHeldOut(h, n, d), nil
		}
	}
	src, err := cfg.openData(n)
	if err != nil {
		return datasets.HeldOut{}, errors.Wrap(err, "trainer: reading the held-out data")
	}
	return firstHeldOut(src.HeldOut(), n, d), nil
}

// firstHeldOut returns the first n points of h (all when it has fewer).
func firstHeldOut(h datasets.HeldOut, n, d int) datasets.HeldOut {
	n = min(n, len(h.Points)/d)
	out := datasets.HeldOut{Points: h.Points[:n*d]}
	if h.PreLogDet != nil {
		out.PreLogDet = h.PreLogDet[:n]
	}
	if h.Labels != nil {
		out.Labels = h.Labels[:n]
	}
	return out
}

// Evaluate returns the NLL (nats, with its standard error), bits/dim for
// image densities and the error of a classifier on a held-out set, such
// as HeldOut(n), with the evaluation weights.
func (m *Trained) Evaluate(h datasets.HeldOut) (EvalStats, error) {
	if err := m.rows(h.Points, m.t.cfg.dim()); err != nil {
		return EvalStats{}, err
	}
	return m.t.evaluate(h)
}

// Certificates returns the certified bounds of the evaluation weights.
func (m *Trained) Certificates() (Certification, error) { return m.t.Certificates() }

// rows checks that x is a non-empty whole number of d-value rows.
func (m *Trained) rows(x []float64, d int) error {
	_, err := m.count(x, d)
	return err
}

func (m *Trained) count(x []float64, d int) (int, error) {
	if len(x) == 0 || len(x)%d != 0 {
		return 0, errors.Errorf("trainer: %d values are not a whole, non-zero number of rows of %d", len(x), d)
	}
	return len(x) / d, nil
}
