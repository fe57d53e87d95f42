// Command myflow uses the i-ResNet library from another module: it builds a
// two-block i-ResNet on 2-D points and prints the exact log p(x) of a point
// and the point recovered by the fixed-point inverse.
package main

import (
	"fmt"
	"log"
	"math/rand/v2"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/estimator"
	"github.com/iresnet/iresnet/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func main() {
	rng := rand.New(rand.NewPCG(1, 2))
	lip := blocks.Lipschitz{Coeff: 0.9, Act: graph.ELU, Dtype: tensor.Float64, Estimator: estimator.Exact{}}
	var bs []blocks.Bijector
	for i := 0; i < 2; i++ {
		r, err := blocks.NewDense(blocks.DenseConfig{Dim: 2, Hidden: []int{16}, Lipschitz: lip}, rng)
		if err != nil {
			log.Fatal(err)
		}
		bs = append(bs, r)
	}
	model, err := blocks.NewChain(bs...)
	if err != nil {
		log.Fatal(err)
	}
	b, err := graph.NewBuilder(tensor.Float64)
	if err != nil {
		log.Fatal(err)
	}
	point := tensor.New(tensor.WithShape(1, 2), tensor.WithBacking([]float64{0.5, -1}))
	x, err := b.Input("x", point)
	if err != nil {
		log.Fatal(err)
	}
	logp, _, err := blocks.Flow{F: model}.LogProb(b, x)
	if err != nil {
		log.Fatal(err)
	}
	m := G.NewTapeMachine(b.Graph())
	defer m.Close()
	if err := m.RunAll(); err != nil {
		log.Fatal(err)
	}
	y, err := blocks.Apply(model, point)
	if err != nil {
		log.Fatal(err)
	}
	back, err := model.Inverse(y)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("log p(x) = %.4f (exact log-det)\n", logp.Value().Data().([]float64)[0])
	fmt.Printf("F⁻¹(F(x)) = %.4f\n", back.Data())
}
