package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iresnet/iresnet/trainer"
	"github.com/iresnet/iresnet/trainer/checkpoint"
)

// TestChecksAppliedWeights trains a tiny toy model with a large learning
// rate, checks its checkpoint, then scales the applied weights of the
// first layers (normalized to c by the certification) by 1.01.
func TestChecksAppliedWeights(t *testing.T) {
	cfg := trainer.DefaultToyConfig()
	cfg.Model.DenseFlow.Blocks, cfg.Model.DenseFlow.Hidden, cfg.BatchSize, cfg.EvalSize, cfg.EvalBatch = 2, []int{8}, 16, 50, 50
	cfg.Optim.LR = 0.05
	tr, err := trainer.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	for i := 0; i < 6; i++ {
		if _, err := tr.Step(); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "ckpt.safetensors")
	if err := tr.Save(path); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if err := run([]string{"-checkpoint", path}, &out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "applied    0 /   4 layers") {
		t.Errorf("output:\n%s", out.String())
	}
	f, err := checkpoint.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, w := range f.Tensors {
		if strings.HasPrefix(name, "applied/") && strings.HasSuffix(name, "fc0/weight") {
			for i, v := range w.Data().([]float32) {
				w.Data().([]float32)[i] = v * 1.01
			}
		}
	}
	if err := checkpoint.Seal(f); err != nil { // a deliberate edit, resealed
		t.Fatal(err)
	}
	if err := checkpoint.Save(path, f); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	err = run([]string{"-checkpoint", path}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "2 applied weights exceed") {
		t.Errorf("after scaling two layers by 1.01: %v\n%s", err, out.String())
	}
}
