package engine

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"

	"github.com/shepherd-db/shepherd/phases"
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

// violatingWrite is one write that must be rejected.
type violatingWrite struct {
	set  []setExpr // for not_null and check
	dupe bool      // for unique: copy another row's values
}

// phaseFailurePath proves the constraint on the real database: a violating
// write, inside a transaction that is always rolled back, must be rejected by
// it. Only the database's own rejection counts.
func (s *Session) phaseFailurePath(ctx context.Context, b builder) error {
	detail, rejected, err := s.proveRejected(ctx, b)
	if err != nil {
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
// rejected.
func (s *Session) proveRejected(ctx context.Context, b builder) (detail, rejected string, err error) {
	const phase = "verify-failure-path"
	c := s.plan.Constraint
	label := s.plan.ConstraintLabel()
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return "", "", s.dsn.scrub(err)
	}
	defer conn.Close()
	// The proof's settings (SQLite's PRAGMA foreign_keys) are for this
	// connection only: it is discarded, not returned to the pool.
	defer conn.Raw(func(any) error { return driver.ErrBadConn })
	setup, err := s.sql.Script("proof-setup", sqlData{})
	if err != nil {
		return "", "", err
	}
	for _, st := range setup {
		if _, err := conn.ExecContext(ctx, st.SQL); err != nil {
			return "", "", &StepError{Phase: phase, SQL: st.SQL, Err: s.dsn.scrub(err)}
		}
	}
	if c.Kind() == "foreign_key" {
		if note := s.d.foreignKeyNote(); note != "" {
			s.notice(phase, "warning: %s", note)
		}
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
	if len(keys) < need {
		s.notice(phase, "warning: %s has fewer than %d rows, so there is no row to write a violating value to; the proof is skipped", s.plan.Table, need)
		return fmt.Sprintf("skipped: %s has too few rows to write to", s.plan.Table), "", nil
	}
	var tries []violatingWrite
	switch c.Kind() {
	case "not_null":
		tries = []violatingWrite{{set: []setExpr{{Column: c.NotNull, Expr: "NULL"}}}}
	case "unique":
		tries = []violatingWrite{{dupe: true}}
	case "foreign_key":
		if len(c.Violating) > 0 {
			tries = []violatingWrite{{set: s.violatingSet()}}
		} else {
			tries = b.orphanCandidates()
		}
	default:
		if len(c.Violating) > 0 {
			tries = []violatingWrite{{set: s.violatingSet()}}
		} else {
			tries = s.checkCandidates()
		}
	}
	want := map[string]failureKind{"not_null": failNotNull, "unique": failUnique, "check": failCheck, "foreign_key": failForeignKey}[c.Kind()]
	var tried []string
	for _, w := range tries {
		d := b.constraintData()
		name, vals := "violating-update", map[string]any{"key": keys[0]}
		if w.dupe {
			name, vals["other"] = "duplicate-update", keys[1]
		} else {
			d.Set = w.set
		}
		st, err := s.sql.Query(name, d)
		if err != nil {
			return "", "", err
		}
		args, err := st.Args(vals)
		if err != nil {
			return "", "", err
		}
		if _, err := s.exec(ctx, tx, "savepoint", sqlData{}, nil); err != nil {
			return "", "", &StepError{Phase: phase, SQL: "SAVEPOINT", Err: s.dsn.scrub(err)}
		}
		s.emit(Event{Event: EventStep, Phase: phase, SQL: st.SQL, Lock: "the one row written, until the transaction is rolled back"})
		_, werr := tx.ExecContext(ctx, st.SQL, args...)
		if _, err := s.exec(ctx, tx, "rollback-to-savepoint", sqlData{}, nil); err != nil {
			return "", "", &StepError{Phase: phase, SQL: "ROLLBACK TO SAVEPOINT", Err: s.dsn.scrub(err)}
		}
		tried = append(tried, oneLine(st.SQL))
		if werr == nil {
			continue // this value does not violate: try the next
		}
		f := s.d.classify(werr)
		if f.kind == want && (c.Kind() == "unique" || c.Kind() == "not_null" || f.constraint == "" || strings.EqualFold(f.constraint, c.Name)) {
			return fmt.Sprintf("a violating write was rejected by %s: %s (rolled back)", label, s.dsn.Scrub(werr.Error())), st.SQL, nil
		}
		if f.kind == failLockTimeout || errors.Is(werr, context.Canceled) {
			return "", "", &StepError{Phase: phase, SQL: st.SQL, Err: s.dsn.scrub(werr)}
		}
	}
	hint := "is the constraint in force? Rerun add-constraint's check with shepherd status"
	switch {
	case c.Kind() == "check" && len(c.Violating) == 0:
		hint = "shepherd could not guess a value that breaks the check: give one in the plan as constraint.violating: {column: value}"
	case c.Kind() == "foreign_key" && len(c.Violating) == 0:
		hint = fmt.Sprintf("shepherd could not find a value of %s that no row of %s has: give one in the plan as constraint.violating: {%s: value}",
			strings.Join(c.ForeignKey, ", "), c.References.Table, c.ForeignKey[0])
	}
	return "", "", &VerifyError{Phase: phase, What: fmt.Sprintf("no violating write was rejected by %s; tried: %s", label, strings.Join(tried, "; ")), Hint: hint}
}

// violatingSet is the plan's constraint.violating values on this dialect.
func (s *Session) violatingSet() []setExpr {
	var set []setExpr
	for _, a := range s.plan.Constraint.Violating {
		e, _ := a.Expr.For(s.d.name())
		set = append(set, setExpr{Column: a.Column, Expr: e})
	}
	return set
}

// orphanCandidates are writes that break a foreign key: every referencing
// column set to a value that no row of the referenced table has in the
// referenced column (one past the greatest there), which no parent row can
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

// keyClass says how shepherd can derive a value absent from a key column:
// int (one past the greatest) or text (the greatest with a character
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
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, rows.Err()
}

// checkCandidates guesses writes that break a CHECK: for each column the
// check names, values that commonly fall outside a range or a list. Each is
// tried inside a savepoint; the first the database rejects is the proof.
func (s *Session) checkCandidates() []violatingWrite {
	check, _ := s.plan.Constraint.Check.For(s.d.name())
	var out []violatingWrite
	seen := map[string]bool{}
	for _, t := range lexSQL(check) {
		if t.kind != 'w' && t.kind != 'q' {
			continue
		}
		col, ok := s.table.Column(t.name())
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
