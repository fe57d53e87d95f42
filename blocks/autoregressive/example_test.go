package autoregressive_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/blocks/autoregressive"
	"github.com/iresnet/iresnet/graph"
	"gorgonia.org/tensor"
)

// ExampleNewMAF builds a three-layer MAF with ActNorm on 2-D points,
// initializes ActNorm from a batch, maps the batch to the base space and
// inverts it with the sequential pass.
func ExampleNewMAF() {
	rng := rand.New(rand.NewPCG(1, 2))
	maf, err := autoregressive.NewMAF(autoregressive.MAFConfig{
		Dim: 2, Layers: 3, Hidden: []int{16, 16}, Act: graph.ELU, ActNorm: true, Dtype: tensor.Float64,
	}, rng)
	if err != nil {
		fmt.Println(err)
		return
	}
	x := tensor.New(tensor.WithShape(3, 2), tensor.WithBacking([]float64{1, -2, 0.5, 3, -1, 0.25}))
	if err := maf.InitFromBatch(x); err != nil {
		fmt.Println(err)
		return
	}
	u, err := blocks.Apply(maf, x)
	if err != nil {
		fmt.Println(err)
		return
	}
	back, err := maf.Inverse(u)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("blocks:", len(maf.Blocks()))
	fmt.Printf("x        = %.4g\n", x.Data())
	fmt.Printf("F⁻¹(F(x)) = %.4g\n", back.Data())
	// Output:
	// blocks: 6
	// x        = [1 -2 0.5 3 -1 0.25]
	// F⁻¹(F(x)) = [1 -2 0.5 3 -1 0.25]
}
