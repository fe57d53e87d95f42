package ode_test

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/iresnet/iresnet/blocks/ode"
	"github.com/iresnet/iresnet/graph"
	"gorgonia.org/tensor"
)

// TestConfigValidate checks every range Validate enforces, and that
// NewFFJORD refuses the same configurations.
func TestConfigValidate(t *testing.T) {
	if err := (ode.FFJORDConfig{Dim: 2}).Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
	bad := []struct {
		cfg  ode.FFJORDConfig
		want string
	}{
		{ode.FFJORDConfig{}, "dim 0"},
		{ode.FFJORDConfig{Dim: ode.MaxDim + 1}, "dim"},
		{ode.FFJORDConfig{Dim: 2, Hidden: []int{3, 0}}, "hidden width 1 is 0"},
		{ode.FFJORDConfig{Dim: 2, Hidden: make([]int, ode.MaxHiddenLayers+1)}, "hidden layers"},
		{ode.FFJORDConfig{Dim: 2, Act: graph.Activation(42)}, "activation 42"},
		{ode.FFJORDConfig{Dim: 2, Steps: -1}, "steps -1"},
		{ode.FFJORDConfig{Dim: 2, Steps: ode.MaxSteps + 1}, "steps"},
		{ode.FFJORDConfig{Dim: 2, EndTime: -1}, "end time -1"},
		{ode.FFJORDConfig{Dim: 2, EndTime: math.NaN()}, "end time NaN"},
		{ode.FFJORDConfig{Dim: 2, EndTime: ode.MaxEndTime * 2}, "end time"},
		{ode.FFJORDConfig{Dim: 2, Trace: ode.TraceMode(7)}, "trace mode 7"},
		{ode.FFJORDConfig{Dim: ode.MaxExactDim + 1, Trace: ode.ExactTrace}, "exact trace"},
		{ode.FFJORDConfig{Dim: 2, Probes: -3}, "probes -3"},
		{ode.FFJORDConfig{Dim: 2, Probes: ode.MaxProbes + 1}, "probes"},
		{ode.FFJORDConfig{Dim: 2, InverseTol: 2}, "inverse tolerance 2"},
		{ode.FFJORDConfig{Dim: 2, InverseMaxIter: -1}, "inverse iterations -1"},
		{ode.FFJORDConfig{Dim: 2, Dtype: tensor.Int}, "dtype"},
	}
	for _, c := range bad {
		err := c.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Validate(%+v) = %v, want an error containing %q", c.cfg, err, c.want)
		}
		if _, err := ode.NewFFJORD(c.cfg, rand.New(rand.NewPCG(1, 1))); err == nil {
			t.Errorf("NewFFJORD(%+v) succeeded", c.cfg)
		}
	}
}

// TestConfigJSON checks the snake_case JSON form, its round trip, and that
// an unknown trace mode is refused by name.
func TestConfigJSON(t *testing.T) {
	cfg := ode.FFJORDConfig{Dim: 2, Hidden: []int{64, 64}, Act: graph.Softplus, Steps: 12, EndTime: 0.5, Trace: ode.ExactTrace, Probes: 2, Rademacher: true, InverseTol: 1e-9, InverseMaxIter: 30}
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"dim":2,"hidden":[64,64],"act":"softplus","steps":12,"end_time":0.5,"trace":"exact","probes":2,"rademacher":true,"inverse_tol":1e-9,"inverse_max_iter":30}`
	if string(js) != want {
		t.Errorf("json = %s, want %s", js, want)
	}
	var back ode.FFJORDConfig
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, cfg) {
		t.Errorf("round trip %+v, want %+v", back, cfg)
	}
	if err := json.Unmarshal([]byte(`{"trace":"dopri5"}`), &back); err == nil || !strings.Contains(err.Error(), "dopri5") {
		t.Errorf("unknown trace mode: err = %v", err)
	}
}

// TestDefaults checks the documented zero-value defaults, including that
// the zero activation (ReLU) stands for Softplus.
func TestDefaults(t *testing.T) {
	got := ode.FFJORDConfig{Dim: 3}.WithDefaults()
	want := ode.FFJORDConfig{Dim: 3, Hidden: []int{64, 64, 64}, Act: graph.Softplus, Steps: 10, EndTime: 1, Probes: 1,
		InverseTol: 1e-6, InverseMaxIter: 100, Dtype: tensor.Float32}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("WithDefaults = %+v, want %+v", got, want)
	}
	if tol := (ode.FFJORDConfig{Dim: 3, Dtype: tensor.Float64}).WithDefaults().InverseTol; tol != 1e-12 {
		t.Errorf("float64 inverse tolerance %g, want 1e-12", tol)
	}
}
