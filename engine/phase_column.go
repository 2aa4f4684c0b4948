package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/shepherd-db/shepherd/phases"
)

// The DDL phases on one column (add-column, enforce, drop-old-column); id is
// the phase that runs them.

func (s *Session) phaseAddColumn(ctx context.Context, b builder, id string) error {
	script, err := b.addColumn()
	if err != nil {
		return err
	}
	col, _, _ := b.newColumn()
	return s.runScript(ctx, id, script, s.finishIn(id, func(ctx context.Context, q querier) (string, error) {
		if err := s.mustColumn(ctx, q, id, col, "column-nullable", true, "should exist and be nullable, and does not"); err != nil {
			return "", err
		}
		if err := s.mustSync(ctx, q, id, true); err != nil {
			return "", err
		}
		if s.plan.SyncByDatabase() {
			return fmt.Sprintf("%s.%s exists and is nullable; triggers keep it in step with %s", s.plan.Table, col, s.plan.RenameColumn.Column), nil
		}
		return fmt.Sprintf("%s.%s exists and is nullable", s.plan.Table, col), nil
	}))
}

// revertAddColumn drops the column add-column added.
func (s *Session) revertAddColumn(ctx context.Context, b builder, id string, loss dropLoss) error {
	col, _, _ := b.newColumn()
	if exists, err := s.columnIs(ctx, s.db, col, "column-exists"); err != nil {
		return err
	} else if !exists {
		return s.moveNow(ctx, id, phases.Revert, fmt.Sprintf("%s.%s was not there: nothing to drop", s.plan.Table, col))
	}
	// Values nothing could give back are not dropped unasked (carry.go).
	dropped, err := s.guardDrop(ctx, b, id, loss)
	if err != nil {
		return err
	}
	// Rolled-back phases may have left values in the column (a backfill
	// keeps them): say that they go with it.
	if held, err := s.columnIs(ctx, s.db, col, "column-has-values"); err != nil {
		return err
	} else if held {
		s.notice(id, "%s.%s holds values (written by phases since rolled back, or by code that wrote it); they are dropped with the column", s.plan.Table, col)
	}
	// sync: database: the triggers go with the column (they name it).
	script, err := b.dropSynced(col)
	if err != nil {
		return err
	}
	return s.runScript(ctx, id, script, func(ctx context.Context, q querier) error {
		if err := s.mustColumn(ctx, q, id, col, "column-exists", false, "should be gone after the drop"); err != nil {
			return err
		}
		if err := s.mustSync(ctx, q, id, false); err != nil {
			return err
		}
		return s.move(ctx, q, id, phases.Revert, fmt.Sprintf("dropped %s.%s%s", s.plan.Table, col, dropped))
	})
}

// columnIs runs a column probe (column-exists, column-nullable,
// column-not-null) and reports whether it found the column so. A probe
// that fails is an error, never a "no": decisions hang on it.
func (s *Session) columnIs(ctx context.Context, q querier, col, probe string) (bool, error) {
	d := sqlData{Schema: s.plan.Schema, Table: s.plan.Table, Column: col}
	var n int64
	if err := s.queryRow(ctx, q, probe, d, nil, &n); err != nil {
		return false, fmt.Errorf("look at %s.%s (%s): %w", s.plan.Table, col, probe, s.dsn.scrub(err))
	}
	return n > 0, nil
}

// mustColumn is a verification: the column probe must answer want, else a
// *VerifyError saying what the column should be.
func (s *Session) mustColumn(ctx context.Context, q querier, phase, col, probe string, want bool, should string) error {
	got, err := s.columnIs(ctx, q, col, probe)
	if err != nil {
		return err
	}
	if got != want {
		return &VerifyError{Phase: phase, What: fmt.Sprintf("%s.%s %s", s.plan.Table, col, should)}
	}
	return nil
}

func (s *Session) phaseEnforce(ctx context.Context, b builder, id string) error {
	p := s.plan
	if !p.AddColumn.NotNull {
		return s.finishNow(ctx, id, func(context.Context, querier) (string, error) {
			return "not_null is false in the plan: nothing to enforce", nil
		})
	}
	col := p.AddColumn.Column
	// Where the DDL itself refuses a NULL row and leaves nothing behind,
	// the count that names the rows runs only once it has refused: on a
	// table with none (the common case, just after switch-writes' check)
	// it would be one more read of the whole table (1.5 s of a million
	// rows on MariaDB). Elsewhere (PostgreSQL's NOT VALID check, which
	// refuses old code's NULL writes from its first step on) the count
	// comes first, and nothing runs while a row is NULL.
	ddlChecks := notNullDDLChecksRows(s.d)
	if !ddlChecks {
		if err := s.requireNoNulls(ctx, id, col); err != nil {
			return err
		}
	}
	script, err := b.setNotNull(col, true)
	if err != nil {
		return err
	}
	err = s.runScript(ctx, id, script, s.finishIn(id, s.verifyNotNull(id, col)))
	if err != nil && ddlChecks && ctx.Err() == nil {
		// The rows it refused, by key, rather than the database's words
		// for the first of them; the DDL's own error when none is NULL.
		var ve *VerifyError
		if nerr := s.requireNoNulls(ctx, id, col); errors.As(nerr, &ve) {
			return nerr
		}
	}
	return err
}

// requireNoNulls refuses to add NOT NULL while rows would break it: the DDL
// would fail anyway, but later and with less to say.
func (s *Session) requireNoNulls(ctx context.Context, phase, col string) error {
	d := sqlData{Schema: s.plan.Schema, Table: s.plan.Table, Key: s.key, Column: col, Cond: "null"}
	n, sample, err := s.countWhere(ctx, s.db, d, nil)
	if err != nil {
		return fmt.Errorf("%s: count NULLs in %s.%s: %w", phase, s.plan.Table, col, err)
	}
	if n > 0 {
		return &VerifyError{Phase: phase, What: fmt.Sprintf("%s.%s still has NULLs, so NOT NULL cannot be added", s.plan.Table, col),
			Count: n, Sample: sample,
			Hint: "code that does not write " + col + " may still be running; give these rows a value, then rerun"}
	}
	return nil
}

func (s *Session) verifyNotNull(phase, col string) func(context.Context, querier) (string, error) {
	return func(ctx context.Context, q querier) (string, error) {
		if err := s.mustColumn(ctx, q, phase, col, "column-not-null", true, "should be NOT NULL, and is not"); err != nil {
			return "", err
		}
		return fmt.Sprintf("NOT NULL is in force on %s.%s", s.plan.Table, col), nil
	}
}

// revertNotNull drops the NOT NULL that enforce (or add-constraint) added,
// and what an attempt that failed mid-way left of it (PostgreSQL's check).
func (s *Session) revertNotNull(ctx context.Context, b builder, phase, col string) error {
	notNull, err := s.columnIs(ctx, s.db, col, "column-not-null")
	if err != nil {
		return err
	}
	if !notNull && !s.notNullLeftover(ctx, col) {
		return s.moveNow(ctx, phase, phases.Revert, fmt.Sprintf("%s.%s was already nullable", s.plan.Table, col))
	}
	script, err := b.setNotNull(col, false)
	if err != nil {
		return err
	}
	return s.runScript(ctx, phase, script, func(ctx context.Context, q querier) error {
		if err := s.mustColumn(ctx, q, phase, col, "column-nullable", true, "should be nullable after the rollback"); err != nil {
			return err
		}
		return s.move(ctx, q, phase, phases.Revert, fmt.Sprintf("NOT NULL dropped from %s.%s", s.plan.Table, col))
	})
}

// notNullLeftover reports whether a failed attempt to add NOT NULL left
// something that still refuses NULLs: PostgreSQL's temporary check, added and
// committed before SET NOT NULL. Dialects without such a step have no
// not-null-leftover template.
func (s *Session) notNullLeftover(ctx context.Context, col string) bool {
	if !s.sql.Has("not-null-leftover") {
		return false
	}
	d := sqlData{Schema: s.plan.Schema, Table: s.plan.Table, Column: col, CheckName: notNullCheckName(s.plan.Table, col)}
	var n int64
	return s.queryRow(ctx, s.db, "not-null-leftover", d, nil, &n) == nil && n > 0
}

func (s *Session) phaseDropOld(ctx context.Context, b builder, id string) error {
	p := s.plan
	// Before the point of no return: nothing that uses the old column may
	// be lost with it, or make the drop fail half-way.
	checks, err := s.requireNoGaps(ctx, id)
	if err != nil {
		return err
	}
	// sync: database: the triggers are removed here, just before the old
	// column, not at stop-old-writes: until the drop a straggling replica
	// of old code may still write the old column, and a rollback of
	// stop-old-writes must find it right. SQLite refuses, and MySQL breaks
	// every write, when a column a trigger names is dropped.
	script, err := b.dropSynced(p.RenameColumn.Column, checks...)
	if err != nil {
		return err
	}
	return s.runScript(ctx, id, script, s.finishIn(id, func(ctx context.Context, q querier) (string, error) {
		if err := s.mustColumn(ctx, q, id, p.RenameColumn.Column, "column-exists", false, "should be gone"); err != nil {
			return "", err
		}
		if err := s.mustSync(ctx, q, id, false); err != nil {
			return "", err
		}
		if err := s.mustColumn(ctx, q, id, p.RenameColumn.To, "column-exists", true, "should hold the data"); err != nil {
			return "", err
		}
		return fmt.Sprintf("%s.%s dropped; %s.%s holds the data", p.Table, p.RenameColumn.Column, p.Table, p.RenameColumn.To), nil
	}))
}

// prepareStopOldWrites runs before code that no longer writes the old column
// is deployed. If the old column is NOT NULL, that code's inserts would
// fail, so shepherd first makes the new column NOT NULL (switch-reads proved
// it holds every value, and dual-writing code fills it) and then the old one
// nullable. Both steps are skipped when already done, so arriving at the
// gate again changes nothing.
func (s *Session) prepareStopOldWrites(ctx context.Context, phase string) error {
	p := s.plan
	if oldNotNull, err := s.columnIs(ctx, s.db, p.RenameColumn.Column, "column-not-null"); err != nil || !oldNotNull {
		return err
	}
	s.notice(phase, "%s.%s is NOT NULL: code that stops writing it could not insert, so shepherd moves NOT NULL from %s to %s before that deploy", p.Table, p.RenameColumn.Column, p.RenameColumn.Column, p.RenameColumn.To)
	newNotNull, err := s.columnIs(ctx, s.db, p.RenameColumn.To, "column-not-null")
	if err != nil {
		return err
	}
	if !newNotNull {
		if err := s.requireNoNulls(ctx, phase, p.RenameColumn.To); err != nil {
			return err
		}
		if err := s.refreshTable(ctx); err != nil {
			return err
		}
		script, err := s.builder().setNotNull(p.RenameColumn.To, true)
		if err != nil {
			return err
		}
		verify := s.verifyNotNull(phase, p.RenameColumn.To)
		if err := s.runScript(ctx, phase, script, func(ctx context.Context, q querier) error {
			_, err := verify(ctx, q)
			return err
		}); err != nil {
			return err
		}
	}
	if err := s.refreshTable(ctx); err != nil {
		return err
	}
	script, err := s.builder().setNotNull(p.RenameColumn.Column, false)
	if err != nil {
		return err
	}
	return s.runScript(ctx, phase, script, func(ctx context.Context, q querier) error {
		return s.mustColumn(ctx, q, phase, p.RenameColumn.Column, "column-nullable", true, "should be nullable before writes to it stop")
	})
}
