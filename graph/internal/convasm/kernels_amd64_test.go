//go:build amd64

package convasm

import (
	"math/rand/v2"
	"testing"
)

// TestSumLanesF32 checks each of the 16 sums against a float64 sum of the
// accumulator's lanes, with lane values that tell a misplaced lane or
// accumulator apart (a shuffle constant off by one moves a whole quarter).
func TestSumLanesF32(t *testing.T) {
	if !AVX512 {
		t.Skip("no AVX-512 on this CPU")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 20; trial++ {
		var acc [16 * 16]float32
		for i := range acc {
			acc[i] = float32(rng.NormFloat64())
		}
		if trial == 0 { // one-hot: only lane l of accumulator k is set
			clear(acc[:])
			acc[5*16+11] = 1
		}
		var got [16]float32
		SumLanesF32(&acc[0], &got)
		for a := 0; a < 4; a++ {
			for b := 0; b < 4; b++ {
				var want float64
				for l := 0; l < 16; l++ {
					want += float64(acc[(a*4+b)*16+l])
				}
				if d := float64(got[b*4+a]) - want; d > 1e-5 || d < -1e-5 {
					t.Fatalf("trial %d: entry (%d, %d) = %g, want %g", trial, a, b, got[b*4+a], want)
				}
			}
		}
	}
}

// TestTranspose8F32 moves 8 rows of 48 columns (three blocks) between
// padded layouts both ways, checks every element against its index, and
// checks that the padding between rows is left as it was.
func TestTranspose8F32(t *testing.T) {
	if !AVX512 {
		t.Skip("no AVX-512 on this CPU")
	}
	const rows, cols, lds, ldd = 8, 48, 53, 11 // strides in elements
	const guard = -7
	src := make([]float32, rows*lds)
	for i := range src {
		src[i] = guard
	}
	for r := 0; r < rows; r++ {
		for j := 0; j < cols; j++ {
			src[r*lds+j] = float32(r*1000 + j)
		}
	}
	dst := make([]float32, cols*ldd)
	for i := range dst {
		dst[i] = guard
	}
	Transpose8F32(&dst[0], ldd*4, &src[0], lds*4, cols/16)
	for j := 0; j < cols; j++ {
		for r := 0; r < ldd; r++ {
			want := float32(guard)
			if r < rows {
				want = float32(r*1000 + j)
			}
			if got := dst[j*ldd+r]; got != want {
				t.Fatalf("Transpose8F32: dst[%d][%d] = %g, want %g", j, r, got, want)
			}
		}
	}
	// The same columns through an offset table, in reverse order.
	offs := make([]int, cols)
	for j := range offs {
		offs[j] = (cols - 1 - j) * ldd * 4
	}
	rev := make([]float32, cols*ldd)
	Transpose8OffsF32(&rev[0], &offs[0], &src[0], lds*4, cols/16)
	for j := 0; j < cols; j++ {
		for r := 0; r < rows; r++ {
			if got, want := rev[(cols-1-j)*ldd+r], float32(r*1000+j); got != want {
				t.Fatalf("Transpose8OffsF32: column %d, row %d = %g, want %g", j, r, got, want)
			}
		}
	}
	back := make([]float32, rows*lds)
	for i := range back {
		back[i] = guard
	}
	Untranspose8F32(&back[0], lds*4, &dst[0], ldd*4, cols/16)
	for i := range back {
		if back[i] != src[i] {
			t.Fatalf("Untranspose8F32: element %d (row %d, column %d) = %g, want %g", i, i/lds, i%lds, back[i], src[i])
		}
	}
}

// TestAddScalarAndSumF32 checks the scalar add and multiply, the sum and
// the dot product on lengths around their unrolling (one vector, four,
// five) and that none touches elements past the last whole vector.
func TestAddScalarAndSumF32(t *testing.T) {
	if !AVX512 {
		t.Skip("no AVX-512 on this CPU")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{16, 64, 80, 272} {
		x := make([]float32, n+16)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		out := make([]float32, n+16)
		for i := range out {
			out[i] = -99
		}
		AddScalarF32(n, &x[0], 0.25, &out[0])
		for i := range out {
			want := float32(-99)
			if i < n {
				want = x[i] + 0.25
			}
			if out[i] != want {
				t.Fatalf("n=%d: AddScalarF32 out[%d] = %g, want %g", n, i, out[i], want)
			}
		}
		for i := range out {
			out[i] = -99
		}
		MulScalarF32(n, &x[0], -1.5, &out[0])
		for i := range out {
			want := float32(-99)
			if i < n {
				want = x[i] * -1.5
			}
			if out[i] != want {
				t.Fatalf("n=%d: MulScalarF32 out[%d] = %g, want %g", n, i, out[i], want)
			}
		}
		var want, dot float64
		for i, v := range x[:n] {
			want += float64(v)
			dot += float64(v) * float64(out[i])
		}
		if got := SumF32(n, &x[0]); float64(got)-want > 1e-4 || want-float64(got) > 1e-4 {
			t.Fatalf("n=%d: SumF32 = %g, want %g", n, got, want)
		}
		// x · (−1.5 x) past n holds x[i]·(−99): any element read past the
		// last whole vector moves the dot product far.
		if got := DotF32(n, &x[0], &out[0]); float64(got)-dot > 1e-3 || dot-float64(got) > 1e-3 {
			t.Fatalf("n=%d: DotF32 = %g, want %g", n, got, dot)
		}
	}
}

// TestFwdRows checks FwdRows (8 × 2 vectors) and FwdRows3 (8 × 3
// vectors), float32 and float64, against float64 sums: unaligned offsets,
// fewer stored rows than eight, and three segments that move lanes with
// two dropped runs, one of them inside the last vector (a mask taken from
// the wrong bits, or one vector stored under another's mask, writes a lane
// it should not or misses one) — every stored value against its own sum,
// every other position left as it was.
func TestFwdRows(t *testing.T) {
	if !AVX512 {
		t.Skip("no AVX-512 on this CPU")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, nrows := range []int{8, 5, 3} {
		checkFwdRows(t, rng, "FwdRowsF32", 32, nrows, FwdRowsF32, 1e-4)
		checkFwdRows(t, rng, "FwdRows3F32", 48, nrows, FwdRows3F32, 1e-4)
		checkFwdRows(t, rng, "FwdRowsF64", 16, nrows, FwdRowsF64, 1e-12)
		checkFwdRows(t, rng, "FwdRows3F64", 24, nrows, FwdRows3F64, 1e-12)
	}
}

func checkFwdRows[T float32 | float64](t *testing.T, rng *rand.Rand, name string, lanes, nrows int,
	f func(k int, rows *[8]*T, x *T, offs *int, y *T, ldy, nrows int, segs *FwdSeg, nseg int), tol float64) {
	t.Helper()
	const k, ldy, unset = 37, 200, -1000
	esz := 4
	if _, ok := any(T(0)).(float64); ok {
		esz = 8
	}
	w := make([]T, 8*k)
	x := make([]T, 4*k+lanes+3)
	for i := range w {
		w[i] = T(rng.NormFloat64())
	}
	for i := range x {
		x[i] = T(rng.NormFloat64())
	}
	var rows [8]*T
	for r := range rows {
		rows[r] = &w[r*k]
	}
	offs := make([]int, k)
	for i := range offs {
		offs[i] = (rng.IntN(4*k) + 1) * esz // mostly unaligned
	}
	// Lanes [0, 4) go to positions [0, 4), [6, lanes−6) to 46 positions
	// further, [lanes−4, lanes) to 120 further; [4, 6) and [lanes−6,
	// lanes−4) are dropped.
	pos := func(lane int) int {
		switch {
		case lane < 4:
			return lane
		case lane >= 6 && lane < lanes-6:
			return lane + 46
		case lane >= lanes-4:
			return lane + 120
		}
		return -1
	}
	run := func(lo, hi int) uint64 { return (1<<hi - 1) &^ (1<<lo - 1) }
	segs := []FwdSeg{{0, run(0, 4)}, {46 * esz, run(6, lanes-6)}, {120 * esz, run(lanes-4, lanes)}}
	y := make([]T, 8*ldy)
	for i := range y {
		y[i] = unset
	}
	f(k, &rows, &x[0], &offs[0], &y[0], ldy*esz, nrows, &segs[0], len(segs))
	want := make([]T, 8*ldy)
	for i := range want {
		want[i] = unset
	}
	for r := 0; r < nrows; r++ {
		for lane := 0; lane < lanes; lane++ {
			if p := pos(lane); p >= 0 {
				var s float64
				for i := 0; i < k; i++ {
					s += float64(w[r*k+i]) * float64(x[offs[i]/esz+lane])
				}
				want[r*ldy+p] = T(s)
			}
		}
	}
	for i, got := range y {
		if d := float64(got) - float64(want[i]); d > tol || d < -tol {
			t.Fatalf("%s, %d rows: row %d position %d = %g, want %g (%g: not written)", name, nrows, i/ldy, i%ldy, got, want[i], float64(unset))
		}
	}
}
