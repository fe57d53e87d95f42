package checkpoint

import (
	"encoding/binary"
	"math"
	"slices"
	"unicode/utf8"

	"github.com/nlpodyssey/safetensors"
	"github.com/pkg/errors"
	"gorgonia.org/tensor"
)

// metadataKey is the header key the format reserves for the metadata map.
const metadataKey = "__metadata__"

// denseView adapts a float32 or float64 *tensor.Dense to safetensors.View.
// Data converts the values to little-endian bytes when it is called, which
// SerializeToWriter does once per tensor, just before writing it.
type denseView struct {
	dtype safetensors.DType
	shape []uint64
	f32   []float32
	f64   []float64
}

var _ safetensors.View = denseView{}

// newDenseView checks t and captures its shape and row-major values.
func newDenseView(name string, t *tensor.Dense) (denseView, error) {
	if name == metadataKey {
		return denseView{}, errors.Errorf("tensor name %q is reserved by the format", name)
	}
	if !validUTF8(name) {
		return denseView{}, errors.Errorf("tensor name %q is not valid UTF-8", name)
	}
	if t == nil {
		return denseView{}, errors.Errorf("tensor %q is nil", name)
	}
	dt := t.Dtype()
	if dt.Type == nil {
		return denseView{}, errors.Errorf("tensor %q is not initialised (no dtype)", name)
	}
	if dt != tensor.Float32 && dt != tensor.Float64 {
		return denseView{}, errors.Errorf("tensor %q: unsupported dtype %v (want float32 or float64)", name, dt)
	}
	if t.IsMaterializable() {
		m, ok := t.Materialize().(*tensor.Dense)
		if !ok {
			return denseView{}, errors.Errorf("tensor %q: materialising the view did not give a *tensor.Dense", name)
		}
		t = m
	}

	shape := t.Shape()
	v := denseView{shape: make([]uint64, len(shape))}
	size := 1
	for i, d := range shape {
		if d <= 0 {
			return denseView{}, errors.Errorf("tensor %q: shape %v has a non-positive dimension", name, shape)
		}
		v.shape[i] = uint64(d)
		size *= d
	}

	switch data := t.Data().(type) {
	case float32:
		v.dtype, v.f32 = safetensors.F32, []float32{data}
	case []float32:
		v.dtype, v.f32 = safetensors.F32, data
	case float64:
		v.dtype, v.f64 = safetensors.F64, []float64{data}
	case []float64:
		v.dtype, v.f64 = safetensors.F64, data
	default:
		return denseView{}, errors.Errorf("tensor %q: unexpected data of type %T", name, data)
	}
	if n := len(v.f32) + len(v.f64); n != size {
		return denseView{}, errors.Errorf("tensor %q: shape %v needs %d values, the tensor holds %d", name, shape, size, n)
	}
	return v, nil
}

// DType implements safetensors.View.
func (v denseView) DType() safetensors.DType { return v.dtype }

// Shape implements safetensors.View.
func (v denseView) Shape() []uint64 { return v.shape }

// DataLen implements safetensors.View.
func (v denseView) DataLen() uint64 { return uint64(4*len(v.f32) + 8*len(v.f64)) }

// Data implements safetensors.View; it returns a new little-endian buffer.
func (v denseView) Data() []byte {
	buf := make([]byte, v.DataLen())
	for i, x := range v.f32 {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(x))
	}
	for i, x := range v.f64 {
		binary.LittleEndian.PutUint64(buf[8*i:], math.Float64bits(x))
	}
	return buf
}

// toDense builds a tensor from a validated header entry; raw is the
// tensor's data, whose length agrees with dtype and shape.
func toDense(name string, dt safetensors.DType, shape []uint64, raw []byte) (*tensor.Dense, error) {
	if dt != safetensors.F32 && dt != safetensors.F64 {
		return nil, errors.Errorf("tensor %q: unsupported dtype %v (want F32 or F64)", name, dt)
	}
	if slices.Contains(shape, 0) {
		return nil, errors.Errorf("tensor %q: shape %v has no elements, which *tensor.Dense cannot represent", name, shape)
	}
	dims := make([]int, len(shape))
	for i, d := range shape {
		// The product of the dimensions times the element size is
		// len(raw), so with no zero dimension every dimension fits in an
		// int; this check only guards that reasoning.
		if d > uint64(len(raw)) {
			return nil, errors.Errorf("tensor %q: dimension %d of shape %v exceeds the data size", name, d, shape)
		}
		dims[i] = int(d)
	}

	var backing any
	if dt == safetensors.F32 {
		vals := make([]float32, len(raw)/4)
		for i := range vals {
			vals[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		backing = vals
	} else {
		vals := make([]float64, len(raw)/8)
		for i := range vals {
			vals[i] = math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:]))
		}
		backing = vals
	}
	return tensor.New(tensor.WithShape(dims...), tensor.WithBacking(backing)), nil
}

// validUTF8 reports whether s survives a JSON round trip unchanged.
func validUTF8(s string) bool { return utf8.ValidString(s) }
