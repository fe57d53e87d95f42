package graph

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/blas/gonum"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// naiveConvT and naiveConvW are the textbook adjoints of naiveConv: the
// transposed convolution and the kernel gradient.
func naiveConvT(g ConvGeom, dy, w []float64) []float64 {
	oh, ow := g.OH(), g.OW()
	dx := make([]float64, g.N*g.C*g.H*g.W)
	for n := 0; n < g.N; n++ {
		for o := 0; o < g.O; o++ {
			for i := 0; i < oh; i++ {
				for j := 0; j < ow; j++ {
					d := dy[((n*g.O+o)*oh+i)*ow+j]
					for c := 0; c < g.C; c++ {
						for ki := 0; ki < g.KH; ki++ {
							for kj := 0; kj < g.KW; kj++ {
								yi, xj := i*g.Stride-g.Pad+ki, j*g.Stride-g.Pad+kj
								if yi < 0 || yi >= g.H || xj < 0 || xj >= g.W {
									continue
								}
								dx[((n*g.C+c)*g.H+yi)*g.W+xj] += d * w[((o*g.C+c)*g.KH+ki)*g.KW+kj]
							}
						}
					}
				}
			}
		}
	}
	return dx
}

func naiveConvW(g ConvGeom, x, dy []float64) []float64 {
	oh, ow := g.OH(), g.OW()
	dw := make([]float64, g.O*g.C*g.KH*g.KW)
	for n := 0; n < g.N; n++ {
		for o := 0; o < g.O; o++ {
			for i := 0; i < oh; i++ {
				for j := 0; j < ow; j++ {
					d := dy[((n*g.O+o)*oh+i)*ow+j]
					for c := 0; c < g.C; c++ {
						for ki := 0; ki < g.KH; ki++ {
							for kj := 0; kj < g.KW; kj++ {
								yi, xj := i*g.Stride-g.Pad+ki, j*g.Stride-g.Pad+kj
								if yi < 0 || yi >= g.H || xj < 0 || xj >= g.W {
									continue
								}
								dw[((o*g.C+c)*g.KH+ki)*g.KW+kj] += d * x[((n*g.C+c)*g.H+yi)*g.W+xj]
							}
						}
					}
				}
			}
		}
	}
	return dw
}

// kernelTestGeoms covers the per-image kernels' edge cases: strides that
// skip input pixels, padding wider than the kernel's half, kernels as wide
// as the padded input, pointwise convolutions, and batches that do not
// divide evenly among the workers.
var kernelTestGeoms = []ConvGeom{
	{N: 5, C: 3, H: 7, W: 6, O: 4, KH: 3, KW: 3, Stride: 1, Pad: 1},
	{N: 5, C: 3, H: 4, W: 5, O: 2, KH: 1, KW: 1, Stride: 1, Pad: 0},
	{N: 3, C: 2, H: 7, W: 8, O: 3, KH: 1, KW: 1, Stride: 2, Pad: 0},
	{N: 3, C: 2, H: 6, W: 5, O: 3, KH: 1, KW: 1, Stride: 1, Pad: 1},
	{N: 4, C: 2, H: 9, W: 7, O: 3, KH: 3, KW: 2, Stride: 2, Pad: 1},
	{N: 3, C: 2, H: 8, W: 9, O: 2, KH: 3, KW: 3, Stride: 3, Pad: 0},
	{N: 2, C: 1, H: 3, W: 4, O: 2, KH: 3, KW: 3, Stride: 1, Pad: 3},
	{N: 2, C: 2, H: 5, W: 4, O: 3, KH: 5, KW: 6, Stride: 1, Pad: 1},
	{N: 7, C: 3, H: 5, W: 5, O: 2, KH: 4, KW: 4, Stride: 2, Pad: 2},
	{N: 1, C: 4, H: 6, W: 6, O: 5, KH: 3, KW: 3, Stride: 1, Pad: 1},
}

// TestConvKernelsMatchNaive compares all three kernels with the textbook
// sums, in float64 and float32, for every kernelTestGeoms entry and for
// one and several workers.
func TestConvKernelsMatchNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for _, procs := range []int{1, 2, 3} {
		prev := runtime.GOMAXPROCS(procs)
		for _, g := range kernelTestGeoms {
			if err := g.Validate(); err != nil {
				t.Fatalf("%v: %v", g, err)
			}
			t.Run(fmt.Sprintf("procs=%d/%v", procs, g), func(t *testing.T) {
				x := randSlice(rng, size(g.InShape()))
				w := randSlice(rng, size(g.KernelShape()))
				dy := randSlice(rng, size(g.OutShape()))
				want := [][]float64{naiveConv(g, x, w), naiveConvT(g, dy, w), naiveConvW(g, x, dy)}

				// Outputs start as garbage: every kernel must overwrite.
				got := [][]float64{randSlice(rng, len(want[0])), randSlice(rng, len(want[1])), randSlice(rng, len(want[2]))}
				ConvForward(g, x, w, got[0])
				ConvTranspose(g, dy, w, got[1])
				ConvFilterGrad(g, x, dy, got[2])
				for k, name := range convKindNames {
					for i := range want[k] {
						if d := math.Abs(got[k][i] - want[k][i]); d > 1e-12*math.Max(1, math.Abs(want[k][i])) {
							t.Fatalf("%s[%d] = %g, naive %g", name, i, got[k][i], want[k][i])
						}
					}
				}

				x32, w32, dy32 := f32(x), f32(w), f32(dy)
				// NaN-filled outputs: every kernel must overwrite.
				got32 := [][]float32{make([]float32, len(want[0])), make([]float32, len(want[1])), make([]float32, len(want[2]))}
				for _, s := range got32 {
					for i := range s {
						s[i] = float32(math.NaN())
					}
				}
				ConvForward(g, x32, w32, got32[0])
				ConvTranspose(g, dy32, w32, got32[1])
				ConvFilterGrad(g, x32, dy32, got32[2])
				for k, name := range convKindNames {
					for i := range want[k] {
						if d := math.Abs(float64(got32[k][i]) - want[k][i]); !(d <= 1e-4*math.Max(1, math.Abs(want[k][i]))) {
							t.Fatalf("float32 %s[%d] = %g, naive %g", name, i, got32[k][i], want[k][i])
						}
					}
				}
			})
		}
		runtime.GOMAXPROCS(prev)
	}
}

// TestValidCols checks the valid output-column range against its
// definition.
func TestValidCols(t *testing.T) {
	for off := -5; off <= 5; off++ {
		for s := 1; s <= 3; s++ {
			for w := 1; w <= 6; w++ {
				for ow := 1; ow <= 7; ow++ {
					x0, x1 := validCols(off, s, w, ow)
					if x0 > x1 || x0 < 0 || x1 > ow {
						t.Fatalf("validCols(%d, %d, %d, %d) = [%d, %d)", off, s, w, ow, x0, x1)
					}
					for xx := 0; xx < ow; xx++ {
						ix := xx*s + off
						in := ix >= 0 && ix < w
						if in != (xx >= x0 && xx < x1) {
							t.Fatalf("validCols(%d, %d, %d, %d) = [%d, %d), but column %d reads %d", off, s, w, ow, x0, x1, xx, ix)
						}
					}
				}
			}
		}
	}
}

// TestConvUsePreallocDo checks that UsePreallocDo fills a suitable
// preallocated tensor in place and ignores an unsuitable one.
func TestConvUsePreallocDo(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	g := ConvGeom{N: 2, C: 3, H: 5, W: 5, O: 3, KH: 3, KW: 3, Stride: 1, Pad: 1}
	dense := func(shape []int) *tensor.Dense {
		return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(randSlice(rng, size(shape))))
	}
	for _, kind := range []convKind{convFwd, convInput, convFilter} {
		op := convOp{kind: kind, geom: g}
		sa, sb, so := op.shapes()
		a, b := dense(sa), dense(sb)
		want, err := op.Do(a, b)
		if err != nil {
			t.Fatal(err)
		}
		wantData := want.Data().([]float64)

		pre := dense(so)
		got, err := op.UsePreallocDo(pre, a, b)
		if err != nil {
			t.Fatal(err)
		}
		if got != pre {
			t.Errorf("%v: UsePreallocDo did not use a matching preallocated output", op)
		}
		for i, v := range got.Data().([]float64) {
			if v != wantData[i] {
				t.Fatalf("%v: UsePreallocDo[%d] = %g, Do %g", op, i, v, wantData[i])
			}
		}

		// Wrong shape, wrong dtype, or memory shared with an input: allocate.
		aCopy := append([]float64(nil), a.Data().([]float64)...)
		for name, bad := range map[string]G.Value{
			"shape": dense([]int{size(so)}),
			"dtype": tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(so...)),
			"alias": tensor.New(tensor.WithShape(so...), tensor.WithBacking(a.Data().([]float64)[:size(so)])),
		} {
			if name == "alias" && size(so) > size(sa) {
				continue
			}
			got, err := op.UsePreallocDo(bad, a, b)
			if err != nil {
				t.Fatalf("%v, bad %s: %v", op, name, err)
			}
			if got == bad {
				t.Errorf("%v: UsePreallocDo wrote into an output with bad %s", op, name)
			}
			for i, v := range got.Data().([]float64) {
				if v != wantData[i] {
					t.Fatalf("%v, bad %s: UsePreallocDo[%d] = %g, Do %g", op, name, i, v, wantData[i])
				}
			}
			for i, v := range a.Data().([]float64) {
				if v != aCopy[i] {
					t.Fatalf("%v, bad %s: input changed", op, name)
				}
			}
		}
	}
}

// TestConvTapeMachineRerun runs a conv graph twice on a tape machine and
// checks that the second run gives the same values. (Gorgonia v0.9.18's
// TapeMachine.Reset clears every register, so a rerun does not hand the
// previous output to UsePreallocDo; the test does not depend on whether it
// does.)
func TestConvTapeMachineRerun(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	g := ConvGeom{N: 3, C: 2, H: 6, W: 6, O: 4, KH: 3, KW: 3, Stride: 1, Pad: 1}
	eg := G.NewGraph()
	node := func(name string, shape []int) *G.Node {
		v := tensor.New(tensor.WithShape(shape...), tensor.WithBacking(randSlice(rng, size(shape))))
		return G.NewTensor(eg, G.Float64, len(shape), G.WithShape(shape...), G.WithName(name), G.WithValue(v))
	}
	x, w := node("x", g.InShape()), node("w", g.KernelShape())
	y := G.Must(Conv2d(x, w, g.Stride, g.Pad))
	z := G.Must(Conv2d(G.Must(Activate(ELU, y)), node("w2", []int{4, 4, 1, 1}), 1, 0))
	m := G.NewTapeMachine(eg)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	first := z.Value().(*tensor.Dense)
	want := append([]float64(nil), first.Data().([]float64)...)
	m.Reset()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	second := z.Value().(*tensor.Dense)
	for i, v := range second.Data().([]float64) {
		if v != want[i] {
			t.Fatalf("second run [%d] = %g, first %g", i, v, want[i])
		}
	}
}

// otherBLAS is gonum's BLAS under another type, so that gemmSerial treats
// it as an external BLAS.
type otherBLAS struct{ gonum.Implementation }

// TestConvKernelsPanelSplit runs the kernels at sizes where gemmSerial
// splits the per-image products into panels, for gonum's BLAS and for an
// external one, and compares with the naive sums.
func TestConvKernelsPanelSplit(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2)) // several ranges of images
	prev32, prev64 := blas32.Implementation(), blas64.Implementation()
	t.Cleanup(func() { blas32.Use(prev32); blas64.Use(prev64) })
	rng := rand.New(rand.NewPCG(8, 8))
	for _, impl := range []interface {
		blas.Float32
		blas.Float64
	}{gonum.Implementation{}, otherBLAS{}} {
		blas32.Use(impl)
		blas64.Use(impl)
		if _, isGonum := impl.(gonum.Implementation); isGonumBLAS[float64]() != isGonum || isGonumBLAS[float32]() != isGonum {
			t.Fatalf("isGonumBLAS wrong for %T", impl)
		}
		for _, g := range []ConvGeom{
			{N: 3, C: 16, H: 14, W: 14, O: 32, KH: 3, KW: 3, Stride: 1, Pad: 1},
			{N: 2, C: 32, H: 14, W: 13, O: 16, KH: 3, KW: 3, Stride: 1, Pad: 1},
			{N: 3, C: 8, H: 15, W: 17, O: 16, KH: 3, KW: 3, Stride: 1, Pad: 0},
			{N: 2, C: 16, H: 14, W: 14, O: 32, KH: 1, KW: 1, Stride: 1, Pad: 0},
			{N: 1, C: 16, H: 14, W: 14, O: 32, KH: 3, KW: 3, Stride: 1, Pad: 1},
			{N: 1, C: 32, H: 14, W: 14, O: 32, KH: 1, KW: 1, Stride: 1, Pad: 0},
		} {
			x := randSlice(rng, size(g.InShape()))
			w := randSlice(rng, size(g.KernelShape()))
			dy := randSlice(rng, size(g.OutShape()))
			want := [][]float64{naiveConv(g, x, w), naiveConvT(g, dy, w), naiveConvW(g, x, dy)}
			got := [][]float64{make([]float64, len(want[0])), make([]float64, len(want[1])), make([]float64, len(want[2]))}
			ConvForward(g, x, w, got[0])
			ConvTranspose(g, dy, w, got[1])
			ConvFilterGrad(g, x, dy, got[2])
			for k, name := range convKindNames {
				for i := range want[k] {
					if d := math.Abs(got[k][i] - want[k][i]); d > 1e-11*math.Max(1, math.Abs(want[k][i])) {
						t.Fatalf("%T, %v: %s[%d] = %g, naive %g", impl, g, name, i, got[k][i], want[k][i])
					}
				}
			}
		}
	}
}

// TestGemmSerialPanels checks gemmSerial and gemmPanels against gemm for
// every transposition and sizes around both BLAS's splitting thresholds.
func TestGemmSerialPanels(t *testing.T) {
	prev64 := blas64.Implementation()
	t.Cleanup(func() { blas64.Use(prev64) })
	rng := rand.New(rand.NewPCG(11, 11))
	for _, impl := range []blas.Float64{gonum.Implementation{}, otherBLAS{}} {
		blas64.Use(impl)
		for _, sz := range [][3]int{{32, 196, 144}, {16, 288, 196}, {144, 196, 32}, {64, 300, 70}, {200, 100, 10}, {5, 7, 3}} {
			m, n, k := sz[0], sz[1], sz[2]
			for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
				a, b := randSlice(rng, m*k), randSlice(rng, k*n)
				lda, ldb := k, n
				if tr[0] {
					lda = m
				}
				if tr[1] {
					ldb = k
				}
				c0 := randSlice(rng, m*n)
				want := append([]float64(nil), c0...)
				gemm(tr[0], tr[1], m, n, k, 1.5, a, lda, b, ldb, 0.5, want, n)
				for name, f := range map[string]func(tA, tB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int){
					"gemmSerial": gemmSerial[float64], "gemmPanels": gemmPanels[float64],
				} {
					got := append([]float64(nil), c0...)
					f(tr[0], tr[1], m, n, k, 1.5, a, lda, b, ldb, 0.5, got, n)
					for i := range want {
						if d := math.Abs(got[i] - want[i]); d > 1e-12*math.Max(1, math.Abs(want[i])) {
							t.Fatalf("%T %v %v: %s[%d] = %g, gemm %g", impl, sz, tr, name, i, got[i], want[i])
						}
					}
				}
			}
		}
	}
}
