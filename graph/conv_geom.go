package graph

import (
	"fmt"

	"github.com/pkg/errors"
	"gonum.org/v1/gonum/blas/gonum"
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

// validCols returns the range [x0, x1) of output columns xx in [0, ow) whose
// input column xx·stride + off lies in [0, w); outside it a kernel tap reads
// padding.
func validCols(off, stride, w, ow int) (x0, x1 int) {
	if off < 0 {
		x0 = (-off + stride - 1) / stride
	}
	if last := w - 1 - off; last >= 0 {
		x1 = last/stride + 1
	}
	x0, x1 = min(x0, ow), min(x1, ow)
	return x0, max(x0, x1)
}

// im2colSample writes the column matrix of one image x (C, H, W) into cols,
// a row-major (C·KH·KW, OH·OW) matrix with leading dimension ld ≥ OH·OW:
// row (c, i, j) holds, for each output position, the input pixel under
// kernel tap (i, j) of channel c, or 0 in the padding.
func im2colSample[T Float](g ConvGeom, x, cols []T, ld int) {
	oh, ow := g.OH(), g.OW()
	p, hw, s := oh*ow, g.H*g.W, g.Stride
	// For a stride-1 convolution as wide as its input ("same" padding),
	// row (c, i, j) is channel c shifted by (i−Pad)·W + j−Pad: one copy
	// fills it, after which the entries that wrapped around from the
	// neighbouring image row are padding, reset to 0.
	same := s == 1 && ow == g.W
	r := 0
	for c := 0; c < g.C; c++ {
		img := x[c*hw : (c+1)*hw]
		for i := 0; i < g.KH; i++ {
			y0, y1 := validCols(i-g.Pad, s, g.H, oh)
			for j := 0; j < g.KW; j++ {
				row := cols[r*ld : r*ld+p]
				r++
				off := j - g.Pad
				x0, x1 := validCols(off, s, g.W, ow)
				clear(row[:y0*ow])
				clear(row[y1*ow:])
				if same && y0 < y1 {
					dst := row[y0*ow : y1*ow]
					lo := (y0+i-g.Pad)*g.W + off
					a, b := max(0, -lo), min(len(dst), hw-lo)
					copy(dst[a:b], img[lo+a:lo+b])
					if x0 > 0 || x1 < ow {
						for y := 0; y < len(dst); y += ow {
							clear(dst[y : y+x0])
							clear(dst[y+x1 : y+ow])
						}
					}
					continue
				}
				for y := y0; y < y1; y++ {
					o := row[y*ow : (y+1)*ow]
					iy := y*s - g.Pad + i
					src := img[iy*g.W : (iy+1)*g.W]
					clear(o[:x0])
					clear(o[x1:])
					if s == 1 {
						copy(o[x0:x1], src[x0+off:x1+off])
						continue
					}
					for xx, ix := x0, x0*s+off; xx < x1; xx, ix = xx+1, ix+s {
						o[xx] = src[ix]
					}
				}
			}
		}
	}
}

// col2imSample is the adjoint of im2colSample: it sums every entry of cols
// (C·KH·KW, OH·OW), leading dimension ld, back into the pixel of x (C, H, W)
// it was read from, overwriting x. It may set the entries of cols that
// im2colSample would have set to 0 (the padding) to 0.
func col2imSample[T Float](g ConvGeom, cols, x []T, ld int) {
	oh, ow := g.OH(), g.OW()
	p, hw, s := oh*ow, g.H*g.W, g.Stride
	same := s == 1 && ow == g.W
	clear(x)
	r := 0
	for c := 0; c < g.C; c++ {
		img := x[c*hw : (c+1)*hw]
		for i := 0; i < g.KH; i++ {
			y0, y1 := validCols(i-g.Pad, s, g.H, oh)
			for j := 0; j < g.KW; j++ {
				row := cols[r*ld : r*ld+p]
				r++
				off := j - g.Pad
				x0, x1 := validCols(off, s, g.W, ow)
				if x0 == x1 || y0 == y1 {
					continue
				}
				if same {
					// The transpose of im2colSample's single copy: zero the
					// padding entries, then add the valid rows as one run.
					src := row[y0*ow : y1*ow]
					if x0 > 0 || x1 < ow {
						for y := 0; y < len(src); y += ow {
							clear(src[y : y+x0])
							clear(src[y+x1 : y+ow])
						}
					}
					lo := (y0+i-g.Pad)*g.W + off
					a, b := max(0, -lo), min(len(src), hw-lo)
					addTo(img[lo+a:lo+b], src[a:b])
					continue
				}
				for y := y0; y < y1; y++ {
					iy := y*s - g.Pad + i
					dst := img[iy*g.W : (iy+1)*g.W]
					src := row[y*ow+x0 : y*ow+x1]
					if s == 1 {
						addTo(dst[x0+off:x1+off], src)
						continue
					}
					for k, ix := 0, x0*s+off; k < len(src); k, ix = k+1, ix+s {
						dst[ix] += src[k]
					}
				}
			}
		}
	}
}

// addTo adds src to dst elementwise; the slices have equal lengths. Long
// runs go to gonum's assembly axpy (y += 1·x, which is exact addition).
func addTo[T Float](dst, src []T) {
	dst = dst[:len(src)]
	if len(src) >= 16 {
		switch d := any(dst).(type) {
		case []float32:
			gonum.Implementation{}.Saxpy(len(src), 1, any(src).([]float32), 1, d, 1)
			return
		case []float64:
			gonum.Implementation{}.Daxpy(len(src), 1, any(src).([]float64), 1, d, 1)
			return
		}
	}
	for k, v := range src {
		dst[k] += v
	}
}

// The three kernels below work one image at a time: the column matrix of
// image n is built in a scratch buffer of C·KH·KW × OH·OW elements (none for
// a pointwise convolution, whose column matrix is the image itself), and one
// matrix product per image reads and writes the NCHW tensors in place. The
// batch is split into one contiguous range of images per CPU, each with its
// own scratch buffer; imageGemm picks how the products are computed.

// imageGemm returns the matrix product for the per-image products when
// count ranges of images run concurrently: gemmSerial for several; for a
// single one, gonum's gemm, which parallelizes itself with goroutines, or
// gemmPanels for an external BLAS.
func imageGemm[T Float](count int) func(tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	switch {
	case count > 1:
		return gemmSerial[T]
	case isGonumBLAS[T]():
		return gemm[T]
	}
	return gemmPanels[T]
}

// ConvForward computes y = conv(x, w) for x (N, C, H, W) and w (O, C, KH, KW)
// into y (N, O, OH, OW). Slices are row-major and must have the geometry's sizes.
func ConvForward[T Float](g ConvGeom, x, w, y []T) {
	if directKernels && g.Stride == 1 {
		directForward(g, x, w, y)
		return
	}
	if !g.isPointwise() && isGonumBLAS[T]() {
		convForwardRows(g, x, w, y)
		return
	}
	p := g.OH() * g.OW()
	ckk := g.C * g.KH * g.KW
	xs, ys := g.C*g.H*g.W, g.O*p
	nc, size := splitRange(g.N)
	mm := imageGemm[T](nc)
	parallelChunks(g.N, nc, size, func(_, lo, hi int) {
		var cols []T
		if !g.isPointwise() {
			cols = make([]T, ckk*p)
		}
		for n := lo; n < hi; n++ {
			xn := x[n*xs : (n+1)*xs]
			if cols != nil {
				im2colSample(g, xn, cols, p)
				xn = cols
			}
			// y_n (O, P) = W (O, CKK) · cols_n (CKK, P)
			mm(false, false, g.O, p, ckk, 1, w, ckk, xn, p, 0, y[n*ys:(n+1)*ys], p)
		}
	})
}

// ConvTranspose computes the adjoint of ConvForward in its input:
// dx = convᵀ(dy, w) for dy (N, O, OH, OW), written to dx (N, C, H, W).
// It satisfies ⟨conv(x, w), dy⟩ = ⟨x, convᵀ(dy, w)⟩.
func ConvTranspose[T Float](g ConvGeom, dy, w, dx []T) {
	if gf, ok := flippedGeom(g); ok {
		if directKernels {
			directTranspose(g, gf, dy, w, dx)
			return
		}
		if !g.isPointwise() && isGonumBLAS[T]() {
			wf := make([]T, len(w))
			flipKernel(g, w, wf)
			convForwardRows(gf, dy, wf, dx)
			return
		}
	}
	p := g.OH() * g.OW()
	ckk := g.C * g.KH * g.KW
	xs, ys := g.C*g.H*g.W, g.O*p
	nc, size := splitRange(g.N)
	mm := imageGemm[T](nc)
	parallelChunks(g.N, nc, size, func(_, lo, hi int) {
		var cols []T
		if !g.isPointwise() {
			cols = make([]T, ckk*p)
		}
		for n := lo; n < hi; n++ {
			dxn := dx[n*xs : (n+1)*xs]
			out := dxn
			if cols != nil {
				out = cols
			}
			// cols_n (CKK, P) = Wᵀ (CKK, O) · dy_n (O, P)
			mm(true, false, ckk, p, g.O, 1, w, ckk, dy[n*ys:(n+1)*ys], p, 0, out, p)
			if cols != nil {
				col2imSample(g, cols, dxn, p)
			}
		}
	})
}

// ConvFilterGrad computes the adjoint of ConvForward in its kernel:
// dw = Σ_n dy_n ⋆ x_n for x (N, C, H, W) and dy (N, O, OH, OW), written to
// dw (O, C, KH, KW). It satisfies ⟨conv(x, w), dy⟩ = ⟨w, dw⟩.
func ConvFilterGrad[T Float](g ConvGeom, x, dy, dw []T) {
	if directKernels && g.Stride == 1 {
		directFilterGrad(g, x, dy, dw)
		return
	}
	p := g.OH() * g.OW()
	ckk := g.C * g.KH * g.KW
	xs, ys := g.C*g.H*g.W, g.O*p
	// Each range of images sums its terms into its own partial kernel, the
	// first one into dw; the partials are added in order, so the result
	// does not depend on scheduling.
	nc, size := splitRange(g.N)
	mm := imageGemm[T](nc)
	partial := make([][]T, nc)
	parallelChunks(g.N, nc, size, func(k, lo, hi int) {
		acc := dw
		if k > 0 {
			acc = make([]T, len(dw))
			partial[k] = acc
		}
		var cols []T
		if !g.isPointwise() {
			cols = make([]T, ckk*p)
		}
		var beta T
		for n := lo; n < hi; n++ {
			xn := x[n*xs : (n+1)*xs]
			if cols != nil {
				im2colSample(g, xn, cols, p)
				xn = cols
			}
			// dw += dy_n (O, P) · cols_nᵀ (P, CKK)
			mm(false, true, g.O, ckk, p, 1, dy[n*ys:(n+1)*ys], p, xn, p, beta, acc, ckk)
			beta = 1
		}
		if lo == hi {
			clear(acc)
		}
	})
	for _, pk := range partial[1:] {
		for i, v := range pk {
			dw[i] += v
		}
	}
}
