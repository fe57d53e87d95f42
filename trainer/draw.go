package trainer

import (
	"io"

	"github.com/iresnet/iresnet/blocks"
	"github.com/iresnet/iresnet/graph"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// GraphView selects which expression graph WriteDOT draws.
type GraphView int

// Graph views.
const (
	// ForwardView is log p(x): the blocks, their spectral normalization
	// and log-det estimators, and the Gaussian prior.
	ForwardView GraphView = iota
	// TrainingView adds the loss and every symbolic gradient node: the
	// graph a training step runs.
	TrainingView
	// BlocksView is ForwardView with every residual block (and ActNorm,
	// and so on) drawn as one box that summarizes it, inside a cluster
	// per scale for image models: small enough to render in seconds for
	// any model.
	BlocksView
)

// ParseGraphView returns the view named "blocks", "ops" (or "forward") or
// "training".
func ParseGraphView(s string) (GraphView, error) {
	switch s {
	case "blocks":
		return BlocksView, nil
	case "ops", "forward":
		return ForwardView, nil
	case "training":
		return TrainingView, nil
	}
	return 0, errors.Errorf("trainer: unknown graph view %q (known: blocks, ops, training)", s)
}

// WriteDOT writes the model's graph in graphviz DOT with one cluster per
// block (and nested clusters per layer), or one box per block in the
// blocks view, built for a batch of the given size (the structure does not
// depend on it; 0 means 1). size, if not empty, is graphviz's size
// attribute (graph.DOTOptions.Size).
func (t *Trainer) WriteDOT(w io.Writer, view GraphView, batch int, size string) error {
	if batch == 0 {
		batch = 1
	}
	b, err := graph.NewBuilder(tensor.Float32)
	if err != nil {
		return err
	}
	xn, err := b.Input("x", tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(append([]int{batch}, t.cfg.Model.inputShape()...)...)))
	if err != nil {
		return err
	}
	logp, _, err := t.flow.LogProb(b, xn)
	if err != nil {
		return err
	}
	outputs := G.Nodes{logp}
	name := "the i-ResNet"
	if !t.cfg.Model.IResNet() {
		name = "the " + t.cfg.Model.kind() + " model"
	}
	title := "log p(x) of " + name + ", every op"
	depth := 0
	if view == BlocksView {
		// Vector models are chains of blocks (block3); multi-scale models
		// nest their blocks in scales (scale0/block3).
		title, depth = "log p(x) of "+name+", block by block", 1
		if _, scaled := t.model.(interface{ Scales() []*blocks.Chain }); scaled {
			depth = 2
		}
	}
	if view == TrainingView {
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
			return err
		}
		outputs = nil // everything
		title = "training step: log p(x) and its gradients"
	}
	return b.WriteDOT(w, graph.DOTOptions{Title: title, Outputs: outputs, RankDir: "TB", Depth: depth, Size: size})
}

// String returns "ops", "training" or "blocks".
func (v GraphView) String() string {
	return [...]string{"ops", "training", "blocks"}[v]
}
