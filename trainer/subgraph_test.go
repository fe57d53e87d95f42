package trainer

import (
	"math"
	"testing"

	"github.com/iresnet/iresnet/graph"
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
	if err := c.m.Run(); err != nil {
		t.Fatal(err)
	}
	sub := make([][]float32, len(c.grads))
	for i, g := range c.grads {
		sub[i] = append([]float32(nil), g.Value().Data().([]float32)...)
	}
	whole := graph.NewRunner(G.NewTapeMachine(c.b.Graph()))
	defer whole.Close()
	if err := whole.Run(); err != nil {
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

// TestClassifyReadsNoNoise: the classify task skips redrawing the
// builder's noise inputs every step (noNoise), which is right only if its
// compiled subgraph reads none of them; the test looks for each noise
// input among the nodes the subgraph's roots depend on. A hybrid or
// density trainer does read its probes.
func TestClassifyReadsNoNoise(t *testing.T) {
	for _, task := range []Task{Classify, Hybrid} {
		cfg := imageConfig(imagetest.TinyMNIST(t))
		cfg.Objective.Task = task
		tr := newTrainer(t, cfg)
		c := tr.train
		roots := append(G.Nodes{c.logits, c.loss}, c.grads...)
		if c.logp != nil {
			roots = append(roots, c.logp)
		}
		used := map[*G.Node]bool{}
		for _, n := range c.b.Graph().ExactSubgraphRoots(roots...).AllNodes() {
			used[n] = true
		}
		reads := 0
		for _, nz := range c.b.Noise() {
			if used[nz.Node] {
				reads++
			}
		}
		switch {
		case len(c.b.Noise()) == 0:
			t.Fatalf("%v: the builder has no noise inputs: the test checks nothing", task)
		case task == Classify && (reads > 0 || !c.noNoise):
			t.Errorf("classify: the compiled graph reads %d of %d noise inputs (noNoise %v)", reads, len(c.b.Noise()), c.noNoise)
		case task != Classify && (reads == 0 || c.noNoise):
			t.Errorf("%v: the compiled graph reads %d of %d noise inputs (noNoise %v)", task, reads, len(c.b.Noise()), c.noNoise)
		}
	}
}
