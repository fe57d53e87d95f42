package checkpoint

import (
	"bytes"
	"strings"
	"testing"

	"gorgonia.org/tensor"
)

// FuzzDecode checks that Decode never panics, that its errors carry the
// package prefix, and that whatever it accepts re-encodes to a file that
// decodes to the same content. Without -fuzz it runs the seed corpus:
// valid files, their truncations and the corrupt cases.
func FuzzDecode(f *testing.F) {
	rng := newRNG()
	valid := [][]byte{
		encodeBytes(f, File{}),
		encodeBytes(f, sampleFile(rng)),
		encodeBytes(f, File{Tensors: map[string]*tensor.Dense{
			"s": randDense(rng, tensor.Float64, false),
			"v": randDense(rng, tensor.Float32, true, 5),
		}}),
		rawFile(`{"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}`, make([]byte, 4), false),
	}
	for _, v := range valid {
		f.Add(v)
		for _, n := range []int{0, 7, 8, 9, len(v) / 2, len(v) - 1} {
			f.Add(v[:n])
		}
	}
	for _, c := range corruptCases() {
		f.Add(c.data)
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := Decode(data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "checkpoint: decode: ") {
				t.Fatalf("error %q lacks the prefix", err)
			}
			return
		}
		var buf bytes.Buffer
		if err := Encode(&buf, got); err != nil {
			t.Fatalf("Encode of a decoded file: %v", err)
		}
		again, err := Decode(buf.Bytes())
		if err != nil {
			t.Fatalf("Decode of a re-encoded file: %v", err)
		}
		checkSameFile(t, got, again)
	})
}
