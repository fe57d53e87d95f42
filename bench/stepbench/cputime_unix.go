//go:build unix

package main

import "syscall"

// cpuSeconds returns the user and system CPU time this process has used,
// in seconds. On a virtual machine whose host takes time from it (steal),
// this counts only the time the process ran.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
