package checkpoint

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"math"
	"slices"
	"strings"

	"github.com/pkg/errors"
	"gorgonia.org/tensor"
)

// ChecksumKey is the metadata key under which [Seal] stores the checksum.
const ChecksumKey = "checksum"

// checksumPrefix names the hash in the stored value.
const checksumPrefix = "sha256:"

// ErrNoChecksum is returned by [Verify] for a file that was never sealed.
var ErrNoChecksum = errors.New("checkpoint: the file has no checksum")

// Seal stores in f.Metadata[ChecksumKey] a SHA-256 digest of f's content:
// every tensor's name, dtype, shape and values, and every other metadata
// entry, in sorted order, so the digest does not depend on the layout of
// the encoded file. [Load] and [Decode] verify it whenever it is present:
// a sealed file whose bytes change after it was written — a bit flip in a
// tensor, a renamed or edited metadata key — fails to load with an error
// instead of loading as a different model.
func Seal(f File) error {
	if f.Metadata == nil {
		return errors.New("checkpoint: seal: nil metadata map")
	}
	sum, err := digest(f)
	if err != nil {
		return errors.Wrap(err, "checkpoint: seal")
	}
	f.Metadata[ChecksumKey] = sum
	return nil
}

// Verify checks f against its stored checksum. It returns ErrNoChecksum
// when there is none, and an error saying the file was changed when the
// content does not match.
func Verify(f File) error {
	stored, ok := f.Metadata[ChecksumKey]
	if !ok {
		return ErrNoChecksum
	}
	sum, err := digest(f)
	if err != nil {
		return errors.Wrap(err, "checkpoint: verify")
	}
	if sum != stored {
		return errors.Errorf("checkpoint: checksum mismatch: the file was changed or corrupted after it was written (stored %s, content hashes to %s)", abbrev(stored), abbrev(sum))
	}
	return nil
}

func abbrev(s string) string {
	if len(s) > len(checksumPrefix)+16 {
		return s[:len(checksumPrefix)+16] + "…"
	}
	return s
}

// digest hashes f's content, leaving out the checksum entry itself. Each
// field is length-prefixed so that no two different files hash the same
// byte stream.
func digest(f File) (string, error) {
	h := sha256.New()
	names := make([]string, 0, len(f.Tensors))
	for name := range f.Tensors {
		names = append(names, name)
	}
	slices.Sort(names)
	writeUint(h, uint64(len(names)))
	for _, name := range names {
		t := f.Tensors[name]
		if t == nil {
			return "", errors.Errorf("tensor %q is nil", name)
		}
		writeString(h, name)
		writeString(h, t.Dtype().String())
		shape := t.Shape()
		writeUint(h, uint64(len(shape)))
		for _, d := range shape {
			writeUint(h, uint64(d))
		}
		if err := writeValues(h, name, t); err != nil {
			return "", err
		}
	}
	keys := make([]string, 0, len(f.Metadata))
	for k := range f.Metadata {
		if k != ChecksumKey {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	writeUint(h, uint64(len(keys)))
	for _, k := range keys {
		writeString(h, k)
		writeString(h, f.Metadata[k])
	}
	return checksumPrefix + hex.EncodeToString(h.Sum(nil)), nil
}

func writeUint(h hash.Hash, v uint64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	h.Write(b[:])
}

func writeString(h hash.Hash, s string) {
	writeUint(h, uint64(len(s)))
	h.Write([]byte(s))
}

// writeValues hashes the tensor's values as little-endian IEEE bits, a
// bounded chunk at a time.
func writeValues(h hash.Hash, name string, t *tensor.Dense) error {
	var buf [4096]byte
	switch d := t.Data().(type) {
	case []float32:
		for len(d) > 0 {
			n := min(len(d), len(buf)/4)
			for i, v := range d[:n] {
				binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
			}
			h.Write(buf[:4*n])
			d = d[n:]
		}
	case []float64:
		for len(d) > 0 {
			n := min(len(d), len(buf)/8)
			for i, v := range d[:n] {
				binary.LittleEndian.PutUint64(buf[8*i:], math.Float64bits(v))
			}
			h.Write(buf[:8*n])
			d = d[n:]
		}
	case float32:
		writeUint(h, uint64(math.Float32bits(d)))
	case float64:
		writeUint(h, math.Float64bits(d))
	default:
		return errors.Errorf("tensor %q: unsupported data %T", name, d)
	}
	return nil
}

// verifyIfSealed is Verify for Decode and Load: a file without a checksum
// passes (the format does not require one; callers that do use Verify).
func verifyIfSealed(f File) error {
	if err := Verify(f); err != nil && !errors.Is(err, ErrNoChecksum) {
		return errors.New(strings.TrimPrefix(err.Error(), "checkpoint: "))
	}
	return nil
}
