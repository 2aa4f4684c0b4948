//go:build failpoints

package main

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// failpoint serves the crash tests only, in a binary built with
// -tags failpoints. With SHEPHERD_TEST_KILL_AT=N the process kills itself
// with SIGKILL (no cleanup, as the OOM killer would) at the Nth failpoint it
// reaches; with SHEPHERD_TEST_KILL_AT=count it names each failpoint on
// stderr.
func failpoint() func(string) {
	spec := os.Getenv("SHEPHERD_TEST_KILL_AT")
	if spec == "" {
		return nil
	}
	n, _ := strconv.Atoi(spec)
	reached := 0
	return func(point string) {
		reached++
		switch {
		case spec == "count":
			fmt.Fprintf(os.Stderr, "failpoint %d %s\n", reached, point)
		case reached == n:
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
	}
}
