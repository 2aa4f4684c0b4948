package engine

import (
	"context"
	"fmt"

	"github.com/shepherd-db/shepherd/phases"
	"github.com/shepherd-db/shepherd/templates"
)

// sync: database. A rename's old and new columns are kept in step by
// triggers while code of both shapes runs, instead of by the application
// writing both: a write path nobody remembered (a cron job, an admin
// script) is kept in step too, and switch-reads finds no row that differs.
// add-column installs the triggers with the column, in its transaction
// where the dialect's DDL is transactional; drop-old-column removes them
// just before the old column goes; rolling back add-column removes them
// with the new column. The SQL is each dialect's sync-install and
// sync-remove (templates/<dialect>.sql).
//
// The templates take the value written each way as an expression over the
// row being written (Forward: old → new; Reverse: new → old), so that a
// playbook that converts a column's type can give its conversions where a
// rename gives the other column itself.

// syncData is what the sync templates need.
type syncData struct {
	Old, New string // the columns kept in step
	// Forward is the new column's value from a write of the old one only;
	// Reverse the old column's from a write of the new one only.
	Forward, Reverse string
	// Function and Trigger are PostgreSQL's trigger function and trigger;
	// Insert and Update the triggers of MySQL and SQLite, one per event.
	Function, Trigger, Insert, Update string
	// InsertSwapped and UpdateSwapped name MySQL's triggers after
	// change-column-type's swap (change_type_mysql.go): its DDL is not
	// transactional, so the swap creates the triggers of the columns'
	// new names before it drops the old ones, under names of their own.
	InsertSwapped, UpdateSwapped string
	// Source (change-column-type) is the one column application code
	// writes, before the swap and after it: the other is shepherd's own,
	// and the triggers need not fire on a write of it alone (SQLite's
	// UPDATE OF names only Source).
	Source string
	// Rowid (SQLite) is the rowid under a name no column shadows, when the
	// batches walk it; else Keys, the batch key's columns, find the row the
	// trigger updates.
	Rowid string
	Keys  []string
	// Var (change-column-type on PostgreSQL) is the name the conversions
	// use for the column: the trigger function binds it, in a block of its
	// own, to the field each conversion reads, so that plpgsql evaluates
	// the conversion as a plain expression rather than as a query per row
	// (a subquery cost a writer's insert 2.7 times the trigger's time).
	Var string
}

// syncNames are the plan's trigger (and function) names, from the plan's
// name, which is unique per database; each within an identifier's length
// (63 bytes, under MySQL's 64 too), with a hash where cut.
func syncNames(p *phases.Plan) (function, trigger, insert, update string) {
	base := "shepherd_sync_" + p.Name
	return phases.FitIdent(base), phases.FitIdent(base), phases.FitIdent(base + "_ins"), phases.FitIdent(base + "_upd")
}

// swappedSyncNames are MySQL's trigger names after change-column-type's
// swap.
func swappedSyncNames(p *phases.Plan) (insert, update string) {
	base := "shepherd_sync_" + p.Name
	return phases.FitIdent(base + "_ins_swapped"), phases.FitIdent(base + "_upd_swapped")
}

// isSyncTrigger reports whether a trigger of the table is one of the
// plan's own sync triggers: they name the old column and fire on the
// batches' updates by design, so what warns of other triggers leaves them
// out.
func isSyncTrigger(p *phases.Plan, name string) bool {
	if !p.SyncByDatabase() && p.ChangeType == nil { // change-column-type always syncs
		return false
	}
	_, trigger, insert, update := syncNames(p)
	insertSwapped, updateSwapped := swappedSyncNames(p)
	return name == trigger || name == insert || name == update || name == insertSwapped || name == updateSwapped
}

// syncValue renders the other column as the written one gets it (the
// dialect's sync-value): cast to typ where the plan gives one.
func (b builder) syncValue(col, typ string) (string, error) {
	st, err := b.sql.Query("sync-value", sqlData{Column: col, Type: typ})
	if err != nil {
		return "", fmt.Errorf("render the sync triggers' value of %s: %w", col, err)
	}
	return st.SQL, nil
}

// syncData is the template data of the plan's sync triggers; false when
// the plan does not have the database keep its columns in step.
func (b builder) syncData() (sqlData, bool, error) {
	p := b.plan
	if !p.SyncByDatabase() {
		return sqlData{}, false, nil
	}
	rc := p.RenameColumn
	typ, _ := rc.Type.For(b.d.name())
	fwd, err := b.syncValue(rc.Column, typ)
	if err != nil {
		return sqlData{}, false, err
	}
	// Back into the old column, its own type: the assignment converts, as
	// the copy back of a rollback does.
	rev, err := b.syncValue(rc.To, "")
	if err != nil {
		return sqlData{}, false, err
	}
	sd := &syncData{Old: rc.Column, New: rc.To, Forward: fwd, Reverse: rev, Rowid: b.rowid, Keys: b.keys}
	if len(sd.Keys) == 0 {
		sd.Keys = []string{b.key}
	}
	sd.Function, sd.Trigger, sd.Insert, sd.Update = syncNames(p)
	d := b.base()
	d.Column, d.To, d.Text = rc.Column, rc.To, b.holdsText()
	d.Sync = sd
	return d, true, nil
}

// syncScript renders op (sync-install, sync-remove); empty without sync:
// database.
func (b builder) syncScript(op string) (templates.Script, error) {
	d, ok, err := b.syncData()
	if err != nil || !ok {
		return nil, err
	}
	return b.sql.Script(op, d)
}

// syncCostNote is what the triggers cost a write, for plan's preview.
const syncCostNote = "sync: database: the triggers cost each INSERT and UPDATE of the table one more column assignment per row written, in the writer's own statement (on SQLite, one more UPDATE of the row just written); they fire only where a write gives one of the two columns alone"

// syncMissing counts the plan's sync objects (triggers, PostgreSQL's
// function) that are not in the catalog: 0 once installed.
func (s *Session) syncMissing(ctx context.Context, q querier, phase string) (present, missing int64, err error) {
	d, ok, err := s.builder().syncData()
	if err != nil || !ok {
		return 0, 0, err
	}
	var want int64
	if err := s.queryRow(ctx, q, "sync-expected", d, nil, &want); err != nil {
		return 0, 0, fmt.Errorf("%s: count the sync triggers: %w", phase, s.dsn.scrub(err))
	}
	if err := s.queryRow(ctx, q, "sync-present", d, nil, &present); err != nil {
		return 0, 0, fmt.Errorf("%s: look for the sync triggers on %s: %w", phase, s.plan.Table, s.dsn.scrub(err))
	}
	return present, want - present, nil
}

// mustSync is a verification: the sync triggers are all installed (want
// true) or all gone (want false). Nothing to check without sync: database.
func (s *Session) mustSync(ctx context.Context, q querier, phase string, want bool) error {
	if !s.plan.SyncByDatabase() {
		return nil
	}
	present, missing, err := s.syncMissing(ctx, q, phase)
	if err != nil {
		return err
	}
	switch {
	case want && missing > 0:
		return &VerifyError{Phase: phase, What: fmt.Sprintf("%d of the triggers that keep %s.%s and %s in step are missing", missing, s.plan.Table, s.plan.RenameColumn.Column, s.plan.RenameColumn.To)}
	case !want && present > 0:
		return &VerifyError{Phase: phase, What: fmt.Sprintf("%d of the triggers that kept %s.%s and %s in step are still there", present, s.plan.Table, s.plan.RenameColumn.Column, s.plan.RenameColumn.To)}
	}
	return nil
}

// dropSynced drops col, and first the sync triggers where the plan has
// them (add-column's rollback, drop-old-column). They go just before the
// column, in the same transaction where the dialect's DDL is
// transactional: until then they keep the columns in step for any code
// that still writes one of them, and a trigger that names a dropped
// column breaks every write (PostgreSQL, MySQL) or makes the drop fail
// (SQLite).
func (b builder) dropSynced(col string, checks ...string) (templates.Script, error) {
	script, err := b.syncScript("sync-remove")
	if err != nil {
		return nil, err
	}
	drop, err := b.dropColumn(col, checks...)
	return append(script, drop...), err
}

// syncAfterWriter is a dialect whose sync triggers set the other column
// only after the row is written (SQLite): a NOT NULL on the old column is
// checked before they run.
type syncAfterWriter interface{ syncAfterWrite() bool }

// syncNotNullWarning warns, where the sync triggers run after the write,
// that code writing only the new column cannot insert while the old one is
// NOT NULL without a default: until stop-old-writes moves NOT NULL to the
// new column. PostgreSQL and MySQL check NOT NULL after their BEFORE
// triggers have set the old column.
func (s *Session) syncNotNullWarning(t *Table) string {
	p := s.plan
	if a, ok := s.d.(syncAfterWriter); !p.SyncByDatabase() || !ok || !a.syncAfterWrite() {
		return ""
	}
	c, ok := t.Column(p.RenameColumn.Column)
	if !ok || !c.NotNull || c.Default != nil || c.Auto {
		return ""
	}
	return fmt.Sprintf("%s.%s is NOT NULL without a default, and on this database the sync triggers set it only after a row is written: an INSERT of code that writes only %s fails until stop-old-writes has moved NOT NULL to %s. Deploy such code at stop-old-writes, or give %s a default",
		p.Table, p.RenameColumn.Column, p.RenameColumn.To, p.RenameColumn.To, p.RenameColumn.Column)
}

// reverifySync checks, after add-column's own re-verification, that the
// sync triggers are still installed: until drop-old-column removes them,
// they are what keeps the columns in step.
func (s *Session) reverifySync(ctx context.Context, id, verified string) (string, error) {
	if !s.plan.SyncByDatabase() || s.st("drop-old-column").Status == phases.Done {
		return verified, nil
	}
	if err := s.mustSync(ctx, s.db, id, true); err != nil {
		return "", err
	}
	return verified + "; the sync triggers are installed", nil
}
