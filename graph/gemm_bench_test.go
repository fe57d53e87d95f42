package graph

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"gonum.org/v1/gonum/blas"
)

// BenchmarkKernelSgemm times kernelBLAS.Sgemm on the matrix products of the
// toy model's step (batch 500, widths 2 and 64): the forward product h·W,
// the input gradient g·Wᵀ and the weight gradient hᵀ·g.
func BenchmarkKernelSgemm(b *testing.B) {
	if !directKernels {
		b.Skip("no direct kernels on this CPU")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		tA, tB  blas.Transpose
		m, n, k int
	}{
		{blas.NoTrans, blas.NoTrans, 500, 64, 64},
		{blas.NoTrans, blas.Trans, 500, 64, 64},
		{blas.Trans, blas.NoTrans, 64, 64, 500},
		{blas.NoTrans, blas.NoTrans, 500, 2, 64},
		{blas.Trans, blas.NoTrans, 64, 2, 500},
		{blas.Trans, blas.NoTrans, 2, 64, 500},
	} {
		name := "NN"
		if c.tA == blas.Trans {
			name = "TN"
		} else if c.tB == blas.Trans {
			name = "NT"
		}
		name += "_" + strconv.Itoa(c.m) + "x" + strconv.Itoa(c.n) + "x" + strconv.Itoa(c.k)
		b.Run(name, func(b *testing.B) {
			lda, ldb := c.k, c.n
			if c.tA == blas.Trans {
				lda = c.m
			}
			if c.tB == blas.Trans {
				ldb = c.k
			}
			a, bm := f32(randSlice(rng, c.m*c.k)), f32(randSlice(rng, c.k*c.n))
			out := make([]float32, c.m*c.n)
			b.SetBytes(0)
			b.ReportAllocs()
			for b.Loop() {
				kernelBLAS{}.Sgemm(c.tA, c.tB, c.m, c.n, c.k, 1, a, lda, bm, ldb, 0, out, c.n)
			}
			b.ReportMetric(2*float64(c.m*c.n*c.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkPackPanels times packing a 500 × 64 float32 matrix into
// micro-kernel panels, stored as is and transposed, and transposing it.
func BenchmarkPackPanels(b *testing.B) {
	const m, k = 500, 64
	src := make([]float32, m*k)
	ap := make([]float32, (m+dirMR-1)/dirMR*dirMR*k)
	b.Run("rows", func(b *testing.B) {
		for b.Loop() {
			for p := range (m + dirMR - 1) / dirMR {
				packPanel(ap[p*k*dirMR:], src, k, m, k, false, 1, p)
			}
		}
	})
	b.Run("trans", func(b *testing.B) {
		for b.Loop() {
			for p := range (m + dirMR - 1) / dirMR {
				packPanel(ap[p*k*dirMR:], src, m, m, k, true, 1, p)
			}
		}
	})
	b.Run("transpose", func(b *testing.B) {
		for b.Loop() {
			transposeInto(ap, m, src, k, m, k)
		}
	})
}
