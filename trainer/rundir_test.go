package trainer

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// trainedDir runs the tiny config to the end in a new folder.
func trainedDir(t *testing.T, seed uint64) (string, *Trainer) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "run")
	tr := newTrainer(t, tinyConfig(seed))
	if _, err := tr.Run(context.Background(), RunOptions{OutDir: dir}); err != nil {
		t.Fatal(err)
	}
	return dir, tr
}

func fileBytes(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestFreshRunRefusesAnotherRunsFolder(t *testing.T) {
	dir, _ := trainedDir(t, 51)
	ckpt, metrics := fileBytes(t, filepath.Join(dir, CheckpointFile)), fileBytes(t, filepath.Join(dir, MetricsFile))
	_, err := newTrainer(t, tinyConfig(52)).Run(context.Background(), RunOptions{OutDir: dir})
	var existing *ExistingRunError
	if !errors.As(err, &existing) || existing.Step != tinyConfig(0).Steps {
		t.Fatalf("fresh run into a run folder: %v, want an *ExistingRunError at step %d", err, tinyConfig(0).Steps)
	}
	if string(fileBytes(t, filepath.Join(dir, CheckpointFile))) != string(ckpt) || string(fileBytes(t, filepath.Join(dir, MetricsFile))) != string(metrics) {
		t.Fatal("the refused run changed the folder")
	}
	// Metrics alone (a run killed before its first checkpoint) also count.
	if err := os.Remove(filepath.Join(dir, CheckpointFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := newTrainer(t, tinyConfig(52)).Run(context.Background(), RunOptions{OutDir: dir}); !errors.As(err, &existing) {
		t.Fatalf("fresh run into a folder with metrics: %v", err)
	}
	if _, err := newTrainer(t, tinyConfig(52)).Run(context.Background(), RunOptions{OutDir: dir, Overwrite: true}); err != nil {
		t.Fatalf("with Overwrite: %v", err)
	}
}

// TestResumeFromOlderCheckpointKeepsTheNewer: resuming from a copy of an
// earlier checkpoint continues that file and its own metrics, and leaves
// the newer run's checkpoint and metrics as they were.
func TestResumeFromOlderCheckpointKeepsTheNewer(t *testing.T) {
	dir, tr := trainedDir(t, 53)
	prev := newRunFiles(dir, "").previous()
	if step := checkpointStep(prev); step <= 0 || step >= tr.Steps() {
		t.Fatalf("previous checkpoint at step %d, want one before the latest (%d)", step, tr.Steps())
	}
	old := filepath.Join(dir, "old.safetensors")
	if err := os.WriteFile(old, fileBytes(t, prev), 0o644); err != nil {
		t.Fatal(err)
	}
	ckpt, metrics := fileBytes(t, filepath.Join(dir, CheckpointFile)), fileBytes(t, filepath.Join(dir, MetricsFile))
	resumed, err := Load(old)
	if err != nil {
		t.Fatal(err)
	}
	defer resumed.Close()
	// Pointed at the newer checkpoint, a resume from the older one is refused.
	var existing *ExistingRunError
	if _, err := resumed.Run(context.Background(), RunOptions{OutDir: dir}); !errors.As(err, &existing) {
		t.Fatalf("resume from an older checkpoint onto the newer one: %v", err)
	}
	if _, err := resumed.Run(context.Background(), RunOptions{OutDir: dir, Checkpoint: "old.safetensors"}); err != nil {
		t.Fatal(err)
	}
	if checkpointStep(old) != tr.Steps() {
		t.Errorf("old.safetensors at step %d, want %d", checkpointStep(old), tr.Steps())
	}
	if string(fileBytes(t, filepath.Join(dir, CheckpointFile))) != string(ckpt) || string(fileBytes(t, filepath.Join(dir, MetricsFile))) != string(metrics) {
		t.Error("the newer run's checkpoint or metrics changed")
	}
	if _, err := os.Stat(filepath.Join(dir, "old."+MetricsFile)); err != nil {
		t.Errorf("the resumed run's metrics: %v", err)
	}
}

func TestTwoRunsCannotShareAFolder(t *testing.T) {
	dir := t.TempDir()
	unlock, err := lockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = newTrainer(t, tinyConfig(54)).Run(context.Background(), RunOptions{OutDir: dir})
	if err == nil || !strings.Contains(err.Error(), "another run") {
		t.Errorf("run into a locked folder: %v", err)
	}
	unlock()
	if _, err := newTrainer(t, tinyConfig(54)).Run(context.Background(), RunOptions{OutDir: dir}); err != nil {
		t.Errorf("after the lock was released: %v", err)
	}
}

func TestMetricsAreNotWrittenThroughLinks(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "elsewhere.jsonl")
	if err := os.WriteFile(outside, []byte("keep\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, MetricsFile)); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
	_, err := newTrainer(t, tinyConfig(55)).Run(context.Background(), RunOptions{OutDir: dir, Overwrite: true})
	if err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("metrics through a link: %v", err)
	}
	if string(fileBytes(t, outside)) != "keep\n" {
		t.Error("the link's target was written")
	}
}

func TestStaleTemporaryFilesAreRemoved(t *testing.T) {
	dir := t.TempDir()
	stale := []string{".checkpoint.safetensors-123.tmp", ".metrics.jsonl-9.tmp", ".checkpoint.prev.safetensors-7.tmp"}
	for _, n := range stale {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	other := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(other, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := newTrainer(t, tinyConfig(56)).Run(context.Background(), RunOptions{OutDir: dir}); err != nil {
		t.Fatal(err)
	}
	for _, n := range stale {
		if _, err := os.Stat(filepath.Join(dir, n)); !os.IsNotExist(err) {
			t.Errorf("%s still there (%v)", n, err)
		}
	}
	if string(fileBytes(t, other)) != "mine" {
		t.Error("a file that is not the run's was touched")
	}
}

// TestFailureNamesCheckpointsThatExist poisons a weight after a finished
// run and continues it: the error names the latest and the previous
// checkpoint with their steps, both of which load.
func TestFailureNamesCheckpointsThatExist(t *testing.T) {
	dir, tr := trainedDir(t, 57)
	if err := tr.SetSteps(tr.Steps() + 4); err != nil {
		t.Fatal(err)
	}
	tr.params[0].Value.Data().([]float32)[0] = float32(math.Inf(1))
	_, err := tr.Run(context.Background(), RunOptions{OutDir: dir})
	if err == nil {
		t.Fatal("a run with an infinite weight succeeded")
	}
	files := newRunFiles(dir, "")
	for _, want := range []string{"latest checkpoint is " + files.checkpoint, "previous checkpoint is " + files.previous()} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	for _, p := range []string{files.checkpoint, files.previous()} {
		if l, err := Load(p); err != nil {
			t.Errorf("%s: %v", p, err)
		} else {
			l.Close()
		}
	}
	// Without an output folder nothing is named.
	if got := describeCheckpoints(newRunFiles(t.TempDir(), "")); got != "no checkpoint was written" {
		t.Errorf("empty folder: %q", got)
	}
}

// TestPreviousKeptWithoutHardLinks: on a file system without hard links
// the checkpoint before the latest is kept as a copy (it was silently not
// kept at all), and it loads at its own step.
func TestPreviousKeptWithoutHardLinks(t *testing.T) {
	linkFile = func(string, string) error { return &os.LinkError{Op: "link", Err: errors.ErrUnsupported} }
	t.Cleanup(func() { linkFile = os.Link })
	dir, _ := trainedDir(t, 57) // saves at steps 4, 8 and 12
	prev := filepath.Join(dir, strings.TrimSuffix(CheckpointFile, ".safetensors")+PreviousSuffix+".safetensors")
	tr, err := Load(prev)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if tr.Steps() != 8 {
		t.Errorf("previous checkpoint at step %d, want 8", tr.Steps())
	}
	if _, err := os.Stat(prev + ".link"); !os.IsNotExist(err) {
		t.Errorf("temporary copy left behind: %v", err)
	}
}
