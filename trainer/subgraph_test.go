package trainer

import (
	"math"
	"testing"

	"github.com/iresnet/iresnet/internal/imagetest"
	G "gorgonia.org/gorgonia"
)

// TestClassifySubgraphGradients: the classify task compiles only the
// subgraph of the logits, loss and gradients (no log-det). A tape machine
// of a subgraph can reuse registers differently from one of the whole
// graph, which gave wrong gradients for FFJORD (blocks/ode,
// TestSubgraphMachineHazard); here the subgraph's gradients must equal
// those of the whole graph on the same batch.
func TestClassifySubgraphGradients(t *testing.T) {
	cfg := imageConfig(imagetest.TinyMNIST(t))
	cfg.Objective.Task = Classify
	tr := newTrainer(t, cfg)
	steps(t, tr, 2) // data-initialized ActNorms and head, moved weights
	c := tr.train   // its input still holds the last step's batch and labels
	if err := run(c.m); err != nil {
		t.Fatal(err)
	}
	sub := make([][]float32, len(c.grads))
	for i, g := range c.grads {
		sub[i] = append([]float32(nil), g.Value().Data().([]float32)...)
	}
	whole := G.NewTapeMachine(c.b.Graph())
	defer whole.Close()
	if err := run(whole); err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for i, g := range c.grads {
		for j, v := range g.Value().Data().([]float32) {
			d := math.Abs(float64(v-sub[i][j])) / (1 + math.Abs(float64(v)))
			worst = math.Max(worst, d)
		}
	}
	if worst > 1e-5 {
		t.Errorf("subgraph and whole-graph gradients differ by %.3g (relative)", worst)
	}
	t.Logf("largest relative difference %.3g", worst)
}
