package heatmap

import (
	"bufio"
	"image"
	"image/png"
	"os"
	"path/filepath"

	"github.com/pkg/errors"
)

// SavePNG encodes img as PNG and writes it to path atomically: the image is
// written to a temporary file in the same directory, flushed to disk with
// fsync, given mode 0644 and renamed over path, so readers see either the
// old file or the complete new one, never a partial image. On failure the
// temporary file is removed. Errors are prefixed "heatmap: save PATH".
func SavePNG(path string, img image.Image) (err error) {
	if img == nil {
		return errors.Errorf("heatmap: save %s: nil image", path)
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return errors.Wrapf(err, "heatmap: save %s", path)
	}
	tmp := f.Name()
	closed := false
	defer func() {
		if err != nil {
			if !closed {
				_ = f.Close()
			}
			_ = os.Remove(tmp)
		}
	}()
	w := bufio.NewWriter(f)
	if err = png.Encode(w, img); err != nil {
		return errors.Wrapf(err, "heatmap: save %s: encode", path)
	}
	if err = w.Flush(); err != nil {
		return errors.Wrapf(err, "heatmap: save %s: write", path)
	}
	if err = f.Chmod(0o644); err != nil {
		return errors.Wrapf(err, "heatmap: save %s: chmod", path)
	}
	if err = f.Sync(); err != nil {
		return errors.Wrapf(err, "heatmap: save %s: fsync", path)
	}
	closed = true
	if err = f.Close(); err != nil {
		return errors.Wrapf(err, "heatmap: save %s: close", path)
	}
	if err = os.Rename(tmp, path); err != nil {
		return errors.Wrapf(err, "heatmap: save %s: rename", path)
	}
	// Persist the rename itself. Best effort: not every platform can fsync
	// a directory, and the file is already complete at this point.
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
