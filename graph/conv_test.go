package graph

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// naiveConv is the textbook definition of a strided, zero-padded
// convolution (cross-correlation), the oracle for ConvForward.
func naiveConv(g ConvGeom, x, w []float64) []float64 {
	oh, ow := g.OH(), g.OW()
	y := make([]float64, g.N*g.O*oh*ow)
	for n := 0; n < g.N; n++ {
		for o := 0; o < g.O; o++ {
			for i := 0; i < oh; i++ {
				for j := 0; j < ow; j++ {
					s := 0.0
					for c := 0; c < g.C; c++ {
						for ki := 0; ki < g.KH; ki++ {
							for kj := 0; kj < g.KW; kj++ {
								yi, xj := i*g.Stride-g.Pad+ki, j*g.Stride-g.Pad+kj
								if yi < 0 || yi >= g.H || xj < 0 || xj >= g.W {
									continue
								}
								s += x[((n*g.C+c)*g.H+yi)*g.W+xj] * w[((o*g.C+c)*g.KH+ki)*g.KW+kj]
							}
						}
					}
					y[((n*g.O+o)*oh+i)*ow+j] = s
				}
			}
		}
	}
	return y
}

var convGeoms = []ConvGeom{
	{N: 2, C: 3, H: 5, W: 5, O: 4, KH: 3, KW: 3, Stride: 1, Pad: 1},
	{N: 2, C: 3, H: 4, W: 4, O: 2, KH: 1, KW: 1, Stride: 1, Pad: 0},
	{N: 1, C: 2, H: 6, W: 5, O: 3, KH: 3, KW: 3, Stride: 2, Pad: 1},
	{N: 3, C: 1, H: 4, W: 6, O: 2, KH: 2, KW: 3, Stride: 1, Pad: 0},
}

func randSlice(rng *rand.Rand, n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = rng.NormFloat64()
	}
	return s
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func size(s []int) int {
	n := 1
	for _, v := range s {
		n *= v
	}
	return n
}

// TestConvKernelsAgainstNaiveAndAdjoint checks ConvForward against the
// definition and ConvTranspose/ConvFilterGrad through the adjoint identities
// ⟨conv(x,w), dy⟩ = ⟨x, convᵀ(dy,w)⟩ = ⟨w, convW(x,dy)⟩.
func TestConvKernelsAgainstNaiveAndAdjoint(t *testing.T) {
	const tol = 1e-12
	rng := rand.New(rand.NewPCG(2, 2))
	for _, g := range convGeoms {
		t.Run(g.String(), func(t *testing.T) {
			x := randSlice(rng, size(g.InShape()))
			w := randSlice(rng, size(g.KernelShape()))
			dy := randSlice(rng, size(g.OutShape()))
			y := make([]float64, len(dy))
			ConvForward(g, x, w, y)
			want := naiveConv(g, x, w)
			for i := range y {
				if math.Abs(y[i]-want[i]) > tol {
					t.Fatalf("conv[%d] = %g, naive %g", i, y[i], want[i])
				}
			}
			dx := make([]float64, len(x))
			ConvTranspose(g, dy, w, dx)
			dw := make([]float64, len(w))
			ConvFilterGrad(g, x, dy, dw)
			lhs := dot(y, dy)
			if d := math.Abs(lhs - dot(x, dx)); d > tol*math.Max(1, math.Abs(lhs)) {
				t.Errorf("⟨conv(x,w),dy⟩ = %g but ⟨x,convᵀ(dy,w)⟩ = %g", lhs, dot(x, dx))
			}
			if d := math.Abs(lhs - dot(w, dw)); d > tol*math.Max(1, math.Abs(lhs)) {
				t.Errorf("⟨conv(x,w),dy⟩ = %g but ⟨w,convW(x,dy)⟩ = %g", lhs, dot(w, dw))
			}
		})
	}
}

// TestConvSecondOrderFiniteDifferences differentiates the VJP of a two-layer
// conv net with respect to both kernels and compares with central finite
// differences: the check that failed with gorgonia's im2col/col2im.
func TestConvSecondOrderFiniteDifferences(t *testing.T) {
	for _, g1 := range []ConvGeom{convGeoms[0], convGeoms[2]} {
		t.Run(g1.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, 3))
			g2 := ConvGeom{N: g1.N, C: g1.O, H: g1.OH(), W: g1.OW(), O: 2, KH: 3, KW: 3, Stride: 1, Pad: 1}
			x := tensor.New(tensor.WithShape(g1.InShape()...), tensor.WithBacking(randSlice(rng, size(g1.InShape()))))
			u := tensor.New(tensor.WithShape(g2.OutShape()...), tensor.WithBacking(randSlice(rng, size(g2.OutShape()))))
			v := tensor.New(tensor.WithShape(g1.InShape()...), tensor.WithBacking(randSlice(rng, size(g1.InShape()))))
			w1 := tensor.New(tensor.WithShape(g1.KernelShape()...), tensor.WithBacking(randSlice(rng, size(g1.KernelShape()))))
			w2 := tensor.New(tensor.WithShape(g2.KernelShape()...), tensor.WithBacking(randSlice(rng, size(g2.KernelShape()))))

			eg := G.NewGraph()
			node := func(name string, v *tensor.Dense) *G.Node {
				return G.NewTensor(eg, G.Float64, 4, G.WithShape(v.Shape()...), G.WithName(name), G.WithValue(v))
			}
			xn, un, vn, w1n, w2n := node("x", x), node("u", u), node("v", v), node("w1", w1), node("w2", w2)
			h := G.Must(Conv2d(xn, w1n, g1.Stride, g1.Pad))
			h = G.Must(Activate(ELU, h))
			gx := G.Must(Conv2d(h, w2n, 1, 1))
			vj, err := VJP(G.Nodes{gx}, G.Nodes{un}, G.Nodes{xn})
			if err != nil {
				t.Fatal(err)
			}
			f := G.Must(G.Sum(G.Must(G.HadamardProd(vj[0], vn))))
			one := G.NewScalar(eg, G.Float64, G.WithName("one"), G.WithValue(1.0))
			grads, err := VJP(G.Nodes{f}, G.Nodes{one}, G.Nodes{w1n, w2n})
			if err != nil {
				t.Fatal(err)
			}
			m := G.NewTapeMachine(eg)
			defer m.Close()
			run := func() float64 {
				m.Reset()
				if err := m.RunAll(); err != nil {
					t.Fatal(err)
				}
				return f.Value().Data().(float64)
			}
			run()
			sym := [][]float64{
				append([]float64(nil), grads[0].Value().Data().([]float64)...),
				append([]float64(nil), grads[1].Value().Data().([]float64)...),
			}
			for wi, w := range []*tensor.Dense{w1, w2} {
				data := w.Data().([]float64)
				for i := range data {
					orig := data[i]
					data[i] = orig + fdStep
					fp := run()
					data[i] = orig - fdStep
					fm := run()
					data[i] = orig
					fd := (fp - fm) / (2 * fdStep)
					if d := math.Abs(sym[wi][i] - fd); d > fdRelTol*math.Max(1e-2, math.Abs(fd)) {
						t.Errorf("∂f/∂w%d[%d] = %.10g, finite difference %.10g (diff %g)", wi+1, i, sym[wi][i], fd, d)
					}
				}
			}
		})
	}
}

// TestOpHashesCoverParameters guards against gorgonia merging two ops that
// differ only in a parameter (design brief, fact 6).
func TestOpHashesCoverParameters(t *testing.T) {
	eg := G.NewGraph()
	x := G.NewTensor(eg, G.Float64, 4, G.WithShape(1, 2, 6, 6), G.WithName("x"))
	w := G.NewTensor(eg, G.Float64, 4, G.WithShape(2, 2, 3, 3), G.WithName("w"))
	a := G.Must(Conv2d(x, w, 1, 1))
	b := G.Must(Conv2d(x, w, 1, 0))
	c := G.Must(Conv2d(x, w, 2, 1))
	if a == b || a == c || b == c {
		t.Errorf("convolutions with different stride/padding were merged")
	}
	var acts []*G.Node
	for _, act := range []Activation{ReLU, ELU, LipSwish, Softplus} {
		acts = append(acts, G.Must(Activate(act, x)))
	}
	seen := map[*G.Node]bool{}
	for i, n := range acts {
		if seen[n] {
			t.Errorf("activation %d merged with another", i)
		}
		seen[n] = true
	}
	_ = fmt.Sprint(a)
}
