//go:build unix

package engine

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
)

// processGone reports whether process pid of this host no longer exists. A
// zombie (exited, not reaped by its parent yet) is gone too: where /proc
// says so (Linux).
func processGone(pid int64) bool {
	if err := syscall.Kill(int(pid), 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command's name, which is in parentheses.
	state := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	return len(state) > 0 && (state[0] == "Z" || state[0] == "X")
}
