// Package modelgraph writes the expression graph of a trained model in
// graphviz DOT: block by block (one box per residual block, ActNorm,
// squeeze or coupling layer, in a cluster per scale), every op of log p(x),
// or the whole graph of a training step with its symbolic gradients. The
// drawing is built on a fresh graph of the model's blocks (the structure
// does not depend on the weights), with graph.Builder.WriteDOT;
// graph.RenderDOT turns it into SVG or PNG.
package modelgraph

import (
	"io"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/graph"
	"github.com/iresnet/iresnet/trainer"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// View selects which expression graph Write draws.
type View int

// Views.
const (
	// Blocks is log p(x) with every residual block (and ActNorm, and so
	// on) drawn as one box that summarizes it, inside a cluster per scale
	// for multi-scale models: small enough to render in seconds for any
	// model.
	Blocks View = iota
	// Ops is log p(x) op by op: the blocks, their spectral normalization
	// and log-det estimators, and the prior.
	Ops
	// Training adds the loss and every symbolic gradient node: the graph a
	// training step runs.
	Training
)

// ParseView returns the view named "blocks", "ops" (or "forward") or
// "training".
func ParseView(s string) (View, error) {
	switch s {
	case "blocks":
		return Blocks, nil
	case "ops", "forward":
		return Ops, nil
	case "training":
		return Training, nil
	}
	return 0, errors.Errorf("modelgraph: unknown view %q (known: blocks, ops, training)", s)
}

// String returns "blocks", "ops" or "training".
func (v View) String() string {
	if v < 0 || v > Training {
		return "unknown"
	}
	return [...]string{"blocks", "ops", "training"}[v]
}

// Options configures Write.
type Options struct {
	View View
	// Batch is the batch size the graph is built for; the structure does
	// not depend on it. 0 means 1.
	Batch int
	// Size, if not empty, is graphviz's size attribute
	// (graph.DOTOptions.Size), e.g. "40,40" to scale a large drawing down.
	Size string
}

// Write writes the graph of m's log p(x) (or of a training step) in DOT
// to w, with one cluster per block and nested clusters per layer, or one
// box per block in the Blocks view.
func Write(w io.Writer, m *trainer.Trained, o Options) error {
	if o.View < Blocks || o.View > Training {
		return errors.Errorf("modelgraph: unknown view %d", o.View)
	}
	batch := o.Batch
	if batch == 0 {
		batch = 1
	}
	if batch < 0 {
		return errors.Errorf("modelgraph: batch %d must be ≥ 1", batch)
	}
	b, err := graph.NewBuilder(tensor.Float32)
	if err != nil {
		return err
	}
	xn, err := b.Input("x", tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(append([]int{batch}, m.InputShape()...)...)))
	if err != nil {
		return err
	}
	logp, _, err := m.Flow().LogProb(b, xn)
	if err != nil {
		return errors.Wrap(err, "modelgraph: building log p(x)")
	}
	outputs := G.Nodes{logp}
	mc := m.Config().Model
	name := "the i-ResNet"
	if !mc.IResNet() {
		name = "the " + mc.Name() + " model"
	}
	title := "log p(x) of " + name + ", every op"
	depth := 0
	switch o.View {
	case Blocks:
		// Vector models are chains of blocks (block3); multi-scale models
		// nest their blocks in scales (scale0/block3).
		title, depth = "log p(x) of "+name+", block by block", 1
		if _, scaled := m.Model().(interface{ Scales() []*blocks.Chain }); scaled {
			depth = 2
		}
	case Training:
		loss, err := G.Sum(logp)
		if err != nil {
			return err
		}
		one, err := b.Scalar("loss/one", 1)
		if err != nil {
			return err
		}
		var wrt G.Nodes
		for _, p := range b.Params() {
			wrt = append(wrt, p.Node)
		}
		if _, err := graph.VJP(G.Nodes{loss}, G.Nodes{one}, wrt); err != nil {
			return errors.Wrap(err, "modelgraph: building the gradients")
		}
		outputs = nil // everything
		title = "training step: log p(x) and its gradients"
	}
	return b.WriteDOT(w, graph.DOTOptions{Title: title, Outputs: outputs, RankDir: "TB", Depth: depth, Size: o.Size})
}
