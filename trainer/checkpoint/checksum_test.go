package checkpoint

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"gorgonia.org/tensor"
)

func sealedFile(t *testing.T) File {
	t.Helper()
	f := File{
		Tensors: map[string]*tensor.Dense{
			"w": tensor.New(tensor.WithShape(2, 3), tensor.WithBacking([]float32{1, -2, 3.5, 0.25, 5, -6})),
			"u": tensor.New(tensor.WithShape(2), tensor.WithBacking([]float64{0.6, 0.8})),
		},
		Metadata: map[string]string{"config": `{"act":"elu","blocks":2}`, "step": "7"},
	}
	if err := Seal(f); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestSealedFileDetectsEveryBitFlip flips each bit of a small sealed file
// in turn: every flip must fail to decode, decode to exactly the original
// content (a flip in header padding the parser ignores, say), or — when it
// hits the checksum's own key — leave a file without a checksum, which
// Verify reports to callers that require one.
func TestSealedFileDetectsEveryBitFlip(t *testing.T) {
	want := sealedFile(t)
	data := encodeBytes(t, want)
	if got, err := Decode(data); err != nil {
		t.Fatal(err)
	} else {
		checkSameFile(t, want, got)
	}
	loaded := 0
	for i := range data {
		for bit := 0; bit < 8; bit++ {
			c := bytes.Clone(data)
			c[i] ^= 1 << bit
			got, err := Decode(c)
			if err != nil {
				continue
			}
			loaded++
			if errors.Is(Verify(got), ErrNoChecksum) {
				continue
			}
			if !sameContent(want, got) {
				t.Fatalf("flipping bit %d of byte %d (%q) decoded a different file without an error", bit, i, data[i])
			}
		}
	}
	t.Logf("%d of %d single-bit flips decoded (to identical content)", loaded, 8*len(data))
}

func sameContent(a, b File) bool {
	if len(a.Tensors) != len(b.Tensors) || len(a.Metadata) != len(b.Metadata) {
		return false
	}
	for k, v := range a.Metadata {
		if b.Metadata[k] != v {
			return false
		}
	}
	for k, v := range a.Tensors {
		w, ok := b.Tensors[k]
		if !ok || !v.Shape().Eq(w.Shape()) || v.Dtype() != w.Dtype() {
			return false
		}
		if !slicesEqualBits(bitsOf(v), bitsOf(w)) {
			return false
		}
	}
	return true
}

func slicesEqualBits(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestVerify(t *testing.T) {
	f := sealedFile(t)
	if err := Verify(f); err != nil {
		t.Fatalf("fresh seal: %v", err)
	}
	f.Tensors["w"].Data().([]float32)[4] = 5.0000005
	if err := Verify(f); err == nil || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Errorf("changed tensor value: %v", err)
	}
	f = sealedFile(t)
	f.Metadata["step"] = "8"
	if err := Verify(f); err == nil {
		t.Error("changed metadata value verified")
	}
	f = sealedFile(t)
	f.Metadata["zonfig"] = f.Metadata["config"]
	delete(f.Metadata, "config")
	if err := Verify(f); err == nil {
		t.Error("renamed metadata key verified")
	}
	f = sealedFile(t)
	f.Tensors["v"] = f.Tensors["u"]
	delete(f.Tensors, "u")
	if err := Verify(f); err == nil {
		t.Error("renamed tensor verified")
	}
	f = sealedFile(t)
	delete(f.Metadata, ChecksumKey)
	if err := Verify(f); !errors.Is(err, ErrNoChecksum) {
		t.Errorf("unsealed file: %v, want ErrNoChecksum", err)
	}
	// An unsealed file still decodes: the format does not require a seal.
	if _, err := Decode(encodeBytes(t, f)); err != nil {
		t.Errorf("unsealed file: %v", err)
	}
}

func TestLoadRefusesNonRegularFiles(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory: %v", err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("cannot make a FIFO here: %v", err)
	}
	if _, err := Load(fifo); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("FIFO: %v", err)
	}
	if _, err := os.Stat("/dev/zero"); err == nil {
		if _, err := Load("/dev/zero"); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("/dev/zero: %v", err)
		}
	}
}

func TestGetJSONIsStrict(t *testing.T) {
	var v struct {
		Act    string `json:"act"`
		Blocks int    `json:"blocks"`
	}
	meta := map[string]string{"ok": `{"act":"elu","blocks":2}`, "flipped": `{"zct":"elu","blocks":2}`, "trailing": `{"act":"elu"} 3`}
	if err := GetJSON(meta, "ok", &v); err != nil || v.Act != "elu" || v.Blocks != 2 {
		t.Errorf("ok: %v %+v", err, v)
	}
	if err := GetJSON(meta, "flipped", &v); err == nil || !strings.Contains(err.Error(), "zct") {
		t.Errorf("unknown field: %v", err)
	}
	if err := GetJSON(meta, "trailing", &v); err == nil {
		t.Error("trailing data accepted")
	}
}
