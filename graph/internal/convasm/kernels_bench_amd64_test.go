//go:build amd64

package convasm

import (
	"fmt"
	"testing"
)

// The benchmarks below time the micro-kernels alone on data that stays in
// the L1 cache, so that their GFLOP/s (reported as a metric) is the
// kernel's own rate against the core's FMA peak (2 × 16 lanes × 2 flops per
// cycle on AVX-512), without the copies, padding and dropped grid
// positions of a whole convolution. Run them on a quiet core:
//
//	go test ./graph/internal/convasm -run - -bench . -cpu 1

// BenchmarkFwdRowsF32 runs the forward tile over k taps of a 3×3 kernel on
// a padded 18-wide image (offsets one element apart within a row, so most
// loads of x straddle two cache lines, as in a convolution).
func BenchmarkFwdRowsF32(b *testing.B) {
	if !AVX512 {
		b.Skip("no AVX-512 on this CPU")
	}
	for _, c := range []int{8, 32} {
		for _, nv := range []int{2, 3} {
			benchFwdRows(b, c, nv)
		}
	}
}

// benchFwdRows times FwdRowsF32 (nv = 2) or FwdRows3F32 (nv = 3) over the
// 9·c taps of a 3×3 kernel on c channels.
func benchFwdRows(b *testing.B, c, nv int) {
	k, lanes := c*9, 16*nv
	f := FwdRowsF32
	if nv == 3 {
		f = FwdRows3F32
	}
	b.Run(fmt.Sprintf("k=%d/lanes=%d", k, lanes), func(b *testing.B) {
		const wp, plane = 18, 18 * 18
		x := make([]float32, c*plane+64)
		for i := range x {
			x[i] = float32(i%7) - 3
		}
		w := make([]float32, 8*k)
		for i := range w {
			w[i] = float32(i%5) - 2
		}
		var rows [8]*float32
		for r := range rows {
			rows[r] = &w[r*k]
		}
		offs := make([]int, k)
		for ci, t := 0, 0; ci < c; ci++ {
			for i := 0; i < 3; i++ {
				for j := 0; j < 3; j++ {
					offs[t] = (ci*plane + i*wp + j) * 4
					t++
				}
			}
		}
		y := make([]float32, 8*lanes)
		segs := []FwdSeg{{Shift: 0, Mask: 1<<lanes - 1}}
		b.ResetTimer()
		for range b.N {
			f(k, &rows, &x[0], &offs[0], &y[0], lanes*4, 8, &segs[0], 1)
		}
		b.ReportMetric(float64(b.N)*float64(2*8*lanes*k)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
}

// BenchmarkDotTileF32 runs the dot tile over ns samples of kv vectors:
// four rows of d and four taps of x one element apart (unaligned loads, as
// in a kernel gradient over a padded grid).
func BenchmarkDotTileF32(b *testing.B) {
	if !AVX512 {
		b.Skip("no AVX-512 on this CPU")
	}
	for _, kv := range []int{8, 24} {
		b.Run(fmt.Sprintf("kv=%d", kv), func(b *testing.B) {
			const ns = 4
			q := kv * 16
			d := make([]float32, ns*4*q)
			x := make([]float32, ns*q+64)
			for i := range d {
				d[i] = float32(i%5) - 2
			}
			for i := range x {
				x[i] = float32(i%7) - 3
			}
			offs := [4]int{0, 4, 8, 18 * 4}
			var acc [16 * 16]float32
			b.ResetTimer()
			for range b.N {
				DotTileF32(kv, ns, &d[0], q*4, 4*q*4, &x[0], &offs, q*4, &acc[0])
			}
			b.ReportMetric(float64(b.N)*float64(2*16*ns*q)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
