// Package readme holds no code: its tests keep the repository's README.md
// honest. Every Go snippet in the README must be a contiguous excerpt of a
// compiled, tested Example function, and every program a shell snippet runs
// with `go run ./path` must exist.
package readme
