package graph

import (
	"fmt"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestPreallocatedOutputsAreOverwritten runs every op that implements
// UsePreallocDo on an output buffer full of garbage and requires the same
// result as Do into fresh memory: Gorgonia's tape machine hands an op the
// register of a value that is no longer needed, which holds whatever that
// value was.
func TestPreallocatedOutputsAreOverwritten(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 41))
	fill := func(shape []int, dt tensor.Dtype, v func() float64) *tensor.Dense {
		d := tensor.New(tensor.Of(dt), tensor.WithShape(shape...))
		switch x := d.Data().(type) {
		case []float32:
			for i := range x {
				x[i] = float32(v())
			}
		case []float64:
			for i := range x {
				x[i] = v()
			}
		}
		return d
	}
	geoms := []ConvGeom{
		{N: 3, C: 2, H: 5, W: 6, O: 4, KH: 3, KW: 3, Stride: 1, Pad: 1},
		{N: 2, C: 4, H: 6, W: 6, O: 3, KH: 1, KW: 1, Stride: 1, Pad: 0},
		{N: 2, C: 3, H: 7, W: 7, O: 2, KH: 3, KW: 3, Stride: 2, Pad: 1},
		{N: 4, C: 8, H: 14, W: 14, O: 16, KH: 3, KW: 3, Stride: 1, Pad: 1},
	}
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		for _, g := range geoms {
			for k := convFwd; k <= convFilter; k++ {
				op := convOp{kind: k, geom: g}
				t.Run(fmt.Sprintf("%v/%v", dt, op), func(t *testing.T) {
					sa, sb, so := op.shapes()
					a := fill(sa, dt, rng.NormFloat64)
					b := fill(sb, dt, rng.NormFloat64)
					want, err := op.Do(a, b)
					if err != nil {
						t.Fatal(err)
					}
					garbage := fill(so, dt, func() float64 { return 1e3 })
					got, err := op.UsePreallocDo(garbage, a, b)
					if err != nil {
						t.Fatal(err)
					}
					sameValues(t, got, want)
				})
			}
		}
	}
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		for _, act := range []Activation{ReLU, ELU, LipSwish, Softplus, Identity} {
			for order := 0; order < 3; order++ {
				op := actOp{act: act, order: order}
				t.Run(fmt.Sprintf("%v/%v", dt, op), func(t *testing.T) {
					x := fill([]int{5, 7}, dt, rng.NormFloat64)
					want, err := op.Do(x)
					if err != nil {
						t.Fatal(err)
					}
					got, err := op.UsePreallocDo(fill([]int{5, 7}, dt, func() float64 { return 1e3 }), x)
					if err != nil {
						t.Fatal(err)
					}
					sameValues(t, got, want)
				})
			}
		}
		// Channel scaling and its per-channel dot product, on one core and
		// split over the cores.
		for _, shape := range []tensor.Shape{{2, 3, 4, 5}, {16, 8, 16, 16}} {
			for _, op := range []G.Op{chanScaleOp{shape: shape}, chanDotOp{shape: shape}} {
				t.Run(fmt.Sprintf("%v/%v", dt, op), func(t *testing.T) {
					a := fill(shape, dt, rng.NormFloat64)
					b := fill([]int{shape[1]}, dt, rng.NormFloat64)
					outShape := []int(shape)
					if _, dot := op.(chanDotOp); dot {
						b, outShape = fill(shape, dt, rng.NormFloat64), []int{shape[1]}
					}
					want, err := op.Do(a, b)
					if err != nil {
						t.Fatal(err)
					}
					got, err := op.(G.UsePreallocDoer).UsePreallocDo(fill(outShape, dt, func() float64 { return 1e3 }), a, b)
					if err != nil {
						t.Fatal(err)
					}
					sameValues(t, got, want)
				})
			}
		}
		// Channel padding, large enough to split over the cores, and its
		// crop: the padding must be written as zeros, not left as found.
		for _, small := range []tensor.Shape{{2, 3, 4, 5}, {16, 8, 16, 16}} {
			for _, crop := range []bool{false, true} {
				op := padChanOp{small: small, k: 5, crop: crop}
				t.Run(fmt.Sprintf("%v/%v", dt, op), func(t *testing.T) {
					in, out := op.shapes()
					x := fill(in, dt, rng.NormFloat64)
					want, err := op.Do(x)
					if err != nil {
						t.Fatal(err)
					}
					got, err := op.UsePreallocDo(fill(out, dt, func() float64 { return 1e3 }), x)
					if err != nil {
						t.Fatal(err)
					}
					sameValues(t, got, want)
				})
			}
		}
	}
}

func floats64(v G.Value) []float64 {
	switch d := v.Data().(type) {
	case []float32:
		out := make([]float64, len(d))
		for i, x := range d {
			out[i] = float64(x)
		}
		return out
	case []float64:
		return append([]float64(nil), d...)
	}
	panic(fmt.Sprintf("unexpected data %T", v.Data()))
}

// sameValues requires got (computed into a dirty buffer) to equal want
// (computed into fresh memory) bit for bit.
func sameValues(t *testing.T, got, want G.Value) {
	t.Helper()
	wd, gd := floats64(want), floats64(got)
	for i := range wd {
		if wd[i] != gd[i] {
			t.Fatalf("element %d: %g into a dirty buffer, %g into a fresh one", i, gd[i], wd[i])
		}
	}
}
