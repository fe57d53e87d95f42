package blocks_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/graph"
	"gorgonia.org/tensor"
)

// ExampleChain builds a three-block i-ResNet on 2-D points, maps a batch
// forward and inverts it by fixed-point iteration.
func ExampleChain() {
	rng := rand.New(rand.NewPCG(1, 2))
	lip := blocks.Lipschitz{Coeff: 0.9, Act: graph.ELU, Dtype: tensor.Float64}
	var bs []blocks.Bijector
	for i := 0; i < 3; i++ {
		r, err := blocks.NewDense(blocks.DenseConfig{Dim: 2, Hidden: []int{32, 32}, Lipschitz: lip}, rng)
		if err != nil {
			fmt.Println(err)
			return
		}
		bs = append(bs, r)
	}
	model, err := blocks.NewChain(bs...)
	if err != nil {
		fmt.Println(err)
		return
	}
	x := tensor.New(tensor.WithShape(2, 2), tensor.WithBacking([]float64{1, -2, 0.5, 3}))
	y, err := blocks.Apply(model, x)
	if err != nil {
		fmt.Println(err)
		return
	}
	back, stats, err := model.InverseWithStats(y)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("x        = %.4g\n", x.Data())
	fmt.Printf("F⁻¹(F(x)) = %.4g\n", back.Data())
	fmt.Println("block0 inverted in under 30 iterations:", stats["block0"].Iter < 30)
	// Output:
	// x        = [1 -2 0.5 3]
	// F⁻¹(F(x)) = [1 -2 0.5 3]
	// block0 inverted in under 30 iterations: true
}
