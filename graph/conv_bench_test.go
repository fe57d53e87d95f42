package graph

import (
	"fmt"
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

// BenchmarkConvWideTiles times the forward and transposed convolutions of
// the classifier's 16×16 scale (batch 64, padding 1: 288 grid positions,
// six three-vector or nine two-vector tiles per output panel) with the
// three-vector forward tile and without it, alternating in one process:
//
//	go test ./graph -run - -bench ConvWideTiles -cpu 1 -count 8
func BenchmarkConvWideTiles(b *testing.B) {
	geoms := []struct {
		name string
		g    ConvGeom
	}{
		{"3x3,8-32", ConvGeom{N: 64, C: 8, H: 16, W: 16, O: 32, KH: 3, KW: 3, Stride: 1, Pad: 1}},
		{"3x3,32-8", ConvGeom{N: 64, C: 32, H: 16, W: 16, O: 8, KH: 3, KW: 3, Stride: 1, Pad: 1}},
	}
	defer func(w bool) { wideTiles = w }(wideTiles)
	for _, c := range geoms {
		for _, kind := range []convKind{convFwd, convInput} {
			for _, wide := range []bool{false, true} {
				b.Run(fmt.Sprintf("%s/%s/wide=%v", c.name, convKindNames[kind], wide), func(b *testing.B) {
					wideTiles = wide
					rng := rand.New(rand.NewPCG(1, 1))
					sa, sb, so := convOp{kind: kind, geom: c.g}.shapes()
					x, y := randSlice32(rng, size(sa)), randSlice32(rng, size(sb))
					out := make([]float32, size(so))
					runConv(kind, c.g, x, y, out)
					b.ResetTimer()
					for range b.N {
						runConv(kind, c.g, x, y, out)
					}
					ops := 2 * float64(c.g.N*c.g.O*c.g.OH()*c.g.OW()*c.g.C*c.g.KH*c.g.KW)
					b.ReportMetric(ops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}
