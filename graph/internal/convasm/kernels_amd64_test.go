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
