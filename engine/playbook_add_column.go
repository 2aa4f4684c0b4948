package engine

import (
	"context"
	"fmt"

	"github.com/shepherd-db/shepherd/phases"
	"github.com/shepherd-db/shepherd/templates"
)

// addColumnUnit is the engine's add-column playbook: add the column
// nullable, deploy readers, backfill, switch writes (with a catch-up), and
// enforce NOT NULL.
type addColumnUnit struct{}

// checkExpressions: the backfill expression, one value of the new
// column's type.
func (addColumnUnit) checkExpressions(c *exprCheck) ([]string, error) {
	p := c.s.plan
	typ, _ := p.AddColumn.Type.For(c.dialect)
	expr, _ := p.AddColumn.Backfill.For(c.dialect)
	c.warnType(typ)
	if err := c.value("backfill", expr, valueTarget{What: "the new column " + p.AddColumn.Column, Type: typ, TypeField: "type"}); err != nil {
		return nil, err
	}
	return c.problems, nil
}

func (addColumnUnit) phase(id string) phaseOps {
	switch id {
	case "add-column":
		ops := newColumnOps(id, dropLoss{
			// Values the backfill expression would not give again: the
			// application wrote them.
			cond: "unreproduced",
			what: func(p *phases.Plan, one int) string {
				return fmt.Sprintf("%s %s that the plan's backfill expression would not give %s", article(p.AddColumn.Column), p.AddColumn.Column, phases.Plural(one, "it", "them"))
			},
			why: func(p *phases.Plan, one int) string {
				them := phases.Plural(one, "it", "them")
				return fmt.Sprintf("code that writes %s wrote %s, and nothing can give %s back once %s.%s is dropped. Keep %s elsewhere first if %s matter%s, then roll back again",
					p.AddColumn.Column, them, them, p.Table, p.AddColumn.Column, them, phases.Plural(one, "it", "they"), phases.Plural(one, "s", ""))
			},
		})
		// A copy the backfill left (shadow.go) goes first: its triggers
		// name the column, and would fail every write once it is gone.
		drop := ops.revert
		ops.revert = func(ctx context.Context, s *Session, b builder) error {
			if err := s.dropShadow(ctx, id); err != nil {
				return err
			}
			return drop(ctx, s, b)
		}
		return ops
	case "backfill":
		return phaseOps{
			run: func(ctx context.Context, s *Session, b builder, prev phases.Status) error {
				return s.phaseBackfill(ctx, b, id, prev)
			},
			preview: func(pr *previewer) {
				switch c := pr.b.shadow; {
				case c.copy:
					pr.steps(pr.b.shadowPreview(id))
					pr.note("on MariaDB the backfill copies the table, which costs a fraction of a fill in place: the copy is made with the new column, triggers keep it in step with the application's writes, the rows are copied in batches with the column filled, both tables' rows are counted in one read view, and a RENAME puts the copy in the table's place. It needs the disk space of a second copy of " + pr.p.Table + "; --in-place fills the column in place instead")
				case c.inPlace != "":
					pr.steps(pr.b.batchPreview(pr.b.fillJob(id)))
					pr.note("fills " + pr.p.Table + " in place, not by a copy of the table: " + c.inPlace)
				default:
					pr.steps(pr.b.batchPreview(pr.b.fillJob(id)))
				}
				pr.count("unfilled", true)
			},
			reverify: func(ctx context.Context, s *Session, b builder) (string, error) {
				return s.reverifyFilled(ctx, b, id)
			},
			discard: func(ctx context.Context, s *Session, id string) error {
				return s.dropShadow(ctx, id)
			},
			keptData: func(p *phases.Plan) string {
				return fmt.Sprintf("the values written to %s stay (a rerun fills the rows still NULL)", p.AddColumn.Column)
			},
		}
	case "switch-writes":
		return phaseOps{
			run: func(ctx context.Context, s *Session, b builder, prev phases.Status) error {
				return s.phaseCatchUp(ctx, b, id, prev)
			},
			preview: func(pr *previewer) {
				pr.steps(pr.b.batchPreview(pr.b.catchUpJob(id)))
				pr.note("after the confirmation, a catch-up pass fills rows that old code wrote after the backfill")
				if pr.p.AddColumn.NotNull {
					pr.count("null", false)
				}
			},
			reverify: func(ctx context.Context, s *Session, b builder) (string, error) {
				return s.reverifyNoNulls(ctx, b, id)
			},
		}
	case "enforce":
		return phaseOps{
			run: func(ctx context.Context, s *Session, b builder, _ phases.Status) error {
				return s.phaseEnforce(ctx, b, id)
			},
			preview: func(pr *previewer) {
				p := pr.p
				if !p.AddColumn.NotNull {
					pr.note("not_null is false: nothing runs")
					return
				}
				pr.count("null", false)
				pr.steps(pr.b.setNotNull(p.AddColumn.Column, true))
				pr.revert(func(b builder) (templates.Script, error) { return b.setNotNull(p.AddColumn.Column, false) })
				pr.column("column-not-null", p.AddColumn.Column)
			},
			reverify: func(ctx context.Context, s *Session, _ builder) (string, error) {
				if !s.plan.AddColumn.NotNull {
					return "not_null is false in the plan: nothing was enforced", nil
				}
				return s.verifyNotNull(id, s.plan.AddColumn.Column)(ctx, s.db)
			},
			revert: func(ctx context.Context, s *Session, b builder) error {
				return s.revertNotNull(ctx, b, id, s.plan.AddColumn.Column)
			},
			leftBehind: func(ctx context.Context, s *Session) bool {
				return s.notNullLeftBehind(ctx, s.plan.AddColumn.Column)
			},
			exportGuard: func(b builder, _ *PhasePreview) (sqlData, error) {
				p := b.plan
				guard := b.cond("null")
				guard.Name = fmt.Sprintf("%s.%s has NULLs: backfill it first", p.Table, p.AddColumn.Column)
				return guard, nil
			},
		}
	}
	return phaseOps{} // deploy-readers: a deploy the database cannot see
}

func (addColumnUnit) checkTable(_ context.Context, s *Session, t *Table, ran, done func(string) bool, problems *[]string) {
	p := s.plan
	cols := columnList(t)
	switch {
	case !ran("add-column") && t.has(p.AddColumn.Column):
		addProblem(problems, "column: %s already has a column %q; choose another name, or drop it first if it is left over (columns: %s)", t.Name, p.AddColumn.Column, cols)
	case done("add-column") && !t.has(p.AddColumn.Column):
		addProblem(problems, "column: %q was added by this plan but is gone from %s; it was dropped outside shepherd (columns: %s)", p.AddColumn.Column, t.Name, cols)
	}
	*problems = append(*problems, addColumnUnit{}.dialectProblems(p, s.d.name())...)
}

// dialectProblems: add-column's type: and backfill:.
func (addColumnUnit) dialectProblems(p *phases.Plan, dialect string) []string {
	var problems []string
	if _, ok := p.AddColumn.Type.For(dialect); !ok {
		problems = append(problems, missingForDialect("type", "type", dialect, p.AddColumn.Type))
	}
	if _, ok := p.AddColumn.Backfill.For(dialect); !ok {
		problems = append(problems, missingForDialect("backfill", "expression", dialect, p.AddColumn.Backfill))
	}
	return problems
}

// newColumn: the plan's column:, of the plan's type:.
func (addColumnUnit) newColumn(b builder) (string, string, error) {
	p := b.plan
	t, ok := p.AddColumn.Type.For(b.d.name())
	if !ok {
		return "", "", fmt.Errorf("type: no type given for %s", b.d.name())
	}
	return p.AddColumn.Column, t, nil
}

func (addColumnUnit) batchUpdates(p *phases.Plan, todo func(string) bool) []batchUpdate {
	var out []batchUpdate
	if todo("backfill") {
		out = append(out, batchUpdate{"the backfill", []string{p.AddColumn.Column}})
	}
	if todo("switch-writes") {
		out = append(out, batchUpdate{"switch-writes' catch-up", []string{p.AddColumn.Column}})
	}
	return out
}

// newColumnOps is the phase that adds the plan's new column, nullable:
// add-column's column:, rename-column's to:. Its undo drops the column,
// refusing while rows hold values loss says would be lost.
func newColumnOps(id string, loss dropLoss) phaseOps {
	return phaseOps{
		run: func(ctx context.Context, s *Session, b builder, _ phases.Status) error {
			return s.phaseAddColumn(ctx, b, id)
		},
		preview: func(pr *previewer) {
			col, _, err := pr.b.newColumn()
			if err != nil {
				pr.err = err
				return
			}
			pr.steps(pr.b.addColumn())
			pr.revert(func(b builder) (templates.Script, error) { return b.dropColumn(col) })
			pr.column("column-nullable", col)
		},
		reverify: func(ctx context.Context, s *Session, b builder) (string, error) {
			return s.reverifyNewColumn(ctx, b, id)
		},
		revert: func(ctx context.Context, s *Session, b builder) error {
			return s.revertAddColumn(ctx, b, id, loss)
		},
	}
}
