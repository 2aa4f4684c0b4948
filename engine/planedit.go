package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/shepherd-db/shepherd/phases"
)

// checkHash refuses a plan whose file changed since it started here, and
// says what changed, until when each field could have changed, and which
// rollbacks would let it. A changed plan of which no phase is in force
// (every phase pending, rolled back, waiting at a gate, or failed with
// nothing changed) replaces the old one. So does a plan whose changes are
// all to fields that no phase in force uses (phases.CheckEdit: type: until
// add-column takes effect, backfill: until backfill or switch-writes is
// done), and a plan that changed only for other dialects. With apply, the
// new hash and text are recorded, and the log says what changed.
func (s *Session) checkHash(ctx context.Context, apply bool) error {
	hash := s.plan.Hash()
	progress := s.progress()
	changed, inForce := false, false
	for _, st := range s.state {
		if st.stored && st.Hash != hash {
			changed = true
		}
	}
	for _, st := range progress {
		if phases.InForce(st) {
			inForce = true
		}
	}
	if !changed {
		return nil
	}
	var old sql.NullString
	err := s.queryRow(ctx, s.db, "log-last-plan", nil, map[string]any{"plan": s.plan.Name}, &old)
	changes := []string{"(the earlier plan text is not in shepherd_log)"}
	var fields []string
	known := err == nil && old.Valid
	if known {
		changes = phases.Diff([]byte(old.String), s.plan.Canonical())
		if fields, err = phases.EditedFields([]byte(old.String), s.plan, s.d.name()); err != nil {
			known = false
		}
	}
	var refused, blocked []string
	switch {
	case !inForce:
	case !known:
		refused = []string{"the earlier plan text is not in shepherd_log, so shepherd cannot tell what changed"}
	default:
		for _, f := range fields {
			if err := s.pb.CheckEdit(f, progress); err != nil {
				refused = append(refused, err.Error())
				blocked = append(blocked, f)
			}
		}
	}
	if len(refused) > 0 {
		e := &PlanChangedError{File: s.plan.File, Plan: s.plan.Name, Changes: changes, Refused: refused, EditableNow: s.pb.EditableNow(progress)}
		if len(blocked) > 0 {
			steps, err := s.pb.RollbacksToEdit(blocked, progress)
			var re *phases.RefusedError
			switch {
			case errors.As(err, &re):
				e.NoRollback = re.Reason
			case err == nil:
				e.Rollbacks = steps
				for _, id := range steps {
					if ph, _ := s.pb.Phase(id); ph.Schema == phases.SchemaAddColumn {
						e.DropsColumn = id
					}
				}
			}
		}
		return e
	}
	if !apply {
		return nil
	}
	msg, restart := s.editAllowed(changes, fields, inForce)
	s.notice("", "%s", msg)
	return s.write(ctx, s.db, func(tx querier) error {
		if _, err := s.exec(ctx, tx, "state-rehash", nil, map[string]any{"plan": s.plan.Name, "hash": hash}); err != nil {
			return fmt.Errorf("record the changed plan %s: %w", s.plan.Name, s.dsn.scrub(err))
		}
		for _, id := range restart {
			st := s.st(id)
			st.resetWalk()
			if err := s.save(ctx, tx, st); err != nil {
				return err
			}
		}
		for _, st := range s.state {
			st.Hash = hash
		}
		if err := s.log(ctx, tx, "", "edit", "", msg); err != nil {
			return err
		}
		return s.log(ctx, tx, "", "plan", "", string(s.plan.Canonical()))
	})
}

// editAllowed says why an edit that CheckEdit allows is allowed, and which
// batched phases that use a changed field walk the table again from the
// start (their checkpoint belongs to the old plan).
func (s *Session) editAllowed(changes, fields []string, inForce bool) (msg string, restart []string) {
	name, what := s.plan.Name, strings.Join(changes, "; ")
	switch {
	case !inForce:
		return fmt.Sprintf("plan %s changed since it last ran (%s); no phase of it is in force, so the changed plan replaces it", name, what), nil
	case len(fields) == 0:
		return fmt.Sprintf("plan %s changed (%s), but reads the same on %s: the change is recorded, and nothing changes here", name, what, s.d.name()), nil
	}
	uses := s.pb.EditableFields()
	var reasons []string
	for _, f := range fields {
		users := uses[f]
		for _, id := range users {
			if st := s.st(id); !slices.Contains(restart, id) && (st.Checkpoint != nil || st.RowsDone > 0) {
				restart = append(restart, id)
			}
		}
		if len(users) == 0 {
			continue
		}
		state := phases.Plural(len(users), "has", "have") + " not taken effect"
		if s.pb.Reruns(f) {
			state = phases.Plural(len(users), "is", "are") + " not done yet"
		}
		reasons = append(reasons, fmt.Sprintf("%s, the phase%s that use%s %s, %s",
			phases.WordList(users), phases.Plural(len(users), "", "s"), phases.Plural(len(users), "s", ""), f, state))
	}
	if len(reasons) == 0 {
		return fmt.Sprintf("plan %s changed (%s): allowed: constraint.violating only says what verify-failure-path writes (and rolls back), so the changed plan applies from here", name, what), nil
	}
	msg = fmt.Sprintf("plan %s changed (%s): allowed, because %s; the changed plan applies from here", name, what, strings.Join(reasons, "; and "))
	if len(restart) > 0 {
		msg += fmt.Sprintf("; %s walk%s the table again from the start: rows already changed keep their values", phases.WordList(restart), phases.Plural(len(restart), "s", ""))
	}
	return msg, restart
}
