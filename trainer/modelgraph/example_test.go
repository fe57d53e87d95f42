package modelgraph_test

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/datasets"
	"github.com/iresnet/iresnet/graph"
	"github.com/iresnet/iresnet/trainer"
	"github.com/iresnet/iresnet/trainer/modelgraph"
)

// ExampleWrite draws a 3-block i-ResNet block by block: one box per
// residual block (with the number of ops it holds) instead of its hundreds
// of ops. graph.RenderDOT (or graphviz's dot) turns the text into SVG.
func ExampleWrite() {
	cfg := trainer.Config{
		Data: datasets.SourceConfig{Name: "8gaussians"},
		Model: trainer.ModelConfig{DenseFlow: &blocks.DenseFlowConfig{Dim: 2, Blocks: 3, Hidden: []int{16},
			Lipschitz: blocks.Lipschitz{Coeff: 0.9, Act: graph.ELU}}},
		EvalSize: 1, EvalBatch: 1, Seed: 1,
	}
	t, err := trainer.New(cfg) // or trainer.Open("runs/8gaussians")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer t.Close()
	var dot bytes.Buffer
	if err := modelgraph.Write(&dot, t.Trained(), modelgraph.Options{View: modelgraph.Blocks}); err != nil {
		fmt.Println(err)
		return
	}
	for _, box := range []string{"block0", "block1", "block2"} {
		fmt.Println(box, strings.Contains(dot.String(), `"scope:`+box+`"`))
	}
	// Output:
	// block0 true
	// block1 true
	// block2 true
}
