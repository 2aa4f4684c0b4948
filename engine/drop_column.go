package engine

import (
	"context"
	"fmt"

	"github.com/shepherd-db/shepherd/phases"
)

// drop-column's building blocks: relax, the archive and its restore, and
// the drop with its refusal while anything still uses the column.

// phaseRelax drops NOT NULL from the column where it has it without a
// default: code that stops writing the column could not insert otherwise.
func (s *Session) phaseRelax(ctx context.Context, b builder) error {
	col := s.plan.DropColumn.Column
	c, there := s.table.Column(col)
	st := s.st(relaxPhase)
	switch {
	case !there:
		return fmt.Errorf("%s: %s has no column %s: it is gone already, nothing to relax", relaxPhase, s.plan.Table, col)
	case !c.NotNull:
		return s.finishNow(ctx, relaxPhase, func(context.Context, querier) (string, error) {
			return fmt.Sprintf("%s.%s is nullable: nothing to relax", s.plan.Table, col), nil
		})
	case insertsMayLeaveOut(c):
		return s.finishNow(ctx, relaxPhase, func(context.Context, querier) (string, error) {
			return fmt.Sprintf("%s.%s is NOT NULL with a default: inserts that leave it out get the default, nothing to relax", s.plan.Table, col), nil
		})
	}
	cp := relaxed
	st.Checkpoint = &cp
	script, err := b.setNotNull(col, false)
	if err != nil {
		return err
	}
	return s.runScript(ctx, relaxPhase, script, s.finishIn(relaxPhase, s.verifyRelaxed))
}

// insertsMayLeaveOut reports whether an insert may leave the column out:
// it is nullable, has a default, or the database fills it.
func insertsMayLeaveOut(c Column) bool { return !c.NotNull || c.Default != nil || c.Auto }

// revertRelax makes the column NOT NULL again where relax dropped it, once
// no row holds NULL in it.
func (s *Session) revertRelax(ctx context.Context, b builder) error {
	col := s.plan.DropColumn.Column
	if cp := s.st(relaxPhase).Checkpoint; cp == nil || *cp != relaxed {
		return s.moveNow(ctx, relaxPhase, phases.Revert, "relax changed nothing: nothing to put back")
	}
	if err := s.requireNoNulls(ctx, relaxPhase, col); err != nil {
		return err
	}
	script, err := b.setNotNull(col, true)
	if err != nil {
		return err
	}
	return s.runScript(ctx, relaxPhase, script, func(ctx context.Context, q querier) error {
		return s.move(ctx, q, relaxPhase, phases.Revert, fmt.Sprintf("%s.%s is NOT NULL again", s.plan.Table, col))
	})
}

// verifyRelaxed checks that an insert that leaves the column out can work:
// it is nullable, or has a default.
func (s *Session) verifyRelaxed(ctx context.Context, q querier) (string, error) {
	col := s.plan.DropColumn.Column
	if c, ok := s.table.Column(col); ok && c.NotNull && insertsMayLeaveOut(c) {
		return fmt.Sprintf("%s.%s has a default for inserts that leave it out", s.plan.Table, col), nil
	}
	if err := s.mustColumn(ctx, q, relaxPhase, col, "column-nullable", true, "should take inserts that leave it out"); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s.%s is nullable: inserts that leave it out work", s.plan.Table, col), nil
}

// archiveData is the data of the archive's templates: .To is the archive
// table; .Type (.KeyTypes for a composite key) and .Expr the key's and the
// column's types.
func (b builder) archiveData() sqlData {
	d := b.base()
	d.Column, d.To = b.plan.DropColumn.Column, b.plan.ArchiveTable()
	if b.live != nil {
		if k, ok := b.live.Column(b.key); ok {
			d.Type = k.Type
		}
		for _, col := range b.keys {
			k, _ := b.live.Column(col)
			d.KeyTypes = append(d.KeyTypes, k.Type)
		}
		if c, ok := b.live.Column(d.Column); ok {
			d.Expr = c.Type
		}
	}
	return d
}

// archiveJob copies each row's key and value into the archive.
func (b builder) archiveJob(phase string) batchJob {
	return batchJob{phase: phase, update: "archive-batch", data: b.archiveData()}
}

// restoreJob writes the archived values back into the column, added again.
func (b builder) restoreJob(phase string) batchJob {
	d := b.base()
	d.Column, d.To = b.plan.DropColumn.Column, b.plan.ArchiveTable()
	return batchJob{phase: phase, update: "restore-batch", data: d}
}

// phaseArchive creates the archive and fills it in batches, or does
// nothing for a plan without archive: true.
func (s *Session) phaseArchive(ctx context.Context, b builder, prev phases.Status) error {
	if !s.plan.DropColumn.Archive {
		return s.finishNow(ctx, archivePhase, func(context.Context, querier) (string, error) {
			return "the plan has no archive: true: nothing archived, and drop-column is the point of no return", nil
		})
	}
	create, err := b.script("archive-create", b.archiveData())
	if err != nil {
		return err
	}
	if err := s.runScript(ctx, archivePhase, create, func(context.Context, querier) error { return nil }); err != nil {
		return fmt.Errorf("archive: create %s: %w", s.plan.ArchiveTable(), err)
	}
	if err := s.startPass(ctx, archivePhase, prev, true); err != nil {
		return err
	}
	if _, err := s.runBatches(ctx, b.archiveJob(archivePhase)); err != nil {
		return err
	}
	return s.finishNow(ctx, archivePhase, s.verifyArchived(b))
}

// verifyArchived checks that every row's value is in the archive.
func (s *Session) verifyArchived(b builder) func(context.Context, querier) (string, error) {
	return func(ctx context.Context, q querier) (string, error) {
		var n int64
		if err := s.queryRow(ctx, q, "archive-missing", b.archiveData(), nil, &n); err != nil {
			return "", fmt.Errorf("%s: count the values not archived: %w", archivePhase, err)
		}
		if n > 0 {
			return "", &VerifyError{Phase: archivePhase, What: fmt.Sprintf("every value of %s should be in %s", s.plan.DropColumn.Column, s.plan.ArchiveTable()),
				Count: n, Hint: "rows written since the walk (is stop-using deployed everywhere?): rerun to archive them"}
		}
		return fmt.Sprintf("every value of %s.%s is in %s", s.plan.Table, s.plan.DropColumn.Column, s.plan.ArchiveTable()), nil
	}
}

// dropColumnGaps lists what still uses the column, each with what to do:
// the drop would take an index or constraint with it silently, or fail on
// a view, a trigger or a generated column.
func (s *Session) dropColumnGaps(ctx context.Context) ([]string, error) {
	col := s.plan.DropColumn.Column
	deps, err := s.dependents(ctx, col)
	if err != nil {
		return nil, err
	}
	var gaps []string
	for _, dep := range deps {
		switch dep.Kind {
		case DependsIndex, DependsUnique:
			gaps = append(gaps, fmt.Sprintf("index %s uses %s: drop it first (a drop-index plan)", dep.Name, col))
		case DependsPrimaryKey:
			gaps = append(gaps, fmt.Sprintf("the primary key uses %s", col))
		case DependsReferencedBy:
			gaps = append(gaps, fmt.Sprintf("%s's foreign key %s references %s.%s: drop it first", dep.On, dep.Name, s.plan.Table, col))
		case DependsView:
			gaps = append(gaps, fmt.Sprintf("view %s uses %s: recreate it without it (or drop it)", dep.On, col))
		case DependsTrigger:
			gaps = append(gaps, fmt.Sprintf("trigger %s on %s names %s: drop it, or recreate it without %s", dep.Name, dep.On, col, col))
		case DependsGenerated:
			gaps = append(gaps, fmt.Sprintf("generated column %s is computed from %s: drop it first", dep.Name, col))
		default:
			gaps = append(gaps, fmt.Sprintf("%s %s uses %s (%s): drop it first", dep.Kind, dep.Name, col, oneLine(dep.Def)))
		}
	}
	return gaps, nil
}

// phaseDropColumn drops the column, once nothing uses it.
func (s *Session) phaseDropColumn(ctx context.Context, b builder) error {
	col := s.plan.DropColumn.Column
	gaps, err := s.dropColumnGaps(ctx)
	if err != nil {
		return err
	}
	if len(gaps) > 0 {
		return &DependentsError{Phase: dropColumnPhase, Table: s.plan.Table, Column: col, Gaps: gaps}
	}
	there, err := s.columnIs(ctx, s.db, col, "column-exists")
	if err != nil {
		return err
	}
	if there && s.plan.DropColumn.Archive && s.progress().Of(archivePhase) != phases.Done {
		return &VerifyError{Phase: dropColumnPhase, What: fmt.Sprintf("the values of %s.%s should be archived before the drop (the plan has archive: true), and archive is not done", s.plan.Table, col),
			Hint: "run archive first"}
	}
	if there && s.plan.DropColumn.Archive {
		// The archive is the way back: it must hold every value now (a
		// rerun after a drop that took effect, on MySQL where DDL
		// commits by itself, finds the column gone and the drop done).
		if _, err := s.verifyArchived(b)(ctx, s.db); err != nil {
			return err
		}
	}
	script, err := b.dropColumn(col)
	if err != nil {
		return err
	}
	return s.runScript(ctx, dropColumnPhase, script, s.finishIn(dropColumnPhase, func(ctx context.Context, q querier) (string, error) {
		if err := s.mustColumn(ctx, q, dropColumnPhase, col, "column-exists", false, "should be gone"); err != nil {
			return "", err
		}
		if s.plan.DropColumn.Archive {
			return fmt.Sprintf("%s.%s dropped; its values are kept in %s", s.plan.Table, col, s.plan.ArchiveTable()), nil
		}
		return fmt.Sprintf("%s.%s dropped", s.plan.Table, col), nil
	}))
}

// revertDropColumn adds the column again, nullable and of the type the
// archive keeps it in, and restores every row's value from the archive.
func (s *Session) revertDropColumn(ctx context.Context, b builder) error {
	col, archive := s.plan.DropColumn.Column, s.plan.ArchiveTable()
	if !s.plan.DropColumn.Archive {
		return fmt.Errorf("%s: %s.%s was dropped without an archive: it cannot be brought back", dropColumnPhase, s.plan.Table, col)
	}
	if s.table == nil || !s.table.has(col) {
		at, err := s.d.introspect(ctx, s.db, s.sql, s.plan.Schema, archive)
		if err != nil {
			return fmt.Errorf("%s: read the archive %s: %w", dropColumnPhase, archive, err)
		}
		c, ok := at.Column(col)
		if !ok {
			return fmt.Errorf("%s: the archive %s has no column %s: restore by hand", dropColumnPhase, archive, col)
		}
		d := b.base()
		d.Column, d.Type = col, c.Type
		add, err := b.script("add-column", d)
		if err != nil {
			return err
		}
		if err := s.runScript(ctx, dropColumnPhase, add, func(context.Context, querier) error { return nil }); err != nil {
			return fmt.Errorf("%s: add %s again: %w", dropColumnPhase, col, err)
		}
	}
	st := s.st(dropColumnPhase)
	st.resetWalk()
	if err := s.save(ctx, s.db, st); err != nil {
		return err
	}
	restored, err := s.runBatches(ctx, b.restoreJob(dropColumnPhase))
	if err != nil {
		return err
	}
	var left int64
	if err := s.queryRow(ctx, s.db, "restore-missing", b.restoreJob(dropColumnPhase).data, nil, &left); err != nil {
		return fmt.Errorf("%s: count the values not restored: %w", dropColumnPhase, err)
	}
	if left > 0 {
		return &VerifyError{Phase: dropColumnPhase, What: fmt.Sprintf("every archived value should be back in %s.%s", s.plan.Table, col), Count: left,
			Hint: "rows changed meanwhile; rerun the rollback"}
	}
	return s.moveNow(ctx, dropColumnPhase, phases.Revert, fmt.Sprintf("%s.%s added again; %d values restored from %s", s.plan.Table, col, restored, archive))
}
