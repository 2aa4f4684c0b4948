package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/shepherd-db/shepherd/phases"
)

// add-constraint: tighten-constraint's DDL, its check in the catalog and its
// rollback (verify-failure-path, the proof, is proof.go).

func (s *Session) phaseAddConstraint(ctx context.Context, b builder, prev phases.Status) error {
	c := s.plan.Tighten.Constraint
	// A constraint of the plan's name already there (an earlier attempt's,
	// or one added by hand) is taken as done by the DDL's applied probe,
	// and dropped again when rows violate the plan's: only if it is the
	// plan's.
	if err := s.requirePlansDefinition(ctx, addConstraintPhase); err != nil {
		return err
	}
	cleaned, err := s.recleanSlipped(ctx, b, prev)
	if err != nil {
		return err
	}
	switch c.Kind() {
	case phases.NotNullConstraint:
		if err := s.requireNoViolations(ctx, b); err != nil {
			return err
		}
	case phases.ForeignKeyConstraint:
		if note := foreignKeyNote(s.d); note != "" {
			s.warn(addConstraintPhase, "%s", note)
		}
		if err := s.requireNoViolations(ctx, b); err != nil {
			return err
		}
	}
	script, err := b.addConstraint()
	if err != nil {
		return err
	}
	verify := s.verifyConstraint(true)
	if c.Kind() == phases.ForeignKeyConstraint && uncheckedForeignKey(s.d) {
		verify = s.verifyNoOrphans(b, verify)
	}
	if cleaned != "" {
		then := verify
		verify = func(ctx context.Context, q querier) (string, error) {
			detail, err := then(ctx, q)
			return detail + "; " + cleaned, err
		}
	}
	err = s.runScript(ctx, addConstraintPhase, script, s.finishIn(addConstraintPhase, verify))
	var oe *orphansError
	if errors.As(err, &oe) {
		if derr := s.dropHalfAdded(ctx, b); derr != nil {
			return fmt.Errorf("%w; and dropping it again failed: %v", oe.VerifyError, derr)
		}
		return oe.VerifyError
	}
	if err != nil {
		return s.violationsAt(ctx, b, err)
	}
	return nil
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
			c := s.plan.Tighten.Constraint
			return "", &orphansError{&VerifyError{Phase: addConstraintPhase,
				What: fmt.Sprintf("%s was added without checking the rows already there, and %s has rows without a parent in %s, written between clean and the constraint; %s is dropped again",
					c.Name, s.plan.Table, c.References.Table, c.Name),
				Count: n, Sample: sample, Hint: s.slippedHint()}}
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
	return s.runScript(ctx, addConstraintPhase, script, func(context.Context, querier) error { return nil })
}

// verifyConstraint checks that the plan's constraint is (or, after a
// rollback, is not) in force, from the live catalog.
func (s *Session) verifyConstraint(want bool) func(context.Context, querier) (string, error) {
	return func(ctx context.Context, q querier) (string, error) {
		c := s.plan.Tighten.Constraint
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
			return "", &VerifyError{Phase: addConstraintPhase, What: fmt.Sprintf("%s should be %s on %s", label, state, s.plan.Table)}
		}
		if !want {
			return label + " dropped", nil
		}
		if c.Kind() == phases.CheckConstraint || c.Kind() == phases.ForeignKeyConstraint {
			if t, _ := s.d.introspect(ctx, q, s.sql, s.plan.Schema, s.plan.Table); t != nil {
				if con, ok := t.Constraint(c.Name); ok && !con.Validated {
					return "", &VerifyError{Phase: addConstraintPhase, What: label + " exists but is not validated"}
				}
			}
		}
		return label + " is in force", nil
	}
}

// catalogKinds maps a plan's constraint kind to introspection's.
var catalogKinds = map[phases.ConstraintKind]CatalogKind{phases.CheckConstraint: CatalogCheck, phases.UniqueConstraint: CatalogUnique, phases.ForeignKeyConstraint: CatalogForeignKey}

func (s *Session) constraintPresent(ctx context.Context, q querier) (bool, error) {
	c := s.plan.Tighten.Constraint
	if c.Kind() == phases.NotNullConstraint {
		return s.columnIs(ctx, q, c.NotNull, "column-not-null")
	}
	t, err := s.d.introspect(ctx, q, s.sql, s.plan.Schema, s.plan.Table)
	if err != nil {
		return false, fmt.Errorf("read the constraints of %s: %w", s.plan.Table, s.dsn.scrub(err))
	}
	if con, ok := t.Constraint(c.Name); ok {
		return con.Kind == catalogKinds[c.Kind()] && !t.partitionedIndexInvalid(c.Name), nil
	}
	if ix, ok := t.Index(c.Name); ok && c.Kind() == phases.UniqueConstraint {
		return ix.Unique && ix.Valid, nil
	}
	return false, nil
}

// revertConstraint drops the constraint add-constraint added.
func (s *Session) revertConstraint(ctx context.Context, b builder) error {
	c := s.plan.Tighten.Constraint
	if c.Kind() == phases.NotNullConstraint {
		return s.revertNotNull(ctx, b, addConstraintPhase, c.NotNull)
	}
	present, err := s.constraintPresent(ctx, s.db)
	if err != nil {
		return err
	}
	// A failed concurrent build (PostgreSQL) leaves an index that is not
	// the constraint, but is the plan's to drop.
	if !present && c.Kind() == phases.UniqueConstraint && s.table != nil {
		_, present = s.table.Index(c.Name)
		present = present || s.table.partitionIndexLeft(c.Name)
	}
	if !present {
		return s.moveNow(ctx, addConstraintPhase, phases.Revert, s.plan.ConstraintLabel()+" was not there: nothing to drop")
	}
	script, err := b.dropConstraint()
	if err != nil {
		return err
	}
	return s.runScript(ctx, addConstraintPhase, script, func(ctx context.Context, q querier) error {
		detail, err := s.verifyConstraint(false)(ctx, q)
		if err != nil {
			return err
		}
		return s.move(ctx, q, addConstraintPhase, phases.Revert, detail)
	})
}
