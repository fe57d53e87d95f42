//go:build !amd64

package convasm

// AVX512 and AVX2 are false: the kernels exist for amd64 only.
var AVX512, AVX2 = false, false

// FwdTileF32 panics: there is no kernel on this architecture.
func FwdTileF32(k int, a, x *float32, offs *int, y *float32, ldy, rows int, segs *FwdSeg, nseg int) {
	panic("convasm: no kernels on this architecture")
}

// FwdTileF64 panics: there is no kernel on this architecture.
func FwdTileF64(k int, a, x *float64, offs *int, y *float64, ldy, rows int, segs *FwdSeg, nseg int) {
	panic("convasm: no kernels on this architecture")
}

// DotTileF32 panics: there is no kernel on this architecture.
func DotTileF32(kv, ns int, d *float32, ldd, dsn int, x *float32, offs *[4]int, xsn int, acc *float32) {
	panic("convasm: no kernels on this architecture")
}

// DotTileF64 panics: there is no kernel on this architecture.
func DotTileF64(kv, ns int, d *float64, ldd, dsn int, x *float64, offs *[4]int, xsn int, acc *float64) {
	panic("convasm: no kernels on this architecture")
}

// CopyRowsF32 panics: there is no kernel on this architecture.
func CopyRowsF32(dst *float32, dstStride int, src *float32, srcStride, rows, width int) {
	panic("convasm: no kernels on this architecture")
}

// CopyRowsF64 panics: there is no kernel on this architecture.
func CopyRowsF64(dst *float64, dstStride int, src *float64, srcStride, rows, width int) {
	panic("convasm: no kernels on this architecture")
}

// FwdTile2F32 panics: there is no kernel on this architecture.
func FwdTile2F32(k int, a, x *float32, offs *int, y *float32, ldy, rows int, segs *FwdSeg, nseg int) {
	panic("convasm: no kernels on this architecture")
}

// FwdTile2F64 panics: there is no kernel on this architecture.
func FwdTile2F64(k int, a, x *float64, offs *int, y *float64, ldy, rows int, segs *FwdSeg, nseg int) {
	panic("convasm: no kernels on this architecture")
}

// DotTile2F32 panics: there is no kernel on this architecture.
func DotTile2F32(kv, ns int, d *float32, ldd, dsn int, x *float32, offs *[4]int, xsn int, acc *float32) {
	panic("convasm: no kernels on this architecture")
}

// DotTile2F64 panics: there is no kernel on this architecture.
func DotTile2F64(kv, ns int, d *float64, ldd, dsn int, x *float64, offs *[4]int, xsn int, acc *float64) {
	panic("convasm: no kernels on this architecture")
}

// EluF32 panics: there is no kernel on this architecture.
func EluF32(n int, x, y *float32) {
	panic("convasm: no kernels on this architecture")
}

// FwdRowsF32 panics: there is no kernel on this architecture.
func FwdRowsF32(k int, rows *[8]*float32, x *float32, offs *int, y *float32, ldy, nrows int, segs *FwdSeg, nseg int) {
	panic("convasm: no kernels on this architecture")
}

// FwdRowsF64 panics: there is no kernel on this architecture.
func FwdRowsF64(k int, rows *[8]*float64, x *float64, offs *int, y *float64, ldy, nrows int, segs *FwdSeg, nseg int) {
	panic("convasm: no kernels on this architecture")
}

// FwdRows3F32 panics: there is no kernel on this architecture.
func FwdRows3F32(k int, rows *[8]*float32, x *float32, offs *int, y *float32, ldy, nrows int, segs *FwdSeg, nseg int) {
	panic("convasm: no kernels on this architecture")
}

// FwdRows3F64 panics: there is no kernel on this architecture.
func FwdRows3F64(k int, rows *[8]*float64, x *float64, offs *int, y *float64, ldy, nrows int, segs *FwdSeg, nseg int) {
	panic("convasm: no kernels on this architecture")
}

// EluOutF32 panics: there is no kernel on this architecture.
func EluOutF32(n int, y, d, e, out *float32, above, a, b float32) {
	panic("convasm: no kernels on this architecture")
}

// AddF32 panics: there is no kernel on this architecture.
func AddF32(n int, a, b, out *float32) {
	panic("convasm: no kernels on this architecture")
}

// SumLanesF32 panics: there is no kernel on this architecture.
func SumLanesF32(acc *float32, out *[16]float32) {
	panic("convasm: no kernels on this architecture")
}

// Transpose8F32 panics: there is no kernel on this architecture.
func Transpose8F32(dst *float32, ldd int, src *float32, lds, blocks int) {
	panic("convasm: no kernels on this architecture")
}

// Untranspose8F32 panics: there is no kernel on this architecture.
func Untranspose8F32(dst *float32, ldd int, src *float32, lds, blocks int) {
	panic("convasm: no kernels on this architecture")
}

// Transpose8OffsF32 panics: there is no kernel on this architecture.
func Transpose8OffsF32(dst *float32, offs *int, src *float32, lds, blocks int) {
	panic("convasm: no kernels on this architecture")
}

// AddScalarF32 panics: there is no kernel on this architecture.
func AddScalarF32(n int, x *float32, v float32, out *float32) {
	panic("convasm: no kernels on this architecture")
}

// SumF32 panics: there is no kernel on this architecture.
func SumF32(n int, x *float32) float32 {
	panic("convasm: no kernels on this architecture")
}

// MulScalarF32 panics: there is no kernel on this architecture.
func MulScalarF32(n int, x *float32, v float32, out *float32) {
	panic("convasm: no kernels on this architecture")
}

// DotF32 panics: there is no kernel on this architecture.
func DotF32(n int, x, y *float32) float32 {
	panic("convasm: no kernels on this architecture")
}
