//go:build !unix

package main

// cpuSeconds returns 0: the process's CPU time is read only on Unix.
func cpuSeconds() float64 { return 0 }
