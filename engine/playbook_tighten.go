package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/shepherd-db/shepherd/phases"
)

// tightenUnit is the engine's tighten-constraint playbook: validate in the
// application, clean the rows, add the constraint, and prove on the real
// database that it rejects a violating write.
type tightenUnit struct{}

// The phases that tighten's own building blocks (phase_constraint.go,
// constraint_slipped.go, proof*.go) work for, and name in their errors and
// notices.
const (
	addConstraintPhase = "add-constraint"
	failurePathPhase   = "verify-failure-path"
)

// checkExpressions: the CHECK's condition, constraint.violating's values
// and clean: set:'s, each one value of its column's type.
func (tightenUnit) checkExpressions(ec *exprCheck) ([]string, error) {
	p, t, dialect := ec.s.plan, ec.t, ec.dialect
	c := p.Tighten.Constraint
	if v, ok := c.Check.For(dialect); ok {
		ec.condition("constraint.check", v)
	} else if c.Kind() == phases.CheckConstraint {
		return []string{fmt.Sprintf("constraint.check: no condition given for %s (given for: %s)", dialect, strings.Join(keysOf(c.Check.By), ", "))}, nil
	}
	for _, a := range c.Violating {
		if v, ok := a.Expr.For(dialect); ok {
			col, _ := t.Column(a.Column)
			if err := ec.value("constraint.violating."+a.Column, v, valueTarget{What: t.Name + "." + a.Column, Type: col.Type}); err != nil {
				return nil, err
			}
		}
	}
	for _, a := range p.Tighten.Clean {
		v, ok := a.Expr.For(dialect)
		if !ok {
			return []string{fmt.Sprintf("clean.set.%s: no expression given for %s", a.Column, dialect)}, nil
		}
		col, _ := t.Column(a.Column)
		if err := ec.value("clean.set."+a.Column, v, valueTarget{What: t.Name + "." + a.Column, Type: col.Type}); err != nil {
			return nil, err
		}
	}
	return ec.problems, nil
}

func (tightenUnit) phase(id string) phaseOps {
	switch id {
	case "validate-in-app":
		return phaseOps{
			run: func(ctx context.Context, s *Session, b builder, _ phases.Status) error {
				return s.finishNow(ctx, id, s.countViolations(b, id))
			},
			preview: func(pr *previewer) { pr.count("violates", false) },
			reverify: func(ctx context.Context, s *Session, b builder) (string, error) {
				return s.reverifyViolations(ctx, b, id)
			},
		}
	case "clean":
		return phaseOps{
			run: func(ctx context.Context, s *Session, b builder, prev phases.Status) error {
				return s.phaseClean(ctx, b, id, prev)
			},
			preview: func(pr *previewer) {
				if len(pr.p.Tighten.Clean) > 0 {
					pr.steps(pr.b.batchPreview(pr.b.cleanJob(id)))
				} else {
					pr.note("the plan has no clean: section: the phase only checks that no row violates")
				}
				pr.count("violates", false)
			},
			reverify: func(ctx context.Context, s *Session, b builder) (string, error) {
				return s.reverifyCleaned(ctx, b, id)
			},
			keptData: func(*phases.Plan) string {
				return "cleaned rows stay cleaned (shepherd keeps no row values to restore)"
			},
		}
	case addConstraintPhase:
		return phaseOps{
			run: func(ctx context.Context, s *Session, b builder, prev phases.Status) error {
				return s.phaseAddConstraint(ctx, b, prev)
			},
			preview: func(pr *previewer) {
				pr.steps(pr.b.addConstraint())
				pr.revert(builder.dropConstraint)
				if pr.p.Tighten.Constraint.Kind() == phases.ForeignKeyConstraint {
					pr.count("violates", false)
					if uncheckedForeignKey(pr.b.d) {
						pr.note("before the ALTER, and again right after it, shepherd counts the rows without a parent (the check above); if the second count finds any (written between clean and the ALTER), the constraint is dropped again and the phase fails with their keys")
					} else {
						pr.note("before the DDL, shepherd counts the rows without a parent (the check above) and stops with their keys if there are any")
					}
					if note := foreignKeyNote(pr.b.d); note != "" {
						pr.note(note)
					}
				}
			},
			reverify: func(ctx context.Context, s *Session, _ builder) (string, error) {
				return s.verifyConstraint(true)(ctx, s.db)
			},
			revert: func(ctx context.Context, s *Session, b builder) error {
				return s.revertConstraint(ctx, b)
			},
			leftBehind: func(ctx context.Context, s *Session) bool {
				return s.constraintLeftBehind(ctx)
			},
			exportGuard: func(b builder, _ *PhasePreview) (sqlData, error) {
				return b.constraintGuard(), nil
			},
		}
	case failurePathPhase:
		return phaseOps{
			run: func(ctx context.Context, s *Session, b builder, _ phases.Status) error {
				return s.phaseFailurePath(ctx, b)
			},
			preview: func(pr *previewer) {
				p := pr.p
				pr.steps(pr.b.failurePreview())
				pr.note("where " + p.Table + " has no row to write to (fewer than two for UNIQUE), it inserts one instead (two for UNIQUE) in the same rolled-back transaction: the columns an insert must give get a value of their type, or constraint.violating's; without one the phase fails and says which to give")
				if p.Tighten.Constraint.Kind() == phases.ForeignKeyConstraint {
					if note := foreignKeyNote(pr.b.d); note != "" {
						pr.note(note)
					}
				}
			},
			reverify: func(ctx context.Context, s *Session, b builder) (string, error) {
				detail, _, err := s.proveRejected(ctx, b)
				return detail, err
			},
			keptData: func(*phases.Plan) string {
				return "it changed no row (its violating write was rolled back when it ran)"
			},
		}
	}
	return phaseOps{}
}

func (tightenUnit) checkTable(ctx context.Context, s *Session, t *Table, ran, _ func(string) bool, problems *[]string) {
	p := s.plan
	cols := columnList(t)
	c := p.Tighten.Constraint
	for _, col := range c.Columns() {
		if !t.has(col) {
			addProblem(problems, "constraint: %s has no column %q (columns: %s)", t.Name, col, cols)
		}
	}
	for _, a := range p.Tighten.Clean {
		if !t.has(a.Column) {
			addProblem(problems, "clean.set: %s has no column %q (columns: %s)", t.Name, a.Column, cols)
		}
	}
	for _, a := range c.Violating {
		if !t.has(a.Column) {
			addProblem(problems, "constraint.violating: %s has no column %q (columns: %s)", t.Name, a.Column, cols)
		}
	}
	if c.Kind() == phases.NotNullConstraint && !ran(addConstraintPhase) {
		if col, ok := t.Column(c.NotNull); ok && col.NotNull {
			addProblem(problems, "constraint: %s.%s is already NOT NULL; there is nothing to tighten", t.Name, c.NotNull)
		}
	}
	if c.Kind() == phases.ForeignKeyConstraint {
		*problems = append(*problems, s.checkForeignKey(ctx, t)...)
	}
	// A UNIQUE on a partitioned table (PostgreSQL) that the database would
	// refuse, or shepherd cannot build, is refused before anything changes.
	checkPartitionedUnique(t, c, ran(addConstraintPhase), problems)
	if c.Name != "" && !ran(addConstraintPhase) {
		if _, ok := t.Constraint(c.Name); ok {
			addProblem(problems, "constraint.name: %s already has a constraint %q (constraints: %s)", t.Name, c.Name, constraintNames(t))
		} else if ix, ok := t.Index(c.Name); ok && ix.Valid {
			addProblem(problems, "constraint.name: %s already has an index %q; choose another name", t.Name, c.Name)
		} else if ok {
			if problem := s.invalidIndex(ctx, t, ix); problem != "" {
				addProblem(problems, "%s", problem)
			}
		} else {
			*problems = append(*problems, s.nameClashes(ctx, t)...)
		}
	}
}

func (tightenUnit) dialectProblems(*phases.Plan, string) []string { return nil }

func (tightenUnit) newColumn(b builder) (string, string, error) { return noNewColumn(b) }

func (tightenUnit) batchUpdates(p *phases.Plan, todo func(string) bool) []batchUpdate {
	var sets []string
	for _, a := range p.Tighten.Clean {
		sets = append(sets, a.Column)
	}
	switch {
	case len(sets) == 0:
	case todo("clean"):
		return []batchUpdate{{"clean", sets}}
	case todo(addConstraintPhase):
		return []batchUpdate{{"the clean that a rerun of add-constraint makes again", sets}}
	}
	return nil
}
