package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/shepherd-db/shepherd/phases"
)

// Rollback reverts the last phase that did something, and says which. It
// refuses (a *phases.RefusedError, nothing touched) past the point of no
// return and where undoing would lose data. Phases after it that failed
// without changing anything, and gates waiting after it, go back to
// pending on the way.
func (s *Session) Rollback(ctx context.Context) (phases.Phase, error) {
	target, resets, err := s.pb.RollbackTarget(s.progress())
	if err != nil {
		return target, err
	}
	// The lock is still this runner's before anything changes (the TUI
	// may hold a session open a long while before rolling back).
	if err := s.lock.held(ctx); err != nil {
		return target, err
	}
	if err := s.refreshTable(ctx); err != nil {
		return target, err
	}
	if err := s.guardCopy(ctx, target.ID); err != nil {
		return target, err
	}
	for _, ph := range resets {
		detail := "rollback went past it"
		if s.progress().Of(ph.ID) == phases.FailedUnchanged {
			detail = "failed without changing anything, so it is not in force: back to pending"
			s.notice(ph.ID, "%s", detail)
		}
		if discard := s.ops(ph.ID).discard; discard != nil {
			if err := discard(ctx, s, ph.ID); err != nil {
				return target, s.rollbackFailed(ctx, err)
			}
		}
		carried, err := s.undoArrival(ctx, ph.ID)
		if err != nil {
			return target, s.rollbackFailed(ctx, err)
		}
		if err := s.moveNow(ctx, ph.ID, phases.Reset, joinDetail(detail, carried)); err != nil {
			return target, s.rollbackFailed(ctx, err)
		}
	}
	b := s.builder()
	id := target.ID
	switch target.Undo {
	case phases.UndoGate:
		var carried string
		if carried, err = s.undoArrival(ctx, id); err == nil {
			err = s.moveNow(ctx, id, phases.Revert, joinDetail("un-confirmed by "+s.opts.Operator, carried))
		}
	case phases.UndoKeepData:
		if discard := s.ops(id).discard; discard != nil {
			if err = discard(ctx, s, id); err != nil {
				break
			}
		}
		st := s.st(id)
		st.resetWalk() // a rerun makes a fresh pass
		err = s.moveNow(ctx, id, phases.Revert, s.keptDataDetail(id))
	case phases.UndoDDL, phases.UndoDDLIfLast:
		err = s.revertDDL(ctx, b, id)
	default:
		err = refusedUndo(s.plan, target, s.progress().Of(id))
	}
	if err != nil {
		return target, s.rollbackFailed(ctx, err)
	}
	s.emit(Event{Event: EventRollback, Phase: id, Message: s.st(id).Detail})
	return target, nil
}

// refusedUndo is the refusal of a phase that cannot be undone and took
// effect: the point of no return, failed or interrupted after it began.
func refusedUndo(p *phases.Plan, ph phases.Phase, st phases.Status) error {
	how := "it changed the database before it failed"
	if st == phases.Running {
		how = "it was interrupted, and may have changed the database"
	}
	return &phases.RefusedError{Phase: ph.ID, Reason: fmt.Sprintf(
		"%s cannot be rolled back: %s (shepherd status %s --log shows what ran), and it is the point of no return: what it dropped cannot be brought back. Fix what made it fail, then run it again to finish: shepherd run %s %s",
		ph.ID, how, p.File, p.File, ConfirmFlag(ph.ID))}
}

// rollbackFailed re-reads the recorded state after a rollback stopped (a
// transaction that did not commit may have moved the in-memory one).
func (s *Session) rollbackFailed(ctx context.Context, err error) error {
	_ = s.loadState(context.WithoutCancel(ctx))
	return err
}

// joinDetail appends what a rollback copied to a phase's detail.
func joinDetail(detail, more string) string {
	if more == "" {
		return detail
	}
	return detail + "; " + more
}

// keptDataDetail says what rolling back a phase that is not undone in the
// database leaves behind. It follows "rolled back: " wherever it is shown.
func (s *Session) keptDataDetail(id string) string {
	if kept := s.ops(id).keptData; kept != nil {
		return kept(s.plan)
	}
	return "the rows keep their values"
}

// revertDDL runs the reverse DDL of a phase undone by DDL.
func (s *Session) revertDDL(ctx context.Context, b builder, id string) error {
	if revert := s.ops(id).revert; revert != nil {
		return revert(ctx, s, b)
	}
	return fmt.Errorf("%s: no rollback for %s", s.plan.Playbook, id)
}

// moveNotNullBack undoes what stop-old-writes did on arrival: it moved NOT
// NULL from the old column to the new one, so that code that stopped
// writing the old column could insert. Rolled back, code that writes the
// old column runs again, and the old column (given back its values by the
// carry-back) is NOT NULL again.
func (s *Session) moveNotNullBack(ctx context.Context, id string) error {
	p := s.plan
	oldNullable, err := s.columnIs(ctx, s.db, p.RenameColumn.Column, "column-nullable")
	if err != nil {
		return err
	}
	newNotNull, err := s.columnIs(ctx, s.db, p.RenameColumn.To, "column-not-null")
	if err != nil || !oldNullable || !newNotNull {
		return err
	}
	s.notice(id, "moving NOT NULL back from %s to %s, as it was before stop-old-writes", p.RenameColumn.To, p.RenameColumn.Column)
	if err := s.requireNoNulls(ctx, id, p.RenameColumn.Column); err != nil {
		return err
	}
	for _, move := range []struct {
		col     string
		notNull bool
		probe   string
	}{{p.RenameColumn.Column, true, "column-not-null"}, {p.RenameColumn.To, false, "column-nullable"}} {
		if err := s.refreshTable(ctx); err != nil {
			return err
		}
		script, err := s.builder().setNotNull(move.col, move.notNull)
		if err != nil {
			return err
		}
		move := move
		if err := s.runScript(ctx, id, script, func(ctx context.Context, q querier) error {
			return s.mustColumn(ctx, q, id, move.col, move.probe, true, "should be "+strings.TrimPrefix(move.probe, "column-"))
		}); err != nil {
			return err
		}
	}
	return nil
}
