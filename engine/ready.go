package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/shepherd-db/shepherd/phases"
)

// Reached answers, with the same one indexed read as Ready, whether a run has
// reached the phase: it runs, waits at it (a gate), or is done. A deploy
// step waits for its gate this way: the database side is ready for the
// deploy once the run waits at the gate.
func (e *Engine) Reached(ctx context.Context, plan, phase string) error {
	return e.readyWhen(ctx, plan, phase, phases.Running, phases.Waiting, phases.Done)
}

// readyWhen is nil when the phase's recorded status is one of ok, else a
// *NotReadyError saying why not. It only reads.
func (e *Engine) readyWhen(ctx context.Context, plan, phase string, ok ...phases.Status) error {
	var status string
	err := e.queryRow(ctx, e.db, "state-phase", nil, map[string]any{"plan": plan, "phase": phase}, &status)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return &NotReadyError{Reason: fmt.Sprintf("not ready: plan %q has not started in this database", plan)}
	case err != nil:
		// Only a look that answers says the table is missing: a look that
		// failed too (the wait's deadline passed during both) says nothing.
		if exists, xerr := e.stateExists(ctx); xerr == nil && !exists {
			return &NotReadyError{Reason: "not ready: this database has no shepherd state table (no plan has run here)"}
		}
		return &NotReadyError{Reason: "not ready: " + e.dsn.scrub(err).Error()}
	case !slices.Contains(ok, phases.Status(status)):
		return &NotReadyError{Reason: fmt.Sprintf("not ready: phase %s of %s is %s", phase, plan, status)}
	}
	return nil
}
