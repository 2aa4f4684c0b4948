package engine

import (
	"fmt"
	"slices"

	"github.com/shepherd-db/shepherd/phases"
	"github.com/shepherd-db/shepherd/templates"
)

// PhasePreview is what one phase will run, check and undo on one dialect.
type PhasePreview struct {
	Phase phases.Phase
	// Steps run in order. For batched phases they are the statements of
	// one batch: the upper bound from the key's index, then the update.
	Steps templates.Script
	// Checks are the verification queries on the real data.
	Checks []templates.Statement
	Revert templates.Script
	Notes  []Note
	// Gaps says, for a preview without a database, where Steps or Revert
	// stand in for what only the live table gives (a column's type or
	// definition, SQLite's table definition): such SQL is for review, and
	// cannot run as it is. Empty when every statement is complete.
	Gaps []string
	// Guard is set by ExportPreview only: statements that fail, before the
	// phase changes anything, while the rows are not ready for it.
	Guard templates.Script
}

// GuessedValue stands in a preview of verify-failure-path for the value
// shepherd picks when it runs (the plan gives no constraint.violating).
const GuessedValue = "<a value shepherd guesses breaks the check>"

// Preview renders every phase of a plan for a dialect without a database.
// Where a statement depends on the live schema (SQLite's rebuild), it says
// so in a comment.
func Preview(plan *phases.Plan, dialectName string) ([]PhasePreview, error) {
	b, err := offlineBuilder(plan, dialectName)
	if err != nil {
		return nil, err
	}
	return b.preview()
}

// offlineBuilder renders a plan for a dialect without a database. A plan
// that gives nothing for the dialect where it must is a *SchemaError.
func offlineBuilder(plan *phases.Plan, dialectName string) (builder, error) {
	d, err := dialectFor(dialectName)
	if err != nil {
		return builder{}, err
	}
	set, err := templates.Load(d.name(), d.quote, d.placeholder)
	if err != nil {
		return builder{}, err
	}
	if problems := unitOf(plan.Playbook).dialectProblems(plan, dialectName); len(problems) > 0 {
		return builder{}, &SchemaError{File: plan.File, Problems: problems, Line: plan.Line}
	}
	key, keys := plan.Key, plan.Keys
	if len(keys) > 1 {
		key = keysNamed(keys) // a composite key: its columns are keys
	} else if key == "" {
		key = "id"
	}
	return builder{plan: plan, d: d, sql: set, key: key, keys: keys}, nil
}

// Preview renders every phase with the live table: exactly what runs. A
// phase that cannot be rendered from the live schema yet (enforce's SQLite
// rebuild needs the column add-column adds) is shown as `plan` shows it,
// with a note; the exact statements are rendered again when it runs.
func (s *Session) Preview() ([]PhasePreview, error) { return s.builder().preview() }

// Previews is Preview for screens: a phase that cannot be rendered at all
// carries the reason in a note instead of failing the whole list.
func (s *Session) Previews() []PhasePreview {
	var out []PhasePreview
	b := s.builder()
	for _, ph := range s.pb.Phases {
		pv, err := b.previewLiveOrOffline(ph)
		if err != nil {
			pv = PhasePreview{Phase: ph, Notes: []Note{infoNote(fmt.Sprintf("its statements cannot be rendered yet: %v", err))}}
		}
		out = append(out, pv)
	}
	return out
}

func (b builder) preview() ([]PhasePreview, error) {
	var out []PhasePreview
	for _, ph := range b.plan.PlaybookDef().Phases {
		pv, err := b.previewLiveOrOffline(ph)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ph.ID, err)
		}
		if b.live == nil && len(b.plan.KeyColumns()) == 0 && walksRows(b.plan) && (len(pv.Steps) > 0 || len(pv.Checks) > 0) {
			pv.Notes = append(pv.Notes, Note{Kind: NoteTableKey, Text: `"id" stands for the table's primary key, which the live schema gives`})
		}
		if t := b.plan.Tighten; b.live == nil && t != nil && t.Constraint.Kind() == phases.ForeignKeyConstraint && len(t.Constraint.References.Columns) == 0 && (len(pv.Steps) > 0 || len(pv.Checks) > 0) {
			c := t.Constraint
			pv.Notes = append(pv.Notes, Note{Kind: NoteReferencedKey, Text: fmt.Sprintf(`the referenced "id" stands for the primary key of %s, which the live schema gives`, c.References.Table)})
		}
		out = append(out, pv)
	}
	return out, nil
}

// previewLiveOrOffline renders a phase from the live table, or, when the
// live table cannot show it yet, as without a database, saying so.
func (b builder) previewLiveOrOffline(ph phases.Phase) (PhasePreview, error) {
	pv, err := b.previewPhase(ph)
	if err != nil && b.live != nil {
		offline := b
		offline.live = nil
		if pv, err = offline.previewPhase(ph); err == nil {
			pv.Notes = append(pv.Notes, infoNote("shown as the plan gives it: the live table does not have what earlier phases add yet; the exact statements are rendered when it runs"))
		}
	}
	return pv, err
}

func (b builder) query(name string, d sqlData) (templates.Statement, error) {
	return b.sql.Query(name, d)
}

// previewPhase renders one phase, as its playbook's unit says.
func (b builder) previewPhase(ph phases.Phase) (PhasePreview, error) {
	pv := PhasePreview{Phase: ph}
	var gaps, notes []string
	b.gaps, b.notes = &gaps, &notes
	pr := &previewer{b: b, p: b.plan, pv: &pv}
	if preview := unitOf(b.plan.Playbook).phase(ph.ID).preview; preview != nil {
		preview(pr)
	}
	switch {
	case ph.Gate && ph.NoDeploy:
		pv.Notes = append(pv.Notes, confirmNote(ph.ID, "nothing to deploy, the database does it: ", ""))
	case ph.Gate && len(pv.Steps) == 0 && len(pv.Checks) == 0:
		pv.Notes = append(pv.Notes, confirmNote(ph.ID, "a deploy the database cannot see: ", ""))
	}
	// What rendering the statements noticed comes after the phase's own.
	for _, g := range gaps {
		if !slices.Contains(pv.Gaps, g) {
			pv.Gaps = append(pv.Gaps, g)
		}
	}
	for _, n := range notes {
		if !hasNote(pv.Notes, n) {
			pv.Notes = append(pv.Notes, infoNote(n))
		}
	}
	return pv, pr.err
}

// revertPreview renders a phase's undo. The live table cannot always show
// it before the phase ran (there is no constraint to drop yet): then it is
// rendered as without a database.
func (b builder) revertPreview(render func(builder) (templates.Script, error)) (templates.Script, error) {
	script, err := render(b)
	if err != nil && b.live != nil {
		offline := b
		offline.live = nil
		return render(offline)
	}
	return script, err
}

func (b builder) failurePreview() (templates.Script, error) {
	c := b.plan.Tighten.Constraint
	d := b.constraintData()
	name := "violating-update"
	switch c.Kind() {
	case phases.NotNullConstraint:
		d.Set = []setExpr{{Column: c.NotNull, Expr: "NULL"}}
	case phases.UniqueConstraint:
		name = "duplicate-update"
	case phases.ForeignKeyConstraint:
		d.Set = b.assigned(c.Violating)
		if len(d.Set) == 0 {
			if tries := b.orphanCandidates(); len(tries) > 0 {
				d.Set = tries[0].set
			}
		}
		if len(d.Set) == 0 {
			for _, col := range c.ForeignKey {
				d.Set = append(d.Set, setExpr{Column: col, Expr: "<a value no row of " + c.References.Table + " has>"})
			}
		}
	default:
		d.Set = b.assigned(c.Violating)
		if len(d.Set) == 0 {
			d.Set = []setExpr{{Column: "<column>", Expr: GuessedValue}}
		}
	}
	var script templates.Script
	for _, n := range []string{"savepoint", name, "rollback-to-savepoint"} {
		st, err := b.sql.Query(n, d)
		if err != nil {
			return nil, err
		}
		script = append(script, templates.Step{Statement: st, Lock: "one row, inside a transaction that is rolled back"})
	}
	return script, nil
}
