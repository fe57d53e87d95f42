package trainer

import (
	"io"

	"github.com/iresnet/iresnet/blocks"
	"github.com/pkg/errors"
	"gorgonia.org/tensor"
)

// A Trained is a model loaded for inference: its evaluation weights (the
// EMA average when the run kept one, with the certified applied/ weight of
// every spectrally normalized layer), without the optimizer, the training
// graph or the data. Every method takes and returns rows of float64 values
// in row-major order, n × the size of one sample.
type Trained struct {
	t *Trainer
}

// Open loads the model of a checkpoint file, or of the checkpoint in a run
// folder, for inference. It reads no dataset: the model's shape and
// preprocessing are in the checkpoint.
func Open(path string) (*Trained, error) {
	p, err := CheckpointPath(path)
	if err != nil {
		return nil, err
	}
	t, err := load(p, false, 0)
	if err != nil {
		return nil, err
	}
	return &Trained{t: t}, nil
}

// Close releases the model's compiled graphs.
func (m *Trained) Close() error { return m.t.Close() }

// Config returns the configuration the model was trained with.
func (m *Trained) Config() Config { return m.t.Config() }

// Steps returns the training steps the checkpoint was written after.
func (m *Trained) Steps() int { return m.t.Steps() }

// InputShape returns the shape of one sample: (2) for a toy density,
// (C, H, W) for images (after padding, in the model's input space).
func (m *Trained) InputShape() []int { return m.t.InputShape() }

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
	if n < 1 || n > MaxBatch {
		return nil, errors.Errorf("trainer: %d samples: want 1 … %d per call", n, MaxBatch)
	}
	return m.t.Sample(n, temperature)
}

// Forward returns z = F(x) for each row of x: the latent, of the same size
// as a sample for a flow (larger with injective channel padding).
func (m *Trained) Forward(x []float64) ([]float64, error) {
	n, err := m.count(x, m.t.cfg.dim())
	if err != nil {
		return nil, err
	}
	var z *tensor.Dense
	err = m.t.withEvalWeights(func() error {
		xt := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(append([]int{n}, m.InputShape()...)...))
		copyF32(xt, x)
		var err error
		z, err = blocks.Apply(m.t.model, xt)
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

// WriteDOT writes the model's graph in graphviz DOT (Trainer.WriteDOT).
func (m *Trained) WriteDOT(w io.Writer, view GraphView, batch int, size string) error {
	return m.t.WriteDOT(w, view, batch, size)
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
