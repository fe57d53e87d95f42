package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pkg/errors"
	"gorgonia.org/tensor"
)

func TestRoundTrip(t *testing.T) {
	rng := newRNG()
	tests := []struct {
		name string
		file File
	}{
		{"empty", File{}},
		{"metadata only", File{Metadata: map[string]string{"a": "1", "": "empty key"}}},
		{"float32 shapes", File{Tensors: map[string]*tensor.Dense{
			"scalar-like": randDense(rng, tensor.Float32, false, 1),
			"vector":      randDense(rng, tensor.Float32, true, 9),
			"matrix":      randDense(rng, tensor.Float32, false, 3, 4),
			"4d":          randDense(rng, tensor.Float32, false, 2, 3, 4, 5),
		}}},
		{"float64 shapes", File{Tensors: map[string]*tensor.Dense{
			"scalar-like": randDense(rng, tensor.Float64, false, 1),
			"vector":      randDense(rng, tensor.Float64, true, 9),
			"4d":          randDense(rng, tensor.Float64, false, 1, 2, 1, 3),
		}}},
		{"true scalars", File{Tensors: map[string]*tensor.Dense{
			"s32": randDense(rng, tensor.Float32, false),
			"s64": randDense(rng, tensor.Float64, false),
		}}},
		{"mixed with metadata", sampleFile(rng)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := encodeBytes(t, tc.file)
			got, err := Decode(data)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			checkSameFile(t, tc.file, got)

			// Decoding and re-encoding gives the same bytes.
			if again := encodeBytes(t, got); !bytes.Equal(again, data) {
				t.Errorf("re-encoding the decoded file changed the bytes")
			}

			path := filepath.Join(t.TempDir(), "ckpt.safetensors")
			if err := Save(path, tc.file); err != nil {
				t.Fatalf("Save: %v", err)
			}
			onDisk, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(onDisk, data) {
				t.Errorf("Save wrote different bytes from Encode")
			}
			loaded, err := Load(path)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			checkSameFile(t, tc.file, loaded)
		})
	}
}

func TestEncodeDeterministic(t *testing.T) {
	f := sampleFile(newRNG())
	want := encodeBytes(t, f)
	for i := range 20 {
		// Rebuild the maps in a different insertion order each time; Go's
		// map iteration order varies between runs regardless.
		g := File{Tensors: map[string]*tensor.Dense{}, Metadata: map[string]string{}}
		names := sortedKeys(f.Tensors)
		for j := range names {
			n := names[(i+j)%len(names)]
			g.Tensors[n] = f.Tensors[n]
		}
		keys := sortedKeys(f.Metadata)
		for j := range keys {
			k := keys[(i+j)%len(keys)]
			g.Metadata[k] = f.Metadata[k]
		}
		if got := encodeBytes(t, g); !bytes.Equal(got, want) {
			t.Fatalf("encoding %d differs from the first", i)
		}
	}
}

// TestStandardLayout parses the written file by hand, following the
// safetensors specification, without the library.
func TestStandardLayout(t *testing.T) {
	f := sampleFile(newRNG())
	path := filepath.Join(t.TempDir(), "std.safetensors")
	if err := Save(path, f); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(data)
	if n%8 != 0 {
		t.Errorf("header length %d is not a multiple of 8", n)
	}
	header := data[8 : 8+n]
	if header[0] != '{' {
		t.Errorf("header starts with %q, want '{'", header[0])
	}
	body := data[8+n:]

	var raw map[string]json.RawMessage
	if err := json.Unmarshal(header, &raw); err != nil {
		t.Fatalf("header is not a JSON object: %v\n%s", err, header)
	}
	var meta map[string]string
	if err := json.Unmarshal(raw["__metadata__"], &meta); err != nil {
		t.Fatalf("__metadata__: %v", err)
	}
	if len(raw) != len(f.Tensors)+1 {
		t.Errorf("header has %d keys, want %d tensors + __metadata__", len(raw), len(f.Tensors))
	}
	for k, v := range f.Metadata {
		if meta[k] != v {
			t.Errorf("__metadata__[%q] = %q, want %q", k, meta[k], v)
		}
	}

	type entry struct {
		name    string
		DType   string    `json:"dtype"`
		Shape   []int     `json:"shape"`
		Offsets [2]uint64 `json:"data_offsets"`
	}
	var entries []entry
	for name, msg := range raw {
		if name == "__metadata__" {
			continue
		}
		e := entry{name: name}
		dec := json.NewDecoder(bytes.NewReader(msg))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			t.Fatalf("tensor %q: %v", name, err)
		}
		entries = append(entries, e)
	}
	slices.SortFunc(entries, func(a, b entry) int { return int(a.Offsets[0]) - int(b.Offsets[0]) })

	// The data is laid out by descending alignment (F64 first), then by
	// name, and the offsets tile the data section exactly.
	var order, wantOrder []string
	for _, dt := range []string{"F64", "F32"} {
		for _, name := range sortedKeys(f.Tensors) {
			if (dt == "F64") == (f.Tensors[name].Dtype() == tensor.Float64) {
				wantOrder = append(wantOrder, name)
			}
		}
	}
	next := uint64(0)
	for _, e := range entries {
		order = append(order, e.name)
		want := f.Tensors[e.name]
		wantDType, size := "F32", uint64(4)
		if want.Dtype() == tensor.Float64 {
			wantDType, size = "F64", 8
		}
		if e.DType != wantDType {
			t.Errorf("tensor %q: dtype %q, want %q", e.name, e.DType, wantDType)
		}
		if !slices.Equal(e.Shape, []int(want.Shape())) {
			t.Errorf("tensor %q: shape %v, want %v", e.name, e.Shape, want.Shape())
		}
		if e.Offsets[0] != next {
			t.Errorf("tensor %q starts at %d, want %d", e.name, e.Offsets[0], next)
		}
		wantBits := bitsOf(want)
		if e.Offsets[1]-e.Offsets[0] != size*uint64(len(wantBits)) {
			t.Fatalf("tensor %q: offsets %v for %d values of %d bytes", e.name, e.Offsets, len(wantBits), size)
		}
		next = e.Offsets[1]
		for i, w := range wantBits {
			p := body[e.Offsets[0]+uint64(i)*size:]
			var g uint64
			if size == 4 {
				g = uint64(binary.LittleEndian.Uint32(p))
			} else {
				g = binary.LittleEndian.Uint64(p)
			}
			if g != w {
				t.Errorf("tensor %q value %d: bits %x, want %x", e.name, i, g, w)
			}
		}
	}
	if next != uint64(len(body)) {
		t.Errorf("tensors end at %d, data section has %d bytes", next, len(body))
	}
	if !slices.Equal(order, wantOrder) {
		t.Errorf("data order %v, want %v", order, wantOrder)
	}
}

// TestDecodeForeign reads files laid out differently from ours but
// allowed by the format: an unpadded header, F32 data before F64 data, a
// scalar with shape [] and no metadata.
func TestDecodeForeign(t *testing.T) {
	var body []byte
	for _, x := range []float32{1.5, -2, 3.25} {
		body = binary.LittleEndian.AppendUint32(body, math.Float32bits(x))
	}
	body = binary.LittleEndian.AppendUint64(body, math.Float64bits(math.Pi))
	body = binary.LittleEndian.AppendUint64(body, math.Float64bits(-0.5))
	header := `{"z":{"dtype":"F32","shape":[3,1],"data_offsets":[0,12]},` +
		`"a":{"shape":[],"data_offsets":[12,20],"dtype":"F64"},` +
		`"m":{"dtype":"F64","shape":[1],"data_offsets":[20,28]}}`
	got, err := Decode(rawFile(header, body, false))
	if err != nil {
		t.Fatal(err)
	}
	want := File{
		Tensors: map[string]*tensor.Dense{
			"z": tensor.New(tensor.WithShape(3, 1), tensor.WithBacking([]float32{1.5, -2, 3.25})),
			"a": tensor.New(tensor.FromScalar(math.Pi)),
			"m": tensor.New(tensor.WithShape(1), tensor.WithBacking([]float64{-0.5})),
		},
		Metadata: map[string]string{},
	}
	checkSameFile(t, want, got)
	if !got.Tensors["a"].IsScalar() {
		t.Errorf("shape [] decoded as %v, want a scalar", got.Tensors["a"].Shape())
	}
}

func TestDecodeCorrupt(t *testing.T) {
	for _, tc := range corruptCases() {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(tc.data)
			if err == nil {
				t.Fatal("Decode succeeded")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "checkpoint: decode: ") {
				t.Errorf("error %q lacks the prefix", msg)
			}
			for _, w := range tc.words {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
		})
	}
}

func TestLoadCorruptNamesFile(t *testing.T) {
	dir := t.TempDir()
	for i, tc := range corruptCases() {
		path := filepath.Join(dir, "c"+string(rune('a'+i))+".safetensors")
		if err := os.WriteFile(path, tc.data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Load(path)
		if err == nil || !strings.HasPrefix(err.Error(), "checkpoint: load "+path+": ") {
			t.Errorf("%s: Load error %v does not start with %q", tc.name, err, "checkpoint: load "+path)
		}
	}
	missing := filepath.Join(dir, "missing.safetensors")
	if _, err := Load(missing); err == nil || !strings.Contains(err.Error(), missing) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load of a missing file: %v", err)
	}
}

// TestLoadTruncated truncates a valid file to every shorter length, as a
// crash during a non-atomic write would.
func TestLoadTruncated(t *testing.T) {
	full := encodeBytes(t, sampleFile(newRNG()))
	path := filepath.Join(t.TempDir(), "trunc.safetensors")
	if err := os.WriteFile(path, full, 0o644); err != nil {
		t.Fatal(err)
	}
	for size := len(full) - 1; size >= 0; size-- {
		if err := os.Truncate(path, int64(size)); err != nil {
			t.Fatal(err)
		}
		_, err := Load(path)
		if err == nil {
			t.Fatalf("Load succeeded on the file truncated to %d of %d bytes", size, len(full))
		}
		if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, "truncated") {
			t.Fatalf("truncated to %d bytes: error %q should name the file and say truncated", size, msg)
		}
	}
}

var errInjected = errors.New("injected write failure")

// failingWriter passes the first left bytes to w, then fails.
type failingWriter struct {
	w    io.Writer
	left int
}

func (f *failingWriter) Write(p []byte) (int, error) {
	if len(p) <= f.left {
		f.left -= len(p)
		return f.w.Write(p)
	}
	n, err := f.w.Write(p[:f.left])
	f.left -= n
	if err == nil {
		err = errInjected
	}
	return n, err
}

func failAfter(k int) func(io.Writer) io.Writer {
	return func(w io.Writer) io.Writer { return &failingWriter{w: w, left: k} }
}

// dirNames lists the names in dir.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// TestSaveInterrupted makes the write fail after k bytes, for k across the
// length field, the header and the data: the previous checkpoint must still
// load with its old values and no temporary file may be left behind.
func TestSaveInterrupted(t *testing.T) {
	rng := newRNG()
	oldFile := sampleFile(rng)
	newFile := sampleFile(rng)
	newFile.Metadata["step"] = "43"
	newBytes := encodeBytes(t, newFile)
	hdr := int(binary.LittleEndian.Uint64(newBytes))
	total := len(newBytes)

	for _, k := range []int{0, 1, 7, 8, 9, 8 + hdr/2, 8 + hdr - 1, 8 + hdr, 8 + hdr + 1, (8 + hdr + total) / 2, total - 1} {
		for _, previous := range []bool{true, false} {
			dir := t.TempDir()
			path := filepath.Join(dir, "model.safetensors")
			if previous {
				if err := Save(path, oldFile); err != nil {
					t.Fatal(err)
				}
			}
			err := save(path, newFile, failAfter(k))
			if !errors.Is(err, errInjected) {
				t.Fatalf("k=%d: save error %v, want the injected one", k, err)
			}
			if !strings.HasPrefix(err.Error(), "checkpoint: save "+path+": ") {
				t.Errorf("k=%d: error %q does not name the file", k, err)
			}
			names := dirNames(t, dir)
			if !previous {
				if len(names) != 0 {
					t.Errorf("k=%d, no previous file: directory holds %v, want nothing", k, names)
				}
				continue
			}
			if !slices.Equal(names, []string{"model.safetensors"}) {
				t.Errorf("k=%d: directory holds %v, want only model.safetensors", k, names)
			}
			got, err := Load(path)
			if err != nil {
				t.Fatalf("k=%d: previous checkpoint no longer loads: %v", k, err)
			}
			checkSameFile(t, oldFile, got)
		}
	}

	// A writer that never reaches its limit lets the save complete.
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	if err := save(path, newFile, failAfter(total)); err != nil {
		t.Fatalf("save with a large enough limit: %v", err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	checkSameFile(t, newFile, got)
	if names := dirNames(t, dir); !slices.Equal(names, []string{"model.safetensors"}) {
		t.Errorf("directory holds %v", names)
	}
}

func TestSaveErrors(t *testing.T) {
	rng := newRNG()
	good := sampleFile(rng)
	bad := File{Tensors: map[string]*tensor.Dense{
		"ok":    randDense(rng, tensor.Float32, false, 2),
		"count": tensor.New(tensor.WithShape(2), tensor.WithBacking([]int{1, 2})),
	}}

	t.Run("encode error keeps previous file", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "m.safetensors")
		if err := Save(path, good); err != nil {
			t.Fatal(err)
		}
		before, _ := os.ReadFile(path)
		err := Save(path, bad)
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), `tensor "count"`) {
			t.Fatalf("Save error %v should name the file and the tensor", err)
		}
		after, _ := os.ReadFile(path)
		if !bytes.Equal(before, after) {
			t.Errorf("the previous file changed")
		}
		if names := dirNames(t, dir); !slices.Equal(names, []string{"m.safetensors"}) {
			t.Errorf("directory holds %v", names)
		}
	})
	t.Run("missing directory", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "nope", "m.safetensors")
		if err := Save(path, good); err == nil || !strings.Contains(err.Error(), path) {
			t.Fatalf("Save error %v should name the file", err)
		}
	})
	t.Run("path is a directory", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "sub")
		if err := os.Mkdir(path, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := Save(path, good); err == nil || !strings.Contains(err.Error(), path) {
			t.Fatalf("Save error %v should name the file", err)
		}
		if names := dirNames(t, dir); !slices.Equal(names, []string{"sub"}) {
			t.Errorf("directory holds %v", names)
		}
	})
}

func TestSaveMode(t *testing.T) {
	f := sampleFile(newRNG())
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := Save(path, f); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("new file: mode %v, err %v; want 0644", fi.Mode(), err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Save(path, f); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("replaced file: mode %v, err %v; want 0600 kept", fi.Mode(), err)
	}
}

func TestEncodeErrors(t *testing.T) {
	ok := randDense(newRNG(), tensor.Float32, false, 2)
	tests := []struct {
		name  string
		file  File
		words []string
	}{
		{"nil tensor", File{Tensors: map[string]*tensor.Dense{"w": nil}}, []string{`tensor "w"`, "nil"}},
		{"zero Dense", File{Tensors: map[string]*tensor.Dense{"w": {}}}, []string{`tensor "w"`, "not initialised"}},
		{"int dtype", File{Tensors: map[string]*tensor.Dense{"w": tensor.New(tensor.WithBacking([]int{1}))}},
			[]string{`tensor "w"`, "unsupported dtype int"}},
		{"bool dtype", File{Tensors: map[string]*tensor.Dense{"mask": tensor.New(tensor.WithBacking([]bool{true}))}},
			[]string{`tensor "mask"`, "unsupported dtype bool"}},
		{"reserved name", File{Tensors: map[string]*tensor.Dense{"__metadata__": ok}}, []string{"reserved"}},
		{"invalid UTF-8 name", File{Tensors: map[string]*tensor.Dense{"w\xff": ok}}, []string{"UTF-8"}},
		{"invalid UTF-8 metadata key", File{Metadata: map[string]string{"k\xff": "v"}}, []string{"metadata key", "UTF-8"}},
		{"invalid UTF-8 metadata value", File{Metadata: map[string]string{"k": "v\xff"}}, []string{`key "k"`, "UTF-8"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Encode(&buf, tc.file)
			if err == nil {
				t.Fatal("Encode succeeded")
			}
			if !strings.HasPrefix(err.Error(), "checkpoint: encode: ") {
				t.Errorf("error %q lacks the prefix", err)
			}
			for _, w := range tc.words {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestEncodeViews checks that slices and transposes are written in their
// logical row-major order, not as their backing arrays.
func TestEncodeViews(t *testing.T) {
	base := func() *tensor.Dense {
		return tensor.New(tensor.WithShape(3, 4), tensor.WithBacking(tensor.Range(tensor.Float64, 0, 12)))
	}
	sliced, err := base().Slice(tensor.S(1, 3), tensor.S(1, 3))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := base().Slice(tensor.S(1, 3))
	if err != nil {
		t.Fatal(err)
	}
	transposed := base()
	if err := transposed.T(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		in    *tensor.Dense
		shape tensor.Shape
		want  []float64
	}{
		{"block slice", sliced.(*tensor.Dense), tensor.Shape{2, 2}, []float64{5, 6, 9, 10}},
		{"row slice", rows.(*tensor.Dense), tensor.Shape{2, 4}, []float64{4, 5, 6, 7, 8, 9, 10, 11}},
		{"transpose", transposed, tensor.Shape{4, 3}, []float64{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode(encodeBytes(t, File{Tensors: map[string]*tensor.Dense{"x": tc.in}}))
			if err != nil {
				t.Fatal(err)
			}
			x := got.Tensors["x"]
			if !x.Shape().Eq(tc.shape) || !slices.Equal(x.Data().([]float64), tc.want) {
				t.Errorf("got %v %v, want %v %v", x.Shape(), x.Data(), tc.shape, tc.want)
			}
		})
	}
}

func TestJSONMetadata(t *testing.T) {
	type hyper struct {
		Blocks int       `json:"blocks"`
		LR     float64   `json:"lr"`
		Coeffs []float64 `json:"coeffs"`
	}
	meta := map[string]string{}
	want := hyper{Blocks: 3, LR: 1e-3, Coeffs: []float64{0.9, 0.99}}
	if err := PutJSON(meta, "hyper", want); err != nil {
		t.Fatal(err)
	}
	if err := PutJSON(meta, "step", 1234); err != nil {
		t.Fatal(err)
	}
	meta["broken"] = "{not json"

	// The values survive a file round trip.
	f, err := Decode(encodeBytes(t, File{Metadata: meta}))
	if err != nil {
		t.Fatal(err)
	}
	var got hyper
	if err := GetJSON(f.Metadata, "hyper", &got); err != nil {
		t.Fatal(err)
	}
	if got.Blocks != want.Blocks || got.LR != want.LR || !slices.Equal(got.Coeffs, want.Coeffs) {
		t.Errorf("got %+v, want %+v", got, want)
	}

	tests := []struct {
		name  string
		err   error
		words []string
	}{
		{"missing key", GetJSON(f.Metadata, "epoch", new(int)), []string{`"epoch"`, "not found"}},
		{"bad JSON", GetJSON(f.Metadata, "broken", new(hyper)), []string{`"broken"`}},
		{"wrong type", GetJSON(f.Metadata, "hyper", new(int)), []string{`"hyper"`}},
		{"nil map", PutJSON(nil, "k", 1), []string{`"k"`, "nil"}},
		{"unencodable", PutJSON(meta, "ch", make(chan int)), []string{`"ch"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.err == nil {
				t.Fatal("no error")
			}
			if !strings.HasPrefix(tc.err.Error(), "checkpoint: ") {
				t.Errorf("error %q lacks the prefix", tc.err)
			}
			for _, w := range tc.words {
				if !strings.Contains(tc.err.Error(), w) {
					t.Errorf("error %q does not contain %q", tc.err, w)
				}
			}
		})
	}
	if _, ok := meta["ch"]; ok {
		t.Errorf("a failed PutJSON stored a value")
	}
}
