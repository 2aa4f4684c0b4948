package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/shepherd-db/shepherd/phases"
	"github.com/shepherd-db/shepherd/templates"
)

// verify-failure-path: the proof that the plan's constraint is in force, a
// violating write inside a transaction that is always rolled back.

// violatingWrite is one write that must be rejected: an update of an
// existing row, or, where the table has too few rows to write to, rows to
// insert (in order: the last one is the one to reject).
type violatingWrite struct {
	set    []setExpr   // for not_null, check and foreign_key
	dupe   bool        // for unique: copy another row's values
	insert [][]setExpr // the insert path
	// satisfying are, on the insert path, ways to write insert's last
	// row with values that satisfy the plan's constraint instead of
	// breaking it, in the order to try them; none when shepherd has no
	// such values. An update's counterpart is the row as it was.
	satisfying []satisfyingRow
}

// satisfyingRow is a violating insert's last row with values that satisfy
// the plan's constraint, after parent, when given: a row inserted first
// into the referenced table, for a foreign key whose parent table may have
// no row to refer to.
type satisfyingRow struct {
	parent []setExpr
	row    []setExpr
}

// columns are the columns whose values make the write violating.
func (w violatingWrite) columns(c *phases.Constraint) []string {
	var cols []string
	switch {
	case w.dupe:
		return c.Unique
	case len(w.insert) == 0:
		for _, e := range w.set {
			cols = append(cols, e.Column)
		}
		return cols
	case len(c.Columns()) > 0:
		return c.Columns()
	}
	// A CHECK's: where the violating row and its satisfying twin differ.
	if len(w.satisfying) == 0 {
		return nil
	}
	for _, e := range w.insert[len(w.insert)-1] {
		if !slices.Contains(w.satisfying[0].row, e) {
			cols = append(cols, e.Column)
		}
	}
	return cols
}

// tryWrite is a violatingWrite's statements, rendered: the last one is
// the violating statement (or, for the comparison, its satisfying twin).
type tryWrite struct {
	stmts []templates.Statement
	vals  map[string]any
}

// phaseFailurePath proves the constraint on the real database: a violating
// write, inside a transaction that is always rolled back, must be rejected by
// it. Only the database's own rejection counts.
func (s *Session) phaseFailurePath(ctx context.Context, b builder) error {
	// A weaker constraint of the plan's name would refuse a value too.
	if err := s.requirePlansDefinition(ctx, failurePathPhase); err != nil {
		return err
	}
	detail, rejected, err := s.proveRejected(ctx, b)
	if err != nil {
		return err
	}
	// Nothing is recorded by a run that lost its lock.
	if err := s.lock.held(ctx); err != nil {
		return err
	}
	// Logged only now: the probe's transaction held the write lock.
	if rejected != "" {
		if err := s.log(ctx, s.db, failurePathPhase, "sql", rejected, detail); err != nil {
			return err
		}
	}
	return s.moveNow(ctx, failurePathPhase, phases.Finish, detail)
}

// proveRejected returns what happened and the statement the database
// rejected. It never reports success without a rejection that is the
// plan's constraint's (see provesConstraint): where no violating write can
// be built, or none was refused by the plan's constraint, it fails saying
// what the plan must give.
func (s *Session) proveRejected(ctx context.Context, b builder) (detail, rejected string, err error) {
	const phase = failurePathPhase
	c := s.plan.Tighten.Constraint
	label := s.plan.ConstraintLabel()
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return "", "", s.dsn.scrub(err)
	}
	// The proof's settings (SQLite's PRAGMA foreign_keys) are for this
	// connection only: it is discarded, not returned to the pool.
	defer discardConn(conn)
	setup, err := s.sql.Script("proof-setup", nil)
	if err != nil {
		return "", "", err
	}
	for _, st := range setup {
		if _, err := conn.ExecContext(ctx, st.SQL); err != nil {
			return "", "", &StepError{Phase: phase, SQL: st.SQL, Err: s.dsn.scrub(err)}
		}
	}
	var parent *Table
	if c.Kind() == phases.ForeignKeyConstraint {
		if note := foreignKeyNote(s.d); note != "" {
			s.warn(phase, "%s", note)
		}
		// The table a foreign key references, read before the transaction
		// (a failed read would end PostgreSQL's): without it, no row is
		// inserted there for the comparison.
		d := b.constraintData()
		parent, _ = s.d.introspect(ctx, conn, s.sql, d.RefSchema, d.RefTable)
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return "", "", s.dsn.scrub(err)
	}
	defer tx.Rollback() // always: nothing this phase writes may stay

	keys, err := s.firstKeys(ctx, tx)
	if err != nil {
		return "", "", err
	}
	need := 1
	if c.Kind() == phases.UniqueConstraint {
		need = 2
	}
	var tries []violatingWrite
	if len(keys) < need {
		// No row to write to: insert rows that break only the constraint.
		var missing []missingValue
		if tries, missing = b.insertTries(parent); len(missing) > 0 {
			var what, cols []string
			for _, m := range missing {
				what = append(what, m.column+" ("+m.need+")")
				cols = append(cols, m.column+": …")
			}
			return "", "", &VerifyError{Phase: phase,
				What: fmt.Sprintf("%s has %s to write to, so the proof inserts a row that breaks only %s, and shepherd has no value of its own for %s", s.plan.Table, rowsWord(len(keys)), label, strings.Join(what, ", ")),
				Hint: fmt.Sprintf("add them to the plan as constraint.violating: {%s} (the row is inserted inside a transaction that is rolled back; constraint.violating may change while the plan is in force), then rerun", strings.Join(cols, ", "))}
		}
	} else {
		switch {
		case c.Kind() == phases.NotNullConstraint:
			tries = []violatingWrite{{set: []setExpr{{Column: c.NotNull, Expr: "NULL"}}}}
		case c.Kind() == phases.UniqueConstraint:
			tries = []violatingWrite{{dupe: true}}
		case len(c.Violating) > 0:
			tries = []violatingWrite{{set: b.assigned(c.Violating)}}
		case c.Kind() == phases.ForeignKeyConstraint:
			tries = b.orphanCandidates()
		default:
			tries = b.checkCandidates()
		}
	}
	if c.Kind() == phases.CheckConstraint && len(c.Violating) == 0 && len(tries) > 0 {
		if tries, err = s.boundaryFirst(ctx, tx, b, tries, keys); err != nil {
			return "", "", err
		}
		if len(tries) == 0 {
			return "", "", &VerifyError{Phase: phase,
				What: fmt.Sprintf("none of the values shepherd tries for the columns of %s violates it, as the database evaluates the check for the row to write", label),
				Hint: "give a value that violates only this check in the plan as constraint.violating: {column: value} (constraint.violating may change while the plan is in force), then rerun"}
		}
	}
	var tried, refused []string
	for _, w := range tries {
		write, err := s.renderViolating(b, w, keys)
		if err != nil {
			return "", "", err
		}
		at, werr, err := s.runTry(ctx, tx, write)
		if err != nil {
			return "", "", err
		}
		for _, st := range write.stmts[:at+1] {
			tried = append(tried, oneLine(st.SQL))
		}
		if werr == nil {
			continue // this value does not violate: try the next
		}
		proof, why, err := s.provesConstraint(ctx, tx, b, w, keys, write, at, werr)
		if err != nil {
			return "", "", err
		}
		if why != "" {
			refused = append(refused, why)
			continue
		}
		return fmt.Sprintf("a violating write was rejected by %s: %s (rolled back)%s", label, s.dsn.scrub(werr).Error(), proof), write.stmts[at].SQL, nil
	}
	what := fmt.Sprintf("no violating write was rejected by %s; tried: %s", label, strings.Join(tried, "; "))
	if len(refused) > 0 {
		what += "; " + strings.Join(refused, "; ")
	}
	hint := "is the constraint in force? Rerun add-constraint's check with shepherd status"
	switch {
	case len(keys) < need:
		hint = s.violatingHint(b, true)
	case c.Kind() == phases.CheckConstraint && len(c.Violating) == 0:
		hint = "shepherd could not guess a value that breaks the check: give one in the plan as constraint.violating: {column: value}"
	case c.Kind() == phases.ForeignKeyConstraint && len(c.Violating) == 0:
		hint = fmt.Sprintf("shepherd could not find a value of %s that no row of %s has: give one in the plan as constraint.violating: {%s: value}",
			strings.Join(c.ForeignKey, ", "), c.References.Table, c.ForeignKey[0])
	case len(refused) > 0 && c.Kind() != phases.UniqueConstraint:
		hint = s.violatingHint(b, false)
	}
	return "", "", &VerifyError{Phase: phase, What: what, Hint: hint}
}

// renderViolating renders a try's statements: the last one violates.
func (s *Session) renderViolating(b builder, w violatingWrite, keys []any) (tryWrite, error) {
	var t tryWrite
	if len(w.insert) > 0 {
		for _, row := range w.insert {
			st, err := s.renderInsert(b.constraintData(), row)
			if err != nil {
				return t, err
			}
			t.stmts = append(t.stmts, st)
		}
		return t, nil
	}
	d := b.constraintData()
	name := "violating-update"
	t.vals = map[string]any{"key": keys[0]}
	if w.dupe {
		name, t.vals["other"] = "duplicate-update", keys[1]
	} else {
		d.Set = w.set
	}
	st, err := s.sql.Query(name, d)
	t.stmts = []templates.Statement{st}
	return t, err
}

// renderSatisfying renders the same write as renderViolating with values
// that satisfy the plan's constraint instead, one tryWrite per way to
// write them (none when shepherd has none): for an update, the row as it
// was; for an insert, the rows before the last as they are, then, for
// each satisfyingRow, its parent row and its row.
func (s *Session) renderSatisfying(b builder, w violatingWrite, keys []any) ([]tryWrite, error) {
	if len(w.insert) == 0 {
		d := b.constraintData()
		for _, col := range w.columns(s.plan.Tighten.Constraint) {
			d.Set = append(d.Set, setExpr{Column: col, Expr: s.sql.Quote(col)})
		}
		st, err := s.sql.Query("violating-update", d)
		return []tryWrite{{stmts: []templates.Statement{st}, vals: map[string]any{"key": keys[0]}}}, err
	}
	var out []tryWrite
	for _, sat := range w.satisfying {
		var t tryWrite
		if sat.parent != nil {
			d := b.constraintData()
			d.Schema, d.Table = d.RefSchema, d.RefTable
			st, err := s.renderInsert(d, sat.parent)
			if err != nil {
				return nil, err
			}
			t.stmts = append(t.stmts, st)
		}
		for _, row := range append(w.insert[:len(w.insert)-1:len(w.insert)-1], sat.row) {
			st, err := s.renderInsert(b.constraintData(), row)
			if err != nil {
				return nil, err
			}
			t.stmts = append(t.stmts, st)
		}
		out = append(out, t)
	}
	return out, nil
}

// renderInsert renders an insert of one row into d's table.
func (s *Session) renderInsert(d sqlData, row []setExpr) (templates.Statement, error) {
	d.Set = row
	return s.sql.Query("violating-insert", d)
}

// runTry runs a try's statements inside a savepoint and rolls back to it:
// werr is the first statement's error, and at its index (the last
// statement's when none failed). err is a failure of the savepoint itself,
// or a statement that could not run at all (a lock timeout, a lost
// connection), which ends the proof.
func (s *Session) runTry(ctx context.Context, tx *sql.Tx, t tryWrite) (at int, werr, err error) {
	const phase = failurePathPhase
	if _, err := s.exec(ctx, tx, "savepoint", nil, nil); err != nil {
		return 0, nil, &StepError{Phase: phase, SQL: "SAVEPOINT", Err: s.dsn.scrub(err)}
	}
	at = len(t.stmts) - 1
	for i, st := range t.stmts {
		args, err := st.Args(expandKeys(t.vals))
		if err != nil {
			return 0, nil, err
		}
		s.emit(Event{Event: EventStep, Phase: phase, SQL: st.SQL, Lock: "the rows written, until the transaction is rolled back"})
		if _, werr = tx.ExecContext(ctx, st.SQL, args...); werr != nil {
			at = i
			break
		}
	}
	if _, err := s.exec(ctx, tx, "rollback-to-savepoint", nil, nil); err != nil {
		return 0, nil, &StepError{Phase: phase, SQL: "ROLLBACK TO SAVEPOINT", Err: s.dsn.scrub(err)}
	}
	if werr != nil {
		if f := s.d.classify(werr); f.kind == failLockTimeout || f.kind == failConnection || errors.Is(werr, context.Canceled) {
			return 0, nil, &StepError{Phase: phase, SQL: t.stmts[at].SQL, Err: s.dsn.scrub(werr)}
		}
	}
	return at, werr, nil
}

func rowsWord(n int) string {
	switch n {
	case 0:
		return "no rows"
	case 1:
		return "one row"
	}
	return fmt.Sprintf("%d rows", n)
}

// violatingHint says what to add to the plan when the writes shepherd
// tried were refused for other reasons: values that break only the
// constraint, as constraint.violating; for an insert (insert), values for
// the columns an insert must give too.
func (s *Session) violatingHint(b builder, insert bool) string {
	var cols []string
	if insert {
		for _, col := range requiredColumns(b.live) {
			cols = append(cols, col.Name+": …")
		}
	}
	more := b.plan.Tighten.Constraint.Columns()
	for _, a := range b.plan.Tighten.Constraint.Violating {
		more = append(more, a.Column)
	}
	for _, col := range more {
		if !slices.Contains(cols, col+": …") {
			cols = append(cols, col+": …")
		}
	}
	how := "the row is inserted inside a transaction that is rolled back"
	if !insert {
		how = "written to an existing row inside a transaction that is rolled back"
	}
	return fmt.Sprintf("add to the plan constraint.violating: {%s}, values that break only %s (%s; constraint.violating may change while the plan is in force), then rerun",
		strings.Join(cols, ", "), b.plan.Tighten.Constraint.Name, how)
}

func (s *Session) firstKeys(ctx context.Context, q querier) ([]any, error) {
	rows, err := s.query(ctx, q, "first-keys", sqlData{Schema: s.plan.Schema, Table: s.plan.Table, Key: s.key, Keys: s.keys}, nil)
	if err != nil {
		return nil, fmt.Errorf("verify-failure-path: pick rows of %s: %w", s.plan.Table, s.dsn.scrub(err))
	}
	defer rows.Close()
	var keys []any
	dest, key := s.keyDest() // a keyTuple for a composite key: bound by column (bindKey)
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, s.dsn.scrub(err)
		}
		keys = append(keys, key())
	}
	return keys, s.dsn.scrub(rows.Err())
}
