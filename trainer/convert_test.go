package trainer

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iresnet/iresnet/trainer/checkpoint"
)

// v1Expect is what the version that wrote a testdata/v1 checkpoint
// computed from it (testdata/v1/<name>.json): log p of some points and the
// held-out evaluation.
type v1Expect struct {
	Points  []float64 `json:"points"`
	LogProb []float64 `json:"log_prob"`
	NLL     float64   `json:"nll"`
	BPD     float64   `json:"bpd"`
	Error   float64   `json:"error"`
	Step    int       `json:"step"`
}

// TestConvertV1 converts checkpoints written by the earlier version (format
// v1.1: a 2-block toy flow with ActNorm and EMA after 5 steps; an 8×8
// two-scale hybrid image model with ActNorm, learned prior and head after 3
// steps, on the tiny IDX images in testdata/v1/mnist8) and checks that the
// converted model computes what the old version computed from the original:
// log p of the same points and the held-out NLL, bits/dim and error; and
// that it resumes. The same files rewritten as v1 (no applied/ weights, no
// checksum) convert with the applied weights certified anew, which changes
// log p by no more than float32 noise when the weights were already within
// their bound.
func TestConvertV1(t *testing.T) {
	for _, name := range []string{"toy", "image"} {
		t.Run(name, func(t *testing.T) {
			var want v1Expect
			b, err := os.ReadFile(filepath.Join("testdata", "v1", name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			src := filepath.Join("testdata", "v1", name+".safetensors")
			if _, err := Open(src); err == nil || !strings.Contains(err.Error(), "cmd/convert") {
				t.Errorf("opening a v1 file: %v, want an error that says how to convert it", err)
			}
			dst := filepath.Join(t.TempDir(), CheckpointFile)
			if err := ConvertV1(src, dst); err != nil {
				t.Fatal(err)
			}
			check := func(t *testing.T, path string, tol float64) {
				m, err := Open(path)
				if err != nil {
					t.Fatal(err)
				}
				defer m.Close()
				if m.Steps() != want.Step {
					t.Errorf("step %d, want %d", m.Steps(), want.Step)
				}
				lp, err := m.LogProb(want.Points)
				if err != nil {
					t.Fatal(err)
				}
				for i := range lp {
					if d := math.Abs(lp[i] - want.LogProb[i]); d > tol*(1+math.Abs(want.LogProb[i])) {
						t.Errorf("log p[%d] = %.7g, the old version computed %.7g", i, lp[i], want.LogProb[i])
					}
				}
				held, err := m.HeldOut(0)
				if err != nil {
					t.Fatal(err)
				}
				ev, err := m.Evaluate(held)
				if err != nil {
					t.Fatal(err)
				}
				if d := math.Abs(ev.NLL - want.NLL); d > tol*(1+math.Abs(want.NLL)) || math.Abs(ev.BPD-want.BPD) > tol*(1+want.BPD) || ev.Error != want.Error {
					t.Errorf("NLL %.7g, bits/dim %.7g, error %v; the old version: %.7g, %.7g, %v", ev.NLL, ev.BPD, ev.Error, want.NLL, want.BPD, want.Error)
				}
			}
			t.Run("v1.1", func(t *testing.T) { check(t, dst, 1e-5) })
			tr, err := Load(dst)
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()
			if _, err := tr.Step(); err != nil {
				t.Fatalf("resuming the converted run: %v", err)
			}

			// The same file as format v1: no applied/ weights, no checksum.
			f, err := checkpoint.Load(src)
			if err != nil {
				t.Fatal(err)
			}
			for k := range f.Tensors {
				if strings.HasPrefix(k, prefixApplied) {
					delete(f.Tensors, k)
				}
			}
			delete(f.Metadata, checkpoint.ChecksumKey)
			if err := checkpoint.PutJSON(f.Metadata, "format", formatV1); err != nil {
				t.Fatal(err)
			}
			old := filepath.Join(t.TempDir(), "v1.safetensors")
			if err := checkpoint.Save(old, f); err != nil {
				t.Fatal(err)
			}
			dst1 := filepath.Join(t.TempDir(), CheckpointFile)
			if err := ConvertV1(old, dst1); err != nil {
				t.Fatal(err)
			}
			t.Run("v1", func(t *testing.T) { check(t, dst1, 1e-4) })

			// A tensor the model does not have is corruption, not ignored.
			f.Tensors["model/block9/fc0/w"] = f.Tensors[firstKey(f, prefixM, "")]
			if err := checkpoint.Save(old, f); err != nil {
				t.Fatal(err)
			}
			if err := ConvertV1(old, filepath.Join(t.TempDir(), "x.safetensors")); err == nil || !strings.Contains(err.Error(), "block9") {
				t.Errorf("an extra tensor: %v", err)
			}
			if err := ConvertV1(dst, filepath.Join(t.TempDir(), "y.safetensors")); err == nil || !strings.Contains(err.Error(), "already") {
				t.Errorf("converting a v2 file: %v", err)
			}
		})
	}
}
