package graph_test

import (
	"fmt"

	"github.com/iresnet/iresnet/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// ExampleVJP computes vᵀJ and vᵀJ² for g(x) = tanh(x)·2 on one graph: the
// second call differentiates the result of the first.
func ExampleVJP() {
	b, _ := graph.NewBuilder(tensor.Float64)
	x, _ := b.Input("x", tensor.New(tensor.WithShape(1, 2), tensor.WithBacking([]float64{0.5, -1})))
	v, _ := b.Input("v", tensor.New(tensor.WithShape(1, 2), tensor.WithBacking([]float64{1, 1})))
	two, _ := b.Scalar("two", 2)
	gx := G.Must(G.Mul(G.Must(G.Tanh(x)), two))

	vj, _ := graph.VJP(G.Nodes{gx}, G.Nodes{v}, G.Nodes{x})      // vᵀJ
	vjj, _ := graph.VJP(G.Nodes{gx}, G.Nodes{vj[0]}, G.Nodes{x}) // vᵀJ²

	m := G.NewTapeMachine(b.Graph())
	defer m.Close()
	if err := m.RunAll(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("vᵀJ  = %.4f\n", vj[0].Value().Data())
	fmt.Printf("vᵀJ² = %.4f\n", vjj[0].Value().Data())
	// Output:
	// vᵀJ  = [1.5729 0.8399]
	// vᵀJ² = [2.4740 0.7055]
}
