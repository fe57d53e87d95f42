package graph

import (
	"strconv"
	"strings"
	"testing"
)

// TestWriteDOTDepth collapses the scopes of dotTestGraph at depth 1: block0
// and block1 become one box each, summarizing their sub-scopes, parameter
// values, probes and ops; no cluster and no node of theirs is drawn; one
// edge per connected pair carries the shape flowing along it.
func TestWriteDOTDepth(t *testing.T) {
	b, out := dotTestGraph(t)
	text, p := writeDOT(t, b, DOTOptions{Depth: 1, Size: "40,40"})
	if len(p.clusters) != 0 {
		t.Errorf("clusters %v drawn at depth 1, want none", p.order)
	}
	if p.graphAttrs["size"] != `"40,40"` && labelText(p.graphAttrs["size"]) != "40,40" {
		t.Errorf("graph size attribute %q, want 40,40", p.graphAttrs["size"])
	}
	b0, b1 := p.nodes[`scope:block0`], p.nodes[`scope:block1`]
	if b0 == nil || b1 == nil {
		t.Fatalf("no box for block0 or block1; nodes %v\n%s", p.nodeOrder, text)
	}
	for _, c := range []struct {
		box  *parsedNode
		want []string
	}{
		// block0: w (3×3) and fc1/w (3×3): 18 values; x·w, ·w, tanh,
		// listed since they are few.
		{b0, []string{"block0\n", "fc1\n", "2 parameter tensors, 18 values", "ops: A × B, A × B, tanh"}},
		// block1: w; ·w, tanh, ⊙v; the probe scope with one noise input.
		{b1, []string{"block1\n", "probe\n", "1 parameter tensor, 9 values", "1 random input (probes)", "ops: A × B, tanh, a ⊙ b (element-wise)"}},
	} {
		l := labelText(c.box.attrs["label"])
		for _, w := range c.want {
			if !strings.Contains(l, w) {
				t.Errorf("box label %q lacks %q", l, w)
			}
		}
	}
	// x → block0 → block1 → sum: three edges, each with a shape label.
	want := map[[2]string]string{
		{"n0", "scope:block0"}:                                  "(2, 3)",
		{"scope:block0", "scope:block1"}:                        "(2, 3)",
		{"scope:block1", "n" + strconv.FormatInt(out.ID(), 10)}: "(2, 3)",
	}
	if len(p.edges) != len(want) {
		t.Errorf("%d edges %v, want %d", len(p.edges), p.edges, len(want))
	}
	for _, e := range p.edges {
		key := [2]string{e.from, e.to}
		if sh, ok := want[key]; !ok || labelText(e.attrs["label"]) != sh {
			t.Errorf("edge %s -> %s label %q; want one of %v", e.from, e.to, e.attrs["label"], want)
		}
	}
}

// TestOpLabels checks the readable names of gorgonia's binary ops: no
// label keeps the bare flag ("+ false"), other ops are unchanged.
func TestOpLabels(t *testing.T) {
	for in, want := range map[string]string{
		"+ false": "a + b", "⊙ false": "a ⊙ b (element-wise)", "÷ true": "a ÷ b", "- false": "a − b",
		"A × B": "A × B", "Σ[1]": "Σ[1]", "stopGradient": "stopGradient", "? false": "? false",
	} {
		if got := opLabel(in); got != want {
			t.Errorf("opLabel(%q) = %q, want %q", in, got, want)
		}
	}
	b, _ := dotTestGraph(t)
	text, _ := writeDOT(t, b, DOTOptions{})
	if strings.Contains(text, " false\\n") || strings.Contains(text, " true\\n") {
		t.Errorf("a label still reads like \"+ false\":\n%s", text)
	}
	if !strings.Contains(text, "a ⊙ b (element-wise)") {
		t.Errorf("the probe's product is not labelled a ⊙ b:\n%s", text)
	}
}
