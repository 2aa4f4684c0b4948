package engine

import (
	"context"
	"fmt"

	"github.com/shepherd-db/shepherd/phases"
)

// Rollback reverts the last phase that did something, and says which. It
// refuses (a *phases.RefusedError, nothing touched) past the point of no
// return and where undoing would lose data.
func (s *Session) Rollback(ctx context.Context) (phases.Phase, error) {
	target, resets, err := s.pb.RollbackTarget(s.progress())
	if err != nil {
		return target, err
	}
	for _, ph := range resets {
		if err := s.moveNow(ctx, ph.ID, phases.Reset, "rollback went past it"); err != nil {
			return target, err
		}
	}
	if err := s.refreshTable(ctx); err != nil {
		return target, err
	}
	b := s.builder()
	id := target.ID
	switch target.Undo {
	case phases.UndoGate:
		err = s.moveNow(ctx, id, phases.Revert, "un-confirmed by "+s.opts.Operator)
	case phases.UndoKeepData:
		st := s.st(id)
		st.Checkpoint, st.RowsDone = nil, 0 // a rerun makes a fresh pass
		err = s.moveNow(ctx, id, phases.Revert, "rolled back; the rows keep their values")
	case phases.UndoDDL, phases.UndoDDLIfLast:
		err = s.revertDDL(ctx, b, id)
	default:
		err = &phases.RefusedError{Phase: id, Reason: fmt.Sprintf("%s cannot be rolled back", id)}
	}
	if err != nil {
		_ = s.loadState(context.WithoutCancel(ctx))
		return target, err
	}
	s.emit(Event{Event: EventRollback, Phase: id, Message: s.st(id).Detail})
	return target, nil
}

func (s *Session) revertDDL(ctx context.Context, b builder, id string) error {
	switch id {
	case "add-column":
		return s.revertAddColumn(ctx, b)
	case "enforce":
		return s.revertNotNull(ctx, b, "enforce", s.plan.Column)
	case "add-constraint":
		return s.revertConstraint(ctx, b)
	}
	return fmt.Errorf("%s: no rollback for %s", s.plan.Playbook, id)
}
