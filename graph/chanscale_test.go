package graph

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestScaleChannelsValues checks ScaleChannels and the per-channel dot
// product of its gradient against loops written out here, in float64 and
// float32 (the AVX-512 kernels, with tails), on shapes that run on one
// core and on shapes split over the cores: a plane scaled by the wrong
// channel, a tail left out or an image missing from a channel's sum shows.
func TestScaleChannelsValues(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	rng := rand.New(rand.NewPCG(12, 13))
	for _, c := range []struct {
		shape    []int
		parallel bool
	}{{[]int{2, 3, 5}, false}, {[]int{3, 4, 5, 7}, false}, {[]int{8, 6, 19, 21}, true}, {[]int{5, 40, 9, 10}, true}} {
		n, ch := c.shape[0], c.shape[1]
		inner := size(c.shape) / (n * ch)
		if (size(c.shape) >= actChunk) != c.parallel {
			t.Fatalf("%v: not the path the case is for", c.shape)
		}
		x, y, s := randSlice(rng, size(c.shape)), randSlice(rng, size(c.shape)), randSlice(rng, ch)
		want := make([]float64, len(x))
		wantDot := make([]float64, ch)
		for i := 0; i < n; i++ {
			for cc := 0; cc < ch; cc++ {
				for p := 0; p < inner; p++ {
					k := (i*ch+cc)*inner + p
					want[k] = x[k] * s[cc]
					wantDot[cc] += x[k] * y[k]
				}
			}
		}
		out := make([]float64, len(x))
		chanScaleKernel(n, ch, inner, x, s, out)
		dotOut := make([]float64, ch)
		chanDotKernel(n, ch, inner, x, y, dotOut)
		x32, y32, s32 := f32s(x), f32s(y), f32s(s)
		out32 := make([]float32, len(x))
		chanScaleKernel(n, ch, inner, x32, s32, out32)
		dot32 := make([]float32, ch)
		chanDotKernel(n, ch, inner, x32, y32, dot32)
		for k := range want {
			if out[k] != want[k] {
				t.Fatalf("%v: float64 scaled[%d] = %v, want %v", c.shape, k, out[k], want[k])
			}
			if w := x32[k] * s32[k/inner%ch]; out32[k] != w {
				t.Fatalf("%v: float32 scaled[%d] = %v, want %v", c.shape, k, out32[k], w)
			}
		}
		for cc := range wantDot {
			if d := math.Abs(dotOut[cc] - wantDot[cc]); d > 1e-12*(1+math.Abs(wantDot[cc])) {
				t.Errorf("%v: float64 dot[%d] = %.15g, want %.15g", c.shape, cc, dotOut[cc], wantDot[cc])
			}
			if d := math.Abs(float64(dot32[cc]) - wantDot[cc]); d > 1e-4*(1+math.Sqrt(float64(n*inner))) {
				t.Errorf("%v: float32 dot[%d] = %.7g, want %.7g", c.shape, cc, dot32[cc], wantDot[cc])
			}
		}
	}
}

func f32s(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

// TestScaleChannelsFiniteDifferences differentiates
//
//	f₁ = Σ u ⊙ ELU(ScaleChannels(x, s))
//
// with respect to x and s, and the second-order
//
//	f₂ = Σ v ⊙ ∂f₁/∂x
//
// (whose graph differentiates ScaleChannels' gradient, the per-channel dot
// product, and that one's gradient) with respect to x and s, and compares
// every entry with central finite differences in float64.
func TestScaleChannelsFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 15))
	shape := []int{2, 3, 2, 3}
	xd, sd := randSlice(rng, size(shape)), randSlice(rng, 3)
	ud, vd := randSlice(rng, size(shape)), randSlice(rng, size(shape))
	b, _ := NewBuilder(tensor.Float64)
	x, _ := b.Input("x", tensor.New(tensor.WithShape(shape...), tensor.WithBacking(xd)))
	s, _ := b.Input("s", tensor.New(tensor.WithShape(3), tensor.WithBacking(sd)))
	u, _ := b.Input("u", tensor.New(tensor.WithShape(shape...), tensor.WithBacking(ud)))
	v, _ := b.Input("v", tensor.New(tensor.WithShape(shape...), tensor.WithBacking(vd)))
	g := G.Must(Activate(ELU, G.Must(ScaleChannels(x, s))))
	f1 := G.Must(G.Sum(G.Must(G.HadamardProd(u, g))))
	one, _ := b.Scalar("one", 1)
	d1, err := VJP(G.Nodes{f1}, G.Nodes{one}, G.Nodes{x, s})
	if err != nil {
		t.Fatal(err)
	}
	f2 := G.Must(G.Sum(G.Must(G.HadamardProd(v, d1[0]))))
	d2, err := VJP(G.Nodes{f2}, G.Nodes{one}, G.Nodes{x, s})
	if err != nil {
		t.Fatal(err)
	}
	m := G.NewTapeMachine(b.Graph())
	defer m.Close()
	run := func() {
		m.Reset()
		if err := m.RunAll(); err != nil {
			t.Fatal(err)
		}
	}
	run()
	sym := map[string][]float64{}
	for name, n := range map[string]*G.Node{"∂f₁/∂x": d1[0], "∂f₁/∂s": d1[1], "∂f₂/∂x": d2[0], "∂f₂/∂s": d2[1]} {
		sym[name] = append([]float64(nil), n.Value().Data().([]float64)...)
	}
	for _, c := range []struct {
		f    *G.Node
		wrt  []float64
		name string
	}{{f1, xd, "∂f₁/∂x"}, {f1, sd, "∂f₁/∂s"}, {f2, xd, "∂f₂/∂x"}, {f2, sd, "∂f₂/∂s"}} {
		for i := range c.wrt {
			orig := c.wrt[i]
			c.wrt[i] = orig + fdStep
			run()
			fp := c.f.Value().Data().(float64)
			c.wrt[i] = orig - fdStep
			run()
			fm := c.f.Value().Data().(float64)
			c.wrt[i] = orig
			fd := (fp - fm) / (2 * fdStep)
			if d := math.Abs(sym[c.name][i] - fd); d > fdRelTol*math.Max(1e-2, math.Abs(fd)) {
				t.Errorf("%s[%d] = %.10g, finite difference %.10g", c.name, i, sym[c.name][i], fd)
			}
		}
	}
}

// TestScaleChannelsRejects checks the shapes ScaleChannels refuses.
func TestScaleChannelsRejects(t *testing.T) {
	g := G.NewGraph()
	x := G.NewTensor(g, G.Float64, 4, G.WithShape(2, 3, 4, 4), G.WithName("x"))
	s2 := G.NewVector(g, G.Float64, G.WithShape(2), G.WithName("s2"))
	m := G.NewMatrix(g, G.Float64, G.WithShape(3, 1), G.WithName("m"))
	for i, s := range []*G.Node{s2, m} {
		if _, err := ScaleChannels(x, s); err == nil {
			t.Errorf("case %d: scaling %v by %v: no error", i, x.Shape(), s.Shape())
		}
	}
}
