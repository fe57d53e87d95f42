package coupling_test

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/blocks/coupling"
	"gorgonia.org/tensor"
)

// ExampleNewDenseRealNVP maps 2-D points through a dense Real NVP and
// back: coupling layers invert exactly, with no fixed-point iteration.
func ExampleNewDenseRealNVP() {
	rng := rand.New(rand.NewPCG(1, 2))
	flow, err := coupling.NewDenseRealNVP(coupling.DenseRealNVPConfig{Dim: 2, Layers: 4, Hidden: []int{16}, Dtype: tensor.Float64}, rng)
	if err != nil {
		panic(err)
	}
	x := tensor.New(tensor.WithShape(3, 2), tensor.WithBacking([]float64{0.5, -1, 2, 0.25, -1.5, 1}))
	y, err := blocks.Apply(flow, x)
	if err != nil {
		panic(err)
	}
	back, err := flow.Inverse(y)
	if err != nil {
		panic(err)
	}
	worst := 0.0
	for i, v := range back.Data().([]float64) {
		worst = math.Max(worst, math.Abs(v-x.Data().([]float64)[i]))
	}
	fmt.Println("blocks:", len(flow.Blocks()))
	fmt.Println("round trip within 1e-12:", worst < 1e-12)
	// Output:
	// blocks: 4
	// round trip within 1e-12: true
}

// ExampleNewGlow builds a small Glow for 1×8×8 images and shows the shape
// of its latent: one vector of C·H·W entries per image, the factored-out
// half of the first level followed by the last level's output.
func ExampleNewGlow() {
	rng := rand.New(rand.NewPCG(3, 4))
	glow, err := coupling.NewGlow(coupling.GlowConfig{Channels: 1, Height: 8, Width: 8, Levels: 2, Steps: 2, HiddenChannels: 8}, rng)
	if err != nil {
		panic(err)
	}
	x := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(4, 1, 8, 8))
	for i, d := 0, x.Data().([]float32); i < len(d); i++ {
		d[i] = float32(rng.NormFloat64())
	}
	if err := glow.InitFromBatch(x); err != nil { // ActNorm's data-dependent init
		panic(err)
	}
	z, err := blocks.Apply(glow, x)
	if err != nil {
		panic(err)
	}
	fmt.Println("latent shape:", z.Shape())
	fmt.Println("last level (C, H, W):", glow.FinalShape())
	fmt.Println("learnable tensors:", learnable(glow))
	// Output:
	// latent shape: (4, 64)
	// last level (C, H, W): [8 2 2]
	// learnable tensors: 44
}

func learnable(t blocks.Tensorer) int {
	n := 0
	for _, nt := range t.Tensors() {
		if nt.Learnable {
			n++
		}
	}
	return n
}

// ExampleInvConv1x1 shows that the 1×1 convolution starts as a rotation:
// its log-det, H·W·Σ log|s|, is 0 up to rounding.
func ExampleInvConv1x1() {
	ic, err := coupling.NewInvConv1x1(4, tensor.Float64, rand.New(rand.NewPCG(5, 6)))
	if err != nil {
		panic(err)
	}
	sum := 0.0
	for _, nt := range ic.Tensors() {
		if nt.Name == "log_s" {
			for _, v := range nt.Value.Data().([]float64) {
				sum += v
			}
		}
	}
	fmt.Printf("Σ log|s| = %.6f\n", math.Abs(sum))
	// Output:
	// Σ log|s| = 0.000000
}
