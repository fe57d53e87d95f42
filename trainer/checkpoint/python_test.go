package checkpoint

import (
	"encoding/json"
	"math"
	"os/exec"
	"path/filepath"
	"testing"

	"gorgonia.org/tensor"
)

// pythonSafetensors returns the path of a python3 that can import numpy
// and safetensors, or skips t.
func pythonSafetensors(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short")
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not found")
	}
	if err := exec.Command(py, "-c", "import numpy, safetensors.numpy").Run(); err != nil {
		t.Skip("python3 lacks numpy or safetensors")
	}
	return py
}

// TestPythonReadsOurs has the reference implementation read a saved file.
func TestPythonReadsOurs(t *testing.T) {
	py := pythonSafetensors(t)
	rng := newRNG()
	f := File{
		Tensors: map[string]*tensor.Dense{
			"a":  randDense(rng, tensor.Float32, false, 2, 3, 1, 2),
			"b":  randDense(rng, tensor.Float64, false, 5),
			"c":  randDense(rng, tensor.Float32, false, 1),
			"s0": randDense(rng, tensor.Float64, false),
		},
		Metadata: map[string]string{"step": "7", "note": "héllo"},
	}
	path := filepath.Join(t.TempDir(), "ours.safetensors")
	if err := Save(path, f); err != nil {
		t.Fatal(err)
	}
	const script = `
import json, sys
from safetensors import safe_open
from safetensors.numpy import load_file
ts = load_file(sys.argv[1])
with safe_open(sys.argv[1], framework="numpy") as fh:
    meta = fh.metadata()
print(json.dumps({"metadata": meta, "tensors": {k: {"dtype": str(v.dtype), "shape": list(v.shape),
    "values": [float(x) for x in v.reshape(-1)]} for k, v in ts.items()}}))
`
	out, err := exec.Command(py, "-c", script, path).Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	var got struct {
		Metadata map[string]string
		Tensors  map[string]struct {
			DType  string
			Shape  []int
			Values []float64
		}
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("python output %s: %v", out, err)
	}
	for k, v := range f.Metadata {
		if got.Metadata[k] != v {
			t.Errorf("metadata[%q] = %q, want %q", k, got.Metadata[k], v)
		}
	}
	if len(got.Tensors) != len(f.Tensors) {
		t.Errorf("python read %d tensors, want %d", len(got.Tensors), len(f.Tensors))
	}
	for name, want := range f.Tensors {
		g := got.Tensors[name]
		wantDType := map[tensor.Dtype]string{tensor.Float32: "float32", tensor.Float64: "float64"}[want.Dtype()]
		if g.DType != wantDType || len(g.Shape) != want.Dims() {
			t.Errorf("tensor %q: python sees %s %v, want %s %v", name, g.DType, g.Shape, wantDType, want.Shape())
		}
		for i, d := range g.Shape {
			if i < want.Dims() && d != want.Shape()[i] {
				t.Errorf("tensor %q: python sees shape %v, want %v", name, g.Shape, want.Shape())
				break
			}
		}
		wantBits := bitsOf(want)
		if len(g.Values) != len(wantBits) {
			t.Errorf("tensor %q: python sees %d values, want %d", name, len(g.Values), len(wantBits))
			continue
		}
		for i, v := range g.Values {
			var w float64
			if want.Dtype() == tensor.Float32 {
				w = float64(math.Float32frombits(uint32(wantBits[i])))
			} else {
				w = math.Float64frombits(wantBits[i])
			}
			if v != w {
				t.Errorf("tensor %q value %d: python sees %v, want %v", name, i, v, w)
			}
		}
	}
}

// TestWeReadPythons loads a file written by the reference implementation.
func TestWeReadPythons(t *testing.T) {
	py := pythonSafetensors(t)
	path := filepath.Join(t.TempDir(), "theirs.safetensors")
	const script = `
import sys
import numpy as np
from safetensors.numpy import save_file
save_file({"w": np.arange(6, dtype=np.float32).reshape(2, 3) / 4,
           "b": np.array([1.5, -2.0], dtype=np.float64),
           "s": np.array(3.0, dtype=np.float32)}, sys.argv[1], metadata={"step": "9"})
`
	if out, err := exec.Command(py, "-c", script, path).CombinedOutput(); err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := File{
		Tensors: map[string]*tensor.Dense{
			"w": tensor.New(tensor.WithShape(2, 3), tensor.WithBacking([]float32{0, 0.25, 0.5, 0.75, 1, 1.25})),
			"b": tensor.New(tensor.WithShape(2), tensor.WithBacking([]float64{1.5, -2})),
			"s": tensor.New(tensor.FromScalar(float32(3))),
		},
		Metadata: map[string]string{"step": "9"},
	}
	checkSameFile(t, want, got)
}
