//go:build !unix

package trainer

// lockDir does nothing where flock is not available.
func lockDir(dir string) (func(), error) { return func() {}, nil }

// noFollow is 0 where O_NOFOLLOW does not exist; openMetrics checks for a
// link with Lstat first.
const noFollow = 0
