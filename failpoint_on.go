//go:build failpoints

package main

import (
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
)

// failpoint serves the crash tests only, in a binary built with
// -tags failpoints. With SHEPHERD_TEST_KILL_AT=N the process kills itself
// with SIGKILL (no cleanup, as the OOM killer would) at the Nth failpoint it
// reaches; with SHEPHERD_TEST_KILL_AT=count it names each failpoint on
// stderr. With SHEPHERD_TEST_STOP_AT=POINT#K it stops itself with SIGSTOP
// (as a frozen machine or `kill -STOP` would: every goroutine stops) the
// Kth time it reaches POINT, and goes on when it gets SIGCONT.
func failpoint() func(string) {
	spec := os.Getenv("SHEPHERD_TEST_KILL_AT")
	stopAt, stopNth, _ := strings.Cut(os.Getenv("SHEPHERD_TEST_STOP_AT"), "#")
	if spec == "" && stopAt == "" {
		return nil
	}
	n, _ := strconv.Atoi(spec)
	k, _ := strconv.Atoi(stopNth)
	reached, stopSeen := 0, 0
	return func(point string) {
		reached++
		switch {
		case spec == "count":
			fmt.Fprintf(os.Stderr, "failpoint %d %s\n", reached, point)
		case reached == n:
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
		if point == stopAt {
			if stopSeen++; stopSeen == max(k, 1) {
				// SIGSTOP reaches a process of many threads a moment after
				// kill returns: this goroutine waits for SIGCONT, or it
				// would go on past the point (under load, as far as writing
				// shepherd's tables) before the stop takes hold.
				cont := make(chan os.Signal, 1)
				signal.Notify(cont, syscall.SIGCONT)
				_ = syscall.Kill(os.Getpid(), syscall.SIGSTOP)
				<-cont
				signal.Stop(cont)
			}
		}
	}
}
