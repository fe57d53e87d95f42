package checkpoint

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gorgonia.org/tensor"
)

// newRNG returns the seeded generator all tests use.
func newRNG() *rand.Rand { return rand.New(rand.NewPCG(1, 1)) }

// randDense returns a float32 or float64 tensor of the given shape (a scalar
// for an empty shape) filled with normal values. If special is set, the
// first values are ones whose bits a careless conversion would change:
// -0, ±Inf, a NaN with a payload and the smallest subnormal.
func randDense(rng *rand.Rand, dt tensor.Dtype, special bool, shape ...int) *tensor.Dense {
	n := 1
	for _, d := range shape {
		n *= d
	}
	switch dt {
	case tensor.Float32:
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		if special {
			sp := []float32{float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)),
				math.Float32frombits(0x7fc01234), math.Float32frombits(1)}
			copy(v, sp)
		}
		if len(shape) == 0 {
			return tensor.New(tensor.FromScalar(v[0]))
		}
		return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(v))
	case tensor.Float64:
		v := make([]float64, n)
		for i := range v {
			v[i] = rng.NormFloat64()
		}
		if special {
			sp := []float64{math.Copysign(0, -1), math.Inf(1), math.Inf(-1),
				math.Float64frombits(0x7ff8000000abcdef), math.Float64frombits(1)}
			copy(v, sp)
		}
		if len(shape) == 0 {
			return tensor.New(tensor.FromScalar(v[0]))
		}
		return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(v))
	}
	panic("randDense: unsupported dtype")
}

// sampleFile returns a file with float32 and float64 tensors of several
// shapes and some metadata.
func sampleFile(rng *rand.Rand) File {
	return File{
		Tensors: map[string]*tensor.Dense{
			"block0.scale":  randDense(rng, tensor.Float32, false, 1),
			"block0.bias":   randDense(rng, tensor.Float32, true, 7),
			"block0.conv.w": randDense(rng, tensor.Float32, false, 2, 3, 4, 5),
			"opt.step":      randDense(rng, tensor.Float64, false, 1),
			"opt.m":         randDense(rng, tensor.Float64, true, 6),
			"opt.v":         randDense(rng, tensor.Float64, false, 3, 1, 2, 2),
		},
		Metadata: map[string]string{
			"format": "iresnet/1",
			"step":   "42",
			"note":   "héllo <&> \"quoted\"\n",
		},
	}
}

// bitsOf returns the IEEE bit patterns of t's values in row-major order.
func bitsOf(t *tensor.Dense) []uint64 {
	switch d := t.Data().(type) {
	case float32:
		return []uint64{uint64(math.Float32bits(d))}
	case float64:
		return []uint64{math.Float64bits(d)}
	case []float32:
		out := make([]uint64, len(d))
		for i, x := range d {
			out[i] = uint64(math.Float32bits(x))
		}
		return out
	case []float64:
		out := make([]uint64, len(d))
		for i, x := range d {
			out[i] = math.Float64bits(x)
		}
		return out
	}
	panic("bitsOf: unexpected data")
}

// checkSameFile fails t unless got has exactly want's tensors (dtype, shape,
// bit-identical values) and metadata.
func checkSameFile(t *testing.T, want, got File) {
	t.Helper()
	if len(got.Tensors) != len(want.Tensors) {
		t.Errorf("got %d tensors %v, want %d %v", len(got.Tensors), sortedKeys(got.Tensors), len(want.Tensors), sortedKeys(want.Tensors))
	}
	for name, w := range want.Tensors {
		g, ok := got.Tensors[name]
		if !ok {
			t.Errorf("tensor %q missing", name)
			continue
		}
		if g.Dtype() != w.Dtype() {
			t.Errorf("tensor %q: dtype %v, want %v", name, g.Dtype(), w.Dtype())
		}
		if !g.Shape().Eq(w.Shape()) || len(g.Shape()) != len(w.Shape()) {
			t.Errorf("tensor %q: shape %v, want %v", name, g.Shape(), w.Shape())
		}
		if gb, wb := bitsOf(g), bitsOf(w); !slices.Equal(gb, wb) {
			t.Errorf("tensor %q: values differ:\n got %x\nwant %x", name, gb, wb)
		}
	}
	if got.Metadata == nil {
		t.Errorf("metadata is nil")
	}
	if len(got.Metadata) != len(want.Metadata) {
		t.Errorf("metadata %q, want %q", got.Metadata, want.Metadata)
	}
	for k, v := range want.Metadata {
		if g, ok := got.Metadata[k]; !ok || g != v {
			t.Errorf("metadata[%q] = %q (present %v), want %q", k, g, ok, v)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// encodeBytes encodes f or fails t.
func encodeBytes(t testing.TB, f File) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Encode(&buf, f); err != nil {
		t.Fatalf("Encode: %v", err)
	}
	return buf.Bytes()
}

// rawFile assembles a safetensors file from a header and a data section,
// padding the header with spaces to a multiple of 8 bytes if pad is set.
func rawFile(header string, data []byte, pad bool) []byte {
	for pad && len(header)%8 != 0 {
		header += " "
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	out = append(out, header...)
	return append(out, data...)
}

// withLength returns a file that starts with the header length n followed
// by rest.
func withLength(n uint64, rest string) []byte {
	return append(binary.LittleEndian.AppendUint64(nil, n), rest...)
}

// corruptCase is a malformed file and words its decode error must contain.
type corruptCase struct {
	name  string
	data  []byte
	words []string
}

// corruptCases are malformed inputs for TestDecodeCorrupt and the fuzz seed
// corpus.
func corruptCases() []corruptCase {
	f32 := func(n int) []byte { return make([]byte, 4*n) }
	return []corruptCase{
		{"empty", nil, []string{"truncated", "0 bytes"}},
		{"short length field", []byte{1, 0, 0}, []string{"truncated", "3 bytes"}},
		{"header length beyond file", withLength(100, "{}"), []string{"header length 100 exceeds the 2 bytes"}},
		{"header length max uint64", withLength(math.MaxUint64, "{}      "), []string{"header length 18446744073709551615 exceeds"}},
		{"header length 2^63", withLength(1<<63, "{}"), []string{"header length 9223372036854775808 exceeds"}},
		{"bad JSON", rawFile(`{"a":`, nil, true), []string{"invalid header"}},
		{"JSON array", rawFile(`[1,2]`, nil, true), []string{"invalid header"}},
		{"trailing garbage in header", rawFile(`{} x`, nil, false), []string{"invalid header"}},
		{"tensor not an object", rawFile(`{"a":1}`, nil, true), []string{"invalid header"}},
		{"tensor null", rawFile(`{"a":null}`, nil, true), []string{"invalid header"}},
		{"offsets beyond data", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, f32(1), true),
			[]string{"data offsets out of range", "declares 8 bytes", "4 present"}},
		{"offset end max uint64", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,18446744073709551615]}}`, f32(2), true),
			[]string{"data offsets out of range"}},
		{"offset beyond uint64", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,18446744073709551616]}}`, f32(2), true),
			[]string{"invalid header", "data_offsets"}},
		{"negative offset", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}}`, f32(2), true),
			[]string{"invalid header", "data_offsets"}},
		{"fractional offset", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8.0]}}`, f32(2), true),
			[]string{"invalid header", "data_offsets"}},
		{"one offset", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[8]}}`, f32(2), true),
			[]string{"invalid header", "data_offsets"}},
		{"offsets reversed", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}`, f32(2), true),
			[]string{"invalid header", `"a"`}},
		{"negative dimension", rawFile(`{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`, f32(2), true),
			[]string{"invalid header", "shape"}},
		{"overflowing shape", rawFile(`{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}}`, nil, true),
			[]string{"invalid header", "overflow"}},
		{"overflowing byte size", rawFile(`{"a":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,0]}}`, nil, true),
			[]string{"invalid header", "overflow"}},
		{"shape disagrees with offsets", rawFile(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, f32(2), true),
			[]string{"invalid header", "mismatch"}},
		{"gap between tensors", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`, f32(3), true),
			[]string{"invalid header", `"b"`}},
		{"overlapping tensors", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, f32(3), true),
			[]string{"invalid header", `"b"`}},
		{"trailing data", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, f32(2), true),
			[]string{"invalid header", "incomplete"}},
		{"unsupported dtype I32", rawFile(`{"w":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}}`, f32(2), true),
			[]string{`tensor "w"`, "unsupported dtype I32"}},
		{"unsupported dtype F16", rawFile(`{"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}`, f32(1), true),
			[]string{`tensor "w"`, "unsupported dtype F16"}},
		{"unknown dtype", rawFile(`{"w":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}}`, f32(1), true),
			[]string{"invalid header", `tensor "w"`, "F8_E4M3"}},
		{"dtype not a string", rawFile(`{"w":{"dtype":9,"shape":[1],"data_offsets":[0,4]}}`, f32(1), true),
			[]string{"invalid header", `tensor "w"`, "dtype"}},
		{"missing data_offsets", rawFile(`{"w":{"dtype":"F32","shape":[1],"offsets":[0,4]}}`, f32(1), true),
			[]string{"invalid header", `tensor "w"`, "data_offsets"}},
		{"extra key", rawFile(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}}`, f32(1), true),
			[]string{"invalid header", `tensor "w"`}},
		{"zero-size tensor", rawFile(`{"e":{"dtype":"F32","shape":[3,0],"data_offsets":[0,0]}}`, nil, true),
			[]string{`tensor "e"`, "no elements"}},
		{"metadata value not a string", rawFile(`{"__metadata__":{"step":42}}`, nil, true),
			[]string{"invalid header", "step"}},
	}
}
