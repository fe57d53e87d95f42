package graph

import (
	"math/rand/v2"
	"testing"
)

// benchConvGeoms are the three layers of the conv residual block that
// blocks' benchmarks time (batch 64, 16 channels, 14×14, 32 hidden):
// 3×3 16→32, 1×1 32→32, 3×3 32→16, all stride 1 and "same" padding.
var benchConvGeoms = []struct {
	name string
	g    ConvGeom
}{
	{"3x3,16-32", ConvGeom{N: 64, C: 16, H: 14, W: 14, O: 32, KH: 3, KW: 3, Stride: 1, Pad: 1}},
	{"1x1,32-32", ConvGeom{N: 64, C: 32, H: 14, W: 14, O: 32, KH: 1, KW: 1, Stride: 1, Pad: 0}},
	{"3x3,32-16", ConvGeom{N: 64, C: 32, H: 14, W: 14, O: 16, KH: 3, KW: 3, Stride: 1, Pad: 1}},
}

func randSlice32(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

// benchConvKernel times one of the three convolution kernels in float32 at
// each of benchConvGeoms; a and b are the shapes of its two inputs and out
// that of its output.
// It installs the fastest BLAS compiled in (OpenBLAS under -tags openblas).
func benchConvKernel(b *testing.B, kind convKind) {
	b.Logf("BLAS: %s", UseFastBLAS())
	for _, c := range benchConvGeoms {
		b.Run(c.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 1))
			sa, sb, so := convOp{kind: kind, geom: c.g}.shapes()
			x, y := randSlice32(rng, size(sa)), randSlice32(rng, size(sb))
			out := make([]float32, size(so))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				runConv(kind, c.g, x, y, out)
			}
		})
	}
}

func BenchmarkConvForward(b *testing.B)    { benchConvKernel(b, convFwd) }
func BenchmarkConvTranspose(b *testing.B)  { benchConvKernel(b, convInput) }
func BenchmarkConvFilterGrad(b *testing.B) { benchConvKernel(b, convFilter) }
