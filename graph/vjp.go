package graph

import (
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
)

// VJP returns, for each node in wrt, the vector-Jacobian product
//
//	∂/∂wrt ⟨outputs, cotangents⟩ = Σᵢ cotangentsᵢᵀ · ∂outputsᵢ/∂wrt
//
// as new nodes in the same graph. A nil result means the output does not
// depend on that node.
//
// Unlike gorgonia.Grad, VJP stores nothing on the nodes: it walks the graph
// in reverse topological order, asks each op for its symbolic derivative
// (gorgonia.SDOp) and sums the cotangents of each node itself. It is therefore
// correct when called any number of times on one graph, and its results are
// ordinary nodes that can be differentiated again (design brief, fact 2).
// Only nodes on a path from some wrt node to some output are differentiated,
// so non-differentiable side branches (comparisons, random inputs) are fine.
func VJP(outputs, cotangents, wrt G.Nodes) (G.Nodes, error) {
	if len(outputs) != len(cotangents) {
		return nil, errors.Errorf("graph: VJP got %d outputs and %d cotangents", len(outputs), len(cotangents))
	}
	if len(outputs) == 0 {
		return nil, errors.New("graph: VJP needs at least one output")
	}
	for i, o := range outputs {
		if !o.Shape().Eq(cotangents[i].Shape()) {
			return nil, errors.Errorf("graph: VJP output %d (%v) has shape %v but its cotangent %v", i, o.Name(), o.Shape(), cotangents[i].Shape())
		}
	}
	order := ancestors(outputs)
	relevant := dependsOn(order, wrt)

	pending := make(map[*G.Node]G.Nodes, len(order))
	for i, o := range outputs {
		if relevant[o] {
			pending[o] = append(pending[o], cotangents[i])
		}
	}
	wanted := make(map[*G.Node]bool, len(wrt))
	for _, w := range wrt {
		wanted[w] = true
	}
	result := make(map[*G.Node]*G.Node, len(wrt))

	// order lists children before parents; walk it backwards.
	for i := len(order) - 1; i >= 0; i-- {
		n := order[i]
		grads, ok := pending[n]
		if !ok {
			continue
		}
		delete(pending, n)
		total, err := sumNodes(grads)
		if err != nil {
			return nil, errors.Wrapf(err, "graph: VJP summing cotangents of %v", n.Name())
		}
		if wanted[n] {
			result[n] = total
		}
		if n.Op() == nil {
			continue
		}
		kids := children(n)
		op, ok := n.Op().(G.SDOp)
		if !ok {
			return nil, errors.Errorf("graph: VJP: op %v of node %v has no symbolic derivative", n.Op(), n.Name())
		}
		diffable := op.DiffWRT(len(kids))
		needKid := false
		for j, k := range kids {
			needKid = needKid || (relevant[k] && j < len(diffable) && diffable[j])
		}
		if !needKid { // e.g. a stop-gradient, or only constants below
			continue
		}
		kidGrads, err := op.SymDiff(kids, n, total)
		if err != nil {
			return nil, errors.Wrapf(err, "graph: VJP through %v", n.Op())
		}
		for j, k := range kids {
			if !relevant[k] || j >= len(diffable) || !diffable[j] || j >= len(kidGrads) || kidGrads[j] == nil {
				continue
			}
			pending[k] = append(pending[k], kidGrads[j])
		}
	}
	out := make(G.Nodes, len(wrt))
	for i, w := range wrt {
		out[i] = result[w]
	}
	return out, nil
}

// children returns n's inputs in argument order.
func children(n *G.Node) G.Nodes {
	it := n.Graph().From(n.ID())
	if it == nil {
		return nil
	}
	kids := make(G.Nodes, 0, it.Len())
	for it.Next() {
		kids = append(kids, it.Node().(*G.Node))
	}
	return kids
}

// ancestors returns outputs and every node they depend on, each child listed
// before any of its parents.
func ancestors(outputs G.Nodes) G.Nodes {
	var order G.Nodes
	state := map[*G.Node]int{} // 1 visiting, 2 done
	type frame struct {
		n    *G.Node
		kids G.Nodes
		next int
	}
	for _, o := range outputs {
		if state[o] != 0 {
			continue
		}
		stack := []frame{{n: o, kids: children(o)}}
		state[o] = 1
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			if top.next < len(top.kids) {
				k := top.kids[top.next]
				top.next++
				if state[k] == 0 {
					state[k] = 1
					stack = append(stack, frame{n: k, kids: children(k)})
				}
				continue
			}
			state[top.n] = 2
			order = append(order, top.n)
			stack = stack[:len(stack)-1]
		}
	}
	return order
}

// dependsOn marks the nodes of order (children first) that are, or depend
// on, one of the wrt nodes.
func dependsOn(order, wrt G.Nodes) map[*G.Node]bool {
	rel := make(map[*G.Node]bool, len(order))
	for _, w := range wrt {
		rel[w] = true
	}
	for _, n := range order {
		if rel[n] {
			continue
		}
		for _, k := range children(n) {
			if rel[k] {
				rel[n] = true
				break
			}
		}
	}
	return rel
}

// sumNodes adds the nodes pairwise.
func sumNodes(ns G.Nodes) (*G.Node, error) {
	total := ns[0]
	for _, n := range ns[1:] {
		var err error
		if total, err = addNodes(total, n); err != nil {
			return nil, err
		}
	}
	return total, nil
}
