package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
)

// The signals that stop shepherd: Ctrl-C (SIGINT), SIGTERM (a release job
// cancelled, a container stopped) and SIGHUP (its terminal closed, an SSH
// session dropped). The first one cancels the command's context: a run
// stops at its next safe point and records the phase as interrupted, with
// its checkpoint. A second one ends the process at once, unless a TUI holds
// the terminal (it must give the terminal back first). Nothing is
// half-recorded then: every write to shepherd's tables is a transaction.
// The phase in progress keeps its last record (running), which status
// shows as stopped once its runner is gone, and a rerun resumes it.

// interrupts is what the signal handler needs to know of the command.
type interrupts struct {
	tui atomic.Bool // a TUI holds the terminal
}

type interruptsKey struct{}

// withInterrupts returns a context that the first stop signal cancels, and
// a func that stops listening. exit ends the process (os.Exit) on a second
// signal.
func withInterrupts(parent context.Context, stderr io.Writer, exit func(int)) (context.Context, func()) {
	in := &interrupts{}
	ctx, cancel := context.WithCancel(context.WithValue(parent, interruptsKey{}, in))
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		first := true
		for {
			select {
			case <-done:
				return
			case sig := <-ch:
				if first {
					first = false
					cancel()
					continue
				}
				if in.tui.Load() {
					continue
				}
				fmt.Fprintf(stderr, "shepherd: %v again: stopping at once; the phase in progress is not recorded as interrupted (status shows it stopped once this process is gone), and a rerun resumes it\n", sig)
				exit(exitFailed)
			}
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel()
	}
}

// tuiHoldsTerminal tells the signal handler that a TUI holds the terminal
// from now on: a second signal waits for it to stop and give the terminal
// back.
func tuiHoldsTerminal(ctx context.Context) {
	if in, ok := ctx.Value(interruptsKey{}).(*interrupts); ok {
		in.tui.Store(true)
	}
}
