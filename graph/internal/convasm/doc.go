// Package convasm holds the micro-kernels of graph's direct convolution, in
// Go assembly (kernels_amd64.s, written by gen.go): an AVX-512 set and an
// AVX2 + FMA set for CPUs without AVX-512. It is a package of its own
// because a package that uses cgo, as graph does under the openblas build
// tag, cannot contain Go assembly.
package convasm

//go:generate go run gen.go

// FwdSeg is a run of a forward tile's lanes, those whose bit is set in
// Mask, that hold consecutive output positions: lane l of a row goes to
// byte Shift + l·size of that row's plane.
type FwdSeg struct {
	Shift int
	Mask  uint64
}
