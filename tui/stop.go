package tui

import (
	"errors"
	"fmt"
	"sync"

	tea "charm.land/bubbletea/v2"

	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/printer"
)

// Quitting (q, ctrl+c) or a signal while an action runs cancels the
// action's context: the engine stops at a safe point (a batched phase
// after the batch in flight, which commits or rolls back whole, with its
// checkpoint), the action's command records what stopped, and Run, once
// every call has ended, returns it as a *StoppedError: the command prints
// it after the terminal is restored, and exits as a scripted run stopped by
// Ctrl-C does (1: the state is recorded, and a rerun goes on).

// StoppedError is an action the TUI's end stopped mid-way.
type StoppedError struct {
	Plan  string
	File  string // the plan file, for the command that resumes it
	Phase string
	// RowsDone is what the phase's batches committed, as recorded.
	RowsDone int64
	// Err is the engine's answer: an *engine.InterruptedError (with the
	// checkpoint) for a phase stopped at a safe point.
	Err error
}

func (e *StoppedError) Error() string {
	// The database is never printed (its DSN may hold a password).
	run := "shepherd run " + e.File + " on the same database (--db or SHEPHERD_DB)"
	if e.File == "" {
		run = "the next run of " + e.Plan
	}
	var ie *engine.InterruptedError
	if errors.As(e.Err, &ie) {
		return fmt.Sprintf("quit mid-phase: %s of %s stopped %s: %s", e.Phase, e.Plan,
			printer.StoppedAt(e.RowsDone, ie.Checkpoint), printer.Resumes(e.RowsDone, ie.Checkpoint, run))
	}
	return fmt.Sprintf("quit mid-phase: %s of %s did not finish: %v; shepherd status %s shows where it stands, and %s goes on from there",
		e.Phase, e.Plan, e.Err, e.Plan, run)
}

func (e *StoppedError) Unwrap() error { return e.Err }

// stops keeps the action the TUI's end stopped, if any.
type stops struct {
	mu   sync.Mutex
	last *StoppedError
}

func (s *stops) add(e *StoppedError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last = e
}

func (s *stops) get() *StoppedError {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// answerErr is the error an action's answer carries.
func answerErr(msg tea.Msg) error {
	switch m := msg.(type) {
	case phaseRanMsg:
		return m.err
	case arrivedMsg:
		return m.err
	case rolledBackMsg:
		return m.err
	case reverifiedMsg:
		return m.err
	}
	return nil
}
