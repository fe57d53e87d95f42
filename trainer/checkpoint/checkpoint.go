package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/nlpodyssey/safetensors"
	"github.com/pkg/errors"
	"gorgonia.org/tensor"
)

// File is the content of one safetensors file: named tensors and
// string-valued metadata.
type File struct {
	// Tensors maps names to tensors of dtype Float32 or Float64.
	Tensors map[string]*tensor.Dense
	// Metadata is the file's "__metadata__" map. Decode and Load always
	// return a non-nil map, empty when the file has no metadata.
	Metadata map[string]string
}

// Encode writes f to w in the safetensors format. The output is
// deterministic: the same tensors and metadata give the same bytes. Tensor
// data is converted to little-endian bytes one tensor at a time, so the
// memory needed beyond f is that of its largest tensor.
func Encode(w io.Writer, f File) error {
	return errors.Wrap(encode(w, f), "checkpoint: encode")
}

// Decode parses a complete safetensors file held in data. It validates the
// header and the data layout and returns an error, never a panic, on
// malformed input. The returned tensors do not share memory with data.
//
// A file sealed with [Seal] is verified against its checksum.
func Decode(data []byte) (File, error) {
	f, err := decode(data)
	if err == nil {
		err = verifyIfSealed(f)
	}
	if err != nil {
		return File{}, errors.Wrap(err, "checkpoint: decode")
	}
	return f, nil
}

// Save writes f to path atomically. The data goes to a temporary file
// ".<name>-*.tmp" in the same directory, which is synced, closed and renamed
// over path; then the directory is synced so that the rename is durable. If
// anything fails before the rename, the temporary file is removed and an
// existing file at path is left untouched. A new file gets mode 0644; a
// replaced file keeps its mode.
func Save(path string, f File) error {
	return save(path, f, func(w io.Writer) io.Writer { return w })
}

// save is Save with a hook that wraps the temporary file's writer, so that
// tests can make the write fail part way through.
func save(path string, f File, wrap func(io.Writer) io.Writer) (err error) {
	defer func() { err = errors.Wrapf(err, "checkpoint: save %s", path) }()

	mode := fs.FileMode(0o644)
	if fi, statErr := os.Stat(path); statErr == nil {
		if !fi.Mode().IsRegular() {
			return errors.Errorf("not a regular file (mode %v)", fi.Mode())
		}
		mode = fi.Mode().Perm()
	}

	dir, name := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+name+"-*.tmp")
	if err != nil {
		return errors.Wrap(err, "create temporary file")
	}
	tmpName := tmp.Name()
	closed := false
	defer func() {
		if err != nil {
			if !closed {
				_ = tmp.Close()
			}
			_ = os.Remove(tmpName)
		}
	}()

	if err := encode(wrap(tmp), f); err != nil {
		return errors.Wrapf(err, "write %s", tmpName)
	}
	if err := tmp.Chmod(mode); err != nil {
		return errors.Wrapf(err, "chmod %s", tmpName)
	}
	if err := tmp.Sync(); err != nil {
		return errors.Wrapf(err, "sync %s", tmpName)
	}
	closed = true
	if err := tmp.Close(); err != nil {
		return errors.Wrapf(err, "close %s", tmpName)
	}
	if err := os.Rename(tmpName, path); err != nil {
		return errors.Wrap(err, "rename temporary file")
	}
	// From here on the new file is in place; a failure to sync the
	// directory only means that the rename may not survive a crash.
	if err := syncDir(dir); err != nil {
		return errors.Wrapf(err, "sync directory %s (the file was written)", dir)
	}
	return nil
}

// syncDir fsyncs a directory so that a rename in it is durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		_ = d.Close()
		return err
	}
	return d.Close()
}

// Load reads and validates the safetensors file at path. Errors name the
// file and the problem (not a regular file, truncated, header length
// beyond the file size, bad JSON, data offsets out of range, unsupported
// dtype, a checksum that does not match, ...). Only regular files are
// read: a FIFO, a device such as /dev/zero or a directory is an error, not
// a hang or an out-of-memory crash.
func Load(path string) (File, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return File{}, errors.Wrapf(err, "checkpoint: load %s", path)
	}
	if !fi.Mode().IsRegular() {
		return File{}, errors.Errorf("checkpoint: load %s: not a regular file (mode %v)", path, fi.Mode())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return File{}, errors.Wrapf(err, "checkpoint: load %s", path)
	}
	f, err := decode(data)
	if err == nil {
		err = verifyIfSealed(f)
	}
	if err != nil {
		return File{}, errors.Wrapf(err, "checkpoint: load %s", path)
	}
	return f, nil
}

// encode is Encode without the error prefix.
func encode(w io.Writer, f File) error {
	views := make(map[string]denseView, len(f.Tensors))
	for name, t := range f.Tensors {
		v, err := newDenseView(name, t)
		if err != nil {
			return err
		}
		views[name] = v
	}
	for k, v := range f.Metadata {
		if !validUTF8(k) {
			return errors.Errorf("metadata key %q is not valid UTF-8", k)
		}
		if !validUTF8(v) {
			return errors.Errorf("metadata value of key %q is not valid UTF-8", k)
		}
	}
	return safetensors.SerializeToWriter(views, f.Metadata, w)
}

// decode is Decode without the error prefix.
func decode(data []byte) (File, error) {
	if len(data) < 8 {
		return File{}, errors.Errorf("truncated: %d bytes, less than the 8-byte header length", len(data))
	}
	n := binary.LittleEndian.Uint64(data)
	if rest := uint64(len(data) - 8); n > rest {
		return File{}, errors.Errorf("header length %d exceeds the %d bytes after the length field (truncated or corrupt)", n, rest)
	}
	_, md, err := safetensors.ReadMetadata(data)
	if err != nil {
		if need, ok := declaredDataLen(data[8 : 8+n]); ok {
			if have := uint64(len(data)) - 8 - n; need > have {
				return File{}, errors.Errorf("data offsets out of range: header declares %d bytes of tensor data, %d present (truncated file?)", need, have)
			}
		}
		return File{}, errors.Wrap(err, "invalid header")
	}

	// ReadMetadata has checked that the offsets tile data[8+n:] exactly and
	// agree with each dtype and shape, so the slices below are in range.
	body := data[8+n:]
	infos := md.Tensors()
	f := File{
		Tensors:  make(map[string]*tensor.Dense, len(infos)),
		Metadata: make(map[string]string, len(md.Metadata())),
	}
	for k, v := range md.Metadata() {
		f.Metadata[k] = v
	}
	for name, info := range infos {
		t, err := toDense(name, info.DType, info.Shape, body[info.DataOffsets[0]:info.DataOffsets[1]])
		if err != nil {
			return File{}, err
		}
		f.Tensors[name] = t
	}
	return f, nil
}

// declaredDataLen returns the largest end offset in a header, for telling
// a truncated file apart from other corruption. ok is false if the header
// cannot be read that far.
func declaredDataLen(header []byte) (end uint64, ok bool) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(bytes.TrimRight(header, " "), &raw); err != nil {
		return 0, false
	}
	for name, msg := range raw {
		if name == "__metadata__" {
			continue
		}
		var info struct {
			DataOffsets []uint64 `json:"data_offsets"`
		}
		if err := json.Unmarshal(msg, &info); err != nil || len(info.DataOffsets) != 2 {
			return 0, false
		}
		end = max(end, info.DataOffsets[1])
	}
	return end, true
}
