package trainer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iresnet/iresnet/trainer/checkpoint"
)

// savedToy trains the tiny config three steps and saves it.
func savedToy(t *testing.T) string {
	t.Helper()
	tr := newTrainer(t, tinyConfig(21))
	steps(t, tr, 3)
	path := filepath.Join(t.TempDir(), "ckpt.safetensors")
	if err := tr.Save(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCorruptCheckpointsFailToLoad edits a saved checkpoint in the ways
// found to load silently as a different model before, and expects an
// error that names the problem. reseal marks edits made as if
// deliberately (checksum recomputed), which the semantic checks must
// catch on their own.
func TestCorruptCheckpointsFailToLoad(t *testing.T) {
	cases := []struct {
		name   string
		edit   func(f checkpoint.File)
		reseal bool
		want   string
	}{
		{"tensor value changed", func(f checkpoint.File) {
			f.Tensors[firstKey(f, "model/", "/fc0/weight")].Data().([]float32)[3] += 1
		}, false, "checksum mismatch"},
		{"config key flipped", func(f checkpoint.File) {
			f.Metadata["config"] = strings.Replace(f.Metadata["config"], `"act"`, `"bct"`, 1)
		}, false, "checksum mismatch"},
		{"config key flipped, resealed", func(f checkpoint.File) {
			f.Metadata["config"] = strings.Replace(f.Metadata["config"], `"act"`, `"bct"`, 1)
		}, true, `unknown field "bct"`},
		{"checksum removed", func(f checkpoint.File) {
			delete(f.Metadata, checkpoint.ChecksumKey)
		}, false, "no checksum"},
		{"power-iteration vector zeroed", func(f checkpoint.File) {
			clear(f.Tensors[firstKey(f, "model/", "/fc0/weight_v")].Data().([]float32))
		}, true, "has norm 0, want 1"},
		{"weight NaN", func(f checkpoint.File) {
			f.Tensors[firstKey(f, "ema/", "/fc0/bias")].Data().([]float32)[0] = float32(nanF())
		}, true, "holds NaN"},
		{"negative step", func(f checkpoint.File) { f.Metadata["step"] = "-5" }, true, "must lie in [0, 1e9]"},
		{"step 0 after training", func(f checkpoint.File) { f.Metadata["step"] = "0" }, true, "the two must agree"},
		{"negative σ̂", func(f checkpoint.File) {
			f.Tensors[firstKey(f, "model/", "/fc0/weight_sigma")].Data().([]float64)[0] = -1
		}, true, "want a finite value ≥ 0"},
		{"ActNorm flag 0.5", func(f checkpoint.File) {
			f.Tensors[firstKey(f, "model/", "/initialized")].Data().([]float64)[0] = 0.5
		}, true, "0 or 1, got"},
		{"unknown tensor", func(f checkpoint.File) {
			f.Tensors["model/block9/fc0/weight"] = f.Tensors[firstKey(f, "model/", "/fc0/weight")]
		}, true, `tensor "model/block9/fc0/weight" is not part of this model`},
		{"tensor missing", func(f checkpoint.File) {
			delete(f.Tensors, firstKey(f, "applied/", "/fc0/weight"))
		}, true, "is missing"},
		{"config field missing", func(f checkpoint.File) {
			f.Metadata["config"] = strings.Replace(f.Metadata["config"], `"terms":3,`, "", 1)
		}, true, "field /terms is missing"},
		{"metadata key missing", func(f checkpoint.File) { delete(f.Metadata, "rng") }, true, `metadata key "rng" not found`},
		{"unknown metadata key", func(f checkpoint.File) { f.Metadata["sigmas"] = "[]" }, true, `unknown metadata key "sigmas"`},
		{"v1.1 checkpoint", func(f checkpoint.File) { f.Metadata["format"] = `"iresnet-go/density/v1.1"` }, true, "written by an earlier version of this library"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := savedToy(t)
			if tr, err := Load(path); err != nil {
				t.Fatalf("unedited checkpoint: %v", err)
			} else {
				tr.Close()
			}
			f, err := checkpoint.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			c.edit(f)
			if c.reseal {
				if err := checkpoint.Seal(f); err != nil {
					t.Fatal(err)
				}
			}
			if err := checkpoint.Save(path, f); err != nil {
				t.Fatal(err)
			}
			tr, err := Load(path)
			if err == nil {
				tr.Close()
				t.Fatalf("loaded without an error, want %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q, want it to mention %q", err, c.want)
			}
		})
	}
}

func TestLoadRefusesDevices(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero")
	}
	if _, err := Load("/dev/zero"); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("Load(/dev/zero) = %v", err)
	}
}

func nanF() float64 {
	zero := 0.0
	return zero / zero
}

// firstKey returns the alphabetically first tensor name with the prefix
// and suffix.
func firstKey(f checkpoint.File, prefix, suffix string) string {
	best := ""
	for k := range f.Tensors {
		if strings.HasPrefix(k, prefix) && strings.HasSuffix(k, suffix) && (best == "" || k < best) {
			best = k
		}
	}
	return best
}
