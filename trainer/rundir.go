package trainer

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/iresnet/iresnet/trainer/checkpoint"
	"github.com/pkg/errors"
)

// Files Run keeps next to the checkpoint.
const (
	// PreviousSuffix marks the checkpoint saved before the latest one
	// ("checkpoint.prev.safetensors"): a save never destroys the last
	// checkpoint before the new one is in place, and the one before that
	// stays too, in case the latest weights turn out to be bad.
	PreviousSuffix = ".prev"
	// LockFile is held by a running Run, so two runs cannot write into one
	// folder.
	LockFile = ".lock"
)

// ExistingRunError reports a fresh run (or one resumed from an older
// checkpoint) pointed at files that belong to another run, which Run
// refuses to overwrite unless RunOptions.Overwrite is set.
type ExistingRunError struct {
	Path string // the checkpoint or metrics file in the way
	Step int    // the step of the checkpoint there, or -1 if it cannot be read
}

func (e *ExistingRunError) Error() string {
	at := ""
	if e.Step >= 0 {
		at = fmt.Sprintf(" (step %d)", e.Step)
	}
	return fmt.Sprintf("trainer: %s already holds another run's work%s; it is not overwritten", e.Path, at)
}

// runFiles names the files of one run in its folder.
type runFiles struct {
	dir, checkpoint, metrics string
}

// newRunFiles returns the files of a run whose checkpoint is called name
// (CheckpointFile by default) in dir. A checkpoint with another name keeps
// its metrics in "<name without .safetensors>.metrics.jsonl", so that
// resuming from an older checkpoint never truncates the metrics of the
// newer run in the same folder.
func newRunFiles(dir, name string) runFiles {
	if name == "" {
		name = CheckpointFile
	}
	metrics := MetricsFile
	if name != CheckpointFile {
		metrics = strings.TrimSuffix(name, ".safetensors") + "." + MetricsFile
	}
	return runFiles{dir: dir, checkpoint: filepath.Join(dir, name), metrics: filepath.Join(dir, metrics)}
}

// previous returns the path of the checkpoint saved before the latest.
func (f runFiles) previous() string {
	ext := filepath.Ext(f.checkpoint)
	return strings.TrimSuffix(f.checkpoint, ext) + PreviousSuffix + ext
}

// checkOwnership refuses to let a run at step step overwrite a checkpoint
// or metrics that are not its own past: for a fresh run (step 0) any
// existing checkpoint or metrics; for a resumed one a checkpoint that is
// further along than the run.
func (f runFiles) checkOwnership(step int) error {
	ckptStep := -1
	if _, err := os.Lstat(f.checkpoint); err == nil {
		ckptStep = checkpointStep(f.checkpoint)
		if step == 0 || ckptStep < 0 || ckptStep > step {
			return &ExistingRunError{Path: f.checkpoint, Step: ckptStep}
		}
	}
	if step == 0 {
		if fi, err := os.Lstat(f.metrics); err == nil && fi.Size() > 0 {
			return &ExistingRunError{Path: f.metrics, Step: -1}
		}
	}
	return nil
}

// checkpointStep reads the step of the checkpoint at path, or -1.
func checkpointStep(path string) int {
	f, err := checkpoint.Load(path)
	if err != nil {
		return -1
	}
	var step int
	if checkpoint.GetJSON(f.Metadata, "step", &step) != nil {
		return -1
	}
	return step
}

// removeStaleTemps deletes the temporary files of saves that were killed
// before they could rename them into place (".<name>-*.tmp", see
// checkpoint.Save). It runs while the folder's lock is held, so no save of
// another run can be under way.
func (f runFiles) removeStaleTemps() error {
	for _, name := range []string{f.checkpoint, f.previous(), f.metrics} {
		matches, err := filepath.Glob(filepath.Join(f.dir, "."+filepath.Base(name)+"-*.tmp"))
		if err != nil {
			return errors.Wrap(err, "trainer: looking for stale temporary files")
		}
		for _, m := range matches {
			if err := os.Remove(m); err != nil {
				return errors.Wrapf(err, "trainer: removing the stale temporary file %s", m)
			}
		}
	}
	return nil
}

// saveRotating writes the checkpoint, keeping the one it replaces as the previous
// checkpoint: a hard link to the current file is made first, so that at
// every moment a complete latest checkpoint exists, and the old previous
// one is dropped only once its successor is linked.
func (t *Trainer) saveRotating(f runFiles) error {
	if _, err := os.Lstat(f.checkpoint); err == nil {
		if err := keepPrevious(f.checkpoint, f.previous()); err != nil {
			return errors.Wrap(err, "trainer: keeping the previous checkpoint")
		}
	}
	return t.Save(f.checkpoint)
}

// linkFile makes hard links for keepPrevious; tests replace it to stand
// for a file system without them.
var linkFile = os.Link

// keepPrevious makes prev the checkpoint now at cur: a hard link where the
// file system has them, else a synced copy, made under a temporary name
// and renamed, so that prev is complete at every moment.
func keepPrevious(cur, prev string) error {
	tmp := prev + ".link"
	_ = os.Remove(tmp)
	if err := linkFile(cur, tmp); err != nil {
		if err := copyFile(cur, tmp); err != nil {
			_ = os.Remove(tmp)
			return err
		}
	}
	if err := os.Rename(tmp, prev); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}

// copyFile copies src to the new file dst and syncs it.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// describeCheckpoints says which checkpoints exist after a failure, for the
// error message: only files that are really there are named.
func describeCheckpoints(f runFiles) string {
	var parts []string
	for _, c := range []struct{ what, path string }{{"latest", f.checkpoint}, {"previous", f.previous()}} {
		if step := checkpointStep(c.path); step >= 0 {
			parts = append(parts, fmt.Sprintf("the %s checkpoint is %s (step %d)", c.what, c.path, step))
		}
	}
	if len(parts) == 0 {
		return "no checkpoint was written"
	}
	return strings.Join(parts, "; ")
}
