package graph

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/iresnet/iresnet/graph/internal/convasm"
)

// directTestGeoms exercise the direct kernels' edge cases: output channels
// that are not a multiple of the forward tile's 8 or the kernel gradient's
// 4, kernel sizes whose C·KH·KW is not a multiple of 4, padded grids that
// are not a multiple of the tile width, images larger than a kernel
// gradient chunk (several chunks per call), 1×1 kernels read in place, non-square kernels (no direct
// transposed convolution), wide padding, and batches of one.
var directTestGeoms = []ConvGeom{
	{N: 3, C: 16, H: 14, W: 14, O: 32, KH: 3, KW: 3, Stride: 1, Pad: 1},
	{N: 2, C: 3, H: 5, W: 7, O: 9, KH: 3, KW: 3, Stride: 1, Pad: 1},
	{N: 4, C: 5, H: 6, W: 6, O: 17, KH: 1, KW: 1, Stride: 1, Pad: 0},
	{N: 1, C: 2, H: 9, W: 11, O: 3, KH: 3, KW: 3, Stride: 1, Pad: 0},
	{N: 3, C: 16, H: 32, W: 32, O: 12, KH: 3, KW: 3, Stride: 1, Pad: 1},
	{N: 2, C: 3, H: 8, W: 9, O: 5, KH: 3, KW: 2, Stride: 1, Pad: 1},
	{N: 2, C: 4, H: 4, W: 4, O: 8, KH: 3, KW: 3, Stride: 1, Pad: 2},
	{N: 5, C: 1, H: 3, W: 3, O: 1, KH: 3, KW: 3, Stride: 1, Pad: 1},
	{N: 2, C: 7, H: 10, W: 10, O: 16, KH: 5, KW: 5, Stride: 1, Pad: 2},
	// The classifier's first layer: 288 grid positions, six three-vector
	// tiles of float32 on AVX-512.
	{N: 2, C: 8, H: 16, W: 16, O: 32, KH: 3, KW: 3, Stride: 1, Pad: 1},
	{N: 3, C: 4, H: 12, W: 12, O: 64, KH: 1, KW: 1, Stride: 1, Pad: 0},
	// 1×1 with a grid of whole tiles in either type (64 positions), whose
	// kernel gradient reads x and dy in place.
	{N: 5, C: 6, H: 8, W: 8, O: 12, KH: 1, KW: 1, Stride: 1, Pad: 0},
	// Small images, whose padded grid is mostly dropped positions.
	{N: 64, C: 6, H: 4, W: 4, O: 10, KH: 3, KW: 3, Stride: 1, Pad: 1},
	{N: 37, C: 3, H: 2, W: 3, O: 17, KH: 3, KW: 3, Stride: 1, Pad: 1},
	{N: 40, C: 5, H: 3, W: 3, O: 8, KH: 1, KW: 1, Stride: 1, Pad: 0},
}

// directMode is a kernel set: the direct kernels or not, AVX-512 or AVX2,
// and on AVX-512 with or without the three-vector forward tiles.
type directMode struct {
	name                 string
	direct, avx512, wide bool
}

// directModes returns the kernel sets this CPU can run — AVX-512 with
// and without wide tiles, AVX2 direct kernels, and the im2col path.
func directModes() []directMode {
	modes := []directMode{{"im2col", false, false, false}}
	if convasm.AVX512 {
		modes = append(modes, directMode{"avx512", true, true, true}, directMode{"avx512-narrow", true, true, false})
	}
	if convasm.AVX2 {
		modes = append(modes, directMode{"avx2", true, false, false})
	}
	return modes
}

// set switches to the kernel set m for a test and restores the previous
// one at cleanup.
func (m directMode) set(t *testing.T) {
	setMode(t, m.direct, m.avx512)
	prev := wideTiles
	wideTiles = m.wide
	t.Cleanup(func() { wideTiles = prev })
}

// setMode switches the kernel set for a test and restores it at cleanup.
func setMode(t *testing.T, direct, avx bool) {
	prevDirect, prevAVX := directKernels, avx512
	directKernels, avx512 = direct, avx
	t.Cleanup(func() { directKernels, avx512 = prevDirect, prevAVX })
}

// TestConvDirectMatchNaive compares the three kernels with the textbook
// sums on directTestGeoms, in float64 and float32, on one and two workers,
// with each kernel set the CPU can run.
func TestConvDirectMatchNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 12))
	for _, m := range directModes() {
		t.Run(m.name, func(t *testing.T) {
			m.set(t)
			for _, procs := range []int{1, 2} {
				old := runtime.GOMAXPROCS(procs)
				for _, g := range directTestGeoms {
					if err := g.Validate(); err != nil {
						t.Fatalf("%v: %v", g, err)
					}
					t.Run(fmt.Sprintf("procs=%d/%v", procs, g), func(t *testing.T) {
						checkConvKernels(t, rng, g)
					})
				}
				runtime.GOMAXPROCS(old)
			}
		})
	}
}

// checkConvKernels runs ConvForward, ConvTranspose and ConvFilterGrad on
// random data in float64 and float32, into outputs that start as NaN, and
// compares with naiveConv, naiveConvT and naiveConvW.
func checkConvKernels(t *testing.T, rng *rand.Rand, g ConvGeom) {
	t.Helper()
	x := randSlice(rng, size(g.InShape()))
	w := randSlice(rng, size(g.KernelShape()))
	dy := randSlice(rng, size(g.OutShape()))
	want := [][]float64{naiveConv(g, x, w), naiveConvT(g, dy, w), naiveConvW(g, x, dy)}
	got := make([][]float64, 3)
	got32 := make([][]float32, 3)
	for k := range want {
		got[k] = make([]float64, len(want[k]))
		got32[k] = make([]float32, len(want[k]))
		for i := range got[k] {
			got[k][i], got32[k][i] = math.NaN(), float32(math.NaN())
		}
	}
	ConvForward(g, x, w, got[0])
	ConvTranspose(g, dy, w, got[1])
	ConvFilterGrad(g, x, dy, got[2])
	ConvForward(g, f32(x), f32(w), got32[0])
	ConvTranspose(g, f32(dy), f32(w), got32[1])
	ConvFilterGrad(g, f32(x), f32(dy), got32[2])
	for k, name := range convKindNames {
		for i := range want[k] {
			scale := math.Max(1, math.Abs(want[k][i]))
			if d := math.Abs(got[k][i] - want[k][i]); !(d <= 1e-11*scale) {
				t.Fatalf("%s[%d] = %g, naive %g", name, i, got[k][i], want[k][i])
			}
			if d := math.Abs(float64(got32[k][i]) - want[k][i]); !(d <= 2e-4*scale) {
				t.Fatalf("float32 %s[%d] = %g, naive %g", name, i, got32[k][i], want[k][i])
			}
		}
	}
}

// TestConvDirectDeterministic checks that the direct kernels give
// bit-identical results on one and on several workers, whatever the
// schedule: training runs must reproduce.
func TestConvDirectDeterministic(t *testing.T) {
	for _, m := range directModes() {
		if !m.direct {
			continue // the im2col kernel gradient sums per-worker partials
		}
		t.Run(m.name, func(t *testing.T) {
			m.set(t)
			checkDeterministic(t)
		})
	}
}

func checkDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 13))
	for _, g := range directTestGeoms {
		x := randSlice32(rng, size(g.InShape()))
		w := randSlice32(rng, size(g.KernelShape()))
		dy := randSlice32(rng, size(g.OutShape()))
		var want [][]float32
		for _, procs := range []int{1, 2, 3, 1, 2} {
			old := runtime.GOMAXPROCS(procs)
			got := [][]float32{make([]float32, len(dy)), make([]float32, len(x)), make([]float32, len(w))}
			ConvForward(g, x, w, got[0])
			ConvTranspose(g, dy, w, got[1])
			ConvFilterGrad(g, x, dy, got[2])
			runtime.GOMAXPROCS(old)
			if want == nil {
				want = got
				continue
			}
			for k := range got {
				for i := range got[k] {
					if got[k][i] != want[k][i] {
						t.Fatalf("%v, %d workers: %s[%d] = %v, on one worker %v", g, procs, convKindNames[k], i, got[k][i], want[k][i])
					}
				}
			}
		}
	}
}

// TestConvFilterGradBatch runs the small-image geometries with and without
// directFilterGradBatch, checks that they take it, and that it is
// deterministic.
func TestConvFilterGradBatch(t *testing.T) {
	small := directTestGeoms[len(directTestGeoms)-3:]
	for _, m := range directModes() {
		if !m.direct {
			continue
		}
		t.Run(m.name, func(t *testing.T) {
			m.set(t)
			for _, g := range small {
				if !takesBatchFilterGrad[float32](planFor[float32](g)) || !takesBatchFilterGrad[float64](planFor[float64](g)) {
					t.Errorf("%v does not take the batch kernel gradient", g)
				}
			}
			t.Cleanup(func() { batchFilterGrad = true })
			rng := rand.New(rand.NewPCG(16, 16))
			for _, on := range []bool{true, false} {
				batchFilterGrad = on
				for _, g := range small {
					t.Run(fmt.Sprintf("batch=%v/%v", on, g), func(t *testing.T) { checkConvKernels(t, rng, g) })
				}
			}
		})
	}
}

// TestConvBatch runs the small-image geometries with and without
// directConvBatch (the forward and, through the flipped kernel, the
// transposed convolution), and checks that those with kernels larger than
// 1×1 take it.
func TestConvBatch(t *testing.T) {
	small := directTestGeoms[len(directTestGeoms)-3:]
	for _, m := range directModes() {
		if !m.direct {
			continue
		}
		t.Run(m.name, func(t *testing.T) {
			m.set(t)
			for _, g := range small {
				take := g.KH*g.KW > 1
				if takesBatchConv[float32](planFor[float32](g)) != take || takesBatchConv[float64](planFor[float64](g)) != take {
					t.Errorf("%v: takes the batch convolution: %v, want %v", g, !take, take)
				}
			}
			t.Cleanup(func() { batchConv = true })
			rng := rand.New(rand.NewPCG(17, 17))
			for _, on := range []bool{true, false} {
				batchConv = on
				for _, procs := range []int{1, 2} {
					old := runtime.GOMAXPROCS(procs)
					for _, g := range small {
						t.Run(fmt.Sprintf("batch=%v/procs=%d/%v", on, procs, g), func(t *testing.T) { checkConvKernels(t, rng, g) })
					}
					runtime.GOMAXPROCS(old)
				}
			}
		})
	}
}

// TestCopyRows checks the strided row copy at widths around the vector
// lengths, in both element types, and that it writes nothing between or
// after the rows.
func TestCopyRows(t *testing.T) {
	setMode(t, directKernels, avx512)
	t.Run("float32", func(t *testing.T) { checkCopyRows[float32](t) })
	t.Run("float64", func(t *testing.T) { checkCopyRows[float64](t) })
}

func checkCopyRows[T Float](t *testing.T) {
	for _, width := range []int{1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 50} {
		for _, rows := range []int{1, 2, 5} {
			ss, ds := width+3, width+5
			src := make([]T, (rows-1)*ss+width)
			for i := range src {
				src[i] = T(i + 1)
			}
			dst := make([]T, (rows-1)*ds+width+7)
			for i := range dst {
				dst[i] = -1
			}
			copyRows(dst, ds, src, ss, rows, width)
			for i, v := range dst {
				r, c := i/ds, i%ds
				want := T(-1)
				if r < rows && c < width {
					want = src[r*ss+c]
				}
				if v != want {
					t.Fatalf("width %d, rows %d: dst[%d] = %v, want %v", width, rows, i, v, want)
				}
			}
		}
	}
}

// f32 returns s converted to float32.
func f32(s []float64) []float32 {
	out := make([]float32, len(s))
	for i, v := range s {
		out[i] = float32(v)
	}
	return out
}

// TestFlipKernelLarge checks flipKernel on kernels large enough to be split
// over the cores (48 × 40 × 3 × 3 and 512 × 64 × 1 × 1), against flip(w)
// written out index by index, with the output first filled with NaN so that
// an element no worker wrote shows; then ConvTranspose twice in a row on
// that geometry with different kernels (the pooled flipped kernel of the
// first call must not leak into the second), each against the adjoint
// identity ⟨conv(x, w), dy⟩ = ⟨x, convᵀ(dy, w)⟩ for a random x.
func TestFlipKernelLarge(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	rng := rand.New(rand.NewPCG(3, 4))
	for _, g := range []ConvGeom{
		{N: 1, C: 40, H: 5, W: 5, O: 48, KH: 3, KW: 3, Stride: 1, Pad: 1},
		{N: 2, C: 64, H: 3, W: 3, O: 512, KH: 1, KW: 1, Stride: 1, Pad: 0},
	} {
		if g.O*g.C*g.KH*g.KW < actChunk {
			t.Fatalf("%v: too small to take the parallel path", g)
		}
		w := make([]float64, g.O*g.C*g.KH*g.KW)
		for i := range w {
			w[i] = rng.NormFloat64()
		}
		out := make([]float64, len(w))
		for i := range out {
			out[i] = math.NaN()
		}
		flipKernel(g, w, out)
		for c := 0; c < g.C; c++ {
			for o := 0; o < g.O; o++ {
				for i := 0; i < g.KH; i++ {
					for j := 0; j < g.KW; j++ {
						got := out[((c*g.O+o)*g.KH+i)*g.KW+j]
						want := w[((o*g.C+c)*g.KH+g.KH-1-i)*g.KW+g.KW-1-j]
						if got != want {
							t.Fatalf("%v: flip[%d, %d, %d, %d] = %v, want %v", g, c, o, i, j, got, want)
						}
					}
				}
			}
		}
		x := make([]float64, g.N*g.C*g.H*g.W)
		dy := make([]float64, g.N*g.O*g.OH()*g.OW())
		for k := range 2 {
			for i := range w {
				w[i] = rng.NormFloat64()
			}
			for i := range x {
				x[i] = rng.NormFloat64()
			}
			for i := range dy {
				dy[i] = rng.NormFloat64()
			}
			y := make([]float64, len(dy))
			dx := make([]float64, len(x))
			ConvForward(g, x, w, y)
			ConvTranspose(g, dy, w, dx)
			lhs, rhs := 0.0, 0.0
			for i := range y {
				lhs += y[i] * dy[i]
			}
			for i := range x {
				rhs += x[i] * dx[i]
			}
			if math.Abs(lhs-rhs) > 1e-10*(1+math.Abs(lhs)) {
				t.Errorf("%v, call %d: ⟨conv(x, w), dy⟩ = %.15g but ⟨x, convᵀ(dy, w)⟩ = %.15g", g, k+1, lhs, rhs)
			}
		}
	}
}

// TestWideTilesChosen checks which padded grids take the three-vector
// forward tile on AVX-512, in both element types: those where it computes
// no more positions (a 16×16 image with padding 1: 288 either way; 28×28:
// 864, or 840 instead of 848 in float64), and not where the grid would grow — a 16×16 1×1 convolution (288
// against 256), 32×32 with padding 1 (1,104 against 1,088), or a 32×32 1×1
// convolution, whose kernel gradient reads x and dy in place only on an
// exact grid of 1,024 — so that the wide kernel runs in the models and
// nothing else changes.
func TestWideTilesChosen(t *testing.T) {
	if !convasm.AVX512 {
		t.Skip("no AVX-512 on this CPU")
	}
	directMode{"avx512", true, true, true}.set(t)
	for _, c := range []struct {
		g                    ConvGeom
		nr, qpad, nr64, qp64 int // float32, float64
	}{
		{ConvGeom{N: 2, C: 8, H: 16, W: 16, O: 32, KH: 3, KW: 3, Stride: 1, Pad: 1}, 48, 288, 24, 288},
		// 840 positions: 27 tiles of 32 or 18 of 48 (864); in float64
		// 53 of 16 (848) or 35 of 24 (840), a smaller grid.
		{ConvGeom{N: 2, C: 1, H: 28, W: 28, O: 32, KH: 3, KW: 3, Stride: 1, Pad: 1}, 48, 864, 24, 840},
		{ConvGeom{N: 2, C: 8, H: 32, W: 32, O: 32, KH: 3, KW: 3, Stride: 1, Pad: 1}, 32, 1088, 16, 1088},
		{ConvGeom{N: 2, C: 32, H: 16, W: 16, O: 32, KH: 1, KW: 1, Stride: 1}, 32, 256, 16, 256},
		{ConvGeom{N: 2, C: 32, H: 32, W: 32, O: 32, KH: 1, KW: 1, Stride: 1}, 32, 1024, 16, 1024},
		{ConvGeom{N: 2, C: 16, H: 14, W: 14, O: 32, KH: 3, KW: 3, Stride: 1, Pad: 1}, 32, 224, 16, 224},
	} {
		if p := planFor[float32](c.g); p.nr != c.nr || p.qpad != c.qpad {
			t.Errorf("float32 %v: tile %d, grid %d; want %d, %d", c.g, p.nr, p.qpad, c.nr, c.qpad)
		}
		if p := planFor[float64](c.g); p.nr != c.nr64 || p.qpad != c.qp64 {
			t.Errorf("float64 %v: tile %d, grid %d; want %d, %d", c.g, p.nr, p.qpad, c.nr64, c.qp64)
		}
	}
}
