//go:build openblas

package graph

// #cgo LDFLAGS: -lopenblas
import "C"

import (
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/netlib/blas/netlib"
	"gorgonia.org/tensor"
)

// UseFastBLAS installs OpenBLAS (through gonum's netlib cgo bindings) for
// gorgonia's matrix products and this package's convolutions, and returns
// its name. It changes process-wide state in gonum and gorgonia, so
// programs call it once at start.
func UseFastBLAS() string {
	impl := netlib.Implementation{}
	tensor.Use(impl)
	blas32.Use(impl)
	blas64.Use(impl)
	return "openblas (cgo)"
}
