package graph_test

import (
	"bytes"
	"fmt"
	"log"
	"strings"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/iresnet/iresnet/graph"
)

// Each scope of a Builder becomes a labelled cluster in the DOT output,
// nested by path. Pipe the text through graph.RenderDOT (or the dot command)
// to get an SVG or PNG.
func ExampleBuilder_WriteDOT() {
	b, err := graph.NewBuilder(tensor.Float64)
	if err != nil {
		log.Fatal(err)
	}
	x, err := b.Input("x", tensor.New(tensor.Of(tensor.Float64), tensor.WithShape(2, 3)))
	if err != nil {
		log.Fatal(err)
	}
	h := x
	layer := func() error {
		w, err := b.Param("w", tensor.New(tensor.Of(tensor.Float64), tensor.WithShape(3, 3)))
		if err != nil {
			return err
		}
		if h, err = G.Mul(h, w); err != nil {
			return err
		}
		h, err = G.Tanh(h)
		return err
	}
	err = b.Scoped("block0", func() error {
		return b.Scoped("fc1", layer)
	})
	if err != nil {
		log.Fatal(err)
	}

	var dot bytes.Buffer
	if err := b.WriteDOT(&dot, graph.DOTOptions{Title: "one block"}); err != nil {
		log.Fatal(err)
	}
	fmt.Println("clusters:", strings.Count(dot.String(), "subgraph \"cluster_"))
	for _, line := range strings.Split(dot.String(), "\n") {
		if strings.Contains(line, "subgraph") {
			fmt.Println(strings.TrimSpace(line))
		}
	}
	// Output:
	// clusters: 2
	// subgraph "cluster_block0" {
	// subgraph "cluster_block0/fc1" {
}
