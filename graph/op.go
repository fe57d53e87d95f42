package graph

import (
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// opBase supplies the Op methods that are the same for every op of this
// package: pure, Go-only ops that return fresh values and never overwrite
// their inputs. Each op embeds it and defines Arity, Type, InferShape, Do,
// String, DiffWRT and SymDiff. Hashes are derived from String, which must
// therefore encode every parameter of the op (design brief, fact 6).
type opBase struct{}

func (opBase) ReturnsPtr() bool     { return false }
func (opBase) CallsExtern() bool    { return false }
func (opBase) OverwritesInput() int { return -1 }

// hashString writes s to h; ops call it from WriteHash with their String.
func hashString(h hash.Hash, s string) { fmt.Fprint(h, s) }

// hashCode is the 32-bit FNV-1a hash of s.
func hashCode(s string) uint32 {
	h := fnv.New32a()
	fmt.Fprint(h, s)
	return h.Sum32()
}

// sameType is the hm type a → a for tensors of the given rank.
func sameType(dims int) hm.Type {
	t := G.TensorType{Dims: dims, Of: hm.TypeVariable('a')}
	return hm.NewFnType(t, t)
}

// binaryType is the hm type a → a → a for tensors of the given ranks.
func binaryType(d0, d1, dOut int) hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(G.TensorType{Dims: d0, Of: a}, G.TensorType{Dims: d1, Of: a}, G.TensorType{Dims: dOut, Of: a})
}

// denseOf returns v as a *tensor.Dense or an error naming the op.
func denseOf(op string, v G.Value) (*tensor.Dense, error) {
	d, ok := v.(*tensor.Dense)
	if !ok {
		return nil, errors.Errorf("graph: %s: expected a dense tensor, got %T", op, v)
	}
	return d, nil
}

// newLike allocates a dense tensor of the given shape with the dtype of v.
func newLike(v *tensor.Dense, shape []int) *tensor.Dense {
	return tensor.New(tensor.Of(v.Dtype()), tensor.WithShape(shape...))
}

// checkShape returns an error when v's shape differs from want.
func checkShape(op, what string, v *tensor.Dense, want []int) error {
	if !v.Shape().Eq(tensor.Shape(want)) {
		return errors.Errorf("graph: %s: %s has shape %v, want %v", op, what, v.Shape(), want)
	}
	return nil
}
