package tui

import (
	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/phases"
)

// Messages: each engine call answers with one of these, carrying a
// snapshot of the phases taken in the same goroutine right after the call,
// so that Update never reads the session while a call is in flight.

// plansLoadedMsg is the plan list: plan files read and the database's
// recorded plans.
type plansLoadedMsg struct {
	items []planItem
	err   error // the database's status could not be read
}

// sessionOpenedMsg answers Engine.Start.
type sessionOpenedMsg struct {
	plan     *phases.Plan
	sess     Session
	infos    []engine.PhaseInfo
	previews []engine.PhasePreview
	err      error
}

// phaseRanMsg answers Session.RunPhase (for a gate: its confirmation).
type phaseRanMsg struct {
	id       string
	infos    []engine.PhaseInfo
	previews []engine.PhasePreview
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

// reverifiedMsg answers Session.Reverify.
type reverifiedMsg struct {
	id     string
	detail string
	err    error
}

// engineEventMsg is one event the engine emitted while it worked.
type engineEventMsg struct {
	bus *eventBus
	ev  engine.Event
}
