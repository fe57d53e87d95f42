package coupling

import (
	"testing"

	"github.com/iresnet/iresnet/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestReshapeOp checks the copying reshape: two reshapes of one node to
// different shapes stay distinct nodes (its hash covers both shapes), the
// values are the input's in row-major order, the output does not share the
// input's memory, and its VJP is the reverse reshape.
func TestReshapeOp(t *testing.T) {
	b, err := graph.NewBuilder(tensor.Float64)
	if err != nil {
		t.Fatal(err)
	}
	data := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	x, err := b.Input("x", tensor.New(tensor.WithShape(2, 6), tensor.WithBacking(data)))
	if err != nil {
		t.Fatal(err)
	}
	a, err := reshape(x, 2, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	c, err := reshape(x, 2, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	if a == c {
		t.Fatal("reshapes to (2, 3, 2) and (2, 2, 3) were merged into one node")
	}
	if same, _ := reshape(x, 2, 6); same != x {
		t.Error("a reshape to the same shape should return its input")
	}
	if _, err := reshape(x, 5, 2); err == nil {
		t.Error("a reshape that changes the size was accepted")
	}
	w := make([]float64, 12)
	for i := range w {
		w[i] = float64(i%5) - 2
	}
	cot, err := b.Input("cot", tensor.New(tensor.WithShape(2, 3, 2), tensor.WithBacking(w)))
	if err != nil {
		t.Fatal(err)
	}
	g, err := graph.VJP(G.Nodes{a}, G.Nodes{cot}, G.Nodes{x})
	if err != nil {
		t.Fatal(err)
	}
	m := G.NewTapeMachine(b.Graph())
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	av := a.Value().(*tensor.Dense)
	if !av.Shape().Eq(tensor.Shape{2, 3, 2}) {
		t.Errorf("shape %v, want (2, 3, 2)", av.Shape())
	}
	for i, v := range av.Data().([]float64) {
		if v != data[i] {
			t.Fatalf("entry %d = %g, want %g", i, v, data[i])
		}
	}
	av.Data().([]float64)[0] = -100
	if data[0] != 1 {
		t.Error("the reshaped value shares memory with its input")
	}
	gv := g[0].Value().(*tensor.Dense)
	if !gv.Shape().Eq(tensor.Shape{2, 6}) {
		t.Errorf("gradient shape %v, want (2, 6)", gv.Shape())
	}
	for i, v := range gv.Data().([]float64) {
		if v != w[i] {
			t.Fatalf("gradient entry %d = %g, want %g", i, v, w[i])
		}
	}
}
