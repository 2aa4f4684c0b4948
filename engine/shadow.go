package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/shepherd-db/shepherd/phases"
	"github.com/shepherd-db/shepherd/templates"
)

// add-column's backfill by a copy of the table, where the server fills a
// column in place at many times the cost of a copy: MariaDB, whose
// in-place UPDATE of every row writes about ten times the redo of a copy
// and takes three times as long (the README's whole-playbook figures).
// The copy is pt-online-schema-change's, with what its failures taught
// (templates/mysql.sql, shadow-*):
//
//  1. the copy is made LIKE the table (the new column is there already);
//  2. three AFTER triggers, made under LOCK TABLES … NOWAIT, write each
//     row the application writes to the copy too;
//  3. the rows are copied in key ranges, a batch walk like the fill's
//     (sizer, holds, checkpoint in the batch's transaction), the new
//     column filled with the plan's expression where it is NULL; each
//     batch locks its rows, then inserts them waiting for no lock;
//  4. the rows of both are counted in one read view: equal, or nothing is
//     swapped;
//  5. the copy is analyzed, and RENAME … NOWAIT puts it in the table's
//     place, tried again until no session holds the table;
//  6. the old table is dropped, with the triggers, which stayed on it.
//
// A table with an AUTO_INCREMENT column is copied only where the server
// gives AUTO_INCREMENT values without a table lock
// (innodb_autoinc_lock_mode 2): see shadow-blockers in
// templates/mysql.sql. Its copy's counter starts at the table's.
//
// Every step is found done or not from the catalog, so a rerun after a
// crash resumes where the run stopped: the walk from its checkpoint, the
// swap, or the old table's drop. What the backfill does next (its
// verification, the walk again behind) reads the new table as after a
// fill in place: the checkpoint is the copy's last key.

// shadowNames are the copy's objects: the copy, the old table after the
// swap, and the triggers.
type shadowNames struct {
	Copy, Old              string
	Insert, Update, Delete string
}

func shadowNamesOf(table string) *shadowNames {
	return &shadowNames{
		Copy:   phases.FitIdent("_" + table + "_shepherd_copy"),
		Old:    phases.FitIdent("_" + table + "_shepherd_old"),
		Insert: phases.FitIdent("shepherd_copy_" + table + "_ins"),
		Update: phases.FitIdent("shepherd_copy_" + table + "_upd"),
		Delete: phases.FitIdent("shepherd_copy_" + table + "_del"),
	}
}

// isShadowTrigger reports whether a trigger of the table is one of its
// copy's.
func isShadowTrigger(table, name string) bool {
	n := shadowNamesOf(table)
	return name == n.Insert || name == n.Update || name == n.Delete
}

// shadowCopier is a dialect whose server add-column's backfill copies the
// table on, where the table allows it (MariaDB 10.6 and later: RENAME …
// NOWAIT, and a RENAME of two tables that is atomic).
type shadowCopier interface {
	shadowCopies() bool
}

func copiesByShadow(d dialect) bool {
	c, ok := d.(shadowCopier)
	return ok && c.shadowCopies()
}

// shadowChoice is whether add-column's backfill copies the table, and when
// the server could but the table does not allow it, why.
type shadowChoice struct {
	copy    bool
	inPlace string // why the fill is in place instead; "" where the server has no copy
}

// chooseShadow decides, from the live table, how add-column's backfill
// runs.
func (s *Session) chooseShadow(ctx context.Context) (shadowChoice, error) {
	if s.plan.Playbook != phases.AddColumn || !copiesByShadow(s.d) || s.table == nil {
		return shadowChoice{}, nil
	}
	switch {
	case s.opts.InPlace:
		return shadowChoice{inPlace: "--in-place asks for it"}, nil
	case s.composite() || s.rowid != "" || !s.keyIsInteger():
		return shadowChoice{inPlace: "its copy is walked by a key of one integer column, and " + s.plan.Table + "'s is not"}, nil
	}
	for _, c := range s.table.Columns {
		if c.Generated {
			return shadowChoice{inPlace: fmt.Sprintf("it has a generated column (%s), which a copy cannot write", c.Name)}, nil
		}
	}
	blockers, err := s.shadowBlockers(ctx, s.builder().shadowData())
	if err != nil {
		return shadowChoice{}, err
	}
	if len(blockers) > 0 {
		return shadowChoice{inPlace: "it has " + strings.Join(blockers, ", ") + ", which rule out a copy"}, nil
	}
	return shadowChoice{copy: true}, nil
}

// shadowBlockers are what rules out a copy of the table, from the catalog
// and the server's settings (shadow-blockers).
func (s *Session) shadowBlockers(ctx context.Context, d sqlData) ([]string, error) {
	rows, err := s.query(ctx, s.db, "shadow-blockers", d, nil)
	if err != nil {
		return nil, fmt.Errorf("read what rules out a copy of %s: %w", s.plan.Table, err)
	}
	defer rows.Close()
	var blockers []string
	for rows.Next() {
		var what, name string
		if err := rows.Scan(&what, &name); err != nil {
			return nil, fmt.Errorf("read what rules out a copy of %s: %w", s.plan.Table, err)
		}
		blockers = append(blockers, what+" ("+name+")")
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read what rules out a copy of %s: %w", s.plan.Table, err)
	}
	return blockers, nil
}

// shadowData is the data of the copy's templates: the table's columns that
// a row is written with (every one but the generated, which rule the copy
// out), the new column and the plan's expression.
func (b builder) shadowData() sqlData {
	d := b.base()
	d.Column = b.plan.AddColumn.Column
	d.Expr, _ = b.plan.AddColumn.Backfill.For(b.d.name())
	d.Shadow = shadowNamesOf(b.plan.Table)
	d.Keep = b.kept(d.Column)
	if b.live != nil {
		for _, c := range b.live.Columns {
			if !c.Generated {
				d.Columns = append(d.Columns, c.Name)
			}
		}
		// Previewed before add-column: the column is there when the
		// backfill runs.
		if !b.live.has(d.Column) {
			d.Columns = append(d.Columns, d.Column)
		}
	}
	return d
}

// shadowJob is the copy's walk: the batches of the fill, each copying its
// range.
func (b builder) shadowJob(phase string) batchJob {
	return batchJob{phase: phase, update: "shadow-batch", data: b.shadowData(),
		fix: "fix the rows in that range, or change the plan's backfill: expression (it may change until backfill or switch-writes is done), then rerun to resume the copy"}
}

// shadowLeft is what an earlier run left of a copy, from the catalog.
type shadowLeft struct {
	copy, old bool
	triggers  int
}

func (l shadowLeft) any() bool { return l.copy || l.old || l.triggers > 0 }

func (s *Session) shadowLeft(ctx context.Context, d sqlData) (shadowLeft, error) {
	var l shadowLeft
	var copies, olds int
	if err := s.queryRow(ctx, s.db, "shadow-state", d, nil, &copies, &olds, &l.triggers); err != nil {
		return l, fmt.Errorf("look for a copy of %s: %w", s.plan.Table, err)
	}
	l.copy, l.old = copies > 0, olds > 0
	return l, nil
}

// backfillCopies decides whether this run of the backfill copies the
// table: a fresh backfill does where the table allows it; a resumed one
// does where it was copying (a copy, or the old table after a swap, is
// there), and else resumes its fill in place.
func (s *Session) backfillCopies(ctx context.Context, id string, prev phases.Status) (bool, error) {
	if !copiesByShadow(s.d) {
		return false, nil
	}
	d := s.builder().shadowData()
	left, err := s.shadowLeft(ctx, d)
	if err != nil {
		return false, fmt.Errorf("%s: %w", id, err)
	}
	started := prev == phases.Running || prev == phases.Failed
	if left.any() {
		// Another plan's copy (its backfill on the same table) is not
		// this backfill's to resume or drop.
		if owns, owner, err := s.copyOwner(ctx, id, d); err != nil {
			return false, fmt.Errorf("%s: %w", id, err)
		} else if owner != "" && !owns {
			return false, &CopyInUseError{Phase: id, Table: s.plan.Table, Owners: []string{owner}, Objects: []string{d.Shadow.Copy}}
		}
		if !started {
			return false, fmt.Errorf("%s: %s or %s is in the database, and this backfill has not started: shepherd makes its copy of %s under those names; drop or rename them if they are not shepherd's, then rerun", id, d.Shadow.Copy, d.Shadow.Old, s.plan.Table)
		}
		if s.opts.InPlace {
			// Asked to fill in place after a copy began: the copy goes,
			// and the fill starts from the first key.
			if err := s.dropShadow(ctx, id); err != nil {
				return false, err
			}
			st := s.st(id)
			st.resetWalk()
			return false, s.save(ctx, s.db, st)
		}
		return true, nil
	}
	if started && s.st(id).Checkpoint != nil {
		return false, nil // a fill in place, resumed
	}
	choice, err := s.chooseShadow(ctx)
	if err != nil {
		return false, fmt.Errorf("%s: %w", id, err)
	}
	if !choice.copy && choice.inPlace != "" {
		s.notice(id, "fills %s in place, not by a copy of the table: %s", s.plan.Table, choice.inPlace)
	}
	if choice.copy && s.opts.Workers > 1 {
		s.notice(id, "--workers %d splits a fill in place, not a copy: the copy walks %s with one connection (--in-place fills it in place, split)", s.opts.Workers, s.plan.Table)
	}
	return choice.copy, nil
}

// copyPass is the backfill by a copy: it makes the copy (or resumes the
// one an earlier run left), walks the table into it, and swaps it in. It
// returns the rows the copy's batches wrote.
func (s *Session) copyPass(ctx context.Context, b builder, id string, prev phases.Status) (int64, error) {
	if err := s.startPass(ctx, id, prev, true); err != nil {
		return 0, err
	}
	d := b.shadowData()
	left, err := s.shadowLeft(ctx, d)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", id, err)
	}
	st := s.st(id)
	switch {
	case left.old && !left.copy:
		// Swapped: only the old table is left to drop.
		return st.RowsChanged, s.dropOld(ctx, id, d)
	case left.copy && left.triggers == 3:
		if cp := st.Checkpoint; cp != nil {
			s.notice(id, "resuming the copy of %s from %s", s.plan.Table, s.walkAt(*cp))
		}
	default:
		if left.any() {
			// Stopped while the copy was made: make it again.
			if err := s.dropShadow(ctx, id); err != nil {
				return 0, err
			}
		}
		st.resetWalk()
		if err := s.save(ctx, s.db, st); err != nil {
			return 0, err
		}
		if err := s.makeShadow(ctx, id, d); err != nil {
			if refused := (*shadowRefusedError)(nil); errors.As(err, &refused) || s.d.classify(err).kind != failPermission {
				return 0, err
			}
			// No right to make the copy or its triggers (TRIGGER, or SUPER
			// with binary logging on): what was made goes, and the fill is
			// in place.
			if derr := s.dropShadow(ctx, id); derr != nil {
				return 0, derr
			}
			return 0, &shadowRefusedError{why: fmt.Sprintf("the database refused to make the copy (%v)", err)}
		}
	}
	changed, err := s.runBatches(ctx, b.shadowJob(id))
	if err != nil {
		return changed, err
	}
	if err := s.compareDefinitions(ctx, id, d); err != nil {
		return changed, err
	}
	if err := s.compareCopy(ctx, id, d); err != nil {
		return changed, err
	}
	if err := s.swapShadow(ctx, id, d); err != nil {
		return changed, err
	}
	return changed, s.dropOld(ctx, id, d)
}

// shadowRefusedError is a copy the database did not allow this user to
// make, or did not make alike: the backfill fills the table in place
// instead.
type shadowRefusedError struct{ why string }

func (e *shadowRefusedError) Error() string { return e.why }

// makeShadow makes the copy and its triggers.
func (s *Session) makeShadow(ctx context.Context, id string, d sqlData) error {
	create, err := s.sql.Script("shadow-create", d)
	if err != nil {
		return err
	}
	s.notice(id, "copies %s into %s, which triggers keep in step with the application's writes, and then puts the copy in its place: on MariaDB a copy costs a fraction of a fill in place", s.plan.Table, d.Shadow.Copy)
	if err := s.shadowStep(ctx, id, s.db, create[0]); err != nil {
		return err
	}
	if err := s.recordCopyOwner(ctx, id, d); err != nil {
		return err
	}
	// The empty copy's counter starts at the table's: the copy's inserts
	// of the table's keys raise it from there.
	if err := s.raiseCounter(ctx, id, d); err != nil {
		return fmt.Errorf("%s: set the AUTO_INCREMENT counter of %s: %w", id, d.Shadow.Copy, s.dsn.scrub(err))
	}
	// LIKE does not copy everything (DATA DIRECTORY, for one): a copy
	// that differs from the start would only be refused at the swap.
	if problems, err := s.definitionProblems(ctx, id, d); err != nil || len(problems) > 0 {
		if err != nil {
			return err
		}
		if err := s.dropShadow(ctx, id); err != nil {
			return err
		}
		return &shadowRefusedError{why: fmt.Sprintf("CREATE TABLE … LIKE made a copy unlike %s (%s)", s.plan.Table, strings.Join(problems, "; "))}
	}
	s.opts.Failpoint(id + ":copy-made")
	triggers, err := s.sql.Script("shadow-triggers", d)
	if err != nil {
		return err
	}
	if err := s.underTableLock(ctx, id, "make the copy's triggers", "shadow-lock", d, triggers, id+":copy-trigger"); err != nil {
		return err
	}
	s.opts.Failpoint(id + ":copy-triggers")
	return nil
}

// compareCopy counts the rows of the table and of its copy in one read
// view: a write that reached one and not the other (a trigger dropped
// outside shepherd) would make them differ, and the copy is then made
// again rather than swapped in.
func (s *Session) compareCopy(ctx context.Context, id string, d sqlData) error {
	var table, copied int64
	if err := s.queryRow(ctx, s.db, "shadow-counts", d, nil, &table, &copied); err != nil {
		return fmt.Errorf("%s: count the rows of %s and of its copy: %w", id, s.plan.Table, err)
	}
	if table == copied {
		s.notice(id, "%s and its copy hold the same %d rows", s.plan.Table, table)
		return nil
	}
	return s.abandonCopy(ctx, id, &VerifyError{Phase: id, What: fmt.Sprintf("%s and its copy hold the same rows", s.plan.Table), Count: max(table-copied, copied-table),
		Hint: fmt.Sprintf("%s holds %d rows and its copy %d, counted in one read view: writes reached one and not the other (were the triggers %s, %s, %s dropped?). Nothing was swapped, and the copy is dropped: rerun to copy again", s.plan.Table, table, copied, d.Shadow.Insert, d.Shadow.Update, d.Shadow.Delete)})
}

// swapShadow analyzes the copy and puts it in the table's place.
func (s *Session) swapShadow(ctx context.Context, id string, d sqlData) error {
	if err := s.analyzeCopy(ctx, id, d); err != nil {
		return err
	}
	swap, err := s.sql.Script("shadow-swap", d)
	if err != nil {
		return err
	}
	// What the swap would undo or break is checked again right before
	// each try: DDL can come while the swap waits for the table.
	var problems []string
	err = s.nowait(ctx, id, "swap "+s.plan.Table+" and its copy", func() error {
		var err error
		if problems, err = s.swapProblems(ctx, id, d); err != nil || len(problems) > 0 {
			return err
		}
		_, err = s.db.ExecContext(ctx, swap[0].SQL)
		return err
	})
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		return s.refuseSwap(ctx, id, problems)
	}
	if err := s.log(ctx, s.db, id, "sql", swap[0].SQL, swap[0].Lock); err != nil {
		return err
	}
	s.opts.Failpoint(id + ":copy-swapped")
	s.notice(id, "the copy is %s now; the old table is %s", s.plan.Table, d.Shadow.Old)
	return nil
}

// analyzeCopy has InnoDB count the copy's rows and index statistics
// anew. ANALYZE TABLE reports a failure as a row, not an error.
func (s *Session) analyzeCopy(ctx context.Context, id string, d sqlData) error {
	rows, err := s.query(ctx, s.db, "shadow-analyze", d, nil)
	if err != nil {
		return fmt.Errorf("%s: analyze the copy of %s: %w", id, s.plan.Table, err)
	}
	defer rows.Close()
	for rows.Next() {
		var table, op, kind, text string
		if err := rows.Scan(&table, &op, &kind, &text); err != nil {
			return fmt.Errorf("%s: analyze the copy of %s: %w", id, s.plan.Table, err)
		}
		if strings.EqualFold(kind, "error") {
			return fmt.Errorf("%s: analyze the copy of %s: %s", id, s.plan.Table, text)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%s: analyze the copy of %s: %w", id, s.plan.Table, err)
	}
	return nil
}

// shadowPreview is the copy's statements, in the order they run.
func (b builder) shadowPreview(phase string) (templates.Script, error) {
	d := b.shadowData()
	var out templates.Script
	var err error
	add := func(script templates.Script, e error) {
		if err == nil {
			out, err = append(out, script...), e
		}
	}
	own := func(name, lock string) (templates.Script, error) {
		st, err := b.sql.Query(name, d)
		return templates.Script{{Statement: st, Mode: templates.Own, Lock: lock}}, err
	}
	add(b.sql.Script("shadow-create", d))
	if b.live != nil && slices.ContainsFunc(b.live.Columns, func(c Column) bool { return c.Auto }) {
		d.Next = 0 // the table's, read when the copy is made
		add(b.sql.Script("shadow-counter-raise", d))
	}
	add(own("shadow-lock", "reads and writes of "+b.plan.Table+" wait while it is held, for the three CREATE TRIGGER; asked for with NOWAIT, again every few milliseconds until no session holds the table"))
	add(b.sql.Script("shadow-triggers", d))
	add(own("shadow-unlock", "ends the lock"))
	add(b.batchPreview(b.shadowJob(phase)))
	add(own("shadow-counts", "a plain read of both tables, in one read view"))
	add(b.sql.Script("shadow-swap", d))
	add(b.sql.Script("shadow-drop-old", d))
	return out, err
}
