package engine

import (
	"context"
	"fmt"

	"github.com/shepherd-db/shepherd/phases"
	"github.com/shepherd-db/shepherd/templates"
)

// renameColumnUnit is the engine's rename-column playbook: add the new
// column, dual-write, copy, switch reads, stop writing the old column (NOT
// NULL moves with it), and drop the old column one release later.
type renameColumnUnit struct{}

// checkExpressions: the copy writes the old column's values into the new
// one, of the plan's type where it gives one, of the old column's where
// not (nothing to check then).
func (renameColumnUnit) checkExpressions(c *exprCheck) ([]string, error) {
	p := c.s.plan
	if typ, ok := p.RenameColumn.Type.For(c.dialect); ok {
		if _, had := c.t.Column(p.RenameColumn.Column); had {
			c.warnType(typ)
			target := valueTarget{What: "the new column " + p.RenameColumn.To, Type: typ, TypeField: "type", From: p.RenameColumn.Column + "'s value",
				Fix: fmt.Sprintf("a rename copies the values as they are: give a type that takes them, or leave type: out to keep %s's", p.RenameColumn.Column)}
			if err := c.value("type", c.s.d.quote(p.RenameColumn.Column), target); err != nil {
				return nil, err
			}
		}
	}
	return c.problems, nil
}

func (renameColumnUnit) phase(id string) phaseOps {
	// Once the old column is dropped, what the copy and the switch of
	// reads proved is the end state: the old column gone, the new one
	// holding the data.
	afterDrop := func(ctx context.Context, s *Session, verify func() (string, error)) (string, error) {
		if s.st("drop-old-column").Status == phases.Done {
			return s.verifyDropped(ctx, id)
		}
		return verify()
	}
	switch id {
	case "add-column":
		return renameAddColumnOps(newColumnOps(id, dropLoss{
			// Values of the new column the old one does not have (see
			// carry.go): the data cannot tell which column is right.
			cond: "new-only",
			what: func(p *phases.Plan, _ int) string {
				return fmt.Sprintf("%s %s that %s does not have", article(p.RenameColumn.To), p.RenameColumn.To, p.RenameColumn.Column)
			},
			why: func(p *phases.Plan, _ int) string {
				return fmt.Sprintf("either code that writes only %s changed %s since (then %s is right, and %s's value is stale), or %s holds a value nothing carried back into %s (a write of code that wrote only %s), which dropping %s would lose. Check these rows, copy into %s what must be kept, then roll back again",
					p.RenameColumn.Column, p.RenameColumn.Column, p.RenameColumn.Column, p.RenameColumn.To, p.RenameColumn.To, p.RenameColumn.Column, p.RenameColumn.To, p.RenameColumn.To, p.RenameColumn.Column)
			},
		}))
	case "backfill":
		return phaseOps{
			run: func(ctx context.Context, s *Session, b builder, prev phases.Status) error {
				return s.phaseCopy(ctx, b, id, prev)
			},
			preview: func(pr *previewer) {
				pr.steps(pr.b.batchPreview(pr.b.copyJob(id)))
				pr.count("diff", true)
			},
			reverify: func(ctx context.Context, s *Session, b builder) (string, error) {
				return afterDrop(ctx, s, func() (string, error) {
					bound := ""
					if cp := s.st(id).Checkpoint; cp != nil {
						bound = *cp
					}
					return s.verifyNoDiff(b, id, bound)(ctx, s.db)
				})
			},
			keptData: func(p *phases.Plan) string {
				return fmt.Sprintf("the values copied into %s stay (a rerun copies again where %s and %s differ)", p.RenameColumn.To, p.RenameColumn.Column, p.RenameColumn.To)
			},
		}
	case "switch-reads":
		return phaseOps{
			run: func(ctx context.Context, s *Session, b builder, _ phases.Status) error {
				return s.finishNow(ctx, id, s.verifyNoDiff(b, id, ""))
			},
			preview: func(pr *previewer) {
				pr.count("diff", false)
				pr.note("the gate refuses while the check counts any row")
			},
			reverify: func(ctx context.Context, s *Session, b builder) (string, error) {
				return afterDrop(ctx, s, func() (string, error) { return s.verifyNoDiff(b, id, "")(ctx, s.db) })
			},
			undoArrival: func(ctx context.Context, s *Session) (string, error) {
				return s.carryBack(ctx, id)
			},
		}
	case "stop-old-writes":
		return phaseOps{
			run: func(ctx context.Context, s *Session, _ builder, _ phases.Status) error {
				if err := s.prepareStopOldWrites(ctx, id); err != nil {
					return err
				}
				return confirmedGate(ctx, s, id)
			},
			preview: func(pr *previewer) {
				p := pr.p
				if pr.b.live != nil {
					if c, ok := pr.b.live.Column(p.RenameColumn.Column); !ok || !c.NotNull {
						return
					}
				} else {
					pr.note("the SQL runs only when " + p.RenameColumn.Column + " is NOT NULL, on arrival at the gate, before the deploy")
				}
				script, err := pr.b.setNotNull(p.RenameColumn.To, true)
				if err == nil {
					var relax templates.Script
					relax, err = pr.b.setNotNull(p.RenameColumn.Column, false)
					script = append(script, relax...)
				}
				pr.steps(script, err)
			},
			arrive: func(ctx context.Context, s *Session) error {
				return s.prepareStopOldWrites(ctx, id)
			},
			undoArrival: func(ctx context.Context, s *Session) (string, error) {
				carried, err := s.carryBack(ctx, id)
				if err != nil {
					return carried, err
				}
				return carried, s.moveNotNullBack(ctx, id)
			},
		}
	case "drop-old-column":
		return phaseOps{
			run: func(ctx context.Context, s *Session, b builder, _ phases.Status) error {
				return s.phaseDropOld(ctx, b, id)
			},
			preview: func(pr *previewer) {
				pr.steps(pr.b.dropSynced(pr.p.RenameColumn.Column))
				pr.column("column-exists", pr.p.RenameColumn.Column)
				pr.confirmNote(id, "point of no return: ", ", one release after stop-old-writes")
			},
			reverify: func(ctx context.Context, s *Session, _ builder) (string, error) {
				return s.verifyDropped(ctx, id)
			},
			arrivalWarning: func(ctx context.Context, s *Session) string {
				return s.renameWarning(ctx, id)
			},
			exportGuard: func(b builder, pv *PhasePreview) (sqlData, error) {
				p := b.plan
				guard := b.cond("diff")
				guard.Cond = "lost"
				guard.Name = fmt.Sprintf("%s.%s lacks values of %s: backfill first", p.Table, p.RenameColumn.To, p.RenameColumn.Column)
				refuse := b.base()
				refuse.Name = phases.CutIdent(fmt.Sprintf("point of no return: %s.%s cannot be restored", p.Table, p.RenameColumn.Column))
				var err error
				pv.Revert, err = b.sql.Script("export-guard", refuse)
				return guard, err
			},
		}
	}
	return phaseOps{} // dual-write: a deploy the database cannot see
}

// renameAddColumnOps is add-column's ops with what sync: database adds to
// its preview: the triggers' removal in its undo, and what they cost a
// write (the install is in the phase's own script, builder.addColumn).
func renameAddColumnOps(ops phaseOps) phaseOps {
	preview := ops.preview
	ops.preview = func(pr *previewer) {
		preview(pr)
		if !pr.p.SyncByDatabase() {
			return
		}
		col := pr.p.RenameColumn.To
		pr.pv.Revert = nil
		pr.revert(func(b builder) (templates.Script, error) { return b.dropSynced(col) })
		pr.note(syncCostNote)
	}
	reverify := ops.reverify
	ops.reverify = func(ctx context.Context, s *Session, b builder) (string, error) {
		verified, err := reverify(ctx, s, b)
		if err != nil {
			return "", err
		}
		return s.reverifySync(ctx, "add-column", verified)
	}
	return ops
}

func (renameColumnUnit) checkTable(ctx context.Context, s *Session, t *Table, ran, done func(string) bool, problems *[]string) {
	p := s.plan
	cols := columnList(t)
	switch {
	// Once drop-old-column has started, the column may be gone: where
	// DDL is not transactional (MySQL) a crash can come between the
	// DROP and the record of it.
	case !ran("drop-old-column") && !t.has(p.RenameColumn.Column):
		addProblem(problems, "column: %s has no column %q (columns: %s)", t.Name, p.RenameColumn.Column, cols)
	case !ran("add-column") && t.has(p.RenameColumn.To):
		addProblem(problems, "to: %s already has a column %q; a rename target must be new (columns: %s)", t.Name, p.RenameColumn.To, cols)
	case done("add-column") && !t.has(p.RenameColumn.To):
		addProblem(problems, "to: %q was added by this plan but is gone from %s (columns: %s)", p.RenameColumn.To, t.Name, cols)
	}
	if p.RenameColumn.Column == s.key {
		addProblem(problems, "column: %q is the batch key; renaming a key column is not supported, set key: to another unique column", p.RenameColumn.Column)
	}
	if c, ok := t.Column(p.RenameColumn.Column); ok && c.Generated {
		addProblem(problems, "column: %q is a generated column; rename it with its expression by hand", p.RenameColumn.Column)
	}
	if w := s.syncNotNullWarning(t); w != "" && !ran("stop-old-writes") {
		s.warnings = append(s.warnings, w)
	}
	// What uses the old column must be recreated on the new one before
	// drop-old-column: say so from the start.
	if !done("drop-old-column") && t.has(p.RenameColumn.Column) && len(*problems) == 0 {
		if w := s.renameWarning(ctx, "drop-old-column"); w != "" {
			s.warnings = append(s.warnings, w)
		}
	}
}

// dialectProblems: none; type: is optional (the old column's type).
func (renameColumnUnit) dialectProblems(*phases.Plan, string) []string { return nil }

// newColumn: the plan's to:, of the plan's type: or else the old column's.
func (renameColumnUnit) newColumn(b builder) (string, string, error) {
	p := b.plan
	if t, ok := p.RenameColumn.Type.For(b.d.name()); ok {
		return p.RenameColumn.To, t, nil
	}
	if b.live == nil {
		b.gap("the type of " + p.RenameColumn.To + " is " + p.RenameColumn.Column + "'s type, which only the database holds (or give type: in the plan)")
		return p.RenameColumn.To, "/* the type of " + p.RenameColumn.Column + " */", nil
	}
	c, ok := b.live.Column(p.RenameColumn.Column)
	if !ok {
		return "", "", fmt.Errorf("rename %s: no column %q", p.Table, p.RenameColumn.Column)
	}
	return p.RenameColumn.To, c.Type, nil
}

func (renameColumnUnit) batchUpdates(p *phases.Plan, todo func(string) bool) []batchUpdate {
	var out []batchUpdate
	if todo("backfill") {
		out = append(out, batchUpdate{"the backfill", []string{p.RenameColumn.To}})
	}
	if todo("drop-old-column") {
		out = append(out, batchUpdate{"the copy back of " + p.RenameColumn.To + " into " + p.RenameColumn.Column + " that a rollback past switch-reads makes", []string{p.RenameColumn.Column}})
	}
	return out
}
