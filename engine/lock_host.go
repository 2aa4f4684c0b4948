package engine

import "os"

// deadOnThisHost reports whether a lease holder was a process on this host
// that no longer exists, so that a runner killed with SIGKILL does not block
// the next one until its lease expires. Whether the process is gone is for
// each system to say (lock_unix.go, lock_windows.go).
func deadOnThisHost(host string, pid int64) bool {
	me, _ := os.Hostname()
	if host != me || pid <= 0 {
		return false
	}
	return processGone(pid)
}
