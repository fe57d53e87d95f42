package parallel

// pause executes the x86 PAUSE instruction: a spin-wait hint that lets
// the other hardware thread of the core run and saves power while a
// helper waits for work.
//
//go:noescape
func pause()
