package trainer

import (
	"bytes"
	"math"
	"path/filepath"
	"strings"
	"testing"
)

// TestOverflowNeverReachesACheckpoint: a second moment at +Inf, what a
// finite gradient too large to square in float32 leaves behind, stops the
// step with an error naming the tensor and the remedy (before, the weight
// silently stopped moving and every later checkpoint failed to load), and
// Save refuses a non-finite tensor instead of replacing the last good
// checkpoint with a file Load would reject.
func TestOverflowNeverReachesACheckpoint(t *testing.T) {
	tr := newTrainer(t, tinyConfig(5))
	steps(t, tr, 2)
	path := filepath.Join(t.TempDir(), "ckpt.safetensors")
	if err := tr.Save(path); err != nil {
		t.Fatal(err)
	}
	good := fileBytes(t, path)
	name := tr.params[0].Name
	tr.opt.v[0].Data().([]float32)[1] = float32(math.Inf(1))
	_, err := tr.Step()
	if err == nil || !strings.Contains(err.Error(), `second moment of "`+name+`" overflowed float32 (+Inf at 1)`) || !strings.Contains(err.Error(), "-clip") {
		t.Errorf("step with an infinite second moment: %v", err)
	}
	err = tr.Save(path)
	if err == nil || !strings.Contains(err.Error(), "not saving step 2") || !strings.Contains(err.Error(), prefixV+name) {
		t.Errorf("Save with an infinite second moment: %v", err)
	}
	if !bytes.Equal(fileBytes(t, path), good) {
		t.Error("the last good checkpoint was changed")
	}
	if _, err := Load(path); err != nil {
		t.Errorf("the last good checkpoint does not load: %v", err)
	}
}
