package graph

import (
	"runtime"

	"github.com/iresnet/iresnet/internal/parallel"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/blas/gonum"
)

// Float is the set of element types the numeric kernels of this package accept.
type Float interface {
	~float32 | ~float64
}

// gemm computes C = alpha·op(A)·op(B) + beta·C for row-major matrices, where
// op(A) is m×k, op(B) is k×n and C is m×n. It dispatches to the gonum BLAS
// implementation in use for the element type.
func gemm[T Float](tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	ta, tb := blas.NoTrans, blas.NoTrans
	if tA {
		ta = blas.Trans
	}
	if tB {
		tb = blas.Trans
	}
	switch cc := any(c).(type) {
	case []float32:
		blas32.Implementation().Sgemm(ta, tb, m, n, k, float32(alpha), any(a).([]float32), lda, any(b).([]float32), ldb, float32(beta), cc, ldc)
	case []float64:
		blas64.Implementation().Dgemm(ta, tb, m, n, k, float64(alpha), any(a).([]float64), lda, any(b).([]float64), ldb, float64(beta), cc, ldc)
	}
}

// parallelFor runs body(lo, hi) over [0, n) split into contiguous chunks, one
// per available CPU. Small ranges run on the calling goroutine.
func parallelFor(n int, body func(lo, hi int)) {
	count, size := splitRange(n)
	parallelChunks(n, count, size, func(_, lo, hi int) { body(lo, hi) })
}

// splitRange returns how parallelFor splits [0, n): into count contiguous
// chunks of size elements, the last one possibly shorter; count is at least 1.
func splitRange(n int) (count, size int) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		return 1, n
	}
	size = (n + workers - 1) / workers
	return (n + size - 1) / size, size
}

// parallelChunks runs body(k, lo, hi) for the k-th of the count chunks that
// splitRange(n) returned, concurrently, handed out as parallel.For does (the
// calling goroutine takes chunks too and waits only for those another
// goroutine took); a single chunk runs on the calling goroutine.
func parallelChunks(n, count, size int, body func(k, lo, hi int)) {
	if count <= 1 {
		body(0, 0, n)
		return
	}
	parallel.For(count, 1, func(next func() (lo, hi int, ok bool)) {
		for k, _, ok := next(); ok; k, _, ok = next() {
			body(k, k*size, min((k+1)*size, n))
		}
	})
}

// serialGemmWork is the largest m·n·k for which OpenBLAS (with its default
// GEMM_MULTITHREAD_THRESHOLD of 4 × 65536) computes a product on the calling
// thread.
const serialGemmWork = 4 << 16

// gemmSerial is gemm for callers that are already parallel, such as the
// per-image convolution kernels: it splits C into equal column panels that
// the BLAS computes on the calling thread.
//
// A threaded BLAS (OpenBLAS) given a product per CPU at once starts its own
// threads for each, which then contend with the callers, and which keep
// spinning for a while after each threaded product; panels of at most
// serialGemmWork multiply-adds run on the calling thread. (Splitting the
// inner dimension instead measured no faster.) Gonum's BLAS cuts a product
// whose C has 4 or more 64×64 blocks into blocks, inner dimension included,
// and hands them to goroutines; on panels of at most 3 blocks it runs its
// serial kernels, which use the whole inner dimension and measured faster.
func gemmSerial[T Float](tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	nb := serialPanel[T](m, n, k)
	for j := 0; j < n; j += nb {
		gemmPanel(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, j, min(j+nb, n))
	}
}

// gemmPanels is gemm computing gemmSerial's panels concurrently, for a
// single product with an external BLAS: it keeps the BLAS's own threads,
// which would go on spinning next to the kernels' goroutines, idle.
func gemmPanels[T Float](tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	nb := serialPanel[T](m, n, k)
	parallelFor((n+nb-1)/nb, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			gemmPanel(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, p*nb, min((p+1)*nb, n))
		}
	})
}

// serialPanel returns the width of the equal column panels that gemmSerial
// splits an m×n×k product into: n when it needs no splitting.
func serialPanel[T Float](m, n, k int) int {
	var most int
	if isGonumBLAS[T]() {
		bm := (m + 63) / 64
		if bm > 3 || bm*((n+63)/64) < 4 {
			return max(n, 1)
		}
		most = 64 * (3 / bm)
	} else {
		if m*n*k <= serialGemmWork {
			return max(n, 1)
		}
		most = max(serialGemmWork/max(m*k, 1), 16)
	}
	np := (n + most - 1) / most
	return (n + np - 1) / np
}

// gemmPanel computes columns [j0, j1) of gemm's C = α·op(A)·op(B) + β·C.
func gemmPanel[T Float](tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int, j0, j1 int) {
	if j0 == 0 && j1 == n {
		gemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	bj := b[j0:]
	if tB {
		bj = b[j0*ldb:]
	}
	gemm(tA, tB, m, j1-j0, k, alpha, a, lda, bj, ldb, beta, c[j0:], ldc)
}

// isGonumBLAS reports whether gemm on T runs on gonum's pure-Go BLAS.
func isGonumBLAS[T Float]() bool {
	var impl any
	switch any(T(0)).(type) {
	case float32:
		impl = blas32.Implementation()
	default:
		impl = blas64.Implementation()
	}
	_, ok := impl.(gonum.Implementation)
	return ok
}
