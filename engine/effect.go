package engine

import (
	"context"
	"fmt"

	"github.com/shepherd-db/shepherd/phases"
	"github.com/shepherd-db/shepherd/templates"
)

// Whether a phase took effect. A phase that failed is in force only if it
// changed the database: drop-old-column refused before its DDL, or
// add-column whose ALTER the server rejected, changed nothing, and rollback
// passes over them and their fields may change (phases.Effective). The
// engine knows, because it runs every change itself: a statement outside a
// transaction that went through, a transaction of the phase's statements
// that committed, a batch that changed rows. It notes them per phase while
// the phase runs (Session.changed), and the failure records the fact in
// shepherd_state's took_effect, beside the status.

// markChanged notes that a change of the phase committed, or may have.
func (s *Session) markChanged(phase string) { s.changed[phase] = true }

// outcomeUnknown reports whether a statement that returned err may still
// have taken effect: its connection was lost, or the run was stopped while
// it ran. A refusal of the database's (a type it does not know, a lock it
// waited for too long) changed nothing.
func (s *Session) outcomeUnknown(ctx context.Context, err error) bool {
	return ctx.Err() != nil || s.d.classify(err).kind == failConnection
}

// tookEffect is what a phase's TookEffect becomes with action a. What an
// earlier attempt changed stays (a failed or waiting phase that took
// effect); a phase found running was interrupted, and what it did is
// unknown, so it took effect. A revert or a reset undoes it. The rows of
// pending and rolled-back phases say nothing (their column defaults to
// true).
func (s *Session) tookEffect(st *phaseState, a phases.Action) bool {
	prior := st.TookEffect && (st.Status == phases.Failed || st.Status == phases.Waiting || st.Status == phases.Running)
	switch a {
	case phases.Start:
		delete(s.changed, st.ID) // this attempt's changes are noted afresh
		return st.Status == phases.Running || prior
	case phases.Finish:
		return true
	case phases.Revert, phases.Reset:
		delete(s.changed, st.ID)
		return false
	}
	return prior || s.changed[st.ID] // Fail, Arrive
}

// stateLoadData says how to read shepherd_state: with took_effect and
// rows_changed once the table has them. A table an older shepherd made
// gets the columns at the next run's start, and reading it (plan --db,
// status) never writes.
func (s *Session) stateLoadData(ctx context.Context) (sqlData, error) {
	has := func(probe string, known *bool) error {
		if *known {
			return nil
		}
		var n int64
		if err := s.queryRow(ctx, s.db, probe, nil, nil, &n); err != nil {
			return fmt.Errorf("read the state of %s: %w", s.plan.Name, s.dsn.scrub(err))
		}
		*known = n > 0
		return nil
	}
	if err := has("state-has-effect", &s.effectColumn); err != nil {
		return sqlData{}, err
	}
	if err := has("state-has-changed", &s.changedColumn); err != nil {
		return sqlData{}, err
	}
	d := sqlData{RowsChanged: s.changedColumn}
	if s.effectColumn {
		d.Cond = "effect"
	}
	return d, nil
}

// stateStep runs one step of state-ddl, skipped when its probe finds it
// done. A step that fails while another runner did the same meanwhile (two
// runners adding took_effect to an older table at once) is no error once
// its probe finds it done.
func (s *Session) stateStep(ctx context.Context, step templates.Step) error {
	done := func() (bool, error) {
		if step.Applied == nil {
			return false, nil
		}
		return s.probe(ctx, s.db, *step.Applied)
	}
	if ok, err := done(); err != nil || ok {
		return err
	}
	args, err := step.Args(nil)
	if err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, step.SQL, args...); err != nil {
		if ok, perr := done(); perr == nil && ok {
			return nil
		}
		return err
	}
	return nil
}

// leftBehind looks in the catalog for what a DDL phase that failed leaves
// when it took effect in part, for a failure that committed nothing itself:
// an earlier attempt's or a crash's leftover (PostgreSQL's temporary NOT
// NULL check, an invalid unique index) is the phase's to revert, so the
// phase is in force. A look that fails counts as a leftover.
func (s *Session) leftBehind(ctx context.Context, id string) bool {
	if left := s.ops(id).leftBehind; left != nil {
		return left(ctx, s)
	}
	return false
}

// notNullLeftBehind is leftBehind for a phase that sets NOT NULL on col.
func (s *Session) notNullLeftBehind(ctx context.Context, col string) bool {
	set, err := s.columnIs(ctx, s.db, col, "column-not-null")
	return err != nil || set || s.notNullLeftover(ctx, col)
}

// constraintLeftBehind is leftBehind for a phase that adds the plan's
// constraint.
func (s *Session) constraintLeftBehind(ctx context.Context) bool {
	c := s.plan.Tighten.Constraint
	if c.Kind() == phases.NotNullConstraint {
		return s.notNullLeftBehind(ctx, c.NotNull)
	}
	present, err := s.constraintPresent(ctx, s.db)
	if err != nil || present {
		return true
	}
	if c.Kind() != phases.UniqueConstraint {
		return false
	}
	if err := s.refreshTable(ctx); err != nil {
		return true
	}
	_, found := s.table.Index(c.Name)
	return found || s.table.partitionIndexLeft(c.Name)
}
