package engine

import (
	"context"
	"fmt"

	"github.com/shepherd-db/shepherd/phases"
	"github.com/shepherd-db/shepherd/templates"
)

// A playbook's engine unit knows how each of its phases runs, previews,
// re-verifies and reverts, and what the playbook as a whole checks and
// changes. The runner loop, the state, the runner lock and the batching are
// shared: a unit only says which of those building blocks each phase uses.
// Everything that depends on a phase's id lives in its playbook's file
// (playbook_*.go); the rest of the engine asks the unit.
type playbookUnit interface {
	// phase returns what the engine does for the phase id. A phase with
	// nothing of its own (a deploy the database cannot see) has the zero
	// phaseOps: its confirmation is its check.
	phase(id string) phaseOps
	// checkTable adds the playbook's problems with the live table t, given
	// which phases ran (in force, or failed after changing something) and
	// which are done, to problems (each "field: what is wrong").
	checkTable(ctx context.Context, s *Session, t *Table, ran, done func(id string) bool, problems *[]string)
	// batchUpdates are the batched UPDATEs the plan may still make, given
	// which phases are still to do.
	batchUpdates(p *phases.Plan, todo func(id string) bool) []batchUpdate
	// dialectProblems lists the plan's per-dialect fields that give
	// nothing for dialect where the playbook needs one.
	dialectProblems(p *phases.Plan, dialect string) []string
	// newColumn is the column the playbook adds (phases.Plan.NewColumn)
	// and its type on b's dialect; an error for one that adds none.
	newColumn(b builder) (name, typ string, err error)
	// checkExpressions has the database check the plan's expressions and
	// types against the live table (tryExpressions), and returns the
	// problems found.
	checkExpressions(c *exprCheck) ([]string, error)
}

// unitOf is the registry: the engine unit of each playbook, one line each.
// A playbook it does not list has no unit: nothing runs, and runPhase and
// Reverify say there is no implementation.
func unitOf(playbook string) playbookUnit {
	switch playbook {
	case phases.AddColumn:
		return addColumnUnit{}
	case phases.RenameColumn:
		return renameColumnUnit{}
	case phases.TightenConstraint:
		return tightenUnit{}
	case phases.AddIndex:
		return addIndexUnit{}
	case phases.DropIndex:
		return dropIndexUnit{}
	case phases.DropColumn:
		return dropColumnUnit{}
	case phases.ChangeColumnType:
		return changeTypeUnit{}
	}
	return noUnit{}
}

// noUnit is the unit of a playbook the registry does not list.
type noUnit struct{}

func (noUnit) phase(string) phaseOps { return phaseOps{} }
func (noUnit) checkTable(context.Context, *Session, *Table, func(string) bool, func(string) bool, *[]string) {
}
func (noUnit) batchUpdates(*phases.Plan, func(string) bool) []batchUpdate { return nil }
func (noUnit) dialectProblems(*phases.Plan, string) []string              { return nil }
func (noUnit) newColumn(b builder) (string, string, error)                { return noNewColumn(b) }
func (noUnit) checkExpressions(*exprCheck) ([]string, error)              { return nil, nil }

// noNewColumn is newColumn for a playbook that adds no column.
func noNewColumn(b builder) (string, string, error) {
	return "", "", fmt.Errorf("%s adds no column", b.plan.Playbook)
}

// phaseOps is the engine's side of one phase. Each field is one thing the
// phase does; a nil field is a thing it does not do (a gate without run
// only records its confirmation).
type phaseOps struct {
	// run does the phase's work, verifies it and records it done; prev is
	// its status before this start.
	run func(ctx context.Context, s *Session, b builder, prev phases.Status) error
	// preview renders what run would run, check and undo.
	preview func(pr *previewer)
	// reverify runs the phase's verification again on the live data and
	// changes nothing.
	reverify func(ctx context.Context, s *Session, b builder) (string, error)
	// revert runs the reverse DDL of a phase undone by DDL (phases.UndoDDL,
	// phases.UndoDDLIfLast).
	revert func(ctx context.Context, s *Session, b builder) error
	// discard removes what a phases.UndoKeepData phase stopped half way
	// left beside the table (add-column's copy of it, shadow.go), before
	// its rollback is recorded.
	discard func(ctx context.Context, s *Session, id string) error
	// keptData says what rolling back a phases.UndoKeepData phase leaves
	// behind; it follows "rolled back: " wherever it is shown.
	keptData func(p *phases.Plan) string
	// arrive runs when the plan arrives at the gate, before it waits for
	// its confirmation.
	arrive func(ctx context.Context, s *Session) error
	// arrivalWarning is a warning said on arrival at the gate, unless the
	// run said warnings at its start already.
	arrivalWarning func(ctx context.Context, s *Session) string
	// undoArrival undoes what the gate did or let happen, when rollback
	// reverts it or goes past it, and says what it copied. A phase with it
	// carries the new column back into the old one, in batches on its own
	// checkpoint.
	undoArrival func(ctx context.Context, s *Session) (string, error)
	// leftBehind reports whether a DDL phase that failed left part of its
	// work in the catalog (so that it is in force, and the phase's to revert).
	leftBehind func(ctx context.Context, s *Session) bool
	// exportGuard is the guard of the phase's migration on export:
	// statements that fail while the rows are not ready for it (see
	// ExportPreview). It may set the preview's Revert too.
	exportGuard func(b builder, pv *PhasePreview) (sqlData, error)
}

// ops is the engine's side of the plan's phase id.
func (s *Session) ops(id string) phaseOps { return unitOf(s.plan.Playbook).phase(id) }

// previewer collects one phase's preview: its statements, checks, notes, and
// the first error met rendering them (after which nothing more is rendered).
type previewer struct {
	b   builder
	p   *phases.Plan
	pv  *PhasePreview
	err error
}

// steps sets the phase's statements.
func (pr *previewer) steps(script templates.Script, err error) {
	if pr.err == nil {
		pr.pv.Steps, pr.err = script, err
	}
}

// revert sets the phase's undo (see builder.revertPreview).
func (pr *previewer) revert(render func(builder) (templates.Script, error)) {
	if pr.err == nil {
		pr.pv.Revert, pr.err = pr.b.revertPreview(render)
	}
}

// note adds a note.
func (pr *previewer) note(n string) { pr.pv.Notes = append(pr.pv.Notes, infoNote(n)) }

// confirmNote adds a note that says how a release job confirms the phase
// id: before, its ConfirmHint, after.
func (pr *previewer) confirmNote(id, before, after string) {
	pr.pv.Notes = append(pr.pv.Notes, confirmNote(id, before, after))
}

// check adds the verification query name.
func (pr *previewer) check(name string, d sqlData) {
	if pr.err != nil {
		return
	}
	var st templates.Statement
	st, pr.err = pr.b.query(name, d)
	pr.pv.Checks = append(pr.pv.Checks, st)
}

// count adds a count of the rows where cond holds (up to the walk's bound
// when bounded).
func (pr *previewer) count(cond string, bounded bool) {
	d := pr.b.cond(cond)
	d.Bounded = bounded
	pr.check("count-where", d)
}

// column adds a probe of column col.
func (pr *previewer) column(probe, col string) {
	d := pr.b.base()
	d.Column = col
	pr.check(probe, d)
}

// confirmedGate records a gate's confirmation as its check: a deploy the
// database cannot see.
func confirmedGate(ctx context.Context, s *Session, id string) error {
	return s.finishNow(ctx, id, func(context.Context, querier) (string, error) {
		return "confirmed by " + s.opts.Operator, nil
	})
}
