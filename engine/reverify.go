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
	b := s.builder()
	p := s.plan
	done := func(id string) bool { return s.st(id).Status == phases.Done }
	switch {
	case id == "add-column":
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
	case p.Playbook == phases.RenameColumn && (id == "backfill" || id == "switch-reads") && done("drop-old-column"):
		return s.verifyDropped(ctx, id)
	case id == "backfill" && p.Playbook == phases.AddColumn:
		cp := s.st(id).Checkpoint
		if cp == nil {
			return "the table was empty when the backfill ran: nothing to check", nil
		}
		d := b.cond("unfilled")
		d.Bounded = true
		n, sample, err := s.countWhere(ctx, s.db, d, map[string]any{"hi": s.keyArg(*cp)})
		if err != nil {
			return "", fmt.Errorf("backfill: verify: %w", err)
		}
		if n > 0 {
			return "", &VerifyError{Phase: id, What: fmt.Sprintf("rows should have %s filled", p.Column), UpTo: s.key + " " + *cp,
				Count: n, Sample: sample, Hint: "they lost their value since the backfill; roll back to the backfill and run it again"}
		}
		return fmt.Sprintf("no row the backfill walked is left without %s", p.Column), nil
	case id == "backfill":
		bound := ""
		if cp := s.st(id).Checkpoint; cp != nil {
			bound = *cp
		}
		return s.verifyNoDiff(b, id, bound)(ctx, s.db)
	case id == "switch-writes":
		if !p.NotNull {
			return "not_null is false: NULLs may remain in " + p.Column, nil
		}
		n, sample, err := s.countWhere(ctx, s.db, b.cond("null"), nil)
		if err != nil {
			return "", fmt.Errorf("switch-writes: verify: %w", err)
		}
		if n > 0 {
			return "", &VerifyError{Phase: id, What: fmt.Sprintf("%s should have no NULLs once writes are switched", p.Column),
				Count: n, Sample: sample, Hint: "code that does not write " + p.Column + " is running somewhere"}
		}
		return "no row is NULL in " + p.Column, nil
	case id == "switch-reads":
		return s.verifyNoDiff(b, id, "")(ctx, s.db)
	case id == "enforce":
		if !p.NotNull {
			return "not_null is false in the plan: nothing was enforced", nil
		}
		return s.verifyNotNull(id, p.Column)(ctx, s.db)
	case id == "drop-old-column":
		return s.verifyDropped(ctx, id)
	case id == "validate-in-app":
		n, sample, err := s.countWhere(ctx, s.db, b.cond("violates"), nil)
		if err != nil {
			return "", fmt.Errorf("validate-in-app: count violating rows: %w", err)
		}
		if n == 0 {
			return "no row violates " + p.ConstraintLabel(), nil
		}
		return fmt.Sprintf("%d rows violate %s now (keys %s)", n, p.ConstraintLabel(), strings.Join(sample, ", ")), nil
	case id == "clean":
		n, sample, err := s.countWhere(ctx, s.db, b.cond("violates"), nil)
		if err != nil {
			return "", fmt.Errorf("clean: count violating rows: %w", err)
		}
		if n > 0 {
			return "", &VerifyError{Phase: id, What: "no row should violate " + p.ConstraintLabel(), Count: n, Sample: sample,
				Hint: "new violating rows arrived since clean (is validate-in-app deployed everywhere?)"}
		}
		return "no row violates " + p.ConstraintLabel(), nil
	case id == "add-constraint":
		return s.verifyConstraint(true)(ctx, s.db)
	case id == "verify-failure-path":
		detail, _, err := s.proveRejected(ctx, b)
		return detail, err
	case ph.Gate:
		return "a deploy the database cannot see: nothing to check again", nil
	}
	return "", fmt.Errorf("%s: no verification for phase %s", p.Playbook, id)
}

// verifyDropped checks rename-column's end state: the old column gone, the
// new one present.
func (s *Session) verifyDropped(ctx context.Context, phase string) (string, error) {
	p := s.plan
	if err := s.mustColumn(ctx, s.db, phase, p.Column, "column-exists", false, "should be gone"); err != nil {
		return "", err
	}
	if err := s.mustColumn(ctx, s.db, phase, p.To, "column-exists", true, "should hold the data"); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s.%s is gone; %s.%s holds the data", p.Table, p.Column, p.Table, p.To), nil
}
