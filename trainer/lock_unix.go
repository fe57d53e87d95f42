//go:build unix

package trainer

import (
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/pkg/errors"
)

// lockDir takes the run folder's lock file with an exclusive, non-blocking
// flock, which the kernel releases when the process ends however it ends,
// so a killed run never leaves a stale lock. The returned function
// releases it.
func lockDir(dir string) (func(), error) {
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return nil, errors.Wrap(err, "trainer: opening the run folder's lock")
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder := ""
		if b, rerr := os.ReadFile(path); rerr == nil && len(b) > 0 {
			holder = " (process " + string(b) + ")"
		}
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errors.Errorf("trainer: another run%s is writing into %s", holder, dir)
		}
		return nil, errors.Wrap(err, "trainer: locking the run folder")
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())), 0)
	return func() { f.Close() }, nil
}

// noFollow is the open flag that refuses a symbolic link as the last
// path element.
const noFollow = syscall.O_NOFOLLOW
