//go:build unix

package testdb

import (
	"os"
	"syscall"
)

// lockSlotFile opens the lock file of a pool slot and takes an exclusive
// flock on it, which the kernel drops when the process ends however it
// ends. It returns nil, nil when another process holds the slot.
func lockSlotFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, nil
	}
	return f, nil
}
