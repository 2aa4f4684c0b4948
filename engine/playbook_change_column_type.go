package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/shepherd-db/shepherd/phases"
	"github.com/shepherd-db/shepherd/templates"
)

// changeTypeUnit is the engine's change-column-type playbook: a shadow
// column of the new type kept in step by triggers, the conversion's
// backfill, the readers' deploy, the swap of the two columns' names in one
// short transaction, the deploy that stops old writes, and the old
// column's drop one release later.
type changeTypeUnit struct{}

// swapper is the swap on one dialect (change_type_<dialect>.go).
type swapper interface {
	run(ctx context.Context, s *Session, b builder, id string) error
	// revert swaps back.
	revert(ctx context.Context, s *Session, b builder, id string) error
	preview(b builder, back bool) (templates.Script, error)
	// verify checks the swap took effect, on the live table.
	verify(ctx context.Context, s *Session, id string) (string, error)
	// columnProblem is why the column cannot be swapped on the dialect;
	// "" when it can.
	columnProblem(c Column) string
	// leftBehind warns of what keeps using the old column after the swap.
	leftBehind(ctx context.Context, s *Session) string
	// blockers are what on the live table the swap cannot move on the
	// dialect, each a plan problem; nil when it can.
	blockers(ctx context.Context, s *Session) ([]string, error)
	// notes say how the swap locks, and what it does to clients, for plan.
	notes(p *phases.Plan) []string
}

// typeSwapper is a database the swap is built for (change_type_postgres.go,
// change_type_sqlite.go). The others' plans are refused before anything
// changes.
type typeSwapper interface {
	swapper() swapper
}

// swapperFor is d's swap; nil where it is not built.
func swapperFor(d dialect) swapper {
	if t, ok := d.(typeSwapper); ok {
		return t.swapper()
	}
	return nil
}

// swapperOf is the session's dialect's swap.
func (s *Session) swapperOf() swapper { return swapperFor(s.d) }

func (changeTypeUnit) phase(id string) phaseOps {
	switch id {
	case "add-shadow":
		return phaseOps{
			run: func(ctx context.Context, s *Session, b builder, _ phases.Status) error {
				return s.phaseAddShadow(ctx, b, id)
			},
			preview: func(pr *previewer) {
				pr.steps(pr.b.addShadow())
				pr.revert(func(b builder) (templates.Script, error) {
					return b.dropChangeTypeSynced(b.plan.ChangeType.ShadowName())
				})
				pr.column("column-nullable", pr.p.ChangeType.ShadowName())
				pr.note(syncCostNote)
			},
			reverify: func(ctx context.Context, s *Session, b builder) (string, error) {
				if s.st("drop-old-column").Status == phases.Done {
					return s.verifyOldDropped(ctx, s.db, id)
				}
				if done, err := s.swapped(ctx, s.db, false); err != nil || done {
					return "the swap moved " + s.plan.ChangeType.ShadowName() + " into " + s.plan.ChangeType.Column + "'s name", err
				}
				if err := s.mustColumn(ctx, s.db, id, s.plan.ChangeType.ShadowName(), "column-nullable", true, "should exist and be nullable"); err != nil {
					return "", err
				}
				return s.plan.Table + "." + s.plan.ChangeType.ShadowName() + " exists and is nullable", s.mustChangeTypeSync(ctx, s.db, id, true)
			},
			revert: func(ctx context.Context, s *Session, b builder) error {
				return s.revertAddShadow(ctx, b, id)
			},
		}
	case "backfill":
		return phaseOps{
			run: func(ctx context.Context, s *Session, b builder, prev phases.Status) error {
				return s.phaseConvert(ctx, b, id, prev)
			},
			preview: func(pr *previewer) {
				pr.steps(pr.b.batchPreview(pr.b.convertJob(id)))
				pr.check("convert-counts", pr.b.convertData())
				if !pr.b.sql.Has("convert-probe-function") {
					return
				}
				pr.note("where a batch fails, shepherd counts the rows the conversion fails on (a function of its session's own tries it on each row, in a transaction it rolls back) and names up to five by key")
			},
			reverify: func(ctx context.Context, s *Session, b builder) (string, error) {
				if done, err := s.swapped(ctx, s.db, false); err != nil || done || s.st("drop-old-column").Status == phases.Done {
					return "the swap moved the converted column into " + s.plan.ChangeType.Column + "'s name", err
				}
				cp := s.st(id).Checkpoint
				if cp == nil {
					return "the table was empty: nothing to convert", nil
				}
				return s.verifyConverted(ctx, s.db, b, id, *cp, s.st(id).RowsChanged)
			},
			keptData: func(p *phases.Plan) string {
				return fmt.Sprintf("the converted values stay in %s (a rerun converts again where they differ)", p.ChangeType.ShadowName())
			},
		}
	case "swap":
		return phaseOps{
			run: func(ctx context.Context, s *Session, b builder, _ phases.Status) error {
				return s.swapperOf().run(ctx, s, b, id)
			},
			preview: func(pr *previewer) {
				sw := swapperFor(pr.b.d)
				pr.steps(sw.preview(pr.b, false))
				pr.revert(func(b builder) (templates.Script, error) { return sw.preview(b, true) })
				for _, n := range sw.notes(pr.p) {
					pr.note(n)
				}
				pr.note("until drop-old-column the triggers write each new value back into " + pr.p.ChangeType.OldName() + " (reverse:, else a cast to its type), so that the swap can be rolled back: a value the old type cannot hold (an id past 2^31 in an integer) fails its write until then. Swap well before the column runs out")
			},
			reverify: func(ctx context.Context, s *Session, _ builder) (string, error) {
				if s.st("drop-old-column").Status == phases.Done {
					return s.verifyOldDropped(ctx, s.db, id)
				}
				return s.swapperOf().verify(ctx, s, id)
			},
			revert: func(ctx context.Context, s *Session, b builder) error {
				return s.swapperOf().revert(ctx, s, b, id)
			},
		}
	case "drop-old-column":
		return phaseOps{
			run: func(ctx context.Context, s *Session, _ builder, _ phases.Status) error {
				return s.phaseDropAside(ctx, id)
			},
			preview: func(pr *previewer) {
				pr.steps(pr.b.dropChangeTypeSynced(pr.p.ChangeType.OldName()))
				pr.column("column-exists", pr.p.ChangeType.OldName())
				pr.confirmNote(id, "point of no return: ", ", one release after stop-old-writes")
			},
			reverify: func(ctx context.Context, s *Session, _ builder) (string, error) {
				return s.verifyOldDropped(ctx, s.db, id)
			},
		}
	}
	return phaseOps{} // deploy-readers, stop-old-writes: deploys the database cannot see
}

// phaseDropAside drops the triggers and the old column, set aside by the
// swap. Its builder is made from the table as it is now.
func (s *Session) phaseDropAside(ctx context.Context, id string) error {
	old := s.plan.ChangeType.OldName()
	// What the drop takes with the column (MySQL's indexes on it) is read
	// from the table as the swap left it.
	if err := s.refreshTable(ctx); err != nil {
		return err
	}
	script, err := s.builder().dropChangeTypeSynced(old)
	if err != nil {
		return err
	}
	return s.runScript(ctx, id, script, s.finishIn(id, func(ctx context.Context, q querier) (string, error) {
		return s.verifyOldDropped(ctx, q, id)
	}))
}

// verifyOldDropped: the old column and the triggers are gone, the column
// is there.
func (s *Session) verifyOldDropped(ctx context.Context, q querier, id string) (string, error) {
	ct := s.plan.ChangeType
	if err := s.mustColumn(ctx, q, id, ct.OldName(), "column-exists", false, "should be gone"); err != nil {
		return "", err
	}
	if err := s.mustChangeTypeSync(ctx, q, id, false); err != nil {
		return "", err
	}
	if err := s.mustColumn(ctx, q, id, ct.Column, "column-exists", true, "should hold the data"); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s.%s and the triggers are gone; %s holds the data", s.plan.Table, ct.OldName(), ct.Column), nil
}

// checkTable: the column is there, the names the playbook makes are free
// until it makes them, and the column is one the swap can move.
func (changeTypeUnit) checkTable(ctx context.Context, s *Session, t *Table, ran, done func(string) bool, problems *[]string) {
	p := s.plan
	ct := p.ChangeType
	*problems = append(*problems, changeTypeUnit{}.dialectProblems(p, s.d.name())...)
	if len(*problems) > 0 {
		return
	}
	cols := columnList(t)
	swappedish := ran("swap") || ran("drop-old-column")
	switch {
	case !t.has(ct.Column):
		addProblem(problems, "column: %s has no column %q (columns: %s)", t.Name, ct.Column, cols)
	case !ran("add-shadow") && t.has(ct.ShadowName()):
		addProblem(problems, "column: %s already has a column %q, the name of the shadow column change-column-type adds; drop or rename it (columns: %s)", t.Name, ct.ShadowName(), cols)
	case !swappedish && t.has(ct.OldName()):
		addProblem(problems, "column: %s already has a column %q, the name the swap gives the old column; drop or rename it (columns: %s)", t.Name, ct.OldName(), cols)
	case done("add-shadow") && !swappedish && !t.has(ct.ShadowName()):
		addProblem(problems, "column: %q was added by this plan but is gone from %s (columns: %s)", ct.ShadowName(), t.Name, cols)
	}
	if c, ok := t.Column(ct.Column); ok && !swappedish {
		switch {
		case c.Generated:
			addProblem(problems, "column: %q is a generated column; change its type by hand with its expression", ct.Column)
		case s.swapperOf().columnProblem(c) != "":
			addProblem(problems, "column: %s", s.swapperOf().columnProblem(c))
		}
	}
	if !swappedish && len(*problems) == 0 {
		blockers, err := s.swapperOf().blockers(ctx, s)
		if err != nil {
			addProblem(problems, "column: could not read what uses %s.%s: %v", t.Name, ct.Column, err)
		}
		*problems = append(*problems, blockers...)
	}
	if !swappedish && len(*problems) == 0 {
		if w := s.swapperOf().leftBehind(ctx, s); w != "" {
			s.warnings = append(s.warnings, w)
		}
	}
	if t.partitioned() && !swappedish {
		addProblem(problems, "table: %s is partitioned, and PostgreSQL builds no index CONCURRENTLY on a partitioned table: change-column-type does not swap one yet", t.Name)
	}
}

// swapLeavesBehind warns of what uses the column by its position and not
// its name, which the swap does not move: a view, another trigger, a
// generated column keep reading the old column (aside, under its new
// name) after the swap, and drop-old-column fails while they do.
func (s *Session) swapLeavesBehind(ctx context.Context) string {
	ct := s.plan.ChangeType
	deps, err := s.dependents(ctx, ct.Column)
	if err != nil {
		return fmt.Sprintf("could not read what uses %s.%s (%v): check by hand what reads it besides the table's own indexes and constraints", s.plan.Table, ct.Column, err)
	}
	var left []string
	for _, d := range deps {
		switch d.Kind {
		case DependsView, DependsTrigger, DependsGenerated:
			if d.Kind == DependsTrigger && isSyncTrigger(s.plan, d.Name) {
				continue // the playbook's own: rebound by the swap
			}
			left = append(left, fmt.Sprintf("%s %s on %s", d.Kind, d.Name, d.On))
		}
	}
	if len(left) == 0 {
		return ""
	}
	return fmt.Sprintf("the swap moves %s.%s's indexes and constraints to the new column, but not these, which go on using the old one (%s) after it, and make drop-old-column fail: recreate them on %s after the swap:\n  - %s",
		s.plan.Table, ct.Column, ct.OldName(), ct.Column, strings.Join(left, "\n  - "))
}

// dialectProblems: the type for the dialect, and a dialect the swap is
// built for.
func (changeTypeUnit) dialectProblems(p *phases.Plan, dialect string) []string {
	var problems []string
	if d, err := dialectFor(dialect); err != nil || swapperFor(d) == nil {
		problems = append(problems, fmt.Sprintf("playbook: change-column-type does not run on %s; change the type with rename-column's type: where an implicit cast converts it, or by hand", dialect))
		return problems
	}
	ct := p.ChangeType
	if _, ok := ct.Type.For(dialect); !ok {
		problems = append(problems, missingForDialect("type", "type", dialect, ct.Type))
	}
	if !ct.Using.IsZero() {
		if _, ok := ct.Using.For(dialect); !ok {
			problems = append(problems, missingForDialect("using", "expression", dialect, ct.Using))
		}
	}
	return problems
}

// newColumn: the shadow column, of the plan's type.
func (changeTypeUnit) newColumn(b builder) (string, string, error) {
	ct := b.plan.ChangeType
	t, ok := ct.Type.For(b.d.name())
	if !ok {
		return "", "", fmt.Errorf("type: no type given for %s", b.d.name())
	}
	return ct.ShadowName(), t, nil
}

// checkExpressions: the type is one the database knows, and the
// conversion one it can compute, as the batches and the triggers do.
func (changeTypeUnit) checkExpressions(c *exprCheck) ([]string, error) {
	p := c.s.plan
	ct := p.ChangeType
	if c.added {
		return c.problems, nil // the shadow is there: its type was taken
	}
	typ, ok := ct.Type.For(c.dialect)
	if !ok {
		return c.problems, nil
	}
	old, had := c.t.Column(ct.Column)
	if !had {
		return c.problems, nil
	}
	c.warnType(typ)
	using, _ := ct.UsingFor(c.dialect, c.s.d.quote)
	conv, err := c.s.sql.Query("convert-value", sqlData{Expr: using, Type: typ})
	if err != nil {
		return nil, err
	}
	if problem := c.s.compiles(c.ctx, c.t, "using", using, conv.SQL); problem != "" {
		return append(c.problems, problem), nil
	}
	// The triggers compute the conversions from the column alone.
	for _, e := range []struct{ field, expr, from, to string }{
		{"using", using, old.Type, typ},
		{"reverse", func() string { r, _ := ct.Reverse.For(c.dialect); return r }(), typ, old.Type},
	} {
		if e.expr == "" {
			continue
		}
		d := struct{ Schema, Table, Column, Expr, Type, From string }{c.s.plan.Schema, c.t.Name, ct.Column, e.expr, e.to, e.from}
		q, err := c.s.sql.Query("convert-try-alone", d)
		if err != nil {
			return nil, err
		}
		rows, err := c.s.db.QueryContext(c.ctx, q.SQL)
		if err == nil {
			rows.Close()
			continue
		}
		c.problems = append(c.problems, fmt.Sprintf("%s: the database rejects %q as a conversion of %s alone (the triggers that keep the columns in step see only the column, of type %s): %v", e.field, e.expr, ct.Column, e.from, c.s.dsn.scrub(err)))
	}
	return c.problems, nil
}

// batchUpdates: the backfill sets the shadow column.
func (changeTypeUnit) batchUpdates(p *phases.Plan, todo func(string) bool) []batchUpdate {
	if todo("backfill") {
		return []batchUpdate{{"the backfill", []string{p.ChangeType.ShadowName()}}}
	}
	return nil
}
