//go:build windows

package testdb

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// errSharingViolation is Windows' ERROR_SHARING_VIOLATION: another process
// has the file open.
const errSharingViolation = syscall.Errno(32)

// lockSlotFile opens the lock file of a pool slot shared with nobody, which
// on Windows is an exclusive lock that the system drops when the process
// ends however it ends. It returns nil, nil when another process holds the
// slot.
func lockSlotFile(path string) (*os.File, error) {
	name, err := syscall.UTF16PtrFromString(path)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	h, err := syscall.CreateFile(name, syscall.GENERIC_READ|syscall.GENERIC_WRITE, 0, nil, syscall.OPEN_ALWAYS, syscall.FILE_ATTRIBUTE_NORMAL, 0)
	if errors.Is(err, errSharingViolation) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return os.NewFile(uintptr(h), path), nil
}
