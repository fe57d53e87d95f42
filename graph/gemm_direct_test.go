package graph

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// TestKernelBLASGemm compares kernelBLAS's Sgemm and Dgemm with gonum's for
// every transposition, sizes around the tile widths and the small-product
// threshold, α ≠ 1, β = 0 (the kernel path) and β ≠ 0 (gonum's), leading
// dimensions wider than the matrices, and checks that C outside its m×n
// block is untouched.
func TestKernelBLASGemm(t *testing.T) {
	for _, m := range directModes() {
		t.Run(m.name, func(t *testing.T) {
			m.set(t)
			checkKernelGemm(t)
		})
	}
}

func checkKernelGemm(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 15))
	sizes := [][3]int{{500, 64, 64}, {64, 500, 2}, {500, 2, 64}, {37, 45, 29}, {8, 32, 64}, {9, 33, 70}, {100, 17, 300}, {3, 5, 7}, {256, 256, 256}}
	for _, sz := range sizes {
		m, n, k := sz[0], sz[1], sz[2]
		for _, tr := range [][2]blas.Transpose{{blas.NoTrans, blas.NoTrans}, {blas.Trans, blas.NoTrans}, {blas.NoTrans, blas.Trans}, {blas.Trans, blas.Trans}} {
			for _, ab := range [][2]float64{{1, 0}, {-0.5, 0}, {1.5, 0.5}} {
				lda, ldb, ldc := k+1, n+2, n+3
				if tr[0] == blas.Trans {
					lda = m + 1
				}
				if tr[1] == blas.Trans {
					ldb = k + 2
				}
				ar, br := m, k
				if tr[0] == blas.Trans {
					ar = k
				}
				if tr[1] == blas.Trans {
					br = n
				}
				a, b := randSlice(rng, ar*lda), randSlice(rng, br*ldb)
				c0 := randSlice(rng, m*ldc)
				want := append([]float64(nil), c0...)
				gonum.Implementation{}.Dgemm(tr[0], tr[1], m, n, k, ab[0], a, lda, b, ldb, ab[1], want, ldc)
				got := append([]float64(nil), c0...)
				kernelBLAS{}.Dgemm(tr[0], tr[1], m, n, k, ab[0], a, lda, b, ldb, ab[1], got, ldc)
				for i := range want {
					if d := math.Abs(got[i] - want[i]); !(d <= 1e-12*math.Max(1, math.Abs(want[i]))) {
						t.Fatalf("Dgemm %v %v α=%v β=%v: c[%d] = %g, gonum %g", sz, tr, ab[0], ab[1], i, got[i], want[i])
					}
				}
				got32 := f32(c0)
				kernelBLAS{}.Sgemm(tr[0], tr[1], m, n, k, float32(ab[0]), f32(a), lda, f32(b), ldb, float32(ab[1]), got32, ldc)
				for i := range want {
					if d := math.Abs(float64(got32[i]) - want[i]); !(d <= 1e-4*math.Max(1, math.Abs(want[i]))*math.Sqrt(float64(k))) {
						t.Fatalf("Sgemm %v %v α=%v β=%v: c[%d] = %g, gonum %g", sz, tr, ab[0], ab[1], i, got32[i], want[i])
					}
				}
			}
		}
	}
}
