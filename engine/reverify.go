package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/shepherd-db/shepherd/phases"
)

// Reverify runs a done phase's verification again on the live data, and
// changes nothing: no state row, no log entry, no DDL. It returns what it
// found, or a *VerifyError (with counts and sample keys where rows are at
// fault) when the phase's result no longer holds, for example when code
// that does not write the new column ran after the backfill. Only
// verify-failure-path writes, as the phase itself does: one violating write
// inside a transaction that is always rolled back.
func (s *Session) Reverify(ctx context.Context, id string) (string, error) {
	ph, ok := s.pb.Phase(id)
	if !ok {
		return "", &UsageError{Msg: fmt.Sprintf("%s has no phase %q (phases: %v)", s.plan.Playbook, id, s.pb.IDs())}
	}
	if st := s.st(id).Status; st != phases.Done {
		return "", &UsageError{Msg: fmt.Sprintf("%s is %s: only a done phase can be verified again", id, st)}
	}
	if err := s.refreshTable(ctx); err != nil {
		return "", err
	}
	if reverify := s.ops(id).reverify; reverify != nil {
		return reverify(ctx, s, s.builder())
	}
	if ph.Gate {
		return "a deploy the database cannot see: nothing to check again", nil
	}
	return "", fmt.Errorf("%s: no verification for phase %s", s.plan.Playbook, id)
}

// reverifyNewColumn checks that the column the plan added is there.
func (s *Session) reverifyNewColumn(ctx context.Context, b builder, id string) (string, error) {
	p := s.plan
	col, _, err := b.newColumn()
	if err != nil {
		return "", err
	}
	if err := s.mustColumn(ctx, s.db, id, col, "column-exists", true, "should exist, and does not"); err != nil {
		return "", err
	}
	if nullable, err := s.columnIs(ctx, s.db, col, "column-nullable"); err != nil {
		return "", err
	} else if nullable {
		return fmt.Sprintf("%s.%s exists and is nullable", p.Table, col), nil
	}
	return fmt.Sprintf("%s.%s exists (NOT NULL since a later phase)", p.Table, col), nil
}

// reverifyFilled checks that no row the backfill walked lost its value.
func (s *Session) reverifyFilled(ctx context.Context, b builder, id string) (string, error) {
	p := s.plan
	cp := s.st(id).Checkpoint
	if cp == nil {
		return "the table was empty when the backfill ran: nothing to check", nil
	}
	d := b.cond("unfilled")
	d.Bounded = true
	n, sample, err := s.countWhere(ctx, s.db, d, map[string]any{"hi": s.walkArg(*cp)})
	if err != nil {
		return "", fmt.Errorf("%s: verify: %w", id, err)
	}
	if n > 0 {
		return "", &VerifyError{Phase: id, What: fmt.Sprintf("rows should have %s filled", p.AddColumn.Column), UpTo: s.walkAt(*cp),
			Count: n, Sample: sample, Hint: "they lost their value since the backfill; roll back to the backfill and run it again"}
	}
	return fmt.Sprintf("no row the backfill walked is left without %s", p.AddColumn.Column), nil
}

// reverifyNoNulls checks that no row is NULL in the new column once every
// writer fills it.
func (s *Session) reverifyNoNulls(ctx context.Context, b builder, id string) (string, error) {
	p := s.plan
	if !p.AddColumn.NotNull {
		return "not_null is false: NULLs may remain in " + p.AddColumn.Column, nil
	}
	n, sample, err := s.countWhere(ctx, s.db, b.cond("null"), nil)
	if err != nil {
		return "", fmt.Errorf("%s: verify: %w", id, err)
	}
	if n > 0 {
		return "", &VerifyError{Phase: id, What: fmt.Sprintf("%s should have no NULLs once writes are switched", p.AddColumn.Column),
			Count: n, Sample: sample, Hint: "code that does not write " + p.AddColumn.Column + " is running somewhere"}
	}
	return "no row is NULL in " + p.AddColumn.Column, nil
}

// reverifyViolations says how many rows violate the constraint now; it
// finds nothing wrong: the application's validation is a deploy.
func (s *Session) reverifyViolations(ctx context.Context, b builder, id string) (string, error) {
	p := s.plan
	n, sample, err := s.countWhere(ctx, s.db, b.cond("violates"), nil)
	if err != nil {
		return "", fmt.Errorf("%s: count violating rows: %w", id, err)
	}
	if n == 0 {
		return "no row violates " + p.ConstraintLabel(), nil
	}
	return fmt.Sprintf("%s %s now (keys %s)", rowsViolate(n), p.ConstraintLabel(), strings.Join(sample, ", ")), nil
}

// reverifyCleaned checks that no row violates the constraint.
func (s *Session) reverifyCleaned(ctx context.Context, b builder, id string) (string, error) {
	p := s.plan
	n, sample, err := s.countWhere(ctx, s.db, b.cond("violates"), nil)
	if err != nil {
		return "", fmt.Errorf("%s: count violating rows: %w", id, err)
	}
	if n > 0 {
		return "", &VerifyError{Phase: id, What: "no row should violate " + p.ConstraintLabel(), Count: n, Sample: sample,
			Hint: "new violating rows arrived since clean (is validate-in-app deployed everywhere?)"}
	}
	return "no row violates " + p.ConstraintLabel(), nil
}

// verifyDropped checks rename-column's end state: the old column gone, the
// new one present.
func (s *Session) verifyDropped(ctx context.Context, phase string) (string, error) {
	p := s.plan
	if err := s.mustColumn(ctx, s.db, phase, p.RenameColumn.Column, "column-exists", false, "should be gone"); err != nil {
		return "", err
	}
	if err := s.mustColumn(ctx, s.db, phase, p.RenameColumn.To, "column-exists", true, "should hold the data"); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s.%s is gone; %s.%s holds the data", p.Table, p.RenameColumn.Column, p.Table, p.RenameColumn.To), nil
}

// rowsViolate is "1 row violates", "3 rows violate".
func rowsViolate(n int64) string {
	if n == 1 {
		return "1 row violates"
	}
	return fmt.Sprintf("%d rows violate", n)
}
