package graph

import (
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/iresnet/iresnet/graph/internal/convasm"
)

// TestAddOp checks addOp against a plain sum in both element types, on
// lengths around the vector width and beyond one chunk, into a fresh
// output and in place of either input, with the AVX-512 kernel on and off.
func TestAddOp(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, mode := range []bool{false, true} {
		if mode && !convasm.AVX512 {
			continue
		}
		setMode(t, directKernels, mode)
		for _, n := range []int{1, 15, 16, 17, 64 + 5, actChunk + 33} {
			a, b := randSlice(rng, n), randSlice(rng, n)
			for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
				for _, into := range []int{-1, 0, 1} { // fresh, in place of a, of b
					av, bv := denseOfType(dt, a), denseOfType(dt, b)
					var out G.Value
					var err error
					switch into {
					case -1:
						out, err = addOp{dims: 1}.Do(av, bv)
					case 0:
						out, err = addOp{dims: 1}.UsePreallocDo(av, av, bv)
					case 1:
						out, err = addOp{dims: 1}.UsePreallocDo(bv, av, bv)
					}
					if err != nil {
						t.Fatal(err)
					}
					got := asFloat64(out.(*tensor.Dense))
					for i := range a {
						want := a[i] + b[i]
						if dt == tensor.Float32 {
							want = float64(float32(a[i]) + float32(b[i]))
						}
						if got[i] != want {
							t.Fatalf("avx512=%v %v n=%d into=%d: [%d] = %g, want %g", avx512, dt, n, into, i, got[i], want)
						}
					}
				}
			}
		}
	}
}
