//go:build openblas

package graph

// #cgo LDFLAGS: -lopenblas
import "C"

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/netlib/blas/netlib"
	"gorgonia.org/tensor"
)

// UseFastBLAS installs OpenBLAS (through gonum's netlib cgo bindings) for
// gorgonia's matrix products and this package's convolutions, with the
// matrix products that the direct convolution's micro-kernel computes
// (β = 0, not tiny, on CPUs with AVX-512 or AVX2) taken by that kernel
// instead, as in the pure-Go build: on the small products of these models
// (e.g. 500 × 64 × 64) it is faster than OpenBLAS and starts no threads of
// its own. It returns the BLAS's name. It changes process-wide state in
// gonum and gorgonia, so programs call it once at start.
func UseFastBLAS() string {
	if !directKernels {
		impl := netlib.Implementation{}
		tensor.Use(impl)
		blas32.Use(impl)
		blas64.Use(impl)
		return "openblas (cgo)"
	}
	impl := kernelOpenBLAS{}
	tensor.Use(impl)
	blas32.Use(impl)
	blas64.Use(impl)
	return "openblas (cgo) with Go-assembly matrix products"
}

// kernelOpenBLAS is OpenBLAS with the matrix products Sgemm and Dgemm
// computed on the forward micro-kernel where kernelGemm applies.
type kernelOpenBLAS struct{ netlib.Implementation }

// Sgemm computes C = α·op(A)·op(B) + β·C.
func (kernelOpenBLAS) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if !kernelGemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
		netlib.Implementation{}.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	}
}

// Dgemm computes C = α·op(A)·op(B) + β·C.
func (kernelOpenBLAS) Dgemm(tA, tB blas.Transpose, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	if !kernelGemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
		netlib.Implementation{}.Dgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	}
}
