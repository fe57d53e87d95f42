package trainer

import (
	"encoding/base64"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/iresnet/iresnet/trainer/checkpoint"
	"github.com/pkg/errors"
	"gorgonia.org/tensor"
)

// CheckpointFormat identifies the layout of the tensors and metadata of a
// checkpoint (see the package documentation), stored under the metadata
// key "format".
const CheckpointFormat = "iresnet-go/v2"

// Tensor name prefixes in a checkpoint. Model tensors keep the names of
// their graph nodes ("block3/fc0/weight" is the weight (in, out) of the
// first layer of residual block 3, "block3/fc0/weight_v" its input-space
// power-iteration vector, "block3/fc0/weight_sigma" its σ̂).
const (
	prefixModel = "model/"
	prefixEMA   = "ema/"
	// prefixApplied holds the certified evaluation weight of every
	// spectrally normalized layer (the EMA average when kept, rescaled to
	// W/max(1, B/c) with B a certified bound of its operator norm): the
	// weights as the evaluation applies them, each of operator norm ≤ c.
	// Used as they are, they need no further normalization.
	prefixApplied = "applied/"
	prefixM       = "optim/m/"
	prefixV       = "optim/v/"
)

// Save writes everything needed to continue the run exactly: model tensors
// (parameters and power-iteration state), optimizer moments, EMA weights,
// step, configuration (readable JSON) and the state of the random source.
// The file is replaced atomically: a crash mid-write leaves the previous
// checkpoint intact.
func (t *Trainer) Save(path string) error {
	f := checkpoint.File{Tensors: map[string]*tensor.Dense{}, Metadata: map[string]string{}}
	for _, nt := range t.tensors() {
		f.Tensors[prefixModel+nt.Name] = nt.Value
	}
	for i, p := range t.params {
		f.Tensors[prefixM+p.Name] = t.opt.m[i]
		f.Tensors[prefixV+p.Name] = t.opt.v[i]
		if t.ema != nil {
			f.Tensors[prefixEMA+p.Name] = t.ema[i]
		}
	}
	applied, err := t.appliedWeights()
	if err != nil {
		return errors.Wrap(err, "trainer: certifying the evaluation weights")
	}
	for name, w := range applied {
		f.Tensors[prefixApplied+name] = w
	}
	rngState, err := t.pcg.MarshalBinary()
	if err != nil {
		return errors.Wrap(err, "trainer: saving the random state")
	}
	meta := map[string]any{
		"format":  CheckpointFormat,
		"config":  t.cfg,
		"step":    t.step,
		"optim_t": t.opt.t,
		"rng":     base64.StdEncoding.EncodeToString(rngState),
	}
	for k, v := range meta {
		if err := checkpoint.PutJSON(f.Metadata, k, v); err != nil {
			return err
		}
	}
	// Load refuses a checkpoint with a NaN or infinity in any tensor, so
	// such a file is never written: it would replace the last good one.
	for _, name := range slices.Sorted(maps.Keys(f.Tensors)) {
		if err := finiteTensor(name, f.Tensors[name]); err != nil {
			return errors.Wrapf(err, "trainer: not saving step %d to %s (it could not be loaded)", t.step, path)
		}
	}
	if err := checkpoint.Seal(f); err != nil {
		return err
	}
	return errors.Wrapf(checkpoint.Save(path, f), "trainer: saving step %d", t.step)
}

// Load restores a trainer from a checkpoint written by Save; training
// continues exactly where it stopped. A checkpoint whose sizes exceed
// DefaultLimits (trained with WithLimits) loads with the same option.
func Load(path string, opts ...Option) (*Trainer, error) {
	return load(path, true, buildOptions(opts))
}

// load reads the checkpoint at path into a trainer, with or without its
// data source (construct).
func load(path string, withData bool, o options) (*Trainer, error) {
	f, err := checkpoint.Load(path)
	if err != nil {
		return nil, err
	}
	var format string
	if err := checkpoint.GetJSON(f.Metadata, "format", &format); err != nil {
		return nil, errors.Wrapf(err, "trainer: %s", path)
	}
	if format != CheckpointFormat {
		if strings.HasPrefix(format, "iresnet-go/density/v1") { // v1 and v1.1
			return nil, errors.Errorf("trainer: %s was written by an earlier version of this library (format %q); this version reads %q, with a new configuration layout and tensor names. Convert it once with: go run ./cmd/convert -in %s (trainer.ConvertV1)", path, format, CheckpointFormat, path)
		}
		return nil, errors.Errorf("trainer: %s has format %q, want %q", path, format, CheckpointFormat)
	}
	if err := checkpoint.Verify(f); err != nil {
		return nil, errors.Wrapf(err, "trainer: %s", path)
	}
	if err := checkpoint.RequireKeys(f.Metadata, "format", "config", "step", "optim_t", "rng", checkpoint.ChecksumKey); err != nil {
		return nil, errors.Wrapf(err, "trainer: %s", path)
	}
	var cfg Config
	if err := checkpoint.GetJSON(f.Metadata, "config", &cfg); err != nil {
		return nil, errors.Wrapf(err, "trainer: %s", path)
	}
	t, err := construct(cfg, withData, o)
	if err != nil {
		return nil, errors.Wrapf(err, "trainer: rebuilding the model of %s", path)
	}
	if err := t.restore(f); err != nil {
		t.Close()
		return nil, errors.Wrapf(err, "trainer: %s", path)
	}
	return t, nil
}

// restore overwrites the freshly built trainer's state with the file's.
func (t *Trainer) restore(f checkpoint.File) error {
	used := map[string]bool{}
	set := func(name string, dst *tensor.Dense) error {
		used[name] = true
		src, ok := f.Tensors[name]
		if !ok {
			return errors.Errorf("tensor %q is missing", name)
		}
		if !src.Shape().Eq(dst.Shape()) || src.Dtype() != dst.Dtype() {
			return errors.Errorf("tensor %q is %v %v, model expects %v %v", name, src.Dtype(), src.Shape(), dst.Dtype(), dst.Shape())
		}
		if err := finiteTensor(name, src); err != nil {
			return err
		}
		return tensor.Copy(dst, src)
	}
	for _, nt := range t.tensors() {
		if err := set(prefixModel+nt.Name, nt.Value); err != nil {
			return err
		}
		if nt.Check != nil { // the block's own check of its state
			if err := nt.Check(nt.Value); err != nil {
				return errors.Wrapf(err, "tensor %q (the checkpoint is corrupt)", prefixModel+nt.Name)
			}
		}
	}
	for i, p := range t.params {
		if err := set(prefixM+p.Name, t.opt.m[i]); err != nil {
			return err
		}
		if err := set(prefixV+p.Name, t.opt.v[i]); err != nil {
			return err
		}
		if t.ema != nil {
			if err := set(prefixEMA+p.Name, t.ema[i]); err != nil {
				return err
			}
		}
	}
	// The certified evaluation weights, used as stored.
	applied := map[string]*tensor.Dense{}
	for _, p := range t.spectralParams() {
		dst := p.Value.Clone().(*tensor.Dense)
		if err := set(prefixApplied+p.Name, dst); err != nil {
			return err
		}
		applied[p.Name] = dst
	}
	t.applied, t.restored = applied, true
	for name := range f.Tensors {
		if !used[name] {
			return errors.Errorf("tensor %q is not part of this model: the checkpoint is corrupt or of another model", name)
		}
	}
	var rngState string
	for k, v := range map[string]any{"step": &t.step, "optim_t": &t.opt.t, "rng": &rngState} {
		if err := checkpoint.GetJSON(f.Metadata, k, v); err != nil {
			return err
		}
	}
	if t.step < 0 || t.step > MaxSteps || t.opt.t != t.step {
		return errors.Errorf("step %d (optimizer step %d) must lie in [0, 1e9] and the two must agree: every step updates the optimizer once", t.step, t.opt.t)
	}
	raw, err := base64.StdEncoding.DecodeString(rngState)
	if err != nil {
		return errors.Wrap(err, "random state")
	}
	pcg := &rand.PCG{}
	if err := pcg.UnmarshalBinary(raw); err != nil {
		return errors.Wrap(err, "random state")
	}
	*t.pcg = *pcg
	return nil
}

// finiteTensor reports a NaN or infinite value: a checkpoint is written
// only from finite weights, so one is corruption.
func finiteTensor(name string, t *tensor.Dense) error {
	switch d := t.Data().(type) {
	case []float32:
		for i, v := range d {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return errors.Errorf("tensor %q holds %v at %d", name, v, i)
			}
		}
	case []float64:
		for i, v := range d {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return errors.Errorf("tensor %q holds %v at %d", name, v, i)
			}
		}
	}
	return nil
}

// CheckpointPath resolves p, a checkpoint file or a run folder written by
// Run, to the checkpoint file, with an error naming p when neither exists.
func CheckpointPath(p string) (string, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return "", errors.Wrapf(err, "trainer: checkpoint %s", p)
	}
	if !fi.IsDir() {
		return p, nil
	}
	path := filepath.Join(p, CheckpointFile)
	if _, err := os.Stat(path); err != nil {
		return "", errors.Wrapf(err, "trainer: %s is not a run folder", p)
	}
	return path, nil
}
