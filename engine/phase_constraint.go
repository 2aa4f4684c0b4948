package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/shepherd-db/shepherd/phases"
	"github.com/shepherd-db/shepherd/templates"
)

// add-constraint and verify-failure-path: tighten-constraint's DDL and its
// proof on the real database.

func (s *Session) phaseAddConstraint(ctx context.Context, b builder) error {
	c := s.plan.Constraint
	switch c.Kind() {
	case "not_null":
		if err := s.requireNoNulls(ctx, "add-constraint", c.NotNull); err != nil {
			return err
		}
	case "foreign_key":
		if note := s.d.foreignKeyNote(); note != "" {
			s.notice("add-constraint", "warning: %s", note)
		}
		if err := s.requireNoOrphans(ctx, b); err != nil {
			return err
		}
	}
	script, err := b.addConstraint()
	if err != nil {
		return err
	}
	verify := s.verifyConstraint(true)
	if c.Kind() == "foreign_key" && s.d.uncheckedForeignKey() {
		verify = s.verifyNoOrphans(b, verify)
	}
	err = s.runScript(ctx, "add-constraint", script, s.finishIn("add-constraint", verify))
	var oe *orphansError
	if errors.As(err, &oe) {
		if derr := s.dropHalfAdded(ctx, b); derr != nil {
			return fmt.Errorf("%w; and dropping it again failed: %v", oe.VerifyError, derr)
		}
		return oe.VerifyError
	}
	return err
}

// orphanHint says what to do about rows without a parent at add-constraint.
func (s *Session) orphanHint() string {
	return fmt.Sprintf("they were written after clean (is validate-in-app deployed everywhere?); give them a parent or set their %s to NULL and rerun, or roll back add-constraint and clean (shepherd rollback, twice) and rerun, so that clean fixes them",
		strings.Join(s.plan.Constraint.ForeignKey, ", "))
}

// requireNoOrphans refuses to add a foreign key while rows lack their
// parent: the count and the keys, before any DDL. A constraint that a
// crashed run added without checking the rows (MySQL) is dropped again.
func (s *Session) requireNoOrphans(ctx context.Context, b builder) error {
	n, sample, err := s.countWhere(ctx, s.db, b.cond("violates"), nil)
	if err != nil {
		return fmt.Errorf("add-constraint: count the rows of %s without a parent: %w", s.plan.Table, err)
	}
	if n == 0 {
		return nil
	}
	ve := &VerifyError{Phase: "add-constraint", What: fmt.Sprintf("every row of %s should have its parent in %s before %s is added", s.plan.Table, s.plan.Constraint.References.Table, s.plan.Constraint.Name),
		Count: n, Sample: sample, Hint: s.orphanHint()}
	if present, err := s.constraintPresent(ctx, s.db); err == nil && present {
		if derr := s.dropHalfAdded(ctx, b); derr != nil {
			return fmt.Errorf("%w; and dropping the constraint an earlier run added failed: %v", ve, derr)
		}
		ve.What += " (the constraint an earlier run added is dropped again)"
	}
	return ve
}

// orphansError is rows without a parent found right after a foreign key
// was added without checking them: the constraint must go again.
type orphansError struct{ *VerifyError }

// verifyNoOrphans counts the rows without a parent once the constraint is
// in place (every write from now on is checked), then verifies the rest.
func (s *Session) verifyNoOrphans(b builder, then func(context.Context, querier) (string, error)) func(context.Context, querier) (string, error) {
	return func(ctx context.Context, q querier) (string, error) {
		n, sample, err := s.countWhere(ctx, q, b.cond("violates"), nil)
		if err != nil {
			return "", fmt.Errorf("add-constraint: count the rows of %s without a parent: %w", s.plan.Table, err)
		}
		if n > 0 {
			c := s.plan.Constraint
			return "", &orphansError{&VerifyError{Phase: "add-constraint",
				What: fmt.Sprintf("%s was added without checking the rows already there, and %s has rows without a parent in %s, written between clean and the constraint; %s is dropped again",
					c.Name, s.plan.Table, c.References.Table, c.Name),
				Count: n, Sample: sample, Hint: s.orphanHint()}}
		}
		detail, err := then(ctx, q)
		if err != nil {
			return "", err
		}
		return detail + "; no row is without its parent", nil
	}
}

// dropHalfAdded drops the plan's constraint, leaving add-constraint as it
// is (the caller fails it).
func (s *Session) dropHalfAdded(ctx context.Context, b builder) error {
	script, err := b.dropConstraint()
	if err != nil {
		return err
	}
	return s.runScript(ctx, "add-constraint", script, func(context.Context, querier) error { return nil })
}

// verifyConstraint checks that the plan's constraint is (or, after a
// rollback, is not) in force, from the live catalog.
func (s *Session) verifyConstraint(want bool) func(context.Context, querier) (string, error) {
	return func(ctx context.Context, q querier) (string, error) {
		c := s.plan.Constraint
		label := s.plan.ConstraintLabel()
		present, err := s.constraintPresent(ctx, q)
		if err != nil {
			return "", err
		}
		if present != want {
			state := "in force"
			if !want {
				state = "gone"
			}
			return "", &VerifyError{Phase: "add-constraint", What: fmt.Sprintf("%s should be %s on %s", label, state, s.plan.Table)}
		}
		if !want {
			return label + " dropped", nil
		}
		if c.Kind() == "check" || c.Kind() == "foreign_key" {
			if t, _ := s.d.introspect(ctx, q, s.sql, s.plan.Schema, s.plan.Table); t != nil {
				if con, ok := t.Constraint(c.Name); ok && !con.Validated {
					return "", &VerifyError{Phase: "add-constraint", What: label + " exists but is not validated"}
				}
			}
		}
		return label + " is in force", nil
	}
}

// catalogKinds maps a plan's constraint kind to introspection's.
var catalogKinds = map[string]string{"check": "check", "unique": "unique", "foreign_key": "foreign-key"}

func (s *Session) constraintPresent(ctx context.Context, q querier) (bool, error) {
	c := s.plan.Constraint
	if c.Kind() == "not_null" {
		return s.columnIs(ctx, q, c.NotNull, "column-not-null")
	}
	t, err := s.d.introspect(ctx, q, s.sql, s.plan.Schema, s.plan.Table)
	if err != nil {
		return false, fmt.Errorf("read the constraints of %s: %w", s.plan.Table, s.dsn.scrub(err))
	}
	if con, ok := t.Constraint(c.Name); ok {
		return con.Kind == catalogKinds[c.Kind()], nil
	}
	if ix, ok := t.Index(c.Name); ok && c.Kind() == "unique" {
		return ix.Unique && ix.Valid, nil
	}
	return false, nil
}

// revertConstraint drops the constraint add-constraint added.
func (s *Session) revertConstraint(ctx context.Context, b builder) error {
	c := s.plan.Constraint
	if c.Kind() == "not_null" {
		return s.revertNotNull(ctx, b, "add-constraint", c.NotNull)
	}
	present, err := s.constraintPresent(ctx, s.db)
	if err != nil {
		return err
	}
	// A failed concurrent build (PostgreSQL) leaves an index that is not
	// the constraint, but is the plan's to drop.
	if !present && c.Kind() == "unique" && s.table != nil {
		_, present = s.table.Index(c.Name)
	}
	if !present {
		return s.moveNow(ctx, "add-constraint", phases.Revert, s.plan.ConstraintLabel()+" was not there: nothing to drop")
	}
	script, err := b.dropConstraint()
	if err != nil {
		return err
	}
	return s.runScript(ctx, "add-constraint", script, func(ctx context.Context, q querier) error {
		detail, err := s.verifyConstraint(false)(ctx, q)
		if err != nil {
			return err
		}
		return s.move(ctx, q, "add-constraint", phases.Revert, detail)
	})
}

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
		if err := s.log(ctx, s.db, "verify-failure-path", "sql", rejected, detail); err != nil {
			return err
		}
	}
	return s.moveNow(ctx, "verify-failure-path", phases.Finish, detail)
}

// proveRejected returns what happened and the statement the database
// rejected. It never reports success without a rejection that is the
// plan's constraint's (see provesConstraint): where no violating write can
// be built, or none was refused by the plan's constraint, it fails saying
// what the plan must give.
func (s *Session) proveRejected(ctx context.Context, b builder) (detail, rejected string, err error) {
	const phase = "verify-failure-path"
	c := s.plan.Constraint
	label := s.plan.ConstraintLabel()
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return "", "", s.dsn.scrub(err)
	}
	// The proof's settings (SQLite's PRAGMA foreign_keys) are for this
	// connection only: it is discarded, not returned to the pool.
	defer discardConn(conn)
	setup, err := s.sql.Script("proof-setup", sqlData{})
	if err != nil {
		return "", "", err
	}
	for _, st := range setup {
		if _, err := conn.ExecContext(ctx, st.SQL); err != nil {
			return "", "", &StepError{Phase: phase, SQL: st.SQL, Err: s.dsn.scrub(err)}
		}
	}
	var parent *Table
	if c.Kind() == "foreign_key" {
		if note := s.d.foreignKeyNote(); note != "" {
			s.notice(phase, "warning: %s", note)
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
	if c.Kind() == "unique" {
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
		case c.Kind() == "not_null":
			tries = []violatingWrite{{set: []setExpr{{Column: c.NotNull, Expr: "NULL"}}}}
		case c.Kind() == "unique":
			tries = []violatingWrite{{dupe: true}}
		case len(c.Violating) > 0:
			tries = []violatingWrite{{set: b.assigned(c.Violating)}}
		case c.Kind() == "foreign_key":
			tries = b.orphanCandidates()
		default:
			tries = b.checkCandidates()
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
	case c.Kind() == "check" && len(c.Violating) == 0:
		hint = "shepherd could not guess a value that breaks the check: give one in the plan as constraint.violating: {column: value}"
	case c.Kind() == "foreign_key" && len(c.Violating) == 0:
		hint = fmt.Sprintf("shepherd could not find a value of %s that no row of %s has: give one in the plan as constraint.violating: {%s: value}",
			strings.Join(c.ForeignKey, ", "), c.References.Table, c.ForeignKey[0])
	case len(refused) > 0 && c.Kind() != "unique":
		hint = s.violatingHint(b, false)
	}
	return "", "", &VerifyError{Phase: phase, What: what, Hint: hint}
}

// provesConstraint is the rule of what counts as the proof. A try whose
// statement at was refused with werr proves the plan's constraint only
// when all of these hold:
//
//  1. the refused statement is the try's violating one, its last: a row
//     written before it (the first of UNIQUE's pair) that is refused
//     proves nothing, whatever refused it;
//  2. the refusal is a violation of the plan's kind of constraint (NOT
//     NULL, CHECK, UNIQUE, FOREIGN KEY);
//  3. the database names the plan's constraint (see rejectedBy); or, where
//     it names none (SQLite's foreign keys, PostgreSQL's NOT NULL), the
//     same write with values that satisfy the plan's constraint (for an
//     update, the row as it was) is accepted in the same rolled-back
//     transaction, so that the violating values, which only the plan's
//     constraint is about, are what the database refused.
//
// It returns what the proof adds to the detail when it holds, or why the
// try proves nothing.
func (s *Session) provesConstraint(ctx context.Context, tx *sql.Tx, b builder, w violatingWrite, keys []any, write tryWrite, at int, werr error) (proof, why string, err error) {
	refused := oneLine(write.stmts[at].SQL)
	msg := s.dsn.scrub(werr).Error()
	if at < len(write.stmts)-1 {
		return "", fmt.Sprintf("%s, a row written before the violating one, was refused: %s", refused, msg), nil
	}
	switch s.rejectedBy(s.d.classify(werr)) {
	case rejectedByPlan:
		return "", "", nil
	case rejectedOther:
		return "", fmt.Sprintf("%s was refused for another reason: %s", refused, msg), nil
	}
	return s.compareSatisfying(ctx, tx, b, w, keys, refused, msg)
}

// compareSatisfying is rule 3's comparison, for a rejection that names no
// constraint: the same write with values that satisfy the plan's
// constraint must be accepted (any of the ways renderSatisfying gives).
func (s *Session) compareSatisfying(ctx context.Context, tx *sql.Tx, b builder, w violatingWrite, keys []any, refused, msg string) (proof, why string, err error) {
	name := s.plan.Constraint.Name
	if name == "" {
		name = s.plan.ConstraintLabel()
	}
	cols := strings.Join(w.columns(s.plan.Constraint), ", ")
	compare, err := s.renderSatisfying(b, w, keys)
	if err != nil {
		return "", "", err
	}
	if len(compare) == 0 {
		return "", fmt.Sprintf("%s was refused (%s), but the database does not say by which constraint, and shepherd has no values of %s that satisfy %s to compare with", refused, msg, cols, name), nil
	}
	var also []string
	for _, t := range compare {
		cat, cerr, err := s.runTry(ctx, tx, t)
		if err != nil {
			return "", "", err
		}
		if cerr == nil {
			if len(w.insert) == 0 {
				return fmt.Sprintf("; the same update leaving %s as it was was accepted", cols), "", nil
			}
			return fmt.Sprintf("; the same row with %s satisfying %s was accepted", cols, name), "", nil
		}
		also = append(also, fmt.Sprintf("%s: %s", oneLine(t.stmts[cat].SQL), s.dsn.scrub(cerr).Error()))
	}
	return "", fmt.Sprintf("%s was refused (%s), but the database does not say by which constraint, and the same write with %s satisfying %s was refused too (%s), so something else refuses it",
		refused, msg, cols, name, strings.Join(also, "; ")), nil
}

// rejection says what refused a try's violating statement.
type rejection int

const (
	rejectedOther   rejection = iota // another constraint or kind of error: no proof
	rejectedByPlan                   // the database names the plan's constraint
	rejectedUnnamed                  // the plan's kind, but no name shepherd can match
)

// rejectedBy reads which constraint the database says a violation broke
// (failure.constraint). PostgreSQL and MySQL name a CHECK, UNIQUE or
// FOREIGN KEY; SQLite names a CHECK by its name, a UNIQUE by its columns
// ("acct.email") and a FOREIGN KEY not at all. A NOT NULL violation names
// its column (MySQL "email", SQLite "acct.email"), or nothing shepherd can
// match (PostgreSQL: no name, or, from 18, the column's own not-null
// constraint).
func (s *Session) rejectedBy(f failure) rejection {
	c := s.plan.Constraint
	want := map[string]failureKind{"not_null": failNotNull, "unique": failUnique, "check": failCheck, "foreign_key": failForeignKey}[c.Kind()]
	switch {
	case f.kind != want:
		return rejectedOther
	case f.constraint == "":
		return rejectedUnnamed
	case c.Kind() == "not_null":
		if s.namesColumns(f.constraint, []string{c.NotNull}) {
			return rejectedByPlan
		}
		return rejectedUnnamed
	case strings.EqualFold(f.constraint, c.Name):
		return rejectedByPlan
	case c.Kind() == "unique" && s.namesColumns(f.constraint, c.Unique):
		return rejectedByPlan
	}
	return rejectedOther
}

// namesColumns says whether a database's list of columns ("acct.a,
// acct.b", or "a") is exactly cols of the plan's table.
func (s *Session) namesColumns(list string, cols []string) bool {
	parts := strings.Split(list, ",")
	if len(parts) != len(cols) {
		return false
	}
	prefix := s.plan.Table + "."
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if len(p) > len(prefix) && strings.EqualFold(p[:len(prefix)], prefix) {
			p = p[len(prefix):]
		}
		if !slices.ContainsFunc(cols, func(c string) bool { return strings.EqualFold(c, p) }) {
			return false
		}
	}
	return true
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
		for _, col := range w.columns(s.plan.Constraint) {
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
	const phase = "verify-failure-path"
	if _, err := s.exec(ctx, tx, "savepoint", sqlData{}, nil); err != nil {
		return 0, nil, &StepError{Phase: phase, SQL: "SAVEPOINT", Err: s.dsn.scrub(err)}
	}
	at = len(t.stmts) - 1
	for i, st := range t.stmts {
		args, err := st.Args(t.vals)
		if err != nil {
			return 0, nil, err
		}
		s.emit(Event{Event: EventStep, Phase: phase, SQL: st.SQL, Lock: "the rows written, until the transaction is rolled back"})
		if _, werr = tx.ExecContext(ctx, st.SQL, args...); werr != nil {
			at = i
			break
		}
	}
	if _, err := s.exec(ctx, tx, "rollback-to-savepoint", sqlData{}, nil); err != nil {
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
	more := b.plan.Constraint.Columns()
	for _, a := range b.plan.Constraint.Violating {
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
		strings.Join(cols, ", "), b.plan.Constraint.Name, how)
}

// requiredColumns are the columns an insert into t must give: NOT NULL,
// without a default, not generated or filled by the database.
func requiredColumns(t *Table) []Column {
	var out []Column
	for _, c := range t.Columns {
		if c.NotNull && c.Default == nil && !c.Generated && !c.Auto {
			out = append(out, c)
		}
	}
	return out
}

// insertTries are rows that break only the constraint, for a table with
// too few rows to write to: every column an insert must give has a value
// of its type (or the plan's constraint.violating value), and the
// constraint's own columns break it. A unique constraint needs two rows
// with the same values. missing lists the columns shepherd has no value
// for. parent is the table a foreign key references, when it could be
// read.
func (b builder) insertTries(parent *Table) (tries []violatingWrite, missing []missingValue) {
	c := b.plan.Constraint
	violating := map[string]string{}
	for _, a := range c.Violating {
		violating[a.Column], _ = a.Expr.For(b.d.name())
	}
	// row gives the columns an insert must give, and cols besides, values:
	// the plan's where it gives one, else one of the column's type.
	row := func(seed int, cols []string) []setExpr {
		var set []setExpr
		seen := map[string]bool{}
		add := func(col Column) {
			if seen[col.Name] {
				return
			}
			seen[col.Name] = true
			if v, ok := violating[col.Name]; ok {
				set = append(set, setExpr{Column: col.Name, Expr: v})
			} else if v, ok := fillValue(col.Type, seed); ok {
				set = append(set, setExpr{Column: col.Name, Expr: v})
			} else if m := (missingValue{col.Name, col.Type}); !slices.Contains(missing, m) {
				missing = append(missing, m)
			}
		}
		for _, col := range requiredColumns(b.live) {
			add(col)
		}
		for _, name := range cols {
			if col, ok := b.live.Column(name); ok {
				add(col)
			}
		}
		for _, a := range c.Violating {
			if !seen[a.Column] {
				seen[a.Column] = true
				set = append(set, setExpr{Column: a.Column, Expr: violating[a.Column]})
			}
		}
		return set
	}
	with := withValue
	switch c.Kind() {
	case "not_null":
		base := row(1, nil)
		satisfying := base
		if col, ok := b.live.Column(c.NotNull); ok {
			if v, ok := fillValue(col.Type, 1); ok {
				satisfying = with(base, c.NotNull, v)
			}
		}
		tries = []violatingWrite{{insert: [][]setExpr{with(base, c.NotNull, "NULL")}, satisfying: []satisfyingRow{{row: satisfying}}}}
	case "unique":
		// Two rows, equal in the constraint's columns, different in the
		// others; another seed where the one row there clashes with them
		// on another key. The second row as it was built, before it took
		// the first's values, is its satisfying twin.
		for _, seed := range []int{1, 3, 5} {
			first, apart := row(seed, c.Unique), row(seed+1, c.Unique)
			second := apart
			for _, col := range c.Unique {
				for _, e := range first {
					if e.Column == col {
						second = with(second, col, e.Expr)
					}
				}
			}
			tries = append(tries, violatingWrite{insert: [][]setExpr{first, second}, satisfying: []satisfyingRow{{row: apart}}})
		}
	case "foreign_key":
		// The referencing columns the plan gives no value take one that no
		// parent has (past the greatest), where shepherd can derive one.
		absent := map[string]string{}
		for _, w := range b.orphanCandidates() {
			for _, e := range w.set {
				absent[e.Column] = e.Expr
			}
		}
		r := row(1, c.ForeignKey)
		for _, col := range c.ForeignKey {
			if _, given := violating[col]; given {
				continue
			}
			if e, ok := absent[col]; ok {
				r = with(r, col, e)
			} else if len(c.Violating) == 0 {
				missing = append(missing, missingValue{col, "a value no row of " + c.References.Table + " has"})
			}
		}
		tries = []violatingWrite{{insert: [][]setExpr{r}, satisfying: b.referringRows(r, parent)}}
	default:
		base := row(1, nil)
		if len(c.Violating) > 0 {
			tries = []violatingWrite{{insert: [][]setExpr{base}}}
			break
		}
		for _, w := range b.checkCandidates() {
			r := base
			for _, e := range w.set {
				r = with(r, e.Column, e.Expr)
			}
			tries = append(tries, violatingWrite{insert: [][]setExpr{r}, satisfying: []satisfyingRow{{row: base}}})
		}
	}
	return tries, missing
}

// missingValue is a column of an inserted row that shepherd has no value
// for, and what it needs: a value of its type, or one no parent has.
type missingValue struct{ column, need string }

// fillValue is a value of a column's type for an inserted row: constants
// of shepherd's own, never input; seed makes rows differ. false when
// shepherd has none for the type.
func fillValue(typ string, seed int) (string, bool) {
	t := strings.ToLower(strings.TrimSpace(typ))
	n := strconv.Itoa(seed)
	switch {
	case strings.HasPrefix(t, "enum("):
		// MySQL: the first value of the list.
		if i := strings.IndexByte(t, '\''); i >= 0 {
			if j := strings.IndexByte(typ[i+1:], '\''); j >= 0 {
				return typ[i : i+j+2], true
			}
		}
		return "", false
	case containsAny(t, "[]", "interval", "point", "range", "bytea", "blob", "binary", "bit", "geometry", "year", "set("):
		return "", false
	case containsAny(t, "bool"):
		return "true", true
	case containsAny(t, "int", "serial", "num", "dec", "real", "float", "double", "money"):
		return n, true
	case containsAny(t, "timestamp", "datetime"):
		return "'2000-01-0" + n + " 00:00:00'", true
	case containsAny(t, "date"):
		return "'2000-01-0" + n + "'", true
	case containsAny(t, "time"):
		return "'00:00:0" + n + "'", true
	case containsAny(t, "uuid"):
		return "'00000000-0000-4000-8000-00000000000" + n + "'", true
	case containsAny(t, "json"):
		return "'{}'", true
	case containsAny(t, "char", "text", "clob", "string"):
		return "'" + n + "'", true
	case t == "":
		return n, true // SQLite: a column without a type takes any value
	}
	return "", false
}

// orphanCandidates are writes that break a foreign key: every referencing
// column set to a value that no row of the referenced table has in the
// referenced column (past the greatest there), which no parent row can
// match. Only integer and text columns have such a value shepherd can
// derive; for others the plan gives one as constraint.violating.
func (b builder) orphanCandidates() []violatingWrite {
	if b.live == nil {
		return nil
	}
	d := b.constraintData()
	var set []setExpr
	for i, col := range d.Columns {
		c, ok := b.live.Column(col)
		if !ok || i >= len(d.RefColumns) {
			return nil
		}
		class := keyClass(c.Type)
		if class == "" {
			return nil
		}
		ad := sqlData{RefSchema: d.RefSchema, RefTable: d.RefTable, Column: d.RefColumns[i], Cond: class}
		st, err := b.sql.Query("absent-key", ad)
		if err != nil {
			return nil
		}
		set = append(set, setExpr{Column: col, Expr: st.SQL})
	}
	return []violatingWrite{{set: set}}
}

// referringRows are ways to write row with its referencing columns
// satisfying the foreign key, in the order to try them: NULL in those
// that may be NULL (a foreign key holds for a row with a NULL in any of
// its columns); else the key of the referenced table's first row; and,
// for a referenced table without a row, the same after inserting one
// (parentRow).
func (b builder) referringRows(row []setExpr, parent *Table) []satisfyingRow {
	d := b.constraintData()
	nulls := row
	for _, col := range d.Columns {
		if c, ok := b.live.Column(col); ok && !c.NotNull {
			nulls = withValue(nulls, col, "NULL")
		}
	}
	if !slices.Equal(nulls, row) {
		return []satisfyingRow{{row: nulls}}
	}
	if len(d.RefColumns) != len(d.Columns) {
		return nil
	}
	// The first row of the referenced table by its key: every column's
	// value from the same row.
	referring := row
	for i, col := range d.Columns {
		pd := d
		pd.Column = d.RefColumns[i]
		st, err := b.sql.Query("parent-key", pd)
		if err != nil {
			return nil
		}
		referring = withValue(referring, col, st.SQL)
	}
	out := []satisfyingRow{{row: referring}}
	if p := b.parentRow(parent); p != nil {
		out = append(out, satisfyingRow{parent: p, row: referring})
	}
	return out
}

// parentRow is a row to insert into the referenced table (parent, nil
// when it could not be read) for the satisfying row to refer to: its
// referenced columns take a value no row there has, the other columns an
// insert must give one of their type. nil when shepherd has no value for
// one of them.
func (b builder) parentRow(parent *Table) []setExpr {
	if parent == nil {
		return nil
	}
	absent := map[string]string{}
	if w := b.orphanCandidates(); len(w) > 0 {
		d := b.constraintData()
		for i, e := range w[0].set {
			absent[d.RefColumns[i]] = e.Expr
		}
	}
	var row []setExpr
	for _, rc := range b.constraintData().RefColumns {
		e, ok := absent[rc]
		if !ok {
			return nil
		}
		row = append(row, setExpr{Column: rc, Expr: e})
	}
	for _, col := range requiredColumns(parent) {
		if _, ok := absent[col.Name]; ok {
			continue
		}
		v, ok := fillValue(col.Type, 1)
		if !ok {
			return nil
		}
		row = append(row, setExpr{Column: col.Name, Expr: v})
	}
	return row
}

// withValue returns set with col's value replaced (or added).
func withValue(set []setExpr, col, expr string) []setExpr {
	out := append([]setExpr(nil), set...)
	for i := range out {
		if out[i].Column == col {
			out[i].Expr = expr
			return out
		}
	}
	return append(out, setExpr{Column: col, Expr: expr})
}

// keyClass says how shepherd can derive a value absent from a key column:
// int (past the greatest) or text (the greatest with a character
// appended), or "" when it cannot.
func keyClass(typ string) string {
	t := strings.ToLower(typ)
	switch {
	case containsAny(t, "int", "serial", "num", "dec"):
		return "int"
	case containsAny(t, "char", "text", "clob", "string"):
		return "text"
	}
	return ""
}

func (s *Session) firstKeys(ctx context.Context, q querier) ([]any, error) {
	rows, err := s.query(ctx, q, "first-keys", sqlData{Schema: s.plan.Schema, Table: s.plan.Table, Key: s.key}, nil)
	if err != nil {
		return nil, fmt.Errorf("verify-failure-path: pick rows of %s: %w", s.plan.Table, s.dsn.scrub(err))
	}
	defer rows.Close()
	var keys []any
	for rows.Next() {
		var k any
		if err := rows.Scan(&k); err != nil {
			return nil, s.dsn.scrub(err)
		}
		keys = append(keys, k)
	}
	return keys, s.dsn.scrub(rows.Err())
}

// checkCandidates guesses writes that break a CHECK: for each column the
// check names, values that commonly fall outside a range or a list. Each is
// tried inside a savepoint; the first the database rejects is the proof.
func (b builder) checkCandidates() []violatingWrite {
	check, _ := b.plan.Constraint.Check.For(b.d.name())
	var out []violatingWrite
	seen := map[string]bool{}
	for _, t := range lexSQL(check) {
		if t.kind != 'w' && t.kind != 'q' {
			continue
		}
		col, ok := b.live.Column(t.name())
		if !ok || seen[col.Name] || col.Generated {
			continue
		}
		seen[col.Name] = true
		for _, v := range candidateValues(col.Type) {
			out = append(out, violatingWrite{set: []setExpr{{Column: col.Name, Expr: v}}})
		}
	}
	return out
}

// candidateValues are constants of shepherd's own, never input.
func candidateValues(typ string) []string {
	t := strings.ToLower(typ)
	switch {
	case containsAny(t, "int", "num", "dec", "real", "float", "double", "serial", "money"):
		return []string{"-1", "0", "-1000000000", "1000000000", "NULL"}
	case containsAny(t, "date", "time"):
		return []string{"'1900-01-01'", "'9999-12-31'", "NULL"}
	case containsAny(t, "bool"):
		return []string{"false", "true", "NULL"}
	}
	return []string{"''", "'shepherd-invalid-value'", "' '", "-1", "0", "NULL"}
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
