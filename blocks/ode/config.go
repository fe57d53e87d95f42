package ode

import (
	"strconv"

	"github.com/iresnet/iresnet/graph"
	"github.com/pkg/errors"
	"gorgonia.org/tensor"
)

// Limits checked by Validate.
const (
	MaxDim          = 1 << 16 // data dimension D
	MaxHidden       = 1 << 16 // width of one hidden layer
	MaxHiddenLayers = 64      // hidden layers of the dynamics network
	MaxSteps        = 100000  // RK4 steps
	MaxProbes       = 64      // Hutchinson probes per sample
	MaxEndTime      = 1000    // integration horizon T
	// MaxExactDim caps D for the exact trace, which costs D VJPs per
	// dynamics evaluation (four per RK4 step).
	MaxExactDim = 64
)

// TraceMode selects how tr(∂f/∂z) is computed at each dynamics evaluation.
type TraceMode int

// Trace modes.
const (
	// Hutchinson estimates tr(∂f/∂z) by vᵀ(∂f/∂z)v with one VJP per probe
	// v (Grathwohl et al. 2019, §3.1, eq. 7), the probes drawn once per
	// integration (per graph run) as FFJORD does.
	Hutchinson TraceMode = iota
	// ExactTrace sums e_iᵀ(∂f/∂z)e_i over the D basis vectors: D VJPs per
	// evaluation, for low dimensions and tests.
	ExactTrace
)

var traceNames = [...]string{"hutchinson", "exact"}

// String returns "hutchinson" or "exact".
func (m TraceMode) String() string {
	if m < 0 || int(m) >= len(traceNames) {
		return "TraceMode(" + strconv.Itoa(int(m)) + ")"
	}
	return traceNames[m]
}

// ParseTraceMode returns the mode named "hutchinson" or "exact".
func ParseTraceMode(s string) (TraceMode, error) {
	for i, n := range traceNames {
		if n == s {
			return TraceMode(i), nil
		}
	}
	return 0, errors.Errorf("ode: unknown trace mode %q (known: hutchinson, exact)", s)
}

// MarshalText implements encoding.TextMarshaler.
func (m TraceMode) MarshalText() ([]byte, error) {
	if m < 0 || int(m) >= len(traceNames) {
		return nil, errors.Errorf("ode: unknown trace mode %d", int(m))
	}
	return []byte(m.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (m *TraceMode) UnmarshalText(b []byte) error {
	v, err := ParseTraceMode(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// FFJORDConfig configures a continuous normalizing flow on vectors (N, Dim)
// (Grathwohl et al. 2019). It is plain data, stored as JSON in checkpoints;
// the zero value of a field means the default in its comment. Dtype is not
// part of the JSON form.
type FFJORDConfig struct {
	// Dim is the data dimension D, in [1, MaxDim].
	Dim int `json:"dim"`
	// Hidden lists the hidden widths of the dynamics network f(z, t), each
	// in [1, MaxHidden], at most MaxHiddenLayers of them; nil means
	// [64, 64, 64] (the toy networks of Grathwohl et al. 2019, §5.1).
	Hidden []int `json:"hidden"`
	// Act is the nonlinearity of the dynamics. The dynamics must be smooth
	// (the trace's gradient differentiates ∂f/∂z once more), so ReLU, the
	// zero value, stands for the default Softplus (FFJORD's choice for
	// tabular data); ELU and LipSwish are accepted too, Identity makes the
	// dynamics affine in z.
	Act graph.Activation `json:"act"`
	// Steps is the number of fixed RK4 steps over [0, EndTime], in
	// [1, MaxSteps]; 0 means 10. The log-det's error against the exact
	// flow falls as Steps⁻⁴ (see the package documentation for measured
	// values).
	Steps int `json:"steps"`
	// EndTime is the integration horizon T, in (0, MaxEndTime]; 0 means 1.
	EndTime float64 `json:"end_time"`
	// Trace selects the Hutchinson estimator (the zero value) or the exact
	// trace (D ≤ MaxExactDim).
	Trace TraceMode `json:"trace"`
	// Probes is the number of Hutchinson probes per sample, averaged, in
	// [1, MaxProbes]; 0 means 1. Ignored by the exact trace.
	Probes int `json:"probes"`
	// Rademacher draws probes with entries ±1 instead of standard normal
	// ones; both give unbiased estimates, Rademacher with lower variance.
	Rademacher bool `json:"rademacher"`
	// InverseTol stops the refinement of each inverse RK4 step once
	// max |Δx| ≤ InverseTol·(1 + max |x|); in (0, 1). 0 means 1e-12 for
	// float64 and 1e-6 for float32.
	InverseTol float64 `json:"inverse_tol"`
	// InverseMaxIter caps the refinement iterations of each inverse RK4
	// step, in [1, 1e6]; 0 means 100.
	InverseMaxIter int `json:"inverse_max_iter"`
	// Dtype is the element type: tensor.Float32 (zero value) or Float64.
	Dtype tensor.Dtype `json:"-"`
}

// WithDefaults returns the configuration with zero fields set to their
// defaults. It does not validate.
func (c FFJORDConfig) WithDefaults() FFJORDConfig {
	if c.Hidden == nil {
		c.Hidden = []int{64, 64, 64}
	}
	if c.Act == graph.ReLU {
		c.Act = graph.Softplus
	}
	if c.Steps == 0 {
		c.Steps = 10
	}
	if c.EndTime == 0 {
		c.EndTime = 1
	}
	if c.Probes == 0 {
		c.Probes = 1
	}
	if c.Dtype == (tensor.Dtype{}) {
		c.Dtype = tensor.Float32
	}
	if c.InverseTol == 0 {
		c.InverseTol = 1e-12
		if c.Dtype == tensor.Float32 {
			c.InverseTol = 1e-6
		}
	}
	if c.InverseMaxIter == 0 {
		c.InverseMaxIter = 100
	}
	return c
}

// Validate reports the first field of c (after defaults) that is out of
// range, naming the value and the valid range.
func (c FFJORDConfig) Validate() error {
	c = c.WithDefaults()
	switch {
	case c.Dim < 1 || c.Dim > MaxDim:
		return errors.Errorf("ode: ffjord dim %d must lie in [1, %d]", c.Dim, MaxDim)
	case len(c.Hidden) > MaxHiddenLayers:
		return errors.Errorf("ode: ffjord has %d hidden layers, at most %d allowed", len(c.Hidden), MaxHiddenLayers)
	case c.Act < graph.ReLU || c.Act > graph.Identity:
		return errors.Errorf("ode: unknown activation %d (want %d..%d)", int(c.Act), int(graph.ReLU), int(graph.Identity))
	case c.Steps < 1 || c.Steps > MaxSteps:
		return errors.Errorf("ode: ffjord steps %d must lie in [1, %d]", c.Steps, MaxSteps)
	case !(c.EndTime > 0 && c.EndTime <= MaxEndTime):
		return errors.Errorf("ode: ffjord end time %v must lie in (0, %d]", c.EndTime, MaxEndTime)
	case c.Trace != Hutchinson && c.Trace != ExactTrace:
		return errors.Errorf("ode: unknown trace mode %d (want hutchinson or exact)", int(c.Trace))
	case c.Trace == ExactTrace && c.Dim > MaxExactDim:
		return errors.Errorf("ode: exact trace needs D VJPs per evaluation; dim %d exceeds %d (use hutchinson)", c.Dim, MaxExactDim)
	case c.Probes < 1 || c.Probes > MaxProbes:
		return errors.Errorf("ode: ffjord probes %d must lie in [1, %d]", c.Probes, MaxProbes)
	case !(c.InverseTol > 0 && c.InverseTol < 1):
		return errors.Errorf("ode: ffjord inverse tolerance %v must lie in (0, 1)", c.InverseTol)
	case c.InverseMaxIter < 1 || c.InverseMaxIter > 1e6:
		return errors.Errorf("ode: ffjord inverse iterations %d must lie in [1, 1000000]", c.InverseMaxIter)
	case c.Dtype != tensor.Float32 && c.Dtype != tensor.Float64:
		return errors.Errorf("ode: dtype %v not supported (want float32 or float64)", c.Dtype)
	}
	for i, h := range c.Hidden {
		if h < 1 || h > MaxHidden {
			return errors.Errorf("ode: ffjord hidden width %d is %d, must lie in [1, %d]", i, h, MaxHidden)
		}
	}
	return nil
}
