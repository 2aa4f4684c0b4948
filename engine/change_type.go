package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/shepherd-db/shepherd/phases"
	"github.com/shepherd-db/shepherd/templates"
)

// change-column-type's work that is not the swap (change_type_postgres.go
// reads what the swap moves): the shadow column and its triggers, the
// conversion's backfill, and the rows it fails on.

// convertData is the template data of the conversion: the old column
// (Column), the shadow it fills (To), the new type and the conversion.
func (b builder) convertData() sqlData {
	ct := b.plan.ChangeType
	d := b.base()
	d.Column, d.To = ct.Column, ct.ShadowName()
	d.Type, _ = ct.Type.For(b.d.name())
	d.Expr, _ = ct.UsingFor(b.d.name(), b.d.quote)
	return d
}

// convertJob is change-column-type's backfill: each row's shadow set to
// the conversion of the row, where it is not that already.
func (b builder) convertJob(phase string) batchJob {
	d := b.convertData()
	d.Keep = b.kept(d.To)
	return batchJob{phase: phase, update: "convert-batch", data: d,
		fix: "fix the rows in that range, or change the plan's using: expression, then rerun to resume"}
}

// oldType is the old column's type: the live table's, or a stand-in when
// previewing without a database.
func (b builder) oldType() string {
	ct := b.plan.ChangeType
	if b.live != nil {
		if c, ok := b.live.Column(ct.Column); ok {
			return c.Type
		}
		if c, ok := b.live.Column(ct.OldName()); ok { // after the swap
			return c.Type
		}
	}
	b.gap("the type of " + ct.Column + " before the change, which only the database holds")
	return "/* the type of " + ct.Column + " */"
}

// changeTypeSync is the data of the sync triggers with the columns under
// the names they have before the swap (swapped false: the column and its
// shadow) or after it (the old column aside, the new one in its name).
// Both ways the value is an expression over the row being written (NEW):
// the conversion from the old column's value, the reverse: expression (by
// default a cast back to the old type) from the new one's. The
// conversions see the column alone, under its own name.
func (b builder) changeTypeSync(swapped bool) (sqlData, error) {
	ct := b.plan.ChangeType
	oldCol, newCol := ct.Column, ct.ShadowName()
	if swapped {
		oldCol, newCol = ct.OldName(), ct.Column
	}
	typ, _ := ct.Type.For(b.d.name())
	using, _ := ct.UsingFor(b.d.name(), b.d.quote)
	fwd, err := b.triggerValue(oldCol, using, typ)
	if err != nil {
		return sqlData{}, err
	}
	back, ok := ct.Reverse.For(b.d.name())
	if !ok {
		cast, err := b.sql.Query("convert-cast", sqlData{Expr: b.d.quote(ct.Column), Type: b.oldType()})
		if err != nil {
			return sqlData{}, fmt.Errorf("render the default reverse: conversion: %w", err)
		}
		back = cast.SQL
	}
	rev, err := b.triggerValue(newCol, back, b.oldType())
	if err != nil {
		return sqlData{}, err
	}
	sd := &syncData{Old: oldCol, New: newCol, Forward: fwd, Reverse: rev, Rowid: b.rowid, Keys: b.keys, Var: ct.Column, Source: ct.Column}
	if len(sd.Keys) == 0 {
		sd.Keys = []string{b.key}
	}
	sd.Function, sd.Trigger, sd.Insert, sd.Update = syncNames(b.plan)
	sd.InsertSwapped, sd.UpdateSwapped = swappedSyncNames(b.plan)
	d := b.base()
	d.Column, d.To = oldCol, newCol
	// Between two texts, an update that changes only the case or trailing
	// spaces is a change (MySQL's sync-same and sync-is-forward compare
	// bytes, not by the collation). Across kinds the values compare as
	// the database converts them ('00042' is the conversion of 42's text
	// only as a number), and numbers as they are, which costs a write less.
	d.Text = textType(typ) && textType(b.oldType())
	d.Sync = sd
	return d, nil
}

// textType reports whether a column of type typ holds text, whose
// collation may call two different values equal.
func textType(typ string) bool {
	t := strings.ToLower(typ)
	return strings.Contains(t, "char") || strings.Contains(t, "text") || strings.HasPrefix(t, "enum") || strings.HasPrefix(t, "set") || strings.Contains(t, "json")
}

// swapMovedColumns checks the columns' names after a swap forward (or
// back) that moves no constraint by name (SQLite's rebuild, MySQL's
// renames): the incoming column is gone, the outgoing one is there under
// its new name.
func (s *Session) swapMovedColumns(ctx context.Context, q querier, id string, back bool) error {
	in, out, _, _ := swapNames(s.plan.ChangeType, back)
	if err := s.mustColumn(ctx, q, id, in, "column-exists", false, "should be gone after the swap"); err != nil {
		return err
	}
	return s.mustColumn(ctx, q, id, out, "column-exists", true, "should hold the values the swap moved aside")
}

// swappedSync is the sync triggers' install as it stands after the swap
// (before it, for the swap back): the same triggers, the two columns under
// their names on the other side of it.
func (b builder) swappedSync(back bool) (templates.Script, error) {
	sync, err := b.changeTypeSync(!back)
	if err != nil {
		return nil, err
	}
	return b.sql.Script("sync-install", sync)
}

// triggerValue renders expr, over the column under its own name, cast to
// typ, as a trigger computes it from the row written: the column's value
// is NEW's field col.
func (b builder) triggerValue(col, expr, typ string) (string, error) {
	d := b.base()
	d.Column, d.To, d.Expr, d.Type = b.plan.ChangeType.Column, col, expr, typ
	st, err := b.sql.Query("convert-trigger-value", d)
	if err != nil {
		return "", fmt.Errorf("render the sync triggers' conversion: %w", err)
	}
	return st.SQL, nil
}

// addShadow is add-shadow's script: the shadow column, then the triggers
// that keep it in step with the column.
func (b builder) addShadow() (templates.Script, error) {
	script, err := b.addColumn()
	if err != nil {
		return nil, err
	}
	d, err := b.changeTypeSync(false)
	if err != nil {
		return nil, err
	}
	install, err := b.sql.Script("sync-install", d)
	return append(script, install...), err
}

// changeTypeSyncNames is the data that names the sync triggers, without
// their conversions: enough to find or remove them.
func (b builder) changeTypeSyncNames() sqlData {
	sd := &syncData{}
	sd.Function, sd.Trigger, sd.Insert, sd.Update = syncNames(b.plan)
	sd.InsertSwapped, sd.UpdateSwapped = swappedSyncNames(b.plan)
	d := b.base()
	d.Sync = sd
	return d
}

// dropChangeTypeSynced drops the triggers, then col (the shadow on
// add-shadow's rollback, the old column at drop-old-column). The trigger
// names the columns: it must not outlive either.
func (b builder) dropChangeTypeSynced(col string) (templates.Script, error) {
	script, err := b.sql.Script("sync-remove", b.changeTypeSyncNames())
	if err != nil {
		return nil, err
	}
	drop, err := b.dropColumn(col)
	return append(script, drop...), err
}

// mustChangeTypeSync is a verification: the sync triggers are installed
// (want) or gone (!want).
func (s *Session) mustChangeTypeSync(ctx context.Context, q querier, phase string, want bool) error {
	d := s.builder().changeTypeSyncNames()
	var expected, present int64
	if err := s.queryRow(ctx, q, "sync-expected", d, nil, &expected); err != nil {
		return fmt.Errorf("%s: count the sync triggers: %w", phase, s.dsn.scrub(err))
	}
	if err := s.queryRow(ctx, q, "sync-present", d, nil, &present); err != nil {
		return fmt.Errorf("%s: look for the sync triggers on %s: %w", phase, s.plan.Table, s.dsn.scrub(err))
	}
	ct := s.plan.ChangeType
	switch {
	case want && present < expected:
		return &VerifyError{Phase: phase, What: fmt.Sprintf("%d of the triggers that keep %s.%s and %s in step are missing", expected-present, s.plan.Table, ct.Column, ct.ShadowName())}
	case !want && present > 0:
		return &VerifyError{Phase: phase, What: fmt.Sprintf("%d of the triggers that kept %s.%s in step are still there", present, s.plan.Table, ct.Column)}
	}
	return nil
}

// phaseAddShadow adds the shadow column and its triggers, in one
// transaction with the record of the phase.
func (s *Session) phaseAddShadow(ctx context.Context, b builder, id string) error {
	script, err := b.addShadow()
	if err != nil {
		return err
	}
	ct := s.plan.ChangeType
	return s.runScript(ctx, id, script, s.finishIn(id, func(ctx context.Context, q querier) (string, error) {
		if err := s.mustColumn(ctx, q, id, ct.ShadowName(), "column-nullable", true, "should exist and be nullable, and does not"); err != nil {
			return "", err
		}
		if err := s.mustChangeTypeSync(ctx, q, id, true); err != nil {
			return "", err
		}
		return fmt.Sprintf("%s.%s exists and is nullable; triggers keep it in step with %s", s.plan.Table, ct.ShadowName(), ct.Column), nil
	}))
}

// revertAddShadow drops the triggers and the shadow column. Its values
// are the conversion of the column's, which a rerun makes again: nothing
// is lost with it.
func (s *Session) revertAddShadow(ctx context.Context, b builder, id string) error {
	shadow := s.plan.ChangeType.ShadowName()
	if exists, err := s.columnIs(ctx, s.db, shadow, "column-exists"); err != nil {
		return err
	} else if !exists {
		return s.moveNow(ctx, id, phases.Revert, fmt.Sprintf("%s.%s was not there: nothing to drop", s.plan.Table, shadow))
	}
	script, err := b.dropChangeTypeSynced(shadow)
	if err != nil {
		return err
	}
	return s.runScript(ctx, id, script, func(ctx context.Context, q querier) error {
		if err := s.mustColumn(ctx, q, id, shadow, "column-exists", false, "should be gone after the drop"); err != nil {
			return err
		}
		if err := s.mustChangeTypeSync(ctx, q, id, false); err != nil {
			return err
		}
		return s.move(ctx, q, id, phases.Revert, fmt.Sprintf("dropped the triggers and %s.%s", s.plan.Table, shadow))
	})
}

// phaseConvert is change-column-type's backfill. A batch the conversion
// fails on rolls back whole (nothing of it is recorded), and the phase
// fails naming the conversion and the rows it fails on; a conversion that
// gives NULL for a value fails it too, after the walk.
func (s *Session) phaseConvert(ctx context.Context, b builder, id string, prev phases.Status) error {
	if err := s.startPass(ctx, id, prev, true); err != nil {
		return err
	}
	if err := s.resyncConversions(ctx, b, id); err != nil {
		return err
	}
	job := b.convertJob(id)
	changed, err := s.runBatches(ctx, job)
	if err != nil {
		var be *BatchError
		if errors.As(err, &be) && s.d.classify(be.Err).kind == failOther {
			return s.convertFailures(ctx, b, id, err)
		}
		return err
	}
	cp := s.st(id).Checkpoint
	return s.finishNow(ctx, id, func(ctx context.Context, q querier) (string, error) {
		if cp == nil {
			return "the table is empty: nothing to convert", nil
		}
		return s.verifyConverted(ctx, q, b, id, *cp, changed)
	})
}

// resyncConversions makes the triggers convert with the plan's conversions
// as they are now: using: and reverse: may change until the backfill is
// done (phases/edit.go), and the triggers must convert as the backfill
// does. The dialect's sync-refresh says how: PostgreSQL replaces the
// function alone, which takes no lock on the table; SQLite drops and
// creates both triggers again.
func (s *Session) resyncConversions(ctx context.Context, b builder, id string) error {
	d, err := b.changeTypeSync(false)
	if err != nil {
		return err
	}
	script, err := b.sql.Script("sync-refresh", d)
	if err != nil {
		return err
	}
	// In one transaction: SQLite drops and creates its triggers again, and
	// no write may come between the two.
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, st := range script {
			args, err := st.Args(nil)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, st.SQL, args...); err != nil {
				return &StepError{Phase: id, SQL: st.SQL, Err: s.dsn.scrub(err)}
			}
			if err := s.log(ctx, tx, id, "sql", st.SQL, "the sync triggers, made again with the plan's conversions before the backfill"); err != nil {
				return err
			}
		}
		return nil
	})
}

// verifyConverted: no value the conversion turns into NULL, and every row
// the walk covered holds the conversion in its shadow; both counted in one
// scan of the table (a second would cost the backfill a tenth of its time).
func (s *Session) verifyConverted(ctx context.Context, q querier, b builder, id, cp string, changed int64) (string, error) {
	ct := s.plan.ChangeType
	using := s.plan.In(s.d.name()).Expand("{using}")
	d := b.convertData()
	vals := expandKeys(map[string]any{"hi": s.walkArg(cp)})
	var lost, diff int64
	if err := s.queryRow(ctx, q, "convert-counts", d, vals, &lost, &diff); err != nil {
		return "", fmt.Errorf("%s: compare %s with its conversion: %w", id, ct.ShadowName(), s.cancelled(stmtScan, 0, s.dsn.scrub(err)))
	}
	if lost > 0 {
		d.Cond = "lost"
		_, sample, err := s.countConvert(ctx, q, d, nil)
		if err != nil {
			return "", fmt.Errorf("%s: look for values the conversion turns into NULL: %w", id, err)
		}
		return "", &VerifyError{Phase: id, What: fmt.Sprintf("the conversion %s should give a value for every value of %s; it gives NULL", using, ct.Column),
			Count: lost, Sample: sample, Hint: "fix these rows, or change the plan's using: expression, then rerun"}
	}
	if diff > 0 {
		d.Cond, d.Bounded = "diff", true
		_, sample, err := s.countConvert(ctx, q, d, map[string]any{"hi": s.walkArg(cp)})
		if err != nil {
			return "", fmt.Errorf("%s: compare %s with its conversion: %w", id, ct.ShadowName(), err)
		}
		return "", &VerifyError{Phase: id, What: fmt.Sprintf("%s should be %s in every row", ct.ShadowName(), using), UpTo: s.walkAt(cp),
			Count: diff, Sample: sample, Hint: "rerun: the backfill walks the table again"}
	}
	return fmt.Sprintf("%d rows walked %s, %d converted; %s is %s in each", s.st(id).RowsDone, s.walkedTo(cp), changed, ct.ShadowName(), using), nil
}

// countConvert counts the rows of a convert-cond and samples their keys.
func (s *Session) countConvert(ctx context.Context, q querier, d sqlData, vals map[string]any) (int64, []string, error) {
	return s.countSampled(ctx, q, "convert-count", "convert-sample", d, vals)
}

// countSampled runs a count template and, when it counts rows, its sample
// template: up to five keys.
func (s *Session) countSampled(ctx context.Context, q querier, count, sample string, d sqlData, vals map[string]any) (int64, []string, error) {
	var n int64
	vals = expandKeys(vals)
	if err := s.queryRow(ctx, q, count, d, vals, &n); err != nil {
		return 0, nil, s.cancelled(stmtScan, 0, s.dsn.scrub(err))
	}
	if n == 0 {
		return 0, nil, nil
	}
	rows, err := s.query(ctx, q, sample, d, vals)
	if err != nil {
		return n, nil, s.cancelled(stmtScan, 0, s.dsn.scrub(err))
	}
	defer rows.Close()
	var keys []string
	dest, key := s.keyDest()
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return n, nil, s.dsn.scrub(err)
		}
		keys = append(keys, s.keyShown(keyText(key())))
	}
	return n, keys, s.dsn.scrub(rows.Err())
}

// convertFailures counts the rows the conversion fails on, after a batch
// failed (batchErr): in a transaction that is rolled back, a function of
// the session's own tries the conversion on each row. With none found the
// batch failed for another reason, and batchErr is the phase's error.
func (s *Session) convertFailures(ctx context.Context, b builder, id string, batchErr error) error {
	d := b.convertData()
	if !s.sql.Has("convert-probe-function") {
		return batchErr // the dialect cannot catch a failing conversion per row
	}
	fn, err := s.sql.Query("convert-probe-function", d)
	if err != nil {
		return err
	}
	var n int64
	var sample []string
	probe := func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, fn.SQL); err != nil {
			return err
		}
		n, sample, err = s.countSampled(ctx, tx, "convert-fails-count", "convert-fails-sample", d, nil)
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%w (and the rows it fails on could not be counted: %v)", batchErr, s.dsn.scrub(err))
	}
	err = probe(tx)
	_ = tx.Rollback() // the probe's function goes with it
	if err != nil {
		return fmt.Errorf("%w (and the rows it fails on could not be counted: %v)", batchErr, s.dsn.scrub(err))
	}
	if n == 0 {
		return batchErr
	}
	using := s.plan.In(s.d.name()).Expand("{using}")
	return &VerifyError{Phase: id, What: fmt.Sprintf("the conversion %s should succeed for every row of %s; it fails for these", using, s.plan.Table),
		Count: n, Sample: sample,
		Hint: "nothing of the failed batch was kept; fix these rows, or change the plan's using: expression, then rerun"}
}
