package graph

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// squeezeOp is the 2×2 space-to-depth permutation (inverse=false) or its
// inverse. The inverse of a permutation is its adjoint, so each is the
// other's derivative.
type squeezeOp struct {
	opBase
	in      tensor.Shape // shape of the op's input
	inverse bool
}

var _ G.SDOp = squeezeOp{}

// squeezedShape returns (N, 4C, H/2, W/2) for (N, C, H, W).
func squeezedShape(s tensor.Shape) tensor.Shape {
	return tensor.Shape{s[0], 4 * s[1], s[2] / 2, s[3] / 2}
}

// unsqueezedShape returns (N, C/4, 2H, 2W) for (N, C, H, W).
func unsqueezedShape(s tensor.Shape) tensor.Shape {
	return tensor.Shape{s[0], s[1] / 4, 2 * s[2], 2 * s[3]}
}

func (op squeezeOp) out() tensor.Shape {
	if op.inverse {
		return unsqueezedShape(op.in)
	}
	return squeezedShape(op.in)
}

func (op squeezeOp) Arity() int    { return 1 }
func (op squeezeOp) Type() hm.Type { return sameType(4) }
func (op squeezeOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	return op.out(), nil
}
func (op squeezeOp) String() string {
	if op.inverse {
		return fmt.Sprintf("unsqueeze2x2%v", op.in)
	}
	return fmt.Sprintf("squeeze2x2%v", op.in)
}
func (op squeezeOp) WriteHash(h hash.Hash) { hashString(h, op.String()) }
func (op squeezeOp) Hashcode() uint32      { return hashCode(op.String()) }
func (op squeezeOp) DiffWRT(int) []bool    { return []bool{true} }

func (op squeezeOp) Do(vals ...G.Value) (G.Value, error) {
	if len(vals) != 1 {
		return nil, errors.Errorf("graph: %v takes 1 input", op)
	}
	x, err := denseOf(op.String(), vals[0])
	if err != nil {
		return nil, err
	}
	if err := checkShape(op.String(), "input", x, op.in); err != nil {
		return nil, err
	}
	out := newLike(x, op.out())
	big := op.in
	if op.inverse {
		big = op.out()
	}
	switch d := x.Data().(type) {
	case []float32:
		squeezeKernel(big, op.inverse, d, out.Data().([]float32))
	case []float64:
		squeezeKernel(big, op.inverse, d, out.Data().([]float64))
	default:
		return nil, errors.Errorf("graph: %v: unsupported dtype %v", op, x.Dtype())
	}
	return out, nil
}

// squeezeKernel moves data between the spatial layout big = (N, C, H, W)
// and the squeezed layout (N, 4C, H/2, W/2), where squeezed channel
// 4c + 2i + j at (y, x) holds pixel (2y+i, 2x+j) of channel c. With
// inverse=false it reads spatial src and writes squeezed dst; with
// inverse=true the reverse.
func squeezeKernel[T Float](big tensor.Shape, inverse bool, src, dst []T) {
	n, c, h, w := big[0], big[1], big[2], big[3]
	if n*c*h*w < actChunk {
		squeezePlanes(c, h, w, inverse, src, dst, 0, n*c)
		return
	}
	parallelFor(n*c, func(lo, hi int) { squeezePlanes(c, h, w, inverse, src, dst, lo, hi) })
}

// squeezePlanes is squeezeKernel for the planes [lo, hi) of the big side,
// counted over (N, C).
func squeezePlanes[T Float](c, h, w int, inverse bool, src, dst []T, lo, hi int) {
	h2, w2 := h/2, w/2
	for plane := lo; plane < hi; plane++ {
		b, ch := plane/c, plane%c
		for i := 0; i < 2; i++ {
			for j := 0; j < 2; j++ {
				sq := ((b*4*c + 4*ch + 2*i + j) * h2) * w2
				for y := 0; y < h2; y++ {
					sp := ((b*c+ch)*h+2*y+i)*w + j
					for x := 0; x < w2; x++ {
						if inverse {
							dst[sp+2*x] = src[sq+y*w2+x]
						} else {
							dst[sq+y*w2+x] = src[sp+2*x]
						}
					}
				}
			}
		}
	}
}

func (op squeezeOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	d, err := G.ApplyOp(squeezeOp{in: op.out(), inverse: !op.inverse}, grad)
	if err != nil {
		return nil, errors.Wrapf(err, "graph: differentiating %v", op)
	}
	return G.Nodes{d}, nil
}

// Squeeze returns the 2×2 space-to-depth rearrangement of x (N, C, H, W)
// with even H and W: a node of shape (N, 4C, H/2, W/2) whose channel
// 4c + 2i + j at (y, x) is x[n, c, 2y+i, 2x+j].
func Squeeze(x *G.Node) (*G.Node, error) {
	s := x.Shape()
	if s.Dims() != 4 || s[2]%2 != 0 || s[3]%2 != 0 {
		return nil, errors.Errorf("graph: Squeeze needs (N, C, H, W) with even H and W, got %v", s)
	}
	return G.ApplyOp(squeezeOp{in: s}, x)
}

// Unsqueeze is the inverse of Squeeze: (N, 4C, H, W) → (N, C, 2H, 2W).
func Unsqueeze(x *G.Node) (*G.Node, error) {
	s := x.Shape()
	if s.Dims() != 4 || s[1]%4 != 0 {
		return nil, errors.Errorf("graph: Unsqueeze needs (N, 4C, H, W), got %v", s)
	}
	return G.ApplyOp(squeezeOp{in: s, inverse: true}, x)
}

// SqueezeTensor applies Squeeze to a tensor value.
func SqueezeTensor(x *tensor.Dense) (*tensor.Dense, error) {
	s := x.Shape()
	if s.Dims() != 4 || s[2]%2 != 0 || s[3]%2 != 0 {
		return nil, errors.Errorf("graph: Squeeze needs (N, C, H, W) with even H and W, got %v", s)
	}
	v, err := squeezeOp{in: s}.Do(x)
	if err != nil {
		return nil, err
	}
	return v.(*tensor.Dense), nil
}

// UnsqueezeTensor applies Unsqueeze to a tensor value.
func UnsqueezeTensor(x *tensor.Dense) (*tensor.Dense, error) {
	s := x.Shape()
	if s.Dims() != 4 || s[1]%4 != 0 {
		return nil, errors.Errorf("graph: Unsqueeze needs (N, 4C, H, W), got %v", s)
	}
	v, err := squeezeOp{in: s, inverse: true}.Do(x)
	if err != nil {
		return nil, err
	}
	return v.(*tensor.Dense), nil
}
