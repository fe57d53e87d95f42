//go:build amd64

package convasm

import "golang.org/x/sys/cpu"

// AVX512 reports whether the AVX-512 kernels (FwdTile, DotTile, CopyRows)
// can run on this CPU: it has AVX-512F and AVX-512VL, and the OS saves the
// vector state.
var AVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL

// AVX2 reports whether the AVX2 kernels (FwdTile2, DotTile2) can run: the
// CPU has AVX2 and FMA, and the OS saves the vector state.
var AVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// FwdTileF32 computes the 8 × 32 tile t[r][l] = Σ_{k<K} a[k·8 + r] ·
// x[offs[k] + l] (offs in bytes) and stores its rows r < rows to
// y + r·ldy (bytes) through the nseg segments at segs.
//
//go:noescape
func FwdTileF32(k int, a, x *float32, offs *int, y *float32, ldy, rows int, segs *FwdSeg, nseg int)

// FwdTileF64 is FwdTileF32 for float64, with an 8 × 16 tile.
//
//go:noescape
func FwdTileF64(k int, a, x *float64, offs *int, y *float64, ldy, rows int, segs *FwdSeg, nseg int)

// DotTileF32 adds to the 4 × 4 tile of 16-lane accumulators at acc
//
//	acc[a·4 + b][l] += Σ_{n<ns} Σ_{q<16·kv, q ≡ l mod 16} d[n·dsn + a·ldd + q] · x[n·xsn + offs[b] + q]
//
// where strides and offsets are in bytes and indices in elements; the sum
// of the lanes of acc[a·4 + b] is the tile's entry (a, b).
//
//go:noescape
func DotTileF32(kv, ns int, d *float32, ldd, dsn int, x *float32, offs *[4]int, xsn int, acc *float32)

// DotTileF64 is DotTileF32 for float64, with 8 lanes.
//
//go:noescape
func DotTileF64(kv, ns int, d *float64, ldd, dsn int, x *float64, offs *[4]int, xsn int, acc *float64)

// CopyRowsF32 copies rows rows of width elements from src, whose rows are
// srcStride bytes apart, to dst, whose rows are dstStride bytes apart. It
// reads and writes nothing outside those rows.
//
//go:noescape
func CopyRowsF32(dst *float32, dstStride int, src *float32, srcStride, rows, width int)

// CopyRowsF64 is CopyRowsF32 for float64.
//
//go:noescape
func CopyRowsF64(dst *float64, dstStride int, src *float64, srcStride, rows, width int)

// FwdTile2F32 is FwdTileF32 on AVX2, with an 8 × 8 tile.
//
//go:noescape
func FwdTile2F32(k int, a, x *float32, offs *int, y *float32, ldy, rows int, segs *FwdSeg, nseg int)

// FwdTile2F64 is FwdTileF64 on AVX2, with an 8 × 4 tile.
//
//go:noescape
func FwdTile2F64(k int, a, x *float64, offs *int, y *float64, ldy, rows int, segs *FwdSeg, nseg int)

// DotTile2F32 is DotTileF32 on AVX2: the same arguments and accumulator
// layout, of which it uses the first 8 lanes of each entry.
//
//go:noescape
func DotTile2F32(kv, ns int, d *float32, ldd, dsn int, x *float32, offs *[4]int, xsn int, acc *float32)

// DotTile2F64 is DotTileF64 on AVX2, using the first 4 lanes of each entry.
//
//go:noescape
func DotTile2F64(kv, ns int, d *float64, ldd, dsn int, x *float64, offs *[4]int, xsn int, acc *float64)

// EluF32 writes y[i] = x[i] for x[i] > 0 and e^x[i] − 1 otherwise (ELU
// with α = 1) for i < n rounded down to a multiple of 16, to about 2 ulp;
// it needs AVX512.
//
//go:noescape
func EluF32(n int, x, y *float32)

// FwdRowsF32 is FwdTileF32 with the tile's 8 weight rows read in place:
// t[r][l] = Σ_{k<K} rows[r][k] · x[offs[k] + l], so that a matrix
// product's left operand needs no packing; rows[r] for r ≥ nrows must
// still point to K readable elements (their results are not stored).
//
//go:noescape
func FwdRowsF32(k int, rows *[8]*float32, x *float32, offs *int, y *float32, ldy, nrows int, segs *FwdSeg, nseg int)

// FwdRowsF64 is FwdRowsF32 for float64, with an 8 × 16 tile.
//
//go:noescape
func FwdRowsF64(k int, rows *[8]*float64, x *float64, offs *int, y *float64, ldy, nrows int, segs *FwdSeg, nseg int)

// FwdRows3F32 is FwdRowsF32 with an 8 × 48 tile (three vectors per row,
// mask bits 0–47 of each segment): per tap it loads three vectors of x
// and eight weights for 24 FMAs instead of two and eight for 16.
//
//go:noescape
func FwdRows3F32(k int, rows *[8]*float32, x *float32, offs *int, y *float32, ldy, nrows int, segs *FwdSeg, nseg int)

// FwdRows3F64 is FwdRows3F32 for float64, with an 8 × 24 tile.
//
//go:noescape
func FwdRows3F64(k int, rows *[8]*float64, x *float64, offs *int, y *float64, ldy, nrows int, segs *FwdSeg, nseg int)

// EluOutF32 writes out[i] = d[i]·e[i]·(above if y[i] > 0, else
// a·y[i] + b) for i < n rounded down to a multiple of 16, or without the
// factor e[i] when e is nil. With y the output of ELU, (above, a, b) =
// (1, 1, 1) is its first derivative and (0, 0, 1) the derivative of that
// in y. It needs AVX512.
//
//go:noescape
func EluOutF32(n int, y, d, e, out *float32, above, a, b float32)

// AddF32 writes out[i] = a[i] + b[i] for i < n rounded down to a multiple
// of 16; out may be a or b (all four vectors of an iteration are loaded
// before any is stored). It needs AVX512.
//
//go:noescape
func AddF32(n int, a, b, out *float32)

// SumLanesF32 writes the lane sums of the 4 × 4 tile of 16-lane
// accumulators that DotTileF32 leaves at acc, transposed: out[b·4 + a] is
// the sum of the lanes of acc[a·4 + b]. It needs AVX512.
//
//go:noescape
func SumLanesF32(acc *float32, out *[16]float32)

// Transpose8F32 writes the transpose of the 8 × 16·blocks matrix src (rows
// lds bytes apart) to dst (rows ldd bytes apart): element j of src's row r
// goes to element r of dst's row j, 16 columns per block. It needs AVX512.
//
//go:noescape
func Transpose8F32(dst *float32, ldd int, src *float32, lds, blocks int)

// Transpose8OffsF32 is Transpose8F32 with the destination of each column
// given by a table: column j (16·blocks of them) goes to dst + offs[j]
// (bytes). It needs AVX512.
//
//go:noescape
func Transpose8OffsF32(dst *float32, offs *int, src *float32, lds, blocks int)

// Untranspose8F32 is the inverse of Transpose8F32: element r of src's row j
// (rows lds bytes apart, 16·blocks of them) goes to element j of dst's row
// r (8 rows, ldd bytes apart). It needs AVX512.
//
//go:noescape
func Untranspose8F32(dst *float32, ldd int, src *float32, lds, blocks int)

// AddScalarF32 writes out[i] = x[i] + v for i < n rounded down to a
// multiple of 16; out may be x. It needs AVX512.
//
//go:noescape
func AddScalarF32(n int, x *float32, v float32, out *float32)

// MulScalarF32 writes out[i] = x[i] · v for i < n rounded down to a
// multiple of 16; out may be x. It needs AVX512.
//
//go:noescape
func MulScalarF32(n int, x *float32, v float32, out *float32)

// SumF32 returns the sum of x[i] for i < n rounded down to a multiple of
// 16, accumulated in 64 lanes and then across them. It needs AVX512.
//
//go:noescape
func SumF32(n int, x *float32) float32

// DotF32 returns the sum of x[i]·y[i] for i < n rounded down to a multiple
// of 16, accumulated with FMAs in 64 lanes and then across them. It needs
// AVX512.
//
//go:noescape
func DotF32(n int, x, y *float32) float32
