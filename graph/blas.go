//go:build !openblas

package graph

import (
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
	"gorgonia.org/tensor"
)

// UseFastBLAS installs the fastest BLAS compiled into this binary for
// gorgonia's matrix products and this package's convolutions, and returns
// its name. This build has gonum's pure-Go BLAS, whose matrix products it
// replaces, on CPUs with AVX-512 or AVX2, by the direct convolution's
// Go-assembly micro-kernel (kernelBLAS); build with -tags openblas (and
// Debian's libopenblas-dev) for OpenBLAS through cgo. It changes
// process-wide state in gonum and gorgonia, so programs call it once at
// start.
func UseFastBLAS() string {
	if !directKernels {
		return "gonum (pure Go)"
	}
	impl := kernelBLAS{}
	tensor.Use(impl)
	blas32.Use(impl)
	blas64.Use(impl)
	return "gonum (pure Go) with Go-assembly matrix products"
}
