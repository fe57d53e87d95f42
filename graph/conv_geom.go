package graph

import (
	"fmt"

	"github.com/pkg/errors"
)

// ConvGeom describes a 2-D convolution of a batch of images with a square
// stride and zero padding, in the NCHW layout: input (N, C, H, W), kernel
// (O, C, KH, KW), output (N, O, OH, OW) with OH = (H + 2·Pad − KH)/Stride + 1
// and likewise OW. It is the complete parameter set of the convolution ops in
// this package, so it is part of their hash.
type ConvGeom struct {
	N, C, H, W int // input batch, channels, height, width
	O, KH, KW  int // output channels and kernel height and width
	Stride     int // stride in both directions, ≥ 1
	Pad        int // zero padding on every side, ≥ 0
}

// Validate reports whether g describes a convolution with a non-empty output.
func (g ConvGeom) Validate() error {
	switch {
	case g.N < 1 || g.C < 1 || g.H < 1 || g.W < 1:
		return errors.Errorf("graph: conv input shape (%d, %d, %d, %d) must be positive", g.N, g.C, g.H, g.W)
	case g.O < 1 || g.KH < 1 || g.KW < 1:
		return errors.Errorf("graph: conv kernel shape (%d, %d, %d, %d) must be positive", g.O, g.C, g.KH, g.KW)
	case g.Stride < 1:
		return errors.Errorf("graph: conv stride %d must be ≥ 1", g.Stride)
	case g.Pad < 0:
		return errors.Errorf("graph: conv padding %d must be ≥ 0", g.Pad)
	case g.H+2*g.Pad < g.KH || g.W+2*g.Pad < g.KW:
		return errors.Errorf("graph: conv kernel %d×%d does not fit input %d×%d with padding %d", g.KH, g.KW, g.H, g.W, g.Pad)
	}
	return nil
}

// OH returns the output height.
func (g ConvGeom) OH() int { return (g.H+2*g.Pad-g.KH)/g.Stride + 1 }

// OW returns the output width.
func (g ConvGeom) OW() int { return (g.W+2*g.Pad-g.KW)/g.Stride + 1 }

// InShape returns (N, C, H, W).
func (g ConvGeom) InShape() []int { return []int{g.N, g.C, g.H, g.W} }

// OutShape returns (N, O, OH, OW).
func (g ConvGeom) OutShape() []int { return []int{g.N, g.O, g.OH(), g.OW()} }

// KernelShape returns (O, C, KH, KW).
func (g ConvGeom) KernelShape() []int { return []int{g.O, g.C, g.KH, g.KW} }

// String encodes every field, so ops built on two geometries that differ in
// any parameter hash differently.
func (g ConvGeom) String() string {
	return fmt.Sprintf("in(%d,%d,%d,%d) k(%d,%d,%d,%d) s%d p%d", g.N, g.C, g.H, g.W, g.O, g.C, g.KH, g.KW, g.Stride, g.Pad)
}

// isPointwise reports whether the convolution is a 1×1, stride-1, unpadded
// one, for which the column matrix of an image is the image itself.
func (g ConvGeom) isPointwise() bool {
	return g.KH == 1 && g.KW == 1 && g.Stride == 1 && g.Pad == 0
}

// im2col writes the columns of x (N, C, H, W) into cols, a row-major matrix
// of shape (C·KH·KW, N·OH·OW): row (c, i, j) holds, for each output position,
// the input pixel under kernel tap (i, j) of channel c, or 0 in the padding.
func im2col[T Float](g ConvGeom, x, cols []T) {
	oh, ow := g.OH(), g.OW()
	p := oh * ow
	np := g.N * p
	parallelFor(g.C*g.KH*g.KW, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			c := r / (g.KH * g.KW)
			i := (r / g.KW) % g.KH
			j := r % g.KW
			row := cols[r*np : (r+1)*np]
			for n := 0; n < g.N; n++ {
				img := x[(n*g.C+c)*g.H*g.W : (n*g.C+c+1)*g.H*g.W]
				out := row[n*p : (n+1)*p]
				for y := 0; y < oh; y++ {
					iy := y*g.Stride - g.Pad + i
					o := out[y*ow : (y+1)*ow]
					if iy < 0 || iy >= g.H {
						clear(o)
						continue
					}
					src := img[iy*g.W : (iy+1)*g.W]
					for xx := 0; xx < ow; xx++ {
						ix := xx*g.Stride - g.Pad + j
						if ix < 0 || ix >= g.W {
							o[xx] = 0
						} else {
							o[xx] = src[ix]
						}
					}
				}
			}
		}
	})
}

// col2im is the adjoint of im2col: it sums every column entry back into the
// input pixel it was read from and writes the result to x (N, C, H, W),
// overwriting it.
func col2im[T Float](g ConvGeom, cols, x []T) {
	oh, ow := g.OH(), g.OW()
	p := oh * ow
	np := g.N * p
	clear(x)
	// Parallel over channels: each channel's taps write only that channel.
	parallelFor(g.C, func(lo, hi int) {
		for c := lo; c < hi; c++ {
			for i := 0; i < g.KH; i++ {
				for j := 0; j < g.KW; j++ {
					r := (c*g.KH+i)*g.KW + j
					row := cols[r*np : (r+1)*np]
					for n := 0; n < g.N; n++ {
						img := x[(n*g.C+c)*g.H*g.W : (n*g.C+c+1)*g.H*g.W]
						in := row[n*p : (n+1)*p]
						for y := 0; y < oh; y++ {
							iy := y*g.Stride - g.Pad + i
							if iy < 0 || iy >= g.H {
								continue
							}
							dst := img[iy*g.W : (iy+1)*g.W]
							src := in[y*ow : (y+1)*ow]
							for xx := 0; xx < ow; xx++ {
								ix := xx*g.Stride - g.Pad + j
								if ix >= 0 && ix < g.W {
									dst[ix] += src[xx]
								}
							}
						}
					}
				}
			}
		}
	})
}

// toChannelMajor rearranges y (N, O, P) into out (O, N·P).
func toChannelMajor[T Float](n, o, p int, y, out []T) {
	for b := 0; b < n; b++ {
		for c := 0; c < o; c++ {
			copy(out[c*n*p+b*p:c*n*p+(b+1)*p], y[(b*o+c)*p:(b*o+c+1)*p])
		}
	}
}

// fromChannelMajor rearranges in (O, N·P) into y (N, O, P).
func fromChannelMajor[T Float](n, o, p int, in, y []T) {
	for b := 0; b < n; b++ {
		for c := 0; c < o; c++ {
			copy(y[(b*o+c)*p:(b*o+c+1)*p], in[c*n*p+b*p:c*n*p+(b+1)*p])
		}
	}
}

// columns returns the column matrix (C·KH·KW, N·OH·OW) of x. For a pointwise
// convolution this is x rearranged channel-major.
func columns[T Float](g ConvGeom, x []T) []T {
	p := g.OH() * g.OW()
	cols := make([]T, g.C*g.KH*g.KW*g.N*p)
	if g.isPointwise() {
		toChannelMajor(g.N, g.C, p, x, cols)
	} else {
		im2col(g, x, cols)
	}
	return cols
}

// ConvForward computes y = conv(x, w) for x (N, C, H, W) and w (O, C, KH, KW)
// into y (N, O, OH, OW). Slices are row-major and must have the geometry's sizes.
func ConvForward[T Float](g ConvGeom, x, w, y []T) {
	p := g.OH() * g.OW()
	np := g.N * p
	ckk := g.C * g.KH * g.KW
	cols := columns(g, x)
	tmp := make([]T, g.O*np)
	gemm(false, false, g.O, np, ckk, 1, w, ckk, cols, np, 0, tmp, np)
	fromChannelMajor(g.N, g.O, p, tmp, y)
}

// ConvTranspose computes the adjoint of ConvForward in its input:
// dx = convᵀ(dy, w) for dy (N, O, OH, OW), written to dx (N, C, H, W).
// It satisfies ⟨conv(x, w), dy⟩ = ⟨x, convᵀ(dy, w)⟩.
func ConvTranspose[T Float](g ConvGeom, dy, w, dx []T) {
	p := g.OH() * g.OW()
	np := g.N * p
	ckk := g.C * g.KH * g.KW
	dyc := make([]T, g.O*np)
	toChannelMajor(g.N, g.O, p, dy, dyc)
	cols := make([]T, ckk*np)
	gemm(true, false, ckk, np, g.O, 1, w, ckk, dyc, np, 0, cols, np)
	if g.isPointwise() {
		fromChannelMajor(g.N, g.C, p, cols, dx)
		return
	}
	col2im(g, cols, dx)
}

// ConvFilterGrad computes the adjoint of ConvForward in its kernel:
// dw = Σ_n dy_n ⋆ x_n for x (N, C, H, W) and dy (N, O, OH, OW), written to
// dw (O, C, KH, KW). It satisfies ⟨conv(x, w), dy⟩ = ⟨w, dw⟩.
func ConvFilterGrad[T Float](g ConvGeom, x, dy, dw []T) {
	p := g.OH() * g.OW()
	np := g.N * p
	ckk := g.C * g.KH * g.KW
	cols := columns(g, x)
	dyc := make([]T, g.O*np)
	toChannelMajor(g.N, g.O, p, dy, dyc)
	gemm(false, true, g.O, ckk, np, 1, dyc, np, cols, np, 0, dw, ckk)
}
