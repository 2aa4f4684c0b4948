package tui

import (
	"context"
	"fmt"

	tea "charm.land/bubbletea/v2"

	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/phases"
)

// The plan file is read again by every action that runs or rolls back (r,
// a gate's confirmation, u, v) and by R, in the action's command: the plan
// on screen may be hours old, and the operator may have edited the file
// since. The engine is handed the plan as the file has it now and checks it
// against the hash it recorded, exactly as `shepherd run` does: an edit it
// refuses runs nothing and the screen shows why; an edit it accepts (a field
// that may still change) is what the action runs.

// withPlan is an engine call's answer with the plan it read from the file
// and used: the screen shows that plan from then on.
type withPlan struct {
	plan *phases.Plan
	msg  tea.Msg
}

// renamedError is a plan file that now describes another plan than the
// screen's: an action on it would act on that other plan.
type renamedError struct{ file, was, now string }

func (e *renamedError) Error() string {
	return fmt.Sprintf("%s now describes the plan %s, not %s: nothing ran; esc goes back to the plan list, which shows it", e.file, e.now, e.was)
}

// reload reads the screen's plan file again, as `shepherd run` reads it
// (phases.Load). It does I/O: it runs only inside a command. A plan that
// came without a file has nothing to read again.
func reload(current *phases.Plan) (*phases.Plan, error) {
	if current.File == "" {
		return current, nil
	}
	p, err := phases.Load(current.File)
	if err != nil {
		return nil, err
	}
	if p.Name != current.Name {
		return nil, &renamedError{file: current.File, was: current.Name, now: p.Name}
	}
	return p, nil
}

// unreadable is the look at a plan whose file cannot be read again: closed,
// with the phases as shepherd_state records them.
func unreadable(ctx context.Context, eng Engine, plan *phases.Plan, err error) viewedMsg {
	m := viewedMsg{err: err}
	m.infos, m.started, m.statusErr = recorded(ctx, eng, plan)
	return m
}

// adopt shows the plan as the file had it when an engine call read it.
func (ps *planScreen) adopt(p *phases.Plan) {
	if p == nil || p == ps.plan {
		return
	}
	p = p.In(ps.eng.Dialect()) // its texts as this database reads them
	if p.Playbook != ps.plan.Playbook {
		// Another playbook (accepted only while no phase is in force):
		// other phases.
		ps.pb = p.PlaybookDef()
		ps.timeline = newTimeline(ps.styles, ps.pb)
		ps.previews = map[string]*engine.PhasePreview{}
		ps.failures, ps.rechecks, ps.activity = map[string]*failure{}, map[string]*recheck{}, map[string][]string{}
	}
	ps.plan = p
}
