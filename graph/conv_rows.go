package graph

// Gonum's pure-Go gemm computes A·Bᵀ with dot products and A·B with axpy
// updates, and the former runs about twice as fast. For that BLAS the
// forward convolution therefore multiplies W by the transpose of the row
// matrix of each image (im2rowSample), and the stride-1 transposed
// convolution is computed as the forward convolution of dy with the
// flipped, transposed kernel; the kernel adjoint is already of the form
// A·Bᵀ. External BLAS implementations run both forms at the same speed, and
// the column matrix is cheaper to build, so they keep the column form.

// im2rowSample writes the row matrix of one image x (C, H, W) into rows, a
// row-major (OH·OW, C·KH·KW) matrix: the transpose of the column matrix
// that im2colSample builds. Row p holds the receptive field of output
// position p, in kernel order, with 0 for the padding.
func im2rowSample[T Float](g ConvGeom, x, rows []T) {
	oh, ow := g.OH(), g.OW()
	hw, kk, s, kw := g.H*g.W, g.KH*g.KW, g.Stride, g.KW
	ckk := g.C * kk
	for y := 0; y < oh; y++ {
		iy := y*s - g.Pad
		i0, i1 := validCols(iy, 1, g.H, g.KH)
		for xx := 0; xx < ow; xx++ {
			ix := xx*s - g.Pad
			j0, j1 := validCols(ix, 1, g.W, kw)
			row := rows[(y*ow+xx)*ckk : (y*ow+xx+1)*ckk]
			if i0 == 0 && i1 == g.KH && j0 == 0 && j1 == kw {
				// Inside the image: KH runs of KW pixels per channel.
				r, b := 0, iy*g.W+ix
				for c := 0; c < g.C; c++ {
					for i, bi := 0, c*hw+b; i < g.KH; i, bi = i+1, bi+g.W {
						dst, src := row[r:r+kw:r+kw], x[bi:bi+kw:bi+kw]
						if kw == 3 {
							dst[0], dst[1], dst[2] = src[0], src[1], src[2]
						} else {
							copy(dst, src)
						}
						r += kw
					}
				}
				continue
			}
			clear(row)
			for c := 0; c < g.C; c++ {
				img := x[c*hw : (c+1)*hw]
				for i := i0; i < i1; i++ {
					src := img[(iy+i)*g.W+ix+j0 : (iy+i)*g.W+ix+j1]
					dst := row[c*kk+i*kw+j0 : c*kk+i*kw+j1]
					for j, v := range src {
						dst[j] = v
					}
				}
			}
		}
	}
}

// convForwardRows is ConvForward for a convolution that is not pointwise,
// as y_n (O, P) = W (O, CKK) · rows_nᵀ (CKK, P) with dot products.
func convForwardRows[T Float](g ConvGeom, x, w, y []T) {
	p := g.OH() * g.OW()
	ckk := g.C * g.KH * g.KW
	xs, ys := g.C*g.H*g.W, g.O*p
	nc, size := splitRange(g.N)
	mm := imageGemm[T](nc)
	parallelChunks(g.N, nc, size, func(_, lo, hi int) {
		rows := make([]T, p*ckk)
		for n := lo; n < hi; n++ {
			im2rowSample(g, x[n*xs:(n+1)*xs], rows)
			mm(false, true, g.O, p, ckk, 1, w, ckk, rows, ckk, 0, y[n*ys:(n+1)*ys], p)
		}
	})
}

// flippedGeom returns the geometry of the forward convolution that equals
// the transposed convolution of g, and whether there is one: for stride 1
// and a square kernel no wider than the padding allows,
//
//	convᵀ(dy, w) = conv(dy, flip(w)) with padding KH−1−Pad,
//
// where flip(w)[c, o, i, j] = w[o, c, KH−1−i, KW−1−j].
func flippedGeom(g ConvGeom) (ConvGeom, bool) {
	if g.Stride != 1 || g.KH != g.KW || g.Pad > g.KH-1 {
		return ConvGeom{}, false
	}
	return ConvGeom{N: g.N, C: g.O, H: g.OH(), W: g.OW(), O: g.C, KH: g.KH, KW: g.KW, Stride: 1, Pad: g.KH - 1 - g.Pad}, true
}

// flipKernel writes flip(w) (C, O, KH, KW) for w (O, C, KH, KW) into out,
// every element of out. It writes out in order, row c at a time, reading
// w's column c (a stride of C·KH·KW), and splits the rows over the cores
// when the kernel is large: the transposed convolutions of the paper
// presets (512 × 512 1×1 kernels, 3×3 ones between 512 and 4–16
// channels) flip their kernels at every call, which took 17% of their
// training step when it ran in w's order on one core.
func flipKernel[T Float](g ConvGeom, w, out []T) {
	kk := g.KH * g.KW
	_, _ = w[g.O*g.C*kk-1], out[g.O*g.C*kk-1]
	rows := func(lo, hi int) {
		for c := lo; c < hi; c++ {
			dst := out[c*g.O*kk : (c+1)*g.O*kk]
			for o := 0; o < g.O; o++ {
				src := w[(o*g.C+c)*kk : (o*g.C+c+1)*kk]
				d := dst[o*kk : (o+1)*kk]
				for t, v := range src {
					d[kk-1-t] = v
				}
			}
		}
	}
	if g.O*g.C*kk < actChunk {
		rows(0, g.C)
		return
	}
	parallelFor(g.C, rows)
}
