package training

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// A lesson's sandbox is a folder in the temporary folder, which Close
// removes. A signal that would end the process before Close runs is caught
// instead: it cancels the lesson's context, the lesson ends, and the
// sandbox is removed. SIGINT is main's (and Ctrl-C is a key in the TUI).

// untilSignal returns ctx cancelled on one of sigs, a function that tells
// which signal it was (nil while none came), and a function that stops
// listening, to defer.
func untilSignal(ctx context.Context, sigs ...os.Signal) (context.Context, func() os.Signal, func()) {
	ctx, cancel := context.WithCancel(ctx)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, sigs...)
	got := make(chan os.Signal, 1)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-ch:
			got <- sig
			cancel()
		case <-done:
		}
	}()
	caught := func() os.Signal {
		select {
		case sig := <-got:
			got <- sig
			return sig
		default:
			return nil
		}
	}
	stop := func() {
		signal.Stop(ch)
		close(done)
		cancel()
	}
	return ctx, caught, stop
}

// stoppedBy is the error of a lesson a signal ended.
func stoppedBy(sig os.Signal) error {
	return fmt.Errorf("stopped by %s; the lesson's sandbox is removed", sig)
}

// The signals each form of a lesson catches. A closed terminal (SIGHUP, as
// when its tmux session is killed) and SIGTERM end both; the scripted form
// also ends when its reader goes away (SIGPIPE, as in `| head -1`), where
// a write would otherwise end the process.
var (
	tuiSignals    = []os.Signal{syscall.SIGHUP, syscall.SIGTERM}
	scriptSignals = []os.Signal{syscall.SIGHUP, syscall.SIGTERM, syscall.SIGPIPE}
)
