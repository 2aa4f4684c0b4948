package tui

import (
	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/phases"
)

// Messages: each engine call answers with one of these, carrying a
// snapshot of the phases taken in the same goroutine right after the call,
// so that Update never reads a view or a session while a call is in flight.

// plansLoadedMsg is the plan list: plan files read and the database's
// recorded plans.
type plansLoadedMsg struct {
	items []planItem
	err   error // the database's status could not be read
}

// viewedMsg answers a look at the plan without its runner lock
// (Engine.Inspect): on opening it, on R, and after an action that did not
// run.
type viewedMsg struct {
	infos    []engine.PhaseInfo
	previews []engine.PhasePreview
	// used is the violating write verify-failure-path's proof used, read
	// from the log, when the phase is done.
	used string
	// err says why the plan cannot be opened (a plan edited since it
	// started, a schema that does not fit). infos are then the phases as
	// shepherd_state records them, and a phase it does not record (or all
	// of them, when statusErr says the state could not be read) is
	// unknown.
	err       error
	statusErr error
	started   bool // shepherd_state records the plan
	// refresh keeps the selection: the operator asked to read again.
	refresh bool
}

// refusedMsg answers an action that did not run: the runner lock was
// refused (another runner holds it), the plan could not be opened, or the
// state read under the lock shows that the plan moved on since the screen
// read it. view is a fresh look at the plan.
type refusedMsg struct {
	op    op
	phase string
	err   error
	view  viewedMsg
}

// phaseRanMsg answers Session.RunPhase (for a gate: its confirmation).
type phaseRanMsg struct {
	id       string
	infos    []engine.PhaseInfo
	previews []engine.PhasePreview
	used     string // verify-failure-path: the write the database rejected
	err      error
}

// arrivedMsg answers Session.Arrive: a gate now waits for its confirmation.
type arrivedMsg struct {
	id    string
	infos []engine.PhaseInfo
	err   error
}

// rolledBackMsg answers Session.Rollback.
type rolledBackMsg struct {
	phase    phases.Phase
	infos    []engine.PhaseInfo
	previews []engine.PhasePreview
	err      error
}

// reverifiedMsg answers Reverify, on a view or (verify-failure-path, which
// writes) on a session.
type reverifiedMsg struct {
	id     string
	detail string
	used   string
	err    error
}

// engineEventMsg is one event the engine emitted while it worked.
type engineEventMsg struct {
	bus *eventBus
	ev  engine.Event
}
