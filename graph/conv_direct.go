package graph

import (
	"runtime"
	"sync"
	"unsafe"

	"github.com/iresnet/iresnet/graph/internal/convasm"
	"github.com/iresnet/iresnet/internal/parallel"
)

// directKernels reports whether the convolutions run on the direct
// kernels; tests switch it off to exercise the im2col path.
var directKernels = convasm.AVX512 || convasm.AVX2

// avx512 selects the AVX-512 kernels over the AVX2 ones; tests switch it off
// to exercise the AVX2 kernels.
var avx512 = convasm.AVX512

// The direct convolution computes stride-1 convolutions without a column
// matrix. Each image is copied once into a zero-padded buffer of
// (H + 2·Pad) × (W + 2·Pad) pixels per channel, and the output is computed
// on that padded grid: output position q = y·Wp + x (Wp the padded width)
// reads, under kernel tap k = (c, i, j), the padded pixel at
// offs[k] + q with offs[k] = c·Hp·Wp + i·Wp + j, so every row of the implicit
// column matrix is a contiguous run of the padded image. The positions with
// x ≥ OW are not outputs; they are computed and dropped (2·Pad of every Wp).
//
// Two micro-kernels (package convasm, in AVX-512 and in AVX2 versions) do
// the arithmetic:
//
//   - fwdTile, for the forward convolution (and the stride-1 transposed
//     convolution, which is a forward convolution with the flipped kernel):
//     an 8-channel × 2-vector tile of the output, Σ_k w[o, k] · xpad[offs[k] + q],
//     with the kernel packed 8 output channels at a time and the image read in
//     place through offs;
//   - dotTile, for the kernel gradient: a 4 × 4 tile of dw, each entry a dot
//     product over the padded grid positions of all images of a chunk,
//     Σ_n Σ_q dy_n[o, q] · xpad_n[offs[k] + q], with dy copied onto the padded
//     grid (zero at the dropped positions).
//
// One level of parallelism owns the cores: the kernels' goroutines split the
// work and call no threaded BLAS.

// dirMR is the number of output channels of a forward tile.
const dirMR = 8

// dirChunk is the bytes of padded images and dy a kernel-gradient worker
// runs its tiles over at a time (measured: 128 KiB to 1 MiB are alike).
const dirChunk = 256 << 10

// dirVec returns the elements of T in one 64-byte vector, the unit of the
// kernel gradient's padded rows and accumulators with either kernel set.
func dirVec[T Float]() int { return 64 / int(unsafe.Sizeof(T(0))) }

// fwdNR returns the positions of T in a forward tile of the kernel set in
// use: two 64-byte vectors (AVX-512) or one 32-byte vector (AVX2).
func fwdNR[T Float]() int {
	if avx512 {
		return 128 / int(unsafe.Sizeof(T(0)))
	}
	return 32 / int(unsafe.Sizeof(T(0)))
}

// directPlan is the padded-grid layout of a stride-1 convolution for one
// element type.
type directPlan struct {
	g              ConvGeom
	hp, wp, oh, ow int
	nr             int                // positions of a forward tile
	qpad           int                // padded-grid positions computed, a multiple of nr and of a 64-byte vector
	plane          int                // hp·wp
	xs             int                // elements of one padded image, with room for the last tile's reads
	offs           []int              // byte offset in a padded image of kernel tap k = (c, i, j)
	segs           [][]convasm.FwdSeg // per forward tile: its runs of output positions

	// Padded buffers handed back after use, of element type T and with
	// zeros wherever padImage and the kernel gradient's dy copy do not
	// write, so that they can be reused without clearing: one image
	// (forward), all images and all of dy on the grid (kernel gradient).
	img, imgs, dys sync.Pool
	accs           sync.Pool // the kernel gradient's vector accumulators, any contents
	bimgs, bdys    sync.Pool // directFilterGradBatch's x and dy, zero where not written
	cimgs          sync.Pool // directConvBatch's x, zero where not written
	cys            sync.Pool // directConvBatch's output, any contents
	flips          sync.Pool // directTranspose's flipped kernel, any contents
}

// getBuf returns a buffer of n elements of T from pool, or a new zeroed one.
func getBuf[T Float](pool *sync.Pool, n int) []T {
	if b, ok := pool.Get().(*[]T); ok && len(*b) == n {
		return *b
	}
	return make([]T, n)
}

// putBuf hands b back to pool.
func putBuf[T Float](pool *sync.Pool, b []T) { pool.Put(&b) }

type planKey struct {
	g    ConvGeom
	size uintptr
	nr   int  // forward tile width of the kernel set
	wide bool // wideTiles
}

// wideTiles lets the padded-grid path take the three-vector forward tile
// (FwdRows3) where it computes the same grid positions as the two-vector
// one; tests switch it off.
var wideTiles = true

// directPlans caches plans; there are few geometries per program.
var directPlans sync.Map

// planFor returns the plan of the stride-1 convolution g for T.
func planFor[T Float](g ConvGeom) *directPlan {
	key := planKey{g, unsafe.Sizeof(T(0)), fwdNR[T](), wideTiles}
	if p, ok := directPlans.Load(key); ok {
		return p.(*directPlan)
	}
	nr := key.nr
	hp, wp, oh := g.H+2*g.Pad, g.W+2*g.Pad, g.OH()
	q := oh * wp
	unit := max(nr, dirVec[T]()) // both powers of 2
	qpad := (q + unit - 1) / unit * unit
	if w := nr * 3 / 2; avx512 && key.wide {
		// Three vectors per row load 11 operands per 24 FMAs where two
		// load 10 per 16; take them where the grid does not grow (a
		// 16×16 image with padding 1: 288 positions either way), not
		// where it would (without padding 288 against 256; 32×32 with
		// padding 1: 1,104 against 1,088), as the kernel gradient sweeps
		// the same grid and the in-place paths need it exact.
		if q3 := (q + w - 1) / w * w; q3 <= qpad {
			nr, qpad = w, q3
		}
	}
	p := &directPlan{g: g, hp: hp, wp: wp, oh: oh, ow: g.OW(), nr: nr, qpad: qpad}
	p.plane = p.hp * p.wp
	size := int(key.size)
	p.offs = make([]int, 0, g.C*g.KH*g.KW)
	for c := 0; c < g.C; c++ {
		for i := 0; i < g.KH; i++ {
			for j := 0; j < g.KW; j++ {
				p.offs = append(p.offs, (c*p.plane+i*p.wp+j)*size)
			}
		}
	}
	p.xs = p.qpad + (g.C-1)*p.plane + (g.KH-1)*p.wp + g.KW - 1
	p.segs = make([][]convasm.FwdSeg, p.qpad/nr)
	for t := range p.segs {
		for l := 0; l < nr; {
			qq := t*nr + l
			y, x := qq/p.wp, qq%p.wp
			if y >= p.oh {
				break
			}
			if x >= p.ow {
				l += p.wp - x
				continue
			}
			n := min(p.ow-x, nr-l)
			shift := (y*p.ow + x - l) * size
			mask := (uint64(1)<<n - 1) << l
			if k := len(p.segs[t]) - 1; k >= 0 && p.segs[t][k].Shift == shift {
				p.segs[t][k].Mask |= mask // no dropped positions in between
			} else {
				p.segs[t] = append(p.segs[t], convasm.FwdSeg{Shift: shift, Mask: mask})
			}
			l += n
		}
	}
	directPlans.Store(key, p)
	return p
}

// padImage copies image x (C, H, W) into the interior of the padded image
// buf; the border and the tail of buf are not written, so a buffer that
// starts zeroed stays zero there.
func padImage[T Float](p *directPlan, x, buf []T) {
	g := p.g
	if g.Pad == 0 { // the padded image is the image
		copy(buf[:len(x)], x)
		return
	}
	for c := 0; c < g.C; c++ {
		copyRows(buf[c*p.plane+g.Pad*p.wp+g.Pad:], p.wp, x[c*g.H*g.W:(c+1)*g.H*g.W], g.W, g.H, g.W)
	}
}

// copyRows copies rows rows of width elements from src, whose rows start
// srcStride elements apart, to dst, whose rows start dstStride apart; a
// vector kernel copies each short row in one or two moves.
func copyRows[T Float](dst []T, dstStride int, src []T, srcStride, rows, width int) {
	if rows <= 0 || width <= 0 {
		return
	}
	// The kernel touches exactly the rows, which must lie in the slices.
	_, _ = dst[(rows-1)*dstStride+width-1], src[(rows-1)*srcStride+width-1]
	if width > dstStride || width > srcStride {
		panic("graph: copyRows: rows overlap")
	}
	if !avx512 {
		for r := 0; r < rows; r++ {
			copy(dst[r*dstStride:r*dstStride+width], src[r*srcStride:r*srcStride+width])
		}
		return
	}
	esz := int(unsafe.Sizeof(T(0)))
	switch d := any(dst).(type) {
	case []float32:
		convasm.CopyRowsF32(&d[0], dstStride*esz, &any(src).([]float32)[0], srcStride*esz, rows, width)
	case []float64:
		convasm.CopyRowsF64(&d[0], dstStride*esz, &any(src).([]float64)[0], srcStride*esz, rows, width)
	}
}

// fwdTile runs the forward micro-kernel for T: the tile (8 × 2 vectors)
// t[r][l] = Σ_{k<K} a[k·8 + r] · x[offs[k]/size + l], whose rows r < rows
// it stores to the planes y + r·ldy (ldy in bytes) through segs.
func fwdTile[T Float](k int, a, x *T, offs *int, y *T, ldy, rows int, segs []convasm.FwdSeg) {
	if len(segs) == 0 {
		return
	}
	switch ap := any(a).(type) {
	case *float32:
		f := convasm.FwdTile2F32
		if avx512 {
			f = convasm.FwdTileF32
		}
		f(k, ap, any(x).(*float32), offs, any(y).(*float32), ldy, rows, &segs[0], len(segs))
	case *float64:
		f := convasm.FwdTile2F64
		if avx512 {
			f = convasm.FwdTileF64
		}
		f(k, ap, any(x).(*float64), offs, any(y).(*float64), ldy, rows, &segs[0], len(segs))
	}
}

// dotTile runs the dot-product micro-kernel for T; see convasm.DotTileF32.
func dotTile[T Float](kv, ns int, d *T, ldd, dsn int, x *T, offs *[4]int, xsn int, acc *T) {
	switch dp := any(d).(type) {
	case *float32:
		f := convasm.DotTile2F32
		if avx512 {
			f = convasm.DotTileF32
		}
		f(kv, ns, dp, ldd, dsn, any(x).(*float32), offs, xsn, any(acc).(*float32))
	case *float64:
		f := convasm.DotTile2F64
		if avx512 {
			f = convasm.DotTileF64
		}
		f(kv, ns, dp, ldd, dsn, any(x).(*float64), offs, xsn, any(acc).(*float64))
	}
}

// packKernel writes w (O, CKK), row-major, as panels of dirMR rows:
// a[(panel·CKK + k)·dirMR + r] = w[panel·dirMR + r, k], 0 past row O.
func packKernel[T Float](w []T, o, ckk int) []T {
	np := (o + dirMR - 1) / dirMR
	a := make([]T, np*ckk*dirMR)
	for r := 0; r < o; r++ {
		pa := a[(r/dirMR)*ckk*dirMR+r%dirMR:]
		for k, v := range w[r*ckk : (r+1)*ckk] {
			pa[k*dirMR] = v
		}
	}
	return a
}

// convWeights is a convolution kernel w (O, CKK) as the forward
// micro-kernel reads it: on AVX-512 in place, eight rows at a time through
// FwdRows or FwdRows3; otherwise packed by packKernel for FwdTile.
type convWeights[T Float] struct {
	rows   [][dirMR]*T // per panel of 8 output channels: its rows of w (the last repeated past O)
	packed []T
	o, ckk int
}

func newConvWeights[T Float](w []T, o, ckk int) convWeights[T] {
	if !avx512 {
		return convWeights[T]{packed: packKernel(w, o, ckk), o: o, ckk: ckk}
	}
	rows := make([][dirMR]*T, (o+dirMR-1)/dirMR)
	for op := range rows {
		for r := range rows[op] {
			rows[op][r] = &w[min(op*dirMR+r, o-1)*ckk]
		}
	}
	return convWeights[T]{rows: rows, o: o, ckk: ckk}
}

// tile runs the forward micro-kernel for output channels [8·op, 8·op + 8)
// on the image data at x, nr positions wide: fwdNR, or on AVX-512 also
// 3/2 of it (see fwdTile for the other arguments).
func (cw convWeights[T]) tile(op, nr int, x *T, offs *int, y *T, ldy int, segs []convasm.FwdSeg) {
	rows := min(dirMR, cw.o-op*dirMR)
	if cw.packed != nil {
		fwdTile(cw.ckk, &cw.packed[op*cw.ckk*dirMR], x, offs, y, ldy, rows, segs)
		return
	}
	fwdRows(nr > fwdNR[T](), cw.ckk, &cw.rows[op], x, offs, y, ldy, rows, segs)
}

// directForward is ConvForward for a stride-1 convolution on the
// direct kernels.
func directForward[T Float](g ConvGeom, x, w, y []T) {
	directConv(g, x, newConvWeights(w, g.O, g.C*g.KH*g.KW), y)
}

// directConv computes the stride-1 convolution g of x with the kernel cw
// into y.
func directConv[T Float](g ConvGeom, x []T, cw convWeights[T], y []T) {
	p := planFor[T](g)
	if takesBatchConv[T](p) {
		directConvBatch(p, x, cw, y)
		return
	}
	np := (g.O + dirMR - 1) / dirMR
	nr := p.nr
	nt := p.qpad / nr
	esz := int(unsafe.Sizeof(T(0)))
	xsz, osz := g.C*g.H*g.W, g.OH()*g.OW()
	ysz := g.O * osz
	// Work units are (image, tile of positions), image-major, handed out
	// a whole image at a time when there are enough images, so that a
	// worker pads each image once; every output is one kernel call, so
	// the result does not depend on the schedule.
	units := g.N * nt
	grain := nt
	if workers := runtime.GOMAXPROCS(0); g.N < 2*workers {
		grain = max(1, units/(4*workers))
	}
	parallel.For(units, grain, func(next func() (lo, hi int, ok bool)) {
		buf := getBuf[T](&p.img, p.xs)
		defer putBuf(&p.img, buf)
		cur, img := -1, buf
		for lo, hi, ok := next(); ok; lo, hi, ok = next() {
			for u := lo; u < hi; u++ {
				n, t := u/nt, u%nt
				if n != cur {
					img = buf
					if g.Pad == 0 && n*xsz+p.xs <= len(x) {
						// Unpadded: read the image in place; the reads past
						// its end land in the next image, in lanes that are
						// not stored.
						img = x[n*xsz:]
					} else {
						padImage(p, x[n*xsz:(n+1)*xsz], buf)
					}
					cur = n
				}
				segs := p.segs[t]
				yn := y[n*ysz : (n+1)*ysz]
				for op := 0; op < np; op++ {
					cw.tile(op, nr, &img[t*nr], &p.offs[0], &yn[op*dirMR*osz], osz*esz, segs)
				}
			}
		}
	})
}

// directTranspose is ConvTranspose for a convolution that flippedGeom turns
// into a forward one, on the direct kernels.
func directTranspose[T Float](g, gf ConvGeom, dy, w, dx []T) {
	p := planFor[T](gf)
	wf := getBuf[T](&p.flips, len(w)) // flipKernel writes all of it
	defer putBuf(&p.flips, wf)
	flipKernel(g, w, wf)
	directConv(gf, dy, newConvWeights(wf, g.C, g.O*g.KH*g.KW), dx)
}

// directFilterGrad is ConvFilterGrad for a stride-1 convolution on the
// direct kernels.
func directFilterGrad[T Float](g ConvGeom, x, dy, dw []T) {
	p := planFor[T](g)
	if takesBatchFilterGrad[T](p) {
		directFilterGradBatch(p, x, dy, dw)
		return
	}
	ckk := g.C * g.KH * g.KW
	kv := p.qpad / dirVec[T]()
	o4 := (g.O + 3) / 4 * 4
	xsz, osz := g.C*g.H*g.W, g.OH()*g.OW()
	ds := o4 * p.qpad // elements of one image's dy on the padded grid
	if g.KH == 1 && g.KW == 1 && g.Pad == 0 && p.qpad == osz && o4 == g.O {
		// A 1×1 convolution whose grid is the image and whose rows
		// fill the tiles reads x and dy in place: copying them (4 MB
		// each at 64 × 32 × 16 × 16) costs more than the products.
		filterGradTiles(p, g, ckk, kv, ds, x, dy, dw)
		return
	}
	xp := getBuf[T](&p.imgs, g.N*p.xs)
	dp := getBuf[T](&p.dys, g.N*ds)
	defer putBuf(&p.imgs, xp)
	defer putBuf(&p.dys, dp)
	parallel.For(g.N, max(1, g.N/(4*runtime.GOMAXPROCS(0))), func(next func() (lo, hi int, ok bool)) {
		for lo, hi, ok := next(); ok; lo, hi, ok = next() {
			for n := lo; n < hi; n++ {
				padImage(p, x[n*xsz:(n+1)*xsz], xp[n*p.xs:(n+1)*p.xs])
				for o := 0; o < g.O; o++ {
					src := dy[(n*g.O+o)*osz : (n*g.O+o+1)*osz]
					dst := dp[n*ds+o*p.qpad : n*ds+(o+1)*p.qpad]
					if p.ow == p.wp { // no dropped positions
						copy(dst, src)
						continue
					}
					copyRows(dst, p.wp, src, p.ow, p.oh, p.ow)
				}
			}
		}
	})
	filterGradTiles(p, g, ckk, kv, ds, xp, dp, dw)
}

// filterGradTiles computes dw from the padded images xp and the gridded
// dy dp (ds elements per image), tile by tile in parallel.
func filterGradTiles[T Float](p *directPlan, g ConvGeom, ckk, kv, ds int, xp, dp, dw []T) {
	esz := int(unsafe.Sizeof(T(0)))
	o4, k4 := (g.O+3)/4*4, (ckk+3)/4*4
	// Images in chunks of about 256 KiB of padded data, so that a chunk
	// stays in cache while a worker runs its tiles over it.
	chunk := max(1, dirChunk/((p.xs+ds)*esz))
	// Each tile of dw is one worker's, summed over the chunks in order,
	// so the result does not depend on the schedule. A worker takes up to
	// dirTiles tiles at a time and keeps their vector accumulators.
	nk := k4 / 4
	tiles := (o4 / 4) * nk
	grain := min(dirTiles, max(1, tiles/(4*runtime.GOMAXPROCS(0))))
	parallel.For(tiles, grain, func(next func() (lo, hi int, ok bool)) {
		acc := getBuf[T](&p.accs, dirTiles*16*dirVec[T]())
		defer putBuf(&p.accs, acc)
		for lo, hi, ok := next(); ok; lo, hi, ok = next() {
			filterTiles(p, g, lo, hi, chunk, kv, ds, xp, dp, dw, acc)
		}
	})
}

// batchFilterGrad enables directFilterGradBatch; tests switch it off.
var batchFilterGrad = true

// takesBatchFilterGrad reports whether directFilterGrad runs plan p on
// directFilterGradBatch: when it is enabled, under 70% of the padded grid
// are outputs, and the batch fills at least half a vector.
func takesBatchFilterGrad[T Float](p *directPlan) bool {
	return batchFilterGrad && p.oh*p.ow*10 < p.qpad*7 && p.g.N >= dirVec[T]()/2
}

// directFilterGradBatch is directFilterGrad for small images, whose padded
// grid is mostly dropped positions (a 4×4 image with padding 1 has 16
// outputs among 24 grid positions, rounded up to 32). It puts the images
// innermost instead, x as (C, Hp, Wp, Nb) and dy as (O, OH, OW, Nb) with the
// batch rounded up to Nb, a multiple of a vector, so that the dot products
// run over output rows of OW·Nb contiguous elements and no lane is dropped:
// for kernel tap (c, i, j) and output row y the input run starts at
// ((c·Hp + y + i)·Wp + j)·Nb. The whole batch is one chunk: DotTile's
// sample loop runs over the OH output rows.
func directFilterGradBatch[T Float](p *directPlan, x, dy, dw []T) {
	g := p.g
	ckk := g.C * g.KH * g.KW
	esz, vec := int(unsafe.Sizeof(T(0))), dirVec[T]()
	nb := (g.N + vec - 1) / vec * vec
	o4, k4 := (g.O+3)/4*4, (ckk+3)/4*4
	pos := p.oh * p.ow
	workers := runtime.GOMAXPROCS(0)
	// Both buffers are written only at real pixels of real images, so a
	// pooled buffer keeps its zero border, rows past O and images past N.
	xb := getBuf[T](&p.bimgs, g.C*p.plane*nb)
	db := getBuf[T](&p.bdys, o4*pos*nb)
	defer putBuf(&p.bimgs, xb)
	defer putBuf(&p.bdys, db)
	parallel.For(g.C+g.O, 1, func(next func() (lo, hi int, ok bool)) {
		for lo, hi, ok := next(); ok; lo, hi, ok = next() {
			for ch := lo; ch < hi; ch++ {
				// Image by image, reading each channel's plane in order;
				// the channel's slice of the batch layout (hp·wp·nb
				// elements) stays in cache while its images fill it.
				if ch < g.C {
					batchChannel(p, x, xb, nb, ch)
					continue
				}
				o := ch - g.C
				n := 0
				for ; n+8 <= g.N; n += 8 {
					transpose8(db[o*pos*nb+n:], nb, dy[(n*g.O+o)*pos:], g.O*pos, pos)
				}
				for ; n < g.N; n++ {
					src := dy[(n*g.O+o)*pos : (n*g.O+o+1)*pos]
					dst := db[o*pos*nb+n:]
					for q, v := range src {
						dst[q*nb] = v
					}
				}
			}
		}
	})
	offs := make([]int, ckk)
	for c, k := 0, 0; c < g.C; c++ {
		for i := 0; i < g.KH; i++ {
			for j := 0; j < g.KW; j++ {
				offs[k] = ((c*p.hp+i)*p.wp + j) * nb * esz
				k++
			}
		}
	}
	nk := k4 / 4
	tiles := (o4 / 4) * nk
	kv := p.ow * nb / vec
	parallel.For(tiles, min(dirTiles, max(1, tiles/(4*workers))), func(next func() (lo, hi int, ok bool)) {
		var acc [16 * 16]T // one tile's accumulators, 16 entries of up to 16 lanes
		var to4 [4]int
		for lo, hi, ok := next(); ok; lo, hi, ok = next() {
			for t := lo; t < hi; t++ {
				to, tk := t/nk, t%nk
				tileOffs(&to4, offs, tk)
				clear(acc[:16*vec])
				dotTile(kv, p.oh, &db[to*4*pos*nb], pos*nb*esz, p.ow*nb*esz, &xb[0], &to4, p.wp*nb*esz, &acc[0])
				storeTile(dw, acc[:16*vec], g.O, ckk, to, tk)
			}
		}
	})
}

// batchChannel writes channel c of the images x (N, C, H, W) into xb in
// the batch-innermost padded layout (C, Hp, Wp, nb): pixel (y, x) of image
// n goes to ((c·Hp + y + Pad)·Wp + x + Pad)·nb + n. It goes image by image,
// reading each plane in order, while the channel's hp·wp·nb elements stay
// in cache; the border and the images past N are not written.
func batchChannel[T Float](p *directPlan, x, xb []T, nb, c int) {
	g := p.g
	hw := g.H * g.W
	n := 0
	if _, ok := any(x).([]float32); ok && avx512 && hw%16 == 0 && hw <= 256 {
		// Eight images' planes at a time, a 16-pixel block per kernel
		// pass, each pixel's 8 values stored where the table says.
		var offs [256]int
		for i := range hw {
			offs[i] = ((i/g.W+g.Pad)*p.wp + i%g.W + g.Pad) * nb * 4
		}
		x32, xb32 := any(x).([]float32), any(xb).([]float32)
		base := c * p.hp * p.wp * nb
		for ; n+8 <= g.N; n += 8 {
			_ = xb32[base+n+offs[hw-1]/4+7]
			_ = x32[((n+7)*g.C+c)*hw+hw-1]
			convasm.Transpose8OffsF32(&xb32[base+n], &offs[0], &x32[(n*g.C+c)*hw], g.C*hw*4, hw/16)
		}
	}
	for ; n+8 <= g.N; n += 8 { // eight images' rows at a time, 8 contiguous stores per pixel
		for yy := 0; yy < g.H; yy++ {
			transpose8(xb[((c*p.hp+yy+g.Pad)*p.wp+g.Pad)*nb+n:], nb, x[(n*g.C+c)*hw+yy*g.W:], g.C*hw, g.W)
		}
	}
	for ; n < g.N; n++ {
		src := x[(n*g.C+c)*hw : (n*g.C+c+1)*hw]
		for yy := 0; yy < g.H; yy++ {
			dst := xb[((c*p.hp+yy+g.Pad)*p.wp+g.Pad)*nb+n:]
			for xx, v := range src[yy*g.W : (yy+1)*g.W] {
				dst[xx*nb] = v
			}
		}
	}
}

// untranspose8 writes the transpose of the cols × 8 matrix src (rows lds
// apart) to the 8 rows of dst (ldd apart): dst[r·ldd + j] = src[j·lds + r],
// the inverse of transpose8.
func untranspose8[T Float](dst []T, ldd int, src []T, lds, cols int) {
	if d32, ok := any(dst).([]float32); ok && avx512 && cols >= 16 {
		blocks := cols / 16
		_ = dst[7*ldd+blocks*16-1] // the kernel's last store, checked here
		_ = src[(blocks*16-1)*lds+7]
		convasm.Untranspose8F32(&d32[0], ldd*4, &any(src).([]float32)[0], lds*4, blocks)
		if cols == blocks*16 {
			return
		}
		dst, src, cols = dst[blocks*16:], src[blocks*16*lds:], cols-blocks*16
	}
	d0, d1, d2, d3 := dst[:cols], dst[ldd:][:cols], dst[2*ldd:][:cols], dst[3*ldd:][:cols]
	d4, d5, d6, d7 := dst[4*ldd:][:cols], dst[5*ldd:][:cols], dst[6*ldd:][:cols], dst[7*ldd:][:cols]
	for j := range cols {
		v := src[j*lds : j*lds+8 : j*lds+8]
		d0[j], d1[j], d2[j], d3[j] = v[0], v[1], v[2], v[3]
		d4[j], d5[j], d6[j], d7[j] = v[4], v[5], v[6], v[7]
	}
}

// batchConv enables directConvBatch; tests switch it off.
var batchConv = true

// takesBatchConv reports whether directConv runs plan p on
// directConvBatch: when it is enabled, under 70% of the padded grid are
// outputs, the batch fills at least half a forward tile, and the kernel is
// larger than 1×1 (whose few products per output do not pay for the
// layout changes: measured 0.09 → 0.15 ms at 4×4, 64 → 64 channels).
func takesBatchConv[T Float](p *directPlan) bool {
	return batchConv && p.oh*p.ow*10 < p.qpad*7 && p.g.N >= fwdNR[T]()/2 && p.g.KH*p.g.KW > 1
}

// directConvBatch is directConv for small images, whose padded grid is
// mostly dropped positions (a 4×4 image with padding 1 computes 32 grid
// positions for 16 outputs). It puts the images innermost instead, x as
// (C, Hp, Wp, Nb) with the batch rounded up to Nb, a multiple of the tile
// width, and computes each output position for a tile of images at once:
// the tile at output (y, x) and images [b, b + nr) reads tap (c, i, j) at
// ((c·Hp + y + i)·Wp + x + j)·Nb + b, so no lane is dropped. The output is
// computed as (O, OH·OW, Nb) and then transposed to (N, O, OH, OW).
func directConvBatch[T Float](p *directPlan, x []T, cw convWeights[T], y []T) {
	g := p.g
	ckk := g.C * g.KH * g.KW
	esz, nr := int(unsafe.Sizeof(T(0))), fwdNR[T]() // the two-vector tile
	nb := (g.N + nr - 1) / nr * nr
	pos := p.oh * p.ow
	np := (g.O + dirMR - 1) / dirMR
	// xb is written only at real pixels of real images, so a pooled
	// buffer keeps its zero border and images past N; yb is all written.
	xb := getBuf[T](&p.cimgs, g.C*p.plane*nb)
	yb := getBuf[T](&p.cys, g.O*pos*nb)
	defer putBuf(&p.cimgs, xb)
	defer putBuf(&p.cys, yb)
	parallel.For(g.C, 1, func(next func() (lo, hi int, ok bool)) {
		for lo, hi, ok := next(); ok; lo, hi, ok = next() {
			for c := lo; c < hi; c++ {
				batchChannel(p, x, xb, nb, c)
			}
		}
	})
	offs := make([]int, ckk)
	for c, k := 0, 0; c < g.C; c++ {
		for i := 0; i < g.KH; i++ {
			for j := 0; j < g.KW; j++ {
				offs[k] = ((c*p.hp+i)*p.wp + j) * nb * esz
				k++
			}
		}
	}
	segs := []convasm.FwdSeg{{Mask: 1<<nr - 1}}
	blocks := nb / nr
	units := pos * blocks
	parallel.For(units, max(1, units/(4*runtime.GOMAXPROCS(0))), func(next func() (lo, hi int, ok bool)) {
		for lo, hi, ok := next(); ok; lo, hi, ok = next() {
			for u := lo; u < hi; u++ {
				q, b := u/blocks, u%blocks
				oy, ox := q/p.ow, q%p.ow
				xin := &xb[(oy*p.wp+ox)*nb+b*nr]
				for op := 0; op < np; op++ {
					cw.tile(op, nr, xin, &offs[0], &yb[(op*dirMR*pos+q)*nb+b*nr], pos*nb*esz, segs)
				}
			}
		}
	})
	parallel.For(g.O, 1, func(next func() (lo, hi int, ok bool)) {
		for lo, hi, ok := next(); ok; lo, hi, ok = next() {
			for o := lo; o < hi; o++ {
				n := 0
				for ; n+8 <= g.N; n += 8 {
					untranspose8(y[(n*g.O+o)*pos:], g.O*pos, yb[o*pos*nb+n:], nb, pos)
				}
				for ; n < g.N; n++ {
					dst := y[(n*g.O+o)*pos : (n*g.O+o+1)*pos]
					src := yb[o*pos*nb+n:]
					for q := range dst {
						dst[q] = src[q*nb]
					}
				}
			}
		}
	})
}

// dirTiles is the most kernel-gradient tiles a worker takes at a time.
const dirTiles = 64

// filterTiles computes the kernel-gradient tiles [lo, hi) of dw (in
// o-tile-major order) over all images, chunk images at a time, from the
// padded images xp and the gridded dy dp.
func filterTiles[T Float](p *directPlan, g ConvGeom, lo, hi, chunk, kv, ds int, xp, dp, dw, acc []T) {
	ckk := g.C * g.KH * g.KW
	nk := (ckk + 3) / 4
	esz := int(unsafe.Sizeof(T(0)))
	tsz := 16 * dirVec[T]() // accumulator elements per tile
	acc = acc[:(hi-lo)*tsz]
	clear(acc)
	var offs [4]int
	for n0 := 0; n0 < g.N; n0 += chunk {
		ns := min(chunk, g.N-n0)
		for t := lo; t < hi; t++ {
			to, tk := t/nk, t%nk
			tileOffs(&offs, p.offs, tk)
			dotTile(kv, ns, &dp[n0*ds+to*4*p.qpad], p.qpad*esz, ds*esz, &xp[n0*p.xs], &offs, p.xs*esz, &acc[(t-lo)*tsz])
		}
	}
	for t := lo; t < hi; t++ {
		storeTile(dw, acc[(t-lo)*tsz:(t-lo+1)*tsz], g.O, ckk, t/nk, t%nk)
	}
}

// tileOffs sets offs to the byte offsets of the kernel taps of column tile
// tk, taken from taps (one per tap, CKK in all); taps past the end get 0,
// whose products land in dw columns that storeTile does not store.
func tileOffs(offs *[4]int, taps []int, tk int) {
	for b := range offs {
		offs[b] = 0
		if k := tk*4 + b; k < len(taps) {
			offs[b] = taps[k]
		}
	}
}

// storeTile writes the kernel-gradient tile (to, tk) of dw (O, CKK): entry
// (a, b) is the sum of the lanes of accumulator a·4 + b in acc, which holds
// 16 accumulators of len(acc)/16 lanes. Rows past O and columns past CKK
// are dropped.
func storeTile[T Float](dw, acc []T, o, ckk, to, tk int) {
	lanes := len(acc) / 16
	if acc32, ok := any(acc).([]float32); ok && avx512 && lanes == 16 {
		var sums [16]float32 // sums[b·4 + a] is entry (a, b)
		convasm.SumLanesF32(&acc32[0], &sums)
		if to*4+3 < o && tk*4+3 < ckk { // a whole tile, without the edge checks
			dw32 := any(dw).([]float32)
			for a := 0; a < 4; a++ {
				row := dw32[(to*4+a)*ckk+tk*4:][:4]
				row[0], row[1], row[2], row[3] = sums[a], sums[4+a], sums[8+a], sums[12+a]
			}
			return
		}
		for a := 0; a < 4 && to*4+a < o; a++ {
			row := dw[(to*4+a)*ckk : (to*4+a+1)*ckk]
			for b := 0; b < 4 && tk*4+b < ckk; b++ {
				row[tk*4+b] = T(sums[b*4+a])
			}
		}
		return
	}
	for a := 0; a < 4 && to*4+a < o; a++ {
		row := dw[(to*4+a)*ckk : (to*4+a+1)*ckk]
		for b := 0; b < 4 && tk*4+b < ckk; b++ {
			row[tk*4+b] = sum4(acc[(a*4+b)*lanes : (a*4+b+1)*lanes])
		}
	}
}
