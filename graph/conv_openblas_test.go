//go:build openblas

package graph

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/netlib/blas/netlib"
)

// TestConvKernelsOpenBLAS compares the kernels on OpenBLAS, whose per-image
// products gemmSerial and gemmPanels split into panels, with the naive sums
// in float64 and float32.
func TestConvKernelsOpenBLAS(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2)) // several ranges of images
	prev32, prev64 := blas32.Implementation(), blas64.Implementation()
	blas32.Use(netlib.Implementation{})
	blas64.Use(netlib.Implementation{})
	t.Cleanup(func() { blas32.Use(prev32); blas64.Use(prev64) })
	rng := rand.New(rand.NewPCG(10, 10))
	geoms := append([]ConvGeom{
		{N: 3, C: 16, H: 14, W: 14, O: 32, KH: 3, KW: 3, Stride: 1, Pad: 1},
		{N: 2, C: 32, H: 14, W: 13, O: 16, KH: 3, KW: 3, Stride: 1, Pad: 1},
		{N: 1, C: 16, H: 14, W: 14, O: 32, KH: 3, KW: 3, Stride: 1, Pad: 1},
	}, kernelTestGeoms...)
	for _, g := range geoms {
		x := randSlice(rng, size(g.InShape()))
		w := randSlice(rng, size(g.KernelShape()))
		dy := randSlice(rng, size(g.OutShape()))
		want := [][]float64{naiveConv(g, x, w), naiveConvT(g, dy, w), naiveConvW(g, x, dy)}
		// NaN-filled outputs: every kernel must overwrite.
		got := [][]float64{make([]float64, len(want[0])), make([]float64, len(want[1])), make([]float64, len(want[2]))}
		for _, s := range got {
			for i := range s {
				s[i] = math.NaN()
			}
		}
		ConvForward(g, x, w, got[0])
		ConvTranspose(g, dy, w, got[1])
		ConvFilterGrad(g, x, dy, got[2])
		got32 := [][]float32{make([]float32, len(want[0])), make([]float32, len(want[1])), make([]float32, len(want[2]))}
		for _, s := range got32 {
			for i := range s {
				s[i] = float32(math.NaN())
			}
		}
		ConvForward(g, f32(x), f32(w), got32[0])
		ConvTranspose(g, f32(dy), f32(w), got32[1])
		ConvFilterGrad(g, f32(x), f32(dy), got32[2])
		for k, name := range convKindNames {
			for i := range want[k] {
				scale := math.Max(1, math.Abs(want[k][i]))
				if d := math.Abs(got[k][i] - want[k][i]); !(d <= 1e-11*scale) {
					t.Fatalf("%v: %s[%d] = %g, naive %g", g, name, i, got[k][i], want[k][i])
				}
				if d := math.Abs(float64(got32[k][i]) - want[k][i]); !(d <= 1e-3*scale) {
					t.Fatalf("%v: float32 %s[%d] = %g, naive %g", g, name, i, got32[k][i], want[k][i])
				}
			}
		}
	}
}
