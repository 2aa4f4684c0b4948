package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/shepherd-db/shepherd/phases"
)

// add-constraint and verify-failure-path: tighten-constraint's DDL and its
// proof on the real database.

func (s *Session) phaseAddConstraint(ctx context.Context, b builder) error {
	c := s.plan.Constraint
	if c.Kind() == "not_null" {
		if err := s.requireNoNulls(ctx, "add-constraint", c.NotNull); err != nil {
			return err
		}
	}
	script, err := b.addConstraint()
	if err != nil {
		return err
	}
	return s.runScript(ctx, "add-constraint", script, s.finishIn("add-constraint", s.verifyConstraint(true)))
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
		if c.Kind() == "check" {
			if t, _ := s.d.introspect(ctx, q, s.sql, s.plan.Schema, s.plan.Table); t != nil {
				if con, ok := t.Constraint(c.Name); ok && !con.Validated {
					return "", &VerifyError{Phase: "add-constraint", What: label + " exists but is not validated"}
				}
			}
		}
		return label + " is in force", nil
	}
}

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
		return c.Kind() == "unique" && con.Kind == "unique" || c.Kind() == "check" && con.Kind == "check", nil
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
	default:
		if len(c.Violating) > 0 {
			var set []setExpr
			for _, a := range c.Violating {
				e, _ := a.Expr.For(s.d.name())
				set = append(set, setExpr{Column: a.Column, Expr: e})
			}
			tries = []violatingWrite{{set: set}}
		} else {
			tries = s.checkCandidates()
		}
	}
	want := map[string]failureKind{"not_null": failNotNull, "unique": failUnique, "check": failCheck}[c.Kind()]
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
		if f.kind == want && (c.Kind() != "check" || f.constraint == "" || strings.EqualFold(f.constraint, c.Name)) {
			return fmt.Sprintf("a violating write was rejected by %s: %s (rolled back)", label, s.dsn.Scrub(werr.Error())), st.SQL, nil
		}
		if f.kind == failLockTimeout || errors.Is(werr, context.Canceled) {
			return "", "", &StepError{Phase: phase, SQL: st.SQL, Err: s.dsn.scrub(werr)}
		}
	}
	hint := "is the constraint in force? Rerun add-constraint's check with shepherd status"
	if c.Kind() == "check" && len(c.Violating) == 0 {
		hint = "shepherd could not guess a value that breaks the check: give one in the plan as constraint.violating: {column: value}"
	}
	return "", "", &VerifyError{Phase: phase, What: fmt.Sprintf("no violating write was rejected by %s; tried: %s", label, strings.Join(tried, "; ")), Hint: hint}
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
