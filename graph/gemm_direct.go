package graph

import (
	"runtime"
	"unsafe"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/iresnet/iresnet/graph/internal/convasm"
)

// kernelBLAS is gonum's pure-Go BLAS with its matrix products Sgemm and
// Dgemm computed on the direct convolution's forward micro-kernel where
// that applies (β = 0 and a product large enough to pay for packing): a
// matrix product is a 1×1 convolution whose "image" rows are the rows of
// op(B). Everything else is gonum's.
type kernelBLAS struct{ gonum.Implementation }

// kernelGemmMin is the smallest m·n·k that kernelBLAS computes on the
// micro-kernel; smaller products cost less than packing.
const kernelGemmMin = 1 << 14

// Sgemm computes C = α·op(A)·op(B) + β·C.
func (kernelBLAS) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if !kernelGemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
		gonum.Implementation{}.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	}
}

// Dgemm computes C = α·op(A)·op(B) + β·C.
func (kernelBLAS) Dgemm(tA, tB blas.Transpose, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	if !kernelGemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
		gonum.Implementation{}.Dgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	}
}

// kernelGemm computes C = α·op(A)·op(B) on the forward micro-kernel and
// returns true, or returns false without touching C when it does not
// apply: β ≠ 0, a small product, no kernels, or arguments that gonum
// would reject (left to gonum to report).
func kernelGemm[T Float](tA, tB blas.Transpose, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) bool {
	if !directKernels || beta != 0 || m <= 0 || n <= 0 || k <= 0 || m*n*k < kernelGemmMin {
		return false
	}
	ta, tb := tA != blas.NoTrans, tB != blas.NoTrans
	ar, ac := m, k // rows and columns of A as stored
	if ta {
		ar, ac = k, m
	}
	br, bc := k, n
	if tb {
		br, bc = n, k
	}
	if lda < max(1, ac) || ldb < max(1, bc) || ldc < max(1, n) ||
		len(a) < (ar-1)*lda+ac || len(b) < (br-1)*ldb+bc || len(c) < (m-1)*ldc+n {
		return false
	}
	esz := int(unsafe.Sizeof(T(0)))
	nr := fwdNR[T]()

	// α·op(A) in panels of dirMR rows: ap[(p·k + kk)·dirMR + r].
	np := (m + dirMR - 1) / dirMR
	ap := make([]T, np*k*dirMR)
	for i := 0; i < m; i++ {
		pa := ap[(i/dirMR)*k*dirMR+i%dirMR:]
		if ta {
			for kk := 0; kk < k; kk++ {
				pa[kk*dirMR] = alpha * a[kk*lda+i]
			}
			continue
		}
		for kk, v := range a[i*lda : i*lda+k] {
			pa[kk*dirMR] = alpha * v
		}
	}
	// op(B) row kk starts at bp[boffs[kk]/size]. Column tiles of nr read
	// nr elements of every row, so the last, partial one (and a transposed
	// B) reads a copy padded to whole tiles.
	nt := (n + nr - 1) / nr
	bp, bld := b, ldb
	if tb || n%nr != 0 {
		bld = nt * nr
		bp = make([]T, k*bld)
		for kk := 0; kk < k; kk++ {
			row := bp[kk*bld : kk*bld+n]
			if tb {
				for j := range row {
					row[j] = b[j*ldb+kk]
				}
			} else {
				copy(row, b[kk*ldb:kk*ldb+n])
			}
		}
	}
	boffs := make([]int, k)
	for kk := range boffs {
		boffs[kk] = kk * bld * esz
	}
	full := []convasm.FwdSeg{{Mask: 1<<nr - 1}}
	last := []convasm.FwdSeg{{Mask: 1<<(n-(nt-1)*nr) - 1}}

	// Work units are (column tile, row panel), tile-major so that a worker
	// reads each column tile of B once.
	units := nt * np
	grain := max(1, units/(4*runtime.GOMAXPROCS(0)))
	if m*n*k < 16*kernelGemmMin {
		grain = units // too small to split
	}
	dynamicFor(units, grain, func(next func() (lo, hi int, ok bool)) {
		for lo, hi, ok := next(); ok; lo, hi, ok = next() {
			for u := lo; u < hi; u++ {
				t, p := u/np, u%np
				segs := full
				if t == nt-1 {
					segs = last
				}
				fwdTile(k, &ap[p*k*dirMR], &bp[t*nr], &boffs[0], &c[p*dirMR*ldc+t*nr], ldc*esz, min(dirMR, m-p*dirMR), segs)
			}
		}
	})
	return true
}
