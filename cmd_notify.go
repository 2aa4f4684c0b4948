package main

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/notify"
	"github.com/shepherd-db/shepherd/phases"
)

// run --notify URL: when the run ends (waiting at a gate, failed, or done)
// one POST says so. A notification that cannot be sent is a warning among
// the run's events, never a failed run.

// notifier watches a run's events for what the notification names: the
// gate the run waits at, the phase that failed.
type notifier struct {
	target *notify.Target
	plan   *phases.Plan
	mu     sync.Mutex
	gate   engine.Event // the last gate event
	failed engine.Event // the last phase-failed event
	done   engine.Event // the done event
}

// watch passes every event on to emit, keeping those the notification
// needs.
func (n *notifier) watch(emit func(engine.Event)) func(engine.Event) {
	return func(e engine.Event) {
		n.mu.Lock()
		switch e.Event {
		case engine.EventGate:
			n.gate = e
		case engine.EventPhaseFailed:
			n.failed = e
		case engine.EventDone:
			n.done = e
		}
		n.mu.Unlock()
		emit(e)
	}
}

// message is the notification of a run that ended with err. It says what
// happened in words a chat reader acts on, and never carries the error's
// text: that may hold key values or the database's address, and the job's
// log has it.
func (n *notifier) message(err error) notify.Message {
	n.mu.Lock()
	defer n.mu.Unlock()
	p := n.plan
	code := exitCode(err)
	m := notify.Message{Plan: p.Name, Playbook: p.Playbook, Table: p.Table, Exit: code, Time: engine.Now().UTC().Format(engine.TimeLayout)}
	what := fmt.Sprintf("shepherd: plan %s (%s on %s)", p.Name, p.Playbook, p.Table)
	var lockHeld *engine.LockHeldError
	switch {
	case err == nil:
		m.Event, m.Phase = string(engine.EventDone), n.done.Phase
		m.Text = what + " finished: " + n.done.Message
		if n.done.Message == "" {
			m.Text = what + " finished"
		}
	case errors.Is(err, errAtGate):
		m.Event, m.Phase = string(engine.EventGate), n.gate.Phase
		m.Text = fmt.Sprintf("%s is waiting at the gate %s (exit 3): %s", what, n.gate.Phase, n.gate.Message)
	case n.failed.Phase != "":
		m.Event, m.Phase = string(engine.EventPhaseFailed), n.failed.Phase
		m.Text = fmt.Sprintf("%s failed at %s (exit %d); its state is recorded and a rerun goes on from it: see the job's log, or shepherd status %s --log", what, n.failed.Phase, code, p.Name)
	case errors.As(err, &lockHeld):
		m.Event = string(engine.EventError)
		m.Text = fmt.Sprintf("%s did not start: another runner holds its lock (exit 4); nothing was touched", what)
	default:
		m.Event = string(engine.EventError)
		m.Text = fmt.Sprintf("%s stopped with an error (exit %d): see the job's log", what, code)
	}
	return m
}

// send posts the notification of a run that ended with err; warn gets what
// went wrong, if anything did. It outlives an interrupted run's context
// (an interruption is worth telling) but not the target's timeout.
func (n *notifier) send(ctx context.Context, err error, warn func(string)) {
	if serr := n.target.Send(context.WithoutCancel(ctx), n.message(err)); serr != nil {
		warn(fmt.Sprintf("warning: --notify: %v; the run's outcome is unchanged", serr))
	}
}
