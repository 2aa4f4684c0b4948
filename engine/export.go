package engine

import (
	"fmt"

	"github.com/shepherd-db/shepherd/phases"
)

// ExportPreview renders every phase of a plan, without a database, for
// migration files that a migration tool runs in a release job, without
// shepherd and its checks. It is Preview with three differences:
//
//   - MySQL's MODIFY of the column the plan adds restates the definition the
//     plan gives (its type): shepherd added the column with exactly that.
//     Where the SQL still needs the live table, Gaps says so, as in Preview.
//   - enforce, add-constraint and drop-old-column have a Guard: statements
//     that fail, before the phase changes anything, while rows would break
//     what it adds or lose what it drops. shepherd checks that before it
//     runs a phase; a migration tool would otherwise run every file it finds
//     in one go, backfill or not.
//   - drop-old-column's Revert always fails: a dropped column cannot be
//     brought back, and a migration tool's down must not report that it was.
func ExportPreview(plan *phases.Plan, dialectName string) ([]PhasePreview, error) {
	b, err := offlineBuilder(plan, dialectName)
	if err != nil {
		return nil, err
	}
	b.export = true
	previews, err := b.preview()
	if err != nil {
		return nil, err
	}
	for i := range previews {
		pv := &previews[i]
		if len(pv.Steps) == 0 {
			continue
		}
		exportGuard := unitOf(plan.Playbook).phase(pv.Phase.ID).exportGuard
		if exportGuard == nil {
			continue
		}
		guard, err := exportGuard(b, pv)
		if err != nil {
			return nil, err
		}
		guard.Name = phases.CutIdent(guard.Name)
		if pv.Guard, err = b.sql.Script("export-guard", guard); err != nil {
			return nil, err
		}
	}
	return previews, nil
}

// constraintGuard is the export guard of the phase that adds the plan's
// constraint: it fails while rows break it.
func (b builder) constraintGuard() sqlData {
	p := b.plan
	guard := b.cond("violates")
	guard.Name = fmt.Sprintf("rows break %s: clean them first", p.Tighten.Constraint.Name)
	switch p.Tighten.Constraint.Kind() {
	case phases.NotNullConstraint:
		guard.Name = fmt.Sprintf("%s.%s has NULLs: clean it first", p.Table, p.Tighten.Constraint.NotNull)
	case phases.ForeignKeyConstraint:
		guard.Name = fmt.Sprintf("rows of %s have no parent in %s: clean them first", p.Table, p.Tighten.Constraint.References.Table)
	case phases.UniqueConstraint:
		// Counted without the key, which only the live table may
		// give: groups of equal values, not rows.
		guard.Cond = "duplicates"
		guard.Name = fmt.Sprintf("duplicates break %s: clean them first", p.Tighten.Constraint.Name)
	}
	return guard
}
