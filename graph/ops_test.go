package graph

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"gonum.org/v1/gonum/mat"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestSqueezeLayout pins the documented layout: squeezed channel 4c+2i+j at
// (y, x) holds x[n, c, 2y+i, 2x+j]. Round trips cannot see a different
// permutation, but the factor-out after a squeeze depends on it.
func TestSqueezeLayout(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	for _, c := range []struct {
		shape    [4]int
		parallel bool // large enough to be split over the cores
	}{{[4]int{2, 3, 4, 6}, false}, {[4]int{4, 8, 32, 24}, true}} {
		n, ch, h, w := c.shape[0], c.shape[1], c.shape[2], c.shape[3]
		if (n*ch*h*w >= actChunk) != c.parallel {
			t.Fatalf("%v: not the path the case is for", c.shape)
		}
		testSqueezeLayout(t, n, ch, h, w)
	}
}

func testSqueezeLayout(t *testing.T, n, c, h, w int) {
	data := make([]float64, n*c*h*w)
	for i := range data {
		data[i] = float64(i)
	}
	x := tensor.New(tensor.WithShape(n, c, h, w), tensor.WithBacking(data))
	sq, err := SqueezeTensor(x)
	if err != nil {
		t.Fatal(err)
	}
	out := sq.Data().([]float64)
	for b := 0; b < n; b++ {
		for ch := 0; ch < c; ch++ {
			for i := 0; i < 2; i++ {
				for j := 0; j < 2; j++ {
					for y := 0; y < h/2; y++ {
						for xx := 0; xx < w/2; xx++ {
							got := out[((b*4*c+4*ch+2*i+j)*(h/2)+y)*(w/2)+xx]
							want := data[((b*c+ch)*h+2*y+i)*w+2*xx+j]
							if got != want {
								t.Fatalf("squeeze[%d,%d,%d,%d] = %v, want x[%d,%d,%d,%d] = %v", b, 4*ch+2*i+j, y, xx, got, b, ch, 2*y+i, 2*xx+j, want)
							}
						}
					}
				}
			}
		}
	}
	back, err := UnsqueezeTensor(sq)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range back.Data().([]float64) {
		if v != data[i] {
			t.Fatalf("unsqueeze(squeeze(x))[%d] = %v, want %v", i, v, data[i])
		}
	}
}

// runNodes compiles the graph of b and runs it once.
func runNodes(t *testing.T, b *Builder) {
	t.Helper()
	m := G.NewTapeMachine(b.Graph())
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
}

// TestChannelOpsAreAdjoint checks ⟨Broadcast(v), X⟩ = ⟨v, SumChannels(X)⟩
// with a batch of several samples.
func TestChannelOpsAreAdjoint(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	shape := []int{3, 4, 2, 5}
	b, _ := NewBuilder(tensor.Float64)
	v, _ := b.Input("v", tensor.New(tensor.WithShape(4), tensor.WithBacking(randSlice(rng, 4))))
	x, _ := b.Input("x", tensor.New(tensor.WithShape(shape...), tensor.WithBacking(randSlice(rng, size(shape)))))
	bv := G.Must(BroadcastChannels(v, tensor.Shape(shape)))
	sx := G.Must(SumChannels(x))
	runNodes(t, b)
	lhs := dot(bv.Value().Data().([]float64), x.Value().Data().([]float64))
	rhs := dot(v.Value().Data().([]float64), sx.Value().Data().([]float64))
	if math.Abs(lhs-rhs) > 1e-12*math.Max(1, math.Abs(lhs)) {
		t.Errorf("⟨broadcast(v), X⟩ = %.15g but ⟨v, SumChannels(X)⟩ = %.15g", lhs, rhs)
	}
}

// TestLogDetIPlusGradient checks the value against LU and the gradient
// against central differences on non-symmetric Jacobians, where (I+J)⁻ᵀ
// and (I+J)⁻¹ differ.
func TestLogDetIPlusGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	const n, d = 2, 3
	jd := randSlice(rng, n*d*d)
	for i := range jd {
		jd[i] *= 0.3
	}
	wd := randSlice(rng, n)
	b, _ := NewBuilder(tensor.Float64)
	j, _ := b.Input("J", tensor.New(tensor.WithShape(n, d, d), tensor.WithBacking(jd)))
	w, _ := b.Input("w", tensor.New(tensor.WithShape(n), tensor.WithBacking(wd)))
	ld := G.Must(LogDetIPlus(j))
	f := G.Must(G.Sum(G.Must(G.HadamardProd(ld, w))))
	one, _ := b.Scalar("one", 1)
	g, err := VJP(G.Nodes{f}, G.Nodes{one}, G.Nodes{j})
	if err != nil {
		t.Fatal(err)
	}
	m := G.NewTapeMachine(b.Graph())
	defer m.Close()
	run := func() float64 {
		m.Reset()
		if err := m.RunAll(); err != nil {
			t.Fatal(err)
		}
		return f.Value().Data().(float64)
	}
	run()
	for s := 0; s < n; s++ {
		a := mat.NewDense(d, d, append([]float64(nil), jd[s*d*d:(s+1)*d*d]...))
		for i := 0; i < d; i++ {
			a.Set(i, i, a.At(i, i)+1)
		}
		want := math.Log(math.Abs(mat.Det(a)))
		if got := ld.Value().Data().([]float64)[s]; math.Abs(got-want) > 1e-12 {
			t.Errorf("log|det(I+J_%d)| = %.15g, want %.15g", s, got, want)
		}
	}
	sym := append([]float64(nil), g[0].Value().Data().([]float64)...)
	for i := range jd {
		orig := jd[i]
		jd[i] = orig + fdStep
		fp := run()
		jd[i] = orig - fdStep
		fm := run()
		jd[i] = orig
		fd := (fp - fm) / (2 * fdStep)
		if diff := math.Abs(sym[i] - fd); diff > fdRelTol*math.Max(1, math.Abs(fd)) {
			t.Errorf("∂f/∂J[%d] = %.10g, finite difference %.10g (diff %.3g)", i, sym[i], fd, diff)
		}
	}
}

// TestLipSwishValue pins the scale: LipSwish(1) = σ(1)/1.1.
func TestLipSwishValue(t *testing.T) {
	want := 1 / (1 + math.Exp(-1)) / 1.1
	if got := ActivationFunc(LipSwish, 0)(1); math.Abs(got-want) > 1e-15 {
		t.Errorf("LipSwish(1) = %.17g, want σ(1)/1.1 = %.17g", got, want)
	}
}

// TestCustomOpsDoNotMerge builds pairs of custom ops that differ in one
// parameter on the same input; gorgonia would merge them if their hashes
// ignored it (design brief, fact 6).
func TestCustomOpsDoNotMerge(t *testing.T) {
	b, _ := NewBuilder(tensor.Float64)
	x, _ := b.Input("x", tensor.New(tensor.Of(tensor.Float64), tensor.WithShape(2, 4, 2, 2)))
	v, _ := b.Input("v", tensor.New(tensor.Of(tensor.Float64), tensor.WithShape(4)))
	pairs := []struct {
		name string
		a, b *G.Node
	}{
		{"AtLeast lo", G.Must(AtLeast(x, 0)), G.Must(AtLeast(x, 1))},
		{"Squeeze/Unsqueeze", G.Must(Squeeze(x)), G.Must(Unsqueeze(x))},
		{"Activate order", G.Must(Activate(ELU, x)), G.Must(Activate(Softplus, x))},
		{"BroadcastChannels shape", G.Must(BroadcastChannels(v, tensor.Shape{2, 4, 2, 2})), G.Must(BroadcastChannels(v, tensor.Shape{3, 4, 1, 1}))},
		{"StopGradient vs x", G.Must(StopGradient(x)), x},
	}
	for _, p := range pairs {
		if p.a == p.b {
			t.Errorf("%s: two different ops were merged into one node", p.name)
		}
	}
}
