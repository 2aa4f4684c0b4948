package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/shepherd-db/shepherd/phases"
	"github.com/shepherd-db/shepherd/templates"
)

// dropColumnUnit is the engine's drop-column playbook, the contract half
// of expand/contract: relax NOT NULL where inserts that leave the column
// out would fail, a gate for the deploy that stops using it, an optional
// archive of its values, and the drop one release later: the point of no
// return, unless the values were archived (then rollback restores them).
type dropColumnUnit struct{}

const (
	relaxPhase      = "relax"
	archivePhase    = "archive"
	dropColumnPhase = "drop-column"
	// relaxed is relax's checkpoint when it dropped NOT NULL, so that its
	// rollback puts it back (and only then).
	relaxed = "relaxed"
)

func (dropColumnUnit) phase(id string) phaseOps {
	switch id {
	case relaxPhase:
		return phaseOps{
			run: func(ctx context.Context, s *Session, b builder, _ phases.Status) error {
				return s.phaseRelax(ctx, b)
			},
			preview: func(pr *previewer) {
				col := pr.p.DropColumn.Column
				if live := pr.b.live; live != nil {
					if c, ok := live.Column(col); ok && insertsMayLeaveOut(c) {
						pr.column("column-nullable", col)
						pr.note(col + " takes inserts that leave it out already (it is nullable, or has a default): relax changes nothing")
						return
					}
				}
				pr.steps(pr.b.setNotNull(pr.p.DropColumn.Column, false))
				pr.revert(func(b builder) (templates.Script, error) { return b.setNotNull(b.plan.DropColumn.Column, true) })
				pr.column("column-nullable", pr.p.DropColumn.Column)
				pr.note("the statements run only when " + pr.p.DropColumn.Column + " is NOT NULL without a default (the live table says); otherwise the phase changes nothing")
			},
			reverify: func(ctx context.Context, s *Session, b builder) (string, error) {
				return s.verifyRelaxed(ctx, s.db)
			},
			revert: func(ctx context.Context, s *Session, b builder) error {
				return s.revertRelax(ctx, b)
			},
		}
	case archivePhase:
		return phaseOps{
			run: func(ctx context.Context, s *Session, b builder, prev phases.Status) error {
				return s.phaseArchive(ctx, b, prev)
			},
			preview: func(pr *previewer) {
				if !pr.p.DropColumn.Archive {
					pr.note("the plan has no archive: true: the phase does nothing, and drop-column is the point of no return")
					return
				}
				d := pr.b.archiveData()
				if pr.b.live == nil {
					d.Type, d.Expr = "/* the key's type */", "/* the column's type */"
				}
				create, err := pr.b.script("archive-create", d)
				if err != nil {
					pr.err = err
					return
				}
				batch, err := pr.b.batchPreview(pr.b.archiveJob(archivePhase))
				pr.steps(append(create, batch...), err)
				pr.check("archive-missing", d)
			},
			reverify: func(ctx context.Context, s *Session, b builder) (string, error) {
				return s.verifyArchived(b)(ctx, s.db)
			},
			keptData: func(p *phases.Plan) string {
				if p.DropColumn.Archive {
					return p.ArchiveTable() + " stays (drop it by hand once it is not needed)"
				}
				return "it changed nothing"
			},
		}
	case dropColumnPhase:
		return phaseOps{
			run: func(ctx context.Context, s *Session, b builder, _ phases.Status) error {
				return s.phaseDropColumn(ctx, b)
			},
			preview: func(pr *previewer) {
				col := pr.p.DropColumn.Column
				pr.steps(pr.b.dropColumn(col))
				pr.column("column-exists", col)
				if pr.p.DropColumn.Archive {
					pr.revert(func(b builder) (templates.Script, error) {
						d := b.base()
						d.Column, d.Type = col, "/* its type, as the archive keeps it */"
						add, err := b.script("add-column", d)
						if err != nil {
							return nil, err
						}
						restore, err := b.batchPreview(b.restoreJob(dropColumnPhase))
						return append(add, restore...), err
					})
					pr.confirmNote(dropColumnPhase, "", ", one release after stop-using (its values are archived: a rollback restores them)")
				} else {
					pr.confirmNote(dropColumnPhase, "point of no return: ", ", one release after stop-using")
				}
			},
			reverify: func(ctx context.Context, s *Session, _ builder) (string, error) {
				if err := s.mustColumn(ctx, s.db, dropColumnPhase, s.plan.DropColumn.Column, "column-exists", false, "should be gone"); err != nil {
					return "", err
				}
				return s.plan.Table + "." + s.plan.DropColumn.Column + " is gone", nil
			},
			revert: func(ctx context.Context, s *Session, b builder) error {
				return s.revertDropColumn(ctx, b)
			},
			arrivalWarning: func(ctx context.Context, s *Session) string {
				if gaps, err := s.dropColumnGaps(ctx); err == nil && len(gaps) > 0 {
					return fmt.Sprintf("drop-column will refuse while these use %s: %s", s.plan.DropColumn.Column, strings.Join(gaps, "; "))
				}
				return ""
			},
		}
	}
	return phaseOps{} // stop-using: a deploy the database cannot see
}

// checkTable: the column is there until drop-column ran, is not the batch
// key, and the archive's table name is free until archive ran.
func (dropColumnUnit) checkTable(ctx context.Context, s *Session, t *Table, ran, done func(string) bool, problems *[]string) {
	p := s.plan.DropColumn
	if ran(dropColumnPhase) {
		return
	}
	c, ok := t.Column(p.Column)
	switch {
	case !ok:
		addProblem(problems, "column: %s has no column %q (columns: %s)", t.Name, p.Column, columnList(t))
		return
	case c.Generated:
		addProblem(problems, "column: %q is a generated column; drop it by hand with what computes it", p.Column)
	}
	for _, k := range t.PrimaryKey {
		if strings.EqualFold(k, p.Column) {
			addProblem(problems, "column: %q is in %s's primary key; a primary key's column cannot be dropped this way", p.Column, t.Name)
		}
	}
	if p.Archive && !ran(archivePhase) {
		// An archive of this plan's shape (an earlier run's, rolled back)
		// is the archive's to fill again; any other table of its name is
		// not shepherd's.
		ts, err := s.d.introspect(ctx, s.db, s.sql, s.plan.Schema, s.plan.ArchiveTable())
		keys := []string{"shepherd_key"}
		if len(s.keys) > 1 {
			keys = nil
			for i := range s.keys {
				keys = append(keys, fmt.Sprintf("shepherd_key_%d", i))
			}
		}
		if err == nil && ts != nil && len(ts.Columns) > 0 {
			shaped := len(ts.Columns) == len(keys)+1 && ts.has(p.Column)
			for _, k := range keys {
				shaped = shaped && ts.has(k)
			}
			if !shaped {
				addProblem(problems, "archive: a table %s already exists and is not this plan's archive (%s, %s); drop or rename it", s.plan.ArchiveTable(), strings.Join(keys, ", "), p.Column)
			}
		}
	}
}

func (dropColumnUnit) dialectProblems(*phases.Plan, string) []string { return nil }

func (dropColumnUnit) checkExpressions(ec *exprCheck) ([]string, error) { return ec.problems, nil }

func (dropColumnUnit) newColumn(b builder) (string, string, error) { return noNewColumn(b) }

// batchUpdates: none; the archive's batches read the table and update
// none of its rows.
func (dropColumnUnit) batchUpdates(*phases.Plan, func(string) bool) []batchUpdate { return nil }
