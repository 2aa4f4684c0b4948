package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/shepherd-db/shepherd/phases"
)

// Rows that break the plan's constraint at add-constraint: written after
// clean, by an application that still writes them (validate-in-app is not
// deployed everywhere yet). add-constraint says how many and which, never
// the database's message (MySQL's quotes the duplicate value), drops what
// its attempt left, and a rerun cleans them again before it adds the
// constraint, so that no failure is a dead end.

// recleanSlipped is the start of a rerun of add-constraint (prev is
// failed): with clean: in the plan, the clean job walks the table again
// and fixes the rows that violate the constraint now. It returns what the
// phase's detail says of it ("" when it did not run).
func (s *Session) recleanSlipped(ctx context.Context, b builder, prev phases.Status) (string, error) {
	const id = addConstraintPhase
	if prev != phases.Failed || len(s.plan.Tighten.Clean) == 0 {
		return "", nil
	}
	// One count first: a failure that was not the rows' (a lock the
	// operator had not allowed, a lost connection) leaves none to clean,
	// and the walk would cost a pass over the table in batches.
	n, _, err := s.countWhere(ctx, s.db, b.cond("violates"), nil)
	if err != nil {
		return "", fmt.Errorf("add-constraint: count the rows of %s that violate %s: %w", s.plan.Table, s.plan.ConstraintLabel(), err)
	}
	if n == 0 && s.st(id).Checkpoint == nil {
		return "clean ran again first: no row written after clean violated it", nil
	}
	// Resumed where an interrupted walk stopped, else from the start.
	if err := s.startPass(ctx, id, prev, true); err != nil {
		return "", err
	}
	changed, err := s.runBatches(ctx, b.cleanJob(id))
	if err != nil {
		return "", err
	}
	// The walk is over: a later rerun walks the whole table again.
	if st := s.st(id); st.Checkpoint != nil || st.RowsDone != 0 || st.RowsChanged != 0 {
		st.resetWalk()
		if err := s.save(ctx, s.db, st); err != nil {
			return "", err
		}
	}
	if changed == 0 {
		return "clean ran again first: no row written after clean violated it", nil
	}
	s.notice(id, "%d rows written after clean violated %s: cleaned again with the plan's clean:", changed, s.plan.ConstraintLabel())
	return fmt.Sprintf("%d rows written after clean were cleaned again first", changed), nil
}

// slippedHint says what to do about rows that violate the constraint at
// add-constraint.
func (s *Session) slippedHint() string {
	c := s.plan.Tighten.Constraint
	why := "they were written after clean (is validate-in-app deployed everywhere?)"
	if len(s.plan.Tighten.Clean) > 0 {
		hint := why + "; rerun: add-constraint cleans them again with the plan's clean: first, then adds " + s.constraintName()
		if c.Kind() == phases.ForeignKeyConstraint {
			hint += fmt.Sprintf(" (or give them a parent or set their %s to NULL yourself)", strings.Join(c.ForeignKey, ", "))
		}
		return hint
	}
	fix := "fix them"
	if c.Kind() == phases.ForeignKeyConstraint {
		fix = fmt.Sprintf("fix them (give them a parent or set their %s to NULL)", strings.Join(c.ForeignKey, ", "))
	}
	return fmt.Sprintf("%s; %s, then rerun: add-constraint adds %s once no row violates it (the plan has no clean:, which can change only until clean is done)", why, fix, s.constraintName())
}

// constraintName is the plan's constraint by its name, or, for NOT NULL,
// its label.
func (s *Session) constraintName() string {
	if n := s.plan.Tighten.Constraint.Name; n != "" {
		return n
	}
	return s.plan.ConstraintLabel()
}

// violationWhat says what add-constraint expected of the rows.
func (s *Session) violationWhat() string {
	c := s.plan.Tighten.Constraint
	switch c.Kind() {
	case phases.ForeignKeyConstraint:
		return fmt.Sprintf("every row of %s should have its parent in %s before %s is added", s.plan.Table, c.References.Table, c.Name)
	case phases.NotNullConstraint:
		return fmt.Sprintf("%s.%s still has NULLs, so NOT NULL cannot be added", s.plan.Table, c.NotNull)
	}
	return fmt.Sprintf("no row of %s should violate %s before it is added", s.plan.Table, s.plan.ConstraintLabel())
}

// requireNoViolations refuses to add the constraint while rows violate
// it: the count and the keys, before any DDL (NOT NULL and foreign keys,
// whose DDL shepherd cannot count from: MySQL adds a foreign key without
// checking the rows). What an earlier attempt left is dropped again.
func (s *Session) requireNoViolations(ctx context.Context, b builder) error {
	n, sample, err := s.countWhere(ctx, s.db, b.cond("violates"), nil)
	if err != nil {
		return fmt.Errorf("add-constraint: count the rows of %s that violate %s: %w", s.plan.Table, s.plan.ConstraintLabel(), err)
	}
	if n == 0 {
		return nil
	}
	return s.violationFailure(ctx, b, "the constraint an earlier run added is dropped again",
		&VerifyError{Phase: addConstraintPhase, What: s.violationWhat(), Count: n, Sample: sample, Hint: s.slippedHint()})
}

// violationsAt turns a failure of add-constraint's DDL into what rows
// break the constraint, when that is why the database refused it (a CHECK
// that does not validate, a duplicate under a new UNIQUE): the count and
// the keys, from shepherd's own count. Any other failure is err.
func (s *Session) violationsAt(ctx context.Context, b builder, err error) error {
	switch s.d.classify(err).kind {
	case failCheck, failUnique, failNotNull, failForeignKey:
	default:
		return err
	}
	n, sample, cerr := s.countWhere(ctx, s.db, b.cond("violates"), nil)
	if cerr != nil || n == 0 {
		return err
	}
	return s.violationFailure(ctx, b, "what this attempt left of "+s.constraintName()+" is dropped again", &VerifyError{Phase: addConstraintPhase,
		What:  fmt.Sprintf("the database refused to add %s: rows of %s violate it", s.plan.ConstraintLabel(), s.plan.Table),
		Count: n, Sample: sample, Hint: s.slippedHint()})
}

// violationFailure is ve, once what an attempt left of the constraint is
// dropped again (dropped says so) (PostgreSQL: the NOT VALID CHECK or foreign key whose
// VALIDATE failed, the INVALID index of a failed concurrent build; MySQL:
// a foreign key added without checking the rows), so that nothing half
// added stays in force while the rows are fixed.
func (s *Session) violationFailure(ctx context.Context, b builder, dropped string, ve *VerifyError) error {
	left, err := s.constraintLeft(ctx)
	if err != nil || !left {
		return ve
	}
	if derr := s.dropHalfAdded(ctx, b); derr != nil {
		return fmt.Errorf("%w; and dropping what the attempt left of %s failed: %v", ve, s.constraintName(), derr)
	}
	ve.What += " (" + dropped + ")"
	return ve
}

// constraintLeft says whether the plan's constraint, or an index of its
// name, is on the table, valid or not. NOT NULL is left as it is: its
// leftover check (PostgreSQL) is taken up by the rerun and rollback.
func (s *Session) constraintLeft(ctx context.Context) (bool, error) {
	c := s.plan.Tighten.Constraint
	if c.Kind() == phases.NotNullConstraint {
		return false, nil
	}
	t, err := s.d.introspect(ctx, s.db, s.sql, s.plan.Schema, s.plan.Table)
	if err != nil {
		return false, err
	}
	if _, ok := t.Constraint(c.Name); ok {
		return true, nil
	}
	// The index of a failed concurrent build (UNIQUE, PostgreSQL), or
	// the one MySQL built for a foreign key.
	_, ok := t.Index(c.Name)
	return ok, nil
}
