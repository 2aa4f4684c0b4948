//go:build windows

package engine

import (
	"errors"
	"syscall"
)

// errInvalidParameter is Windows' ERROR_INVALID_PARAMETER, which
// OpenProcess returns for a process id that names no process.
const errInvalidParameter = syscall.Errno(87)

// processGone reports whether process pid of this host no longer exists:
// no process has that id, or the one that has it has exited (its handle is
// signalled) and only its exit code is left. A process shepherd may not
// open (another user's) counts as alive: only a certain answer frees a
// lock.
func processGone(pid int64) bool {
	if pid > int64(^uint32(0)) {
		return false
	}
	h, err := syscall.OpenProcess(syscall.SYNCHRONIZE, false, uint32(pid))
	if err != nil {
		return errors.Is(err, errInvalidParameter)
	}
	defer syscall.CloseHandle(h)
	ev, err := syscall.WaitForSingleObject(h, 0)
	return err == nil && ev == syscall.WAIT_OBJECT_0
}
