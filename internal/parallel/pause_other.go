//go:build !amd64

package parallel

// pause does nothing where there is no spin-wait hint instruction.
func pause() {}
