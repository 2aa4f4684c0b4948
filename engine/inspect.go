package engine

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/shepherd-db/shepherd/phases"
	"github.com/shepherd-db/shepherd/templates"
)

// View is a plan opened to be looked at: its recorded state, checked against
// the live schema, and what each phase runs on the live table. It holds no
// lock and writes nothing, so that a screen left open on a plan never keeps
// a release job from running it. Acting on the plan takes a Session
// (Start), which reads the state again under the runner lock.
type View struct{ s *Session }

// Inspect does what Start does before it takes the runner lock: it reads the
// plan's recorded state and checks the plan against it and against the live
// schema, returning a *SchemaError or *PlanChangedError as Start would. It
// takes no lock and writes nothing, not even shepherd's own tables.
func (e *Engine) Inspect(ctx context.Context, plan *phases.Plan, opts Options) (*View, error) {
	s := e.newSession(plan, opts)
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	return &View{s: s}, nil
}

// Phases lists the recorded state of every phase, as read by Inspect.
func (v *View) Phases() []PhaseInfo { return v.s.Phases() }

// Previews renders every phase with the live table, as Session.Previews.
func (v *View) Previews() []PhasePreview { return v.s.Previews() }

// Reverify runs a done phase's verification again, read-only, as
// Session.Reverify does. verify-failure-path is refused: its proof writes (a
// violating write, rolled back), and nothing writes without the runner
// lock: verify it again on a Session.
func (v *View) Reverify(ctx context.Context, id string) (string, error) {
	if provesByWriting(id) {
		return "", &UsageError{Msg: fmt.Sprintf("%s writes a violating row (rolled back) to check again: it needs the runner lock, so verify it again on a session (Start)", id)}
	}
	return v.s.Reverify(ctx, id)
}

// provesByWriting reports whether id is a proof phase (phases.Phase.Proof)
// of a playbook: the refusal needs no plan.
func provesByWriting(id string) bool {
	for _, pb := range phases.Playbooks() {
		if ph, ok := pb.Phase(id); ok && ph.Proof {
			return true
		}
	}
	return false
}

// Plan is the plan as the view's database reads it.
func (v *View) Plan() *phases.Plan { return v.s.plan }

// Warnings are what checking the plan against the live table found that the
// operator should know before running it (a rename's dependents).
func (v *View) Warnings() []string { return v.s.warnings }

// foreignKeysOn reads whether the session checks foreign keys (the
// "foreign-keys-on" template: MySQL's foreign_key_checks, SQLite's PRAGMA).
func foreignKeysOn(ctx context.Context, q querier, set *templates.Set) (bool, error) {
	var fk int
	if err := q.QueryRowContext(ctx, mustSQL(set, "foreign-keys-on")).Scan(&fk); err != nil {
		return false, fmt.Errorf("foreign-keys-on: %w", err)
	}
	return fk == 1, nil
}

// eachRow runs introspection template name with data on q and calls scan
// for each row it returns; errors name the template.
func eachRow(ctx context.Context, q querier, set *templates.Set, name string, data sqlData, scan func(*sql.Rows) error) error {
	st, err := set.Query(name, data)
	if err != nil {
		return err
	}
	args, _ := st.Args(nil)
	rows, err := q.QueryContext(ctx, st.SQL, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return rows.Err()
}
