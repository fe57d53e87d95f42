package trainer

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestLimits: a size over the default limit is an error that says how to
// raise it; raised limits admit it; a checkpoint of such a run loads only
// with the raised limits, and the error without them names the option.
func TestLimits(t *testing.T) {
	cfg, err := tinyConfig(1).WithDefaults()
	if err != nil {
		t.Fatal(err)
	}
	cfg.BatchSize = MaxBatch + 1
	err = cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "-limit batch=N") {
		t.Fatalf("batch %d within the default limits: %v", cfg.BatchSize, err)
	}
	big := Limits{Batch: 2 * MaxBatch}
	if err := cfg.ValidateWithin(big); err != nil {
		t.Fatalf("batch %d within %+v: %v", cfg.BatchSize, big, err)
	}
	if err := cfg.ValidateWithin(Limits{Terms: 5}); err == nil {
		t.Error("a zero Batch limit is not the default: it must keep rejecting the batch")
	}
	tr, err := New(cfg, WithLimits(big))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	path := filepath.Join(t.TempDir(), CheckpointFile)
	if err := tr.Save(path); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path); err == nil || !strings.Contains(err.Error(), "WithLimits") {
		t.Errorf("opened a batch-%d checkpoint within the default limits: %v", cfg.BatchSize, err)
	}
	m, err := Open(path, WithLimits(big))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.Limits().Batch != 2*MaxBatch || m.Limits().Terms != MaxTerms {
		t.Errorf("limits %+v", m.Limits())
	}
	if err := tr.SetSteps(MaxSteps + 1); err == nil {
		t.Error("SetSteps beyond the steps limit accepted")
	}
}

func TestLimitsFlag(t *testing.T) {
	var l Limits
	if err := l.Set("batch=7, terms=9"); err != nil {
		t.Fatal(err)
	}
	if err := l.Set("probes=3"); err != nil {
		t.Fatal(err)
	}
	if want := (Limits{Batch: 7, Terms: 9, Probes: 3}); l != want {
		t.Errorf("limits %+v, want %+v", l, want)
	}
	if got, want := l.String(), "batch=7,power_iters=1000,probes=3,steps=1000000000,terms=9"; got != want {
		t.Errorf("String %q, want %q", got, want)
	}
	for _, bad := range []string{"batch", "batch=", "batch=-1", "batch=0", "batch=1e9", "width=3", "batch=99999999999"} {
		if err := l.Set(bad); err == nil {
			t.Errorf("Set(%q) accepted", bad)
		}
	}
}
