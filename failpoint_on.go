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
// reaches, and with SHEPHERD_TEST_KILL_AT=POINT#K the Kth time it reaches
// POINT (a rerun after a kill counts its own points, from its own start);
// with SHEPHERD_TEST_KILL_AT=count it names each failpoint on stderr. With SHEPHERD_TEST_STOP_AT=POINT#K it stops itself with SIGSTOP
// (as a frozen machine or `kill -STOP` would: every goroutine stops) the
// Kth time it reaches POINT, and goes on when it gets SIGCONT.
func failpoint() func(string) {
	spec := os.Getenv("SHEPHERD_TEST_KILL_AT")
	stopAt, stopNth, _ := strings.Cut(os.Getenv("SHEPHERD_TEST_STOP_AT"), "#")
	if spec == "" && stopAt == "" {
		return nil
	}
	n, _ := strconv.Atoi(spec)
	killAt, killNth, byName := strings.Cut(spec, "#")
	kNth, _ := strconv.Atoi(killNth)
	k, _ := strconv.Atoi(stopNth)
	reached, stopSeen, killSeen := 0, 0, 0
	return func(point string) {
		reached++
		switch {
		case spec == "count":
			fmt.Fprintf(os.Stderr, "failpoint %d %s\n", reached, point)
		case byName && point == killAt:
			if killSeen++; killSeen == max(kNth, 1) {
				_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			}
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
