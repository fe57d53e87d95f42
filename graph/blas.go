//go:build !openblas

package graph

// UseFastBLAS installs the fastest BLAS compiled into this binary for
// gorgonia's matrix products and this package's convolutions, and returns
// its name. This build has none beyond gonum's pure-Go BLAS, which stays in
// place; build with -tags openblas (and Debian's libopenblas-dev) for
// OpenBLAS through cgo. It changes process-wide state in gonum and gorgonia,
// so programs call it once at start.
func UseFastBLAS() string { return "gonum (pure Go)" }
