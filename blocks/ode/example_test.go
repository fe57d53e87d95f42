package ode_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/blocks/ode"
	"github.com/iresnet/iresnet/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// ExampleNewFFJORD builds a small FFJORD on 2-D points with the exact
// trace, computes log p(x) under a standard Gaussian base, and inverts the
// flow.
func ExampleNewFFJORD() {
	cnf, err := ode.NewFFJORD(ode.FFJORDConfig{
		Dim: 2, Hidden: []int{16, 16}, Steps: 8, Trace: ode.ExactTrace, Dtype: tensor.Float64,
	}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		fmt.Println(err)
		return
	}
	x := tensor.New(tensor.WithShape(2, 2), tensor.WithBacking([]float64{1, -2, 0.5, 0.25}))
	b, err := graph.NewBuilder(tensor.Float64)
	if err != nil {
		fmt.Println(err)
		return
	}
	xn, err := b.Input("x", x)
	if err != nil {
		fmt.Println(err)
		return
	}
	logp, _, err := blocks.Flow{F: cnf}.LogProb(b, xn)
	if err != nil {
		fmt.Println(err)
		return
	}
	m := G.NewTapeMachine(b.Graph())
	defer m.Close()
	if err := m.RunAll(); err != nil {
		fmt.Println(err)
		return
	}
	y, err := blocks.Apply(cnf, x)
	if err != nil {
		fmt.Println(err)
		return
	}
	back, err := cnf.Inverse(y)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("log p(x)  = %.3f\n", logp.Value().Data())
	fmt.Printf("F⁻¹(F(x)) = %.4g\n", back.Data())
	// Output:
	// log p(x)  = [-4.407 -1.886]
	// F⁻¹(F(x)) = [1 -2 0.5 0.25]
}
