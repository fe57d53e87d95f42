package ode

import "gorgonia.org/tensor"

// uniform returns a tensor of the given dtype and shape with entries drawn
// uniformly from [−bound, bound).
func uniform(dt tensor.Dtype, rng interface{ Float64() float64 }, bound float64, shape ...int) *tensor.Dense {
	t := tensor.New(tensor.Of(dt), tensor.WithShape(shape...))
	data := make([]float64, t.Shape().TotalSize())
	for i := range data {
		data[i] = bound * (2*rng.Float64() - 1)
	}
	store(t, data)
	return t
}

// floats returns a float64 copy of t's data.
func floats(t *tensor.Dense) []float64 {
	out := make([]float64, t.Shape().TotalSize())
	load(out, t)
	return out
}

// load copies t's float32 or float64 data into dst as float64.
func load(dst []float64, t *tensor.Dense) {
	switch d := t.Data().(type) {
	case []float64:
		copy(dst, d)
	case []float32:
		for i, v := range d {
			dst[i] = float64(v)
		}
	default:
		panic("ode: unsupported dtype " + t.Dtype().String())
	}
}

// store copies src into t's float32 or float64 data.
func store(t *tensor.Dense, src []float64) {
	switch d := t.Data().(type) {
	case []float64:
		copy(d, src)
	case []float32:
		for i, v := range src {
			d[i] = float32(v)
		}
	default:
		panic("ode: unsupported dtype " + t.Dtype().String())
	}
}
