package graph

import (
	"runtime"
	"sync"
	"unsafe"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/iresnet/iresnet/graph/internal/convasm"
	"github.com/iresnet/iresnet/internal/parallel"
)

// kernelBLAS is gonum's pure-Go BLAS with its matrix products Sgemm and
// Dgemm computed on the direct convolution's forward micro-kernel where
// that applies (β = 0 and a product large enough to pay for packing): a
// matrix product is a 1×1 convolution whose "image" rows are the rows of
// op(B). Everything else is gonum's.
type kernelBLAS struct{ gonum.Implementation }

// kernelGemmMin is the smallest m·n·k that kernelBLAS computes on the
// micro-kernel; smaller products cost less than packing.
const kernelGemmMin = 1 << 14

// Sgemm computes C = α·op(A)·op(B) + β·C.
func (kernelBLAS) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if !kernelGemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
		gonum.Implementation{}.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	}
}

// Dgemm computes C = α·op(A)·op(B) + β·C.
func (kernelBLAS) Dgemm(tA, tB blas.Transpose, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	if !kernelGemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
		gonum.Implementation{}.Dgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	}
}

// gemmScratch holds a product's packed operands between calls, so that
// kernelGemm allocates nothing in the steady state. Every element that a
// product reads is written by that product first.
type gemmScratch struct {
	f32  []float32
	f64  []float64
	offs []int
}

var gemmScratchPool = sync.Pool{New: func() any { return new(gemmScratch) }}

// scratchOf returns n elements of T from s, growing its buffer as needed.
func scratchOf[T Float](s *gemmScratch, n int) []T {
	switch any(T(0)).(type) {
	case float32:
		if cap(s.f32) < n {
			s.f32 = make([]float32, n)
		}
		return any(s.f32[:n]).([]T)
	default:
		if cap(s.f64) < n {
			s.f64 = make([]float64, n)
		}
		return any(s.f64[:n]).([]T)
	}
}

// kernelGemm computes C = α·op(A)·op(B) on the forward micro-kernel and
// returns true, or returns false without touching C when it does not
// apply: β ≠ 0, a small product, no kernels, or arguments that gonum
// would reject (left to gonum to report).
//
// The micro-kernel computes tiles of dirMR rows (a panel of α·op(A),
// packed) by nr columns (read in place from the rows of op(B)). When n is
// much narrower than a tile and m is not (the products of a layer of
// width 1 or 2 with a batch), it computes Cᵀ = op(B)ᵀ·op(A)ᵀ instead,
// which wastes less of each tile and, when A is stored transposed, reads A
// in place without packing it.
func kernelGemm[T Float](tA, tB blas.Transpose, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) bool {
	if !directKernels || beta != 0 || m <= 0 || n <= 0 || k <= 0 || m*n*k < kernelGemmMin {
		return false
	}
	ta, tb := tA != blas.NoTrans, tB != blas.NoTrans
	ar, ac := m, k // rows and columns of A as stored
	if ta {
		ar, ac = k, m
	}
	br, bc := k, n
	if tb {
		br, bc = n, k
	}
	if lda < max(1, ac) || ldb < max(1, bc) || ldc < max(1, n) ||
		len(a) < (ar-1)*lda+ac || len(b) < (br-1)*ldb+bc || len(c) < (m-1)*ldc+n {
		return false
	}
	nr := fwdNR[T]()
	s := gemmScratchPool.Get().(*gemmScratch)
	defer gemmScratchPool.Put(s)
	if tileWork(n, m, nr) < tileWork(m, n, nr) {
		// Cᵀ (n × m) = α·op(B)ᵀ · op(A)ᵀ into scratch, then transposed.
		np := (n + dirMR - 1) / dirMR
		pl := np*k*dirMR + k*nr // panels, then the partial tile's strip
		buf := scratchOf[T](s, pl+n*m+k*m)
		ap, ct, at := buf[:pl], buf[pl:pl+n*m], buf[pl+n*m:]
		src, ld := a, lda // op(A)ᵀ, k × m
		if !ta {
			transposeInto(at, m, a, lda, m, k)
			src, ld = at, m
		}
		gemmTiles(s, n, m, k, ap, panelSrc[T]{b, ldb, !tb, alpha}, src, ld, ct, m)
		transposeInto(c, ldc, ct, m, n, m)
		return true
	}
	np := (m + dirMR - 1) / dirMR
	pl := np*k*dirMR + k*nr // panels, then the partial tile's strip
	buf := scratchOf[T](s, pl+k*n)
	ap, bt := buf[:pl], buf[pl:]
	src, ld := b, ldb // op(B), k × n
	if tb {
		transposeInto(bt, n, b, ldb, n, k)
		src, ld = bt, n
	}
	gemmTiles(s, m, n, k, ap, panelSrc[T]{a, lda, ta, alpha}, src, ld, c, ldc)
	return true
}

// tileWork is the number of products the micro-kernel computes for an
// m × n result: m rounded up to whole panels times n to whole tiles.
func tileWork(m, n, nr int) int {
	return (m + dirMR - 1) / dirMR * dirMR * ((n + nr - 1) / nr * nr)
}

// packPanel writes panel p of α·S, S an m × k matrix, as the micro-kernel
// reads it: pa[kk·dirMR + r] = α·S[p·dirMR + r, kk], zero past row m. S is
// src with rows ld apart (S[i, kk] = src[i·ld + kk]), or its transpose
// when trans (S[i, kk] = src[kk·ld + i]).
func packPanel[T Float](pa, src []T, ld, m, k int, trans bool, alpha T, p int) {
	pa = pa[:k*dirMR]
	i0 := p * dirMR
	rows := min(dirMR, m-i0)
	switch {
	case trans && rows == dirMR && alpha == 1:
		// k rows of 8 elements, ld apart, to k rows of 8, one vector move each.
		copyRows(pa, dirMR, src[i0:], ld, k, dirMR)
	case trans && rows == dirMR:
		for kk := range k {
			d := (*[dirMR]T)(pa[kk*dirMR:])
			*d = [dirMR]T(src[kk*ld+i0:])
			if alpha != 1 {
				for r := range d {
					d[r] *= alpha
				}
			}
		}
	case trans:
		for kk := range k {
			d := pa[kk*dirMR : kk*dirMR+dirMR]
			for r := range d {
				d[r] = 0
				if r < rows {
					d[r] = alpha * src[kk*ld+i0+r]
				}
			}
		}
	case rows == dirMR && alpha == 1:
		transpose8(pa, dirMR, src[i0*ld:], ld, k)
	default:
		for r := 0; r < dirMR; r++ {
			if r >= rows {
				for kk := 0; kk < k; kk++ {
					pa[kk*dirMR+r] = 0
				}
				continue
			}
			for kk, v := range src[(i0+r)*ld:][:k] {
				pa[kk*dirMR+r] = alpha * v
			}
		}
	}
}

// transpose8 writes the transpose of the 8 × cols matrix src (rows lds
// apart) to dst (rows ldd apart): dst[j·ldd + r] = src[r·lds + j], r < 8.
func transpose8[T Float](dst []T, ldd int, src []T, lds, cols int) {
	if s32, ok := any(src).([]float32); ok && avx512 && cols >= 16 {
		blocks := cols / 16
		_ = dst[(blocks*16-1)*ldd+7] // the kernel's last store, checked here
		_ = src[7*lds+blocks*16-1]
		convasm.Transpose8F32(&any(dst).([]float32)[0], ldd*4, &s32[0], lds*4, blocks)
		if cols == blocks*16 {
			return
		}
		dst, src, cols = dst[blocks*16*ldd:], src[blocks*16:], cols-blocks*16
	}
	r0, r1, r2, r3 := src[:cols], src[lds:][:cols], src[2*lds:][:cols], src[3*lds:][:cols]
	r4, r5, r6, r7 := src[4*lds:][:cols], src[5*lds:][:cols], src[6*lds:][:cols], src[7*lds:][:cols]
	for j := range cols {
		d := dst[j*ldd : j*ldd+8 : j*ldd+8]
		d[0], d[1], d[2], d[3] = r0[j], r1[j], r2[j], r3[j]
		d[4], d[5], d[6], d[7] = r4[j], r5[j], r6[j], r7[j]
	}
}

// transposeInto writes the transpose of the rows × cols matrix src (rows
// lds apart) to dst (rows ldd apart): dst[j·ldd + i] = src[i·lds + j].
func transposeInto[T Float](dst []T, ldd int, src []T, lds, rows, cols int) {
	i := 0
	for ; i+8 <= rows; i += 8 {
		transpose8(dst[i:], ldd, src[i*lds:], lds, cols)
	}
	for ; i < rows; i++ {
		for j, v := range src[i*lds : i*lds+cols] {
			dst[j*ldd+i] = v
		}
	}
}

// panelSrc is the left operand of gemmTiles before packing: α·S with S
// src (rows ld apart) or its transpose; see packPanel.
type panelSrc[T Float] struct {
	src   []T
	ld    int
	trans bool
	alpha T
}

// gemmPanelMajorMax is the largest right operand, in bytes, for which
// gemmTiles hands out whole row panels (each worker packs its panel and
// runs it against every column tile of B, which stays in cache); larger
// ones are split tile-major so that a worker reads each column tile once.
const gemmPanelMajorMax = 256 << 10

// gemmTiles computes the m × n product C = P·B on the forward micro-kernel.
// P (m × k) is packed from ps into ap by the workers, one panel of dirMR
// rows each; B is k × n with rows ldb apart in src. Whole column tiles read
// src in place; the last, partial one reads a copy padded with zeros to a
// whole tile.
func gemmTiles[T Float](s *gemmScratch, m, n, k int, ap []T, ps panelSrc[T], src []T, ldb int, c []T, ldc int) {
	esz := int(unsafe.Sizeof(T(0)))
	nr := fwdNR[T]()
	np := (m + dirMR - 1) / dirMR
	nt, full := (n+nr-1)/nr, n/nr
	if cap(s.offs) < 2*k {
		s.offs = make([]int, 2*k)
	}
	offs, stripOffs := s.offs[:k], s.offs[k:2*k]
	for kk := range offs {
		offs[kk], stripOffs[kk] = kk*ldb*esz, kk*nr*esz
	}
	var strip []T
	lastSegs := []convasm.FwdSeg{{Mask: 1<<nr - 1}}
	if full < nt {
		w := n - full*nr
		strip = ap[np*k*dirMR : np*k*dirMR+k*nr]
		for kk := 0; kk < k; kk++ {
			row := strip[kk*nr : kk*nr+nr]
			copy(row, src[kk*ldb+full*nr:kk*ldb+n])
			clear(row[w:])
		}
		lastSegs[0].Mask = 1<<w - 1
	}
	fullSegs := []convasm.FwdSeg{{Mask: 1<<nr - 1}}
	// On AVX-512 a left operand stored as is (and α = 1) is read in place
	// by FwdRows; rows past m point at the panel's first row.
	inPlace := avx512 && !ps.trans && ps.alpha == 1
	tile := func(t, p int) {
		rows := min(dirMR, m-p*dirMR)
		if inPlace {
			var rp [dirMR]*T
			for r := range rp {
				rp[r] = &ps.src[(p*dirMR+min(r, rows-1))*ps.ld]
			}
			if t < full {
				fwdRows(false, k, &rp, &src[t*nr], &offs[0], &c[p*dirMR*ldc+t*nr], ldc*esz, rows, fullSegs)
			} else {
				fwdRows(false, k, &rp, &strip[0], &stripOffs[0], &c[p*dirMR*ldc+t*nr], ldc*esz, rows, lastSegs)
			}
			return
		}
		if t < full {
			fwdTile(k, &ap[p*k*dirMR], &src[t*nr], &offs[0], &c[p*dirMR*ldc+t*nr], ldc*esz, rows, fullSegs)
		} else {
			fwdTile(k, &ap[p*k*dirMR], &strip[0], &stripOffs[0], &c[p*dirMR*ldc+t*nr], ldc*esz, rows, lastSegs)
		}
	}
	pack := func(p int) {
		if !inPlace {
			packPanel(ap[p*k*dirMR:], ps.src, ps.ld, m, k, ps.trans, ps.alpha, p)
		}
	}
	small := m*n*k < 16*kernelGemmMin // too small to split
	workers := 4 * runtime.GOMAXPROCS(0)

	if k*n*esz <= gemmPanelMajorMax {
		grain := max(1, np/workers)
		if small {
			grain = np
		}
		parallel.For(np, grain, func(next func() (lo, hi int, ok bool)) {
			for lo, hi, ok := next(); ok; lo, hi, ok = next() {
				for p := lo; p < hi; p++ {
					pack(p)
					for t := range nt {
						tile(t, p)
					}
				}
			}
		})
		return
	}
	parallel.For(np, max(1, np/workers), func(next func() (lo, hi int, ok bool)) {
		for lo, hi, ok := next(); ok; lo, hi, ok = next() {
			for p := lo; p < hi; p++ {
				pack(p)
			}
		}
	})
	units := nt * np
	grain := max(1, units/workers)
	if small {
		grain = units
	}
	parallel.For(units, grain, func(next func() (lo, hi int, ok bool)) {
		for lo, hi, ok := next(); ok; lo, hi, ok = next() {
			for u := lo; u < hi; u++ {
				tile(u/np, u%np)
			}
		}
	})
}

// fwdRows runs the in-place forward micro-kernel for T, fwdNR positions
// wide, or with wide (AVX-512 only) the three-vector one, 3/2 of that;
// see convasm.FwdRowsF32 and convasm.FwdRows3F32.
func fwdRows[T Float](wide bool, k int, rows *[dirMR]*T, x *T, offs *int, y *T, ldy, nrows int, segs []convasm.FwdSeg) {
	if len(segs) == 0 {
		return
	}
	switch rp := any(rows).(type) {
	case *[dirMR]*float32:
		f := convasm.FwdRowsF32
		if wide {
			f = convasm.FwdRows3F32
		}
		f(k, rp, any(x).(*float32), offs, any(y).(*float32), ldy, nrows, &segs[0], len(segs))
	case *[dirMR]*float64:
		f := convasm.FwdRowsF64
		if wide {
			f = convasm.FwdRows3F64
		}
		f(k, rp, any(x).(*float64), offs, any(y).(*float64), ldy, nrows, &segs[0], len(segs))
	}
}
