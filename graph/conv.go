package graph

import (
	"hash"

	"github.com/chewxy/hm"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// convKind selects which of the three mutually adjoint convolution maps a
// convOp computes.
type convKind int

const (
	convFwd    convKind = iota // (x, w) ↦ conv(x, w)
	convInput                  // (dy, w) ↦ convᵀ(dy, w), the transposed convolution
	convFilter                 // (x, dy) ↦ Σ_n dy_n ⋆ x_n, the kernel adjoint
)

var convKindNames = [...]string{"conv2d", "conv2dT", "conv2dW"}

// convOp is one of the three bilinear maps of a convolution. Each one's
// derivative is expressed with the other two, so the family is closed under
// symbolic differentiation and a convolution can be differentiated any number
// of times (design brief, fact 3).
type convOp struct {
	opBase
	kind convKind
	geom ConvGeom
}

var (
	_ G.SDOp            = convOp{}
	_ G.UsePreallocDoer = convOp{}
)

func (op convOp) Arity() int { return 2 }

func (op convOp) Type() hm.Type { return binaryType(4, 4, 4) }

// shapes returns the expected shapes of the op's two inputs and its output.
func (op convOp) shapes() (a, b, out []int) {
	g := op.geom
	switch op.kind {
	case convFwd:
		return g.InShape(), g.KernelShape(), g.OutShape()
	case convInput:
		return g.OutShape(), g.KernelShape(), g.InShape()
	default:
		return g.InShape(), g.OutShape(), g.KernelShape()
	}
}

func (op convOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	if len(in) != 2 {
		return nil, errors.Errorf("graph: %v takes 2 inputs, got %d", op, len(in))
	}
	a, b, out := op.shapes()
	for i, want := range [][]int{a, b} {
		s, ok := in[i].(tensor.Shape)
		if !ok || !s.Eq(tensor.Shape(want)) {
			return nil, errors.Errorf("graph: %v: input %d has shape %v, want %v", op, i, in[i], want)
		}
	}
	return tensor.Shape(out), nil
}

func (op convOp) Do(vals ...G.Value) (G.Value, error) {
	a, b, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	_, _, so := op.shapes()
	return op.into(newLike(a, so), a, b)
}

// UsePreallocDo writes into the machine's preallocated output when it has
// the output's shape and dtype and shares no memory with an input, and
// otherwise allocates as Do does.
func (op convOp) UsePreallocDo(prealloc G.Value, vals ...G.Value) (G.Value, error) {
	a, b, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	_, _, so := op.shapes()
	out, ok := prealloc.(*tensor.Dense)
	if !ok || out.Dtype() != a.Dtype() || !out.Shape().Eq(tensor.Shape(so)) || out.IsView() ||
		overlaps(out, a) || overlaps(out, b) {
		out = newLike(a, so)
	}
	return op.into(out, a, b)
}

// inputs checks the op's two inputs and returns them as dense tensors.
func (op convOp) inputs(vals []G.Value) (a, b *tensor.Dense, err error) {
	if len(vals) != 2 {
		return nil, nil, errors.Errorf("graph: %v takes 2 inputs, got %d", op, len(vals))
	}
	if a, err = denseOf(op.String(), vals[0]); err != nil {
		return nil, nil, err
	}
	if b, err = denseOf(op.String(), vals[1]); err != nil {
		return nil, nil, err
	}
	sa, sb, _ := op.shapes()
	if err := checkShape(op.String(), "input 0", a, sa); err != nil {
		return nil, nil, err
	}
	if err := checkShape(op.String(), "input 1", b, sb); err != nil {
		return nil, nil, err
	}
	if a.Dtype() != b.Dtype() {
		return nil, nil, errors.Errorf("graph: %v: inputs have dtypes %v and %v", op, a.Dtype(), b.Dtype())
	}
	return a, b, nil
}

// into computes the op on a and b into out, which has the output's shape
// and dtype, and returns out.
func (op convOp) into(out, a, b *tensor.Dense) (G.Value, error) {
	switch ad := a.Data().(type) {
	case []float32:
		runConv(op.kind, op.geom, ad, b.Data().([]float32), out.Data().([]float32))
	case []float64:
		runConv(op.kind, op.geom, ad, b.Data().([]float64), out.Data().([]float64))
	default:
		return nil, errors.Errorf("graph: %v: unsupported dtype %v", op, a.Dtype())
	}
	return out, nil
}

// overlaps reports whether the backing memory of a and b intersects.
func overlaps(a, b *tensor.Dense) bool {
	pa, na := a.Uintptr(), a.MemSize()
	pb, nb := b.Uintptr(), b.MemSize()
	return na > 0 && nb > 0 && pa < pb+nb && pb < pa+na
}

func runConv[T Float](k convKind, g ConvGeom, a, b, out []T) {
	switch k {
	case convFwd:
		ConvForward(g, a, b, out)
	case convInput:
		ConvTranspose(g, a, b, out)
	default:
		ConvFilterGrad(g, a, b, out)
	}
}

func (op convOp) String() string                      { return convKindNames[op.kind] + "{" + op.geom.String() + "}" }
func (op convOp) WriteHash(h hash.Hash)               { hashString(h, op.String()) }
func (op convOp) Hashcode() uint32                    { return hashCode(op.String()) }
func (op convOp) DiffWRT(n int) []bool                { return []bool{true, true} }
func (op convOp) with(k convKind) convOp              { return convOp{kind: k, geom: op.geom} }
func (op convOp) apply(a, b *G.Node) (*G.Node, error) { return G.ApplyOp(op, a, b) }

// SymDiff returns the cotangents of the two inputs given the output's
// cotangent, using the adjoint identities
//
//	⟨conv(x,w), dy⟩ = ⟨x, convᵀ(dy,w)⟩ = ⟨w, convW(x,dy)⟩.
func (op convOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	if len(in) != 2 {
		return nil, errors.Errorf("graph: %v takes 2 inputs, got %d", op, len(in))
	}
	a, b := in[0], in[1]
	var da, db *G.Node
	var err error
	switch op.kind {
	case convFwd: // a = x, b = w
		if da, err = op.with(convInput).apply(grad, b); err == nil {
			db, err = op.with(convFilter).apply(a, grad)
		}
	case convInput: // a = dy, b = w; out is x-shaped
		if da, err = op.with(convFwd).apply(grad, b); err == nil {
			db, err = op.with(convFilter).apply(grad, a)
		}
	default: // a = x, b = dy; out is w-shaped
		if da, err = op.with(convInput).apply(b, grad); err == nil {
			db, err = op.with(convFwd).apply(a, grad)
		}
	}
	if err != nil {
		return nil, errors.Wrapf(err, "graph: differentiating %v", op)
	}
	return G.Nodes{da, db}, nil
}

// Conv2d returns the node conv(x, w) for x (N, C, H, W) and w (O, C, KH, KW)
// with the given stride and zero padding; the result has shape
// (N, O, OH, OW). Unlike gorgonia.Conv2d it is differentiable any number of
// times, which the log-det gradient needs.
func Conv2d(x, w *G.Node, stride, pad int) (*G.Node, error) {
	xs, ws := x.Shape(), w.Shape()
	if xs.Dims() != 4 || ws.Dims() != 4 {
		return nil, errors.Errorf("graph: Conv2d wants 4-D input and kernel, got %v and %v", xs, ws)
	}
	if xs[1] != ws[1] {
		return nil, errors.Errorf("graph: Conv2d input has %d channels but kernel %v expects %d", xs[1], ws, ws[1])
	}
	g := ConvGeom{N: xs[0], C: xs[1], H: xs[2], W: xs[3], O: ws[0], KH: ws[2], KW: ws[3], Stride: stride, Pad: pad}
	if err := g.Validate(); err != nil {
		return nil, err
	}
	return convOp{kind: convFwd, geom: g}.apply(x, w)
}

// ConvTranspose2d returns the node convᵀ(dy, w): the adjoint of Conv2d in its
// input, for the convolution with geometry g. dy has shape g.OutShape() and
// the result g.InShape(). Since the output size of a strided convolution does
// not determine its input size, the full geometry is required.
func ConvTranspose2d(dy, w *G.Node, g ConvGeom) (*G.Node, error) {
	if err := g.Validate(); err != nil {
		return nil, err
	}
	return convOp{kind: convInput, geom: g}.apply(dy, w)
}
