package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/phases"
)

// How the plan screen reads and acts. Reading takes no lock: the screen
// shows a plan through Engine.Inspect, so that a TUI left open on a plan
// never keeps a release job out. Acting (run, confirm, retry, roll back,
// the failure path's re-verification) starts a session, which takes the
// table's runner lock and reads the state again under it, does the one
// thing the operator asked if the plan is still where the screen showed it,
// and closes the session: the lock is held while the action runs (a
// backfill paused between batches included), and released when it ends.

// statusUnknown is a phase whose state the screen could not read.
const statusUnknown phases.Status = "unknown"

// proofPhase is the plan's phase whose proof writes, and whose statement
// depends on a value shepherd picks when it runs (tighten-constraint's
// verify-failure-path); "" when its playbook has none.
func proofPhase(plan *phases.Plan) string {
	pb := plan.PlaybookDef()
	if pb == nil {
		return ""
	}
	for _, ph := range pb.Phases {
		if ph.Proof {
			return ph.ID
		}
	}
	return ""
}

// isProof reports whether the plan's phase id is its proof (see proofPhase).
func isProof(plan *phases.Plan, id string) bool {
	return id != "" && id == proofPhase(plan)
}

// inspect reads the plan without the lock. When the plan cannot be opened,
// the phases are what shepherd_state records of it, read the way status
// reads them.
func inspect(ctx context.Context, eng Engine, plan *phases.Plan, opts engine.Options) viewedMsg {
	v, err := eng.Inspect(ctx, plan, opts)
	if err != nil {
		m := viewedMsg{err: err}
		m.infos, m.started, m.statusErr = recorded(ctx, eng, plan)
		return m
	}
	m := viewedMsg{infos: v.Phases(), previews: v.Previews()}
	if proof := proofPhase(plan); proof != "" && infoOf(m.infos, proof).Status == phases.Done {
		m.used = usedWrite(ctx, eng, plan)
	}
	return m
}

// recorded is the plan's phases as shepherd_state records them. A plan not
// recorded at all has not started: its phases are pending. A phase the
// record lacks (the playbook changed), or every phase when the state cannot
// be read, is unknown.
func recorded(ctx context.Context, eng Engine, plan *phases.Plan) (infos []engine.PhaseInfo, started bool, err error) {
	pb := plan.PlaybookDef()
	all, err := eng.Status(ctx)
	var rec *engine.PlanStatus
	for i := range all {
		if all[i].Name == plan.Name {
			rec = &all[i]
		}
	}
	out := make([]engine.PhaseInfo, 0, len(pb.Phases))
	for _, ph := range pb.Phases {
		in := engine.PhaseInfo{ID: ph.ID, Status: phases.Pending}
		switch {
		case err != nil:
			in.Status = statusUnknown
		case rec != nil:
			in.Status = statusUnknown
			for _, r := range rec.Phases {
				if r.ID != ph.ID {
					continue
				}
				in.Status, in.RowsDone, in.Detail = r.Status, r.RowsDone, r.Detail
				if r.StartedAt != nil {
					in.StartedAt = *r.StartedAt
				}
				if r.FinishedAt != nil {
					in.FinishedAt = *r.FinishedAt
				}
			}
		}
		out = append(out, in)
	}
	return out, rec != nil, err
}

// usedWrite is the violating write the failure path's proof last had
// rejected, from the plan's log; "" when the log does not say.
func usedWrite(ctx context.Context, eng Engine, plan *phases.Plan) string {
	entries, err := eng.Log(ctx, plan.Name)
	if err != nil {
		return ""
	}
	proof := proofPhase(plan)
	for i := len(entries) - 1; i >= 0; i-- {
		if e := entries[i]; proof != "" && e.Phase == proof && e.Event == "sql" && e.SQL != "" {
			return e.SQL
		}
	}
	return ""
}

// movedOnError is an action that did not run because the state read under
// the runner lock is not what the screen showed: another runner moved the
// plan on meanwhile.
type movedOnError struct{ what string }

func (e *movedOnError) Error() string {
	return "the plan moved on since this screen read it: " + e.what + "; nothing ran, and the screen now shows where it stands"
}

// stillThere checks, on the state read under the lock, that the action the
// operator chose still applies.
func stillThere(o op, pb *phases.Playbook, phase string, infos []engine.PhaseInfo) error {
	prog := progressOf(infos)
	switch o {
	case opRun, opArrive:
		next, more := pb.Next(prog)
		switch {
		case !more:
			return &movedOnError{what: "every phase is done"}
		case next.ID != phase:
			return &movedOnError{what: fmt.Sprintf("the next phase is %s, no longer %s", next.ID, phase)}
		}
	case opRollback:
		target, _, err := pb.RollbackTarget(prog)
		switch {
		case err != nil:
			return &movedOnError{what: "there is nothing to roll back now: " + err.Error()}
		case target.ID != phase:
			return &movedOnError{what: fmt.Sprintf("a rollback would now undo %s, not %s", target.ID, phase)}
		}
	case opReverify:
		if st := infoOf(infos, phase).Status; st != phases.Done {
			return &movedOnError{what: fmt.Sprintf("%s is %s now", phase, st)}
		}
	}
	return nil
}

// stepTap remembers the last statement a session ran for the failure
// path, so that the screen can show the write the database rejected.
type stepTap struct {
	proof string // the plan's proof phase (proofPhase)
	mu    sync.Mutex
	sql   string
}

func (t *stepTap) emit(next func(engine.Event)) func(engine.Event) {
	return func(e engine.Event) {
		if e.Event == engine.EventStep && e.Phase != "" && e.Phase == t.proof {
			t.mu.Lock()
			t.sql = e.SQL
			t.mu.Unlock()
		}
		next(e)
	}
}

func (t *stepTap) last() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sql
}

// act runs one action as a tea.Cmd: a session taken for it (the runner
// lock, the state read again under it), the check that the action still
// applies, the action, and the session closed again. When the session
// cannot start or the plan moved on, it answers a refusedMsg with a fresh
// look at the plan.
func (ps *planScreen) act(o op, phase string, do func(ctx context.Context, sess Session, tap *stepTap) tea.Msg) tea.Cmd {
	eng, plan, track := ps.eng, ps.plan, ps.track
	opts := ps.sessionOpts()
	tap := &stepTap{proof: proofPhase(plan)}
	opts.Emit = tap.emit(opts.Emit)
	return ps.start(o, phase, func(ctx context.Context) tea.Msg {
		// The file as it is now, checked by the engine as a CLI run
		// checks it (see reload).
		fresh, err := reload(plan)
		if err != nil {
			return refusedMsg{op: o, phase: phase, err: err, view: unreadable(ctx, eng, plan, err)}
		}
		sess, err := eng.Start(ctx, fresh, opts)
		if err != nil {
			return withPlan{plan: fresh, msg: refusedMsg{op: o, phase: phase, err: err, view: inspect(ctx, eng, fresh, opts)}}
		}
		track.opened(sess)
		defer func() {
			sess.Close()
			track.closed(sess)
		}()
		if err := stillThere(o, fresh.PlaybookDef(), phase, sess.Phases()); err != nil {
			view := viewedMsg{infos: sess.Phases(), previews: sess.Previews()}
			return withPlan{plan: fresh, msg: refusedMsg{op: o, phase: phase, err: err, view: view}}
		}
		msg := do(ctx, sess, tap)
		if err := answerErr(msg); err != nil && ctx.Err() != nil {
			// Cut short by the TUI's end: Run reports it.
			track.stopped.add(&StoppedError{Plan: fresh.Name, File: fresh.File, Phase: phase,
				RowsDone: infoOf(sess.Phases(), phase).RowsDone, Err: err})
		}
		return withPlan{plan: fresh, msg: msg}
	})
}

// heldText says who holds the runner lock the action needed.
func heldText(h *engine.LockHeldError) string {
	since := "an unknown time"
	if !h.Since.IsZero() {
		since = clock(h.Since)
		if d := now().Sub(h.Since).Round(time.Second); d > 0 {
			since += fmt.Sprintf(" (%s ago)", d)
		}
	}
	return fmt.Sprintf("another runner holds %s: %s, pid %d on host %s, since %s, running plan %s. Nothing ran; the plan stays open to read, and r tries again.",
		h.Scope, h.Holder, h.PID, h.Host, since, h.Plan)
}

// refusal is the message line for an action that did not run.
func refusal(err error) string {
	var held *engine.LockHeldError
	var changed *engine.PlanChangedError
	switch {
	case errors.As(err, &held):
		return heldText(held)
	case errors.As(err, &changed):
		return "the plan file changed since it started in this database, in a way its recorded progress does not allow: nothing ran (the detail says what changed and what may change now)"
	}
	return firstLine(err.Error())
}

// openReason says in a line why a plan cannot be opened; the detail pane
// has the whole of it.
func openReason(err error) string {
	var changed *engine.PlanChangedError
	if errors.As(err, &changed) {
		return "the plan file changed since it started in this database"
	}
	return strings.TrimSuffix(firstLine(err.Error()), ":")
}
