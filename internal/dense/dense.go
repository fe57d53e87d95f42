// Package dense converts the float32 and float64 tensors of
// gorgonia.org/tensor to and from []float64, for code that computes in
// float64 whatever a model's element type is (initialization, numeric
// inverses, tests).
package dense

import "gorgonia.org/tensor"

// Float64s returns a float64 copy of t's data.
func Float64s(t *tensor.Dense) []float64 {
	out := make([]float64, t.Shape().TotalSize())
	Load(out, t)
	return out
}

// Load copies t's data into dst, converting to float64. It panics on a
// dtype other than float32 and float64.
func Load(dst []float64, t *tensor.Dense) {
	switch d := t.Data().(type) {
	case []float64:
		copy(dst, d)
	case []float32:
		for i, v := range d {
			dst[i] = float64(v)
		}
	default:
		panic("dense: unsupported dtype " + t.Dtype().String())
	}
}

// Store copies src into t's data, converting to t's dtype. It panics on a
// dtype other than float32 and float64.
func Store(t *tensor.Dense, src []float64) {
	switch d := t.Data().(type) {
	case []float64:
		copy(d, src)
	case []float32:
		for i, v := range src {
			d[i] = float32(v)
		}
	default:
		panic("dense: unsupported dtype " + t.Dtype().String())
	}
}

// New returns a tensor of dtype dt and the given shape holding data.
func New(dt tensor.Dtype, data []float64, shape ...int) *tensor.Dense {
	t := tensor.New(tensor.Of(dt), tensor.WithShape(shape...))
	Store(t, data)
	return t
}

// Uniform returns a tensor of dtype dt and the given shape with entries
// drawn uniformly from [−bound, bound): with bound 1/√fan_in, the default
// initialization of linear and convolution layers.
func Uniform(dt tensor.Dtype, rng interface{ Float64() float64 }, bound float64, shape ...int) *tensor.Dense {
	n := 1
	for _, s := range shape {
		n *= s
	}
	data := make([]float64, n)
	for i := range data {
		data[i] = bound * (2*rng.Float64() - 1)
	}
	return New(dt, data, shape...)
}
