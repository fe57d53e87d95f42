package graph

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestPadChannels checks PadChannels element by element (the input's
// channels first, then k zeros, in every image), CropChannels of it against
// the input, the adjoint identity ⟨pad(x), Y⟩ = ⟨x, crop(Y)⟩ and the
// gradient of Σ pad(x) ⊙ W with respect to x, which must be W's first C
// channels; on a small shape and on one split over the cores.
func TestPadChannels(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	rng := rand.New(rand.NewPCG(8, 9))
	for _, c := range []struct {
		shape    []int
		k        int
		parallel bool
	}{{[]int{2, 3, 4, 5}, 2, false}, {[]int{9, 6, 16, 16}, 10, true}} {
		t.Run(fmt.Sprint(c.shape, "+", c.k), func(t *testing.T) {
			n, ch, h, w := c.shape[0], c.shape[1], c.shape[2], c.shape[3]
			big := []int{n, ch + c.k, h, w}
			if (size(big) >= actChunk) != c.parallel {
				t.Fatalf("not the path the case is for")
			}
			b, _ := NewBuilder(tensor.Float64)
			xd, wd, yd := randSlice(rng, size(c.shape)), randSlice(rng, size(big)), randSlice(rng, size(big))
			x, _ := b.Input("x", tensor.New(tensor.WithShape(c.shape...), tensor.WithBacking(xd)))
			wn, _ := b.Input("w", tensor.New(tensor.WithShape(big...), tensor.WithBacking(wd)))
			y, _ := b.Input("y", tensor.New(tensor.WithShape(big...), tensor.WithBacking(yd)))
			padded := G.Must(PadChannels(x, c.k))
			back := G.Must(CropChannels(padded, c.k))
			cropped := G.Must(CropChannels(y, c.k))
			f := G.Must(G.Sum(G.Must(G.HadamardProd(padded, wn))))
			one, _ := b.Scalar("one", 1)
			grads, err := VJP(G.Nodes{f}, G.Nodes{one}, G.Nodes{x})
			if err != nil {
				t.Fatal(err)
			}
			runNodes(t, b)
			pd := padded.Value().Data().([]float64)
			gd := grads[0].Value().Data().([]float64)
			for i := 0; i < n; i++ {
				for cc := 0; cc < ch+c.k; cc++ {
					for p := 0; p < h*w; p++ {
						got := pd[(i*(ch+c.k)+cc)*h*w+p]
						want := 0.0
						if cc < ch {
							want = xd[(i*ch+cc)*h*w+p]
							if g := gd[(i*ch+cc)*h*w+p]; g != wd[(i*(ch+c.k)+cc)*h*w+p] {
								t.Fatalf("∂/∂x[%d, %d, %d] = %v, want W there, %v", i, cc, p, g, wd[(i*(ch+c.k)+cc)*h*w+p])
							}
						}
						if got != want {
							t.Fatalf("pad(x)[%d, %d, %d] = %v, want %v", i, cc, p, got, want)
						}
					}
				}
			}
			for i, v := range back.Value().Data().([]float64) {
				if v != xd[i] {
					t.Fatalf("crop(pad(x))[%d] = %v, want x there, %v", i, v, xd[i])
				}
			}
			lhs := dot(pd, yd)
			rhs := dot(xd, cropped.Value().Data().([]float64))
			if math.Abs(lhs-rhs) > 1e-12*math.Max(1, math.Abs(lhs)) {
				t.Errorf("⟨pad(x), Y⟩ = %.15g but ⟨x, crop(Y)⟩ = %.15g", lhs, rhs)
			}
		})
	}
}

// TestPadChannelsRejects checks the shapes PadChannels and CropChannels
// refuse.
func TestPadChannelsRejects(t *testing.T) {
	g := G.NewGraph()
	x3 := G.NewTensor(g, G.Float64, 3, G.WithShape(2, 3, 4), G.WithName("x3"))
	x4 := G.NewTensor(g, G.Float64, 4, G.WithShape(2, 3, 4, 4), G.WithName("x4"))
	for _, c := range []struct {
		name string
		err  error
	}{
		{"pad 3-d", second(PadChannels(x3, 1))},
		{"pad k = 0", second(PadChannels(x4, 0))},
		{"crop all channels", second(CropChannels(x4, 3))},
		{"crop k = 0", second(CropChannels(x4, 0))},
	} {
		if c.err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
}

func second(_ *G.Node, err error) error { return err }
