package graph

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// stopOp is the identity whose derivative is declared zero: VJP does not
// propagate through it.
type stopOp struct {
	opBase
	t hm.Type
	s tensor.Shape
}

var _ G.SDOp = stopOp{}

func (op stopOp) Arity() int                                     { return 1 }
func (op stopOp) Type() hm.Type                                  { return hm.NewFnType(op.t, op.t) }
func (op stopOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.s.Clone(), nil }
func (op stopOp) String() string                                 { return "stopGradient" }
func (op stopOp) WriteHash(h hash.Hash)                          { hashString(h, "stopGradient"+op.t.String()+fmt.Sprint(op.s)) }
func (op stopOp) Hashcode() uint32 {
	return hashCode("stopGradient" + op.t.String() + fmt.Sprint(op.s))
}
func (op stopOp) DiffWRT(int) []bool { return []bool{false} }
func (op stopOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, errors.New("graph: stopGradient has no derivative")
}

func (op stopOp) Do(vals ...G.Value) (G.Value, error) {
	if len(vals) != 1 {
		return nil, errors.New("graph: stopGradient takes 1 input")
	}
	switch v := vals[0].(type) {
	case *tensor.Dense:
		return v.Clone().(*tensor.Dense), nil
	case G.Scalar:
		return v, nil
	}
	return nil, errors.Errorf("graph: stopGradient: unsupported value %T", vals[0])
}

// StopGradient returns a node with x's value through which VJP propagates
// nothing: in derivatives, x is a constant.
func StopGradient(x *G.Node) (*G.Node, error) {
	return G.ApplyOp(stopOp{t: x.Type(), s: x.Shape()}, x)
}
