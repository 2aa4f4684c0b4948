package phases

import (
	"fmt"
	"slices"
	"strings"
)

// Status is where one phase of one plan stands. The values are part of the
// contract (`status --json`).
type Status string

const (
	Pending    Status = "pending"
	Running    Status = "running"
	Waiting    Status = "waiting" // a gate waiting for its deploy to be confirmed
	Done       Status = "done"
	Failed     Status = "failed"
	RolledBack Status = "rolled-back"

	// FailedUnchanged is how the state machine sees a failed phase that
	// changed nothing in the database: refused before its first change
	// (drop-old-column while a view uses the old column, enforce while
	// rows are NULL), or failed in a statement the database undid whole
	// (add-column on a type the server rejects). Its recorded status stays
	// failed, and `status` shows it so: the engine records with each
	// failure whether any of the phase's changes committed, and Effective
	// turns the two into this status. It is not in force: rollback passes
	// over it (back to pending) to the phase before it, and the fields
	// only it uses may change.
	FailedUnchanged Status = "failed (nothing changed)"
)

// Effective is the status the state machine reasons with, from a phase's
// recorded status and whether it took effect: a failure that changed
// nothing is FailedUnchanged; every other status is itself.
func Effective(recorded Status, tookEffect bool) Status {
	if recorded == Failed && !tookEffect {
		return FailedUnchanged
	}
	return recorded
}

// Action is something that happens to a phase.
type Action string

const (
	Start  Action = "start"  // the engine begins (or resumes, or retries) the phase
	Finish Action = "finish" // its work and its verification succeeded
	Fail   Action = "fail"   // its work or its verification failed
	Arrive Action = "arrive" // a gate is reached and waits for confirmation
	Revert Action = "revert" // rollback undid it
	Reset  Action = "reset"  // a waiting gate goes back to pending (rollback went past it)
)

// transitions is the whole state machine of one phase: from → action → to.
// Running → Start is a resume after a crash; Failed → Start a retry. A
// phase that has not started can fail too: a gate prepares the database on
// arrival (rename's stop-old-writes), and that can fail.
var transitions = map[Status]map[Action]Status{
	Pending:    {Start: Running, Arrive: Waiting, Fail: Failed},
	Running:    {Start: Running, Finish: Done, Fail: Failed, Revert: RolledBack},
	Waiting:    {Start: Running, Arrive: Waiting, Reset: Pending, Fail: Failed},
	Done:       {Revert: RolledBack},
	Failed:     {Start: Running, Arrive: Waiting, Revert: RolledBack, Fail: Failed},
	RolledBack: {Start: Running, Arrive: Waiting, Fail: Failed},
	// A failure that changed nothing has nothing to revert: rollback
	// going past it sets it back to pending.
	FailedUnchanged: {Start: Running, Arrive: Waiting, Fail: Failed, Reset: Pending},
}

// Transition returns the status after action, or an error if the action is
// not allowed from status.
func Transition(from Status, a Action) (Status, error) {
	if to, ok := transitions[from][a]; ok {
		return to, nil
	}
	return from, fmt.Errorf("cannot %s a phase that is %s", a, from)
}

// Progress is every phase's status for one plan, by phase id.
type Progress map[string]Status

// Of returns a phase's status; phases never run are pending.
func (p Progress) Of(id string) Status {
	if s, ok := p[id]; ok && s != "" {
		return s
	}
	return Pending
}

// Next returns the first phase that is not done: what a run does next. ok is
// false when every phase is done.
func (pb *Playbook) Next(p Progress) (ph Phase, ok bool) {
	for _, ph := range pb.Phases {
		if p.Of(ph.ID) != Done {
			return ph, true
		}
	}
	return Phase{}, false
}

// Complete reports whether every phase is done.
func (pb *Playbook) Complete(p Progress) bool {
	_, more := pb.Next(p)
	return !more
}

// RollbackTarget returns the phase `rollback` reverts: the last one that did
// something (done, failed mid-way, or interrupted). Waiting gates after it,
// and phases that failed without changing anything, are returned too, to be
// reset to pending. A phase rolled back is not in force, so it is passed
// over: add-column (UndoDDLIfLast) is the target only once every later phase
// is pending, waiting or rolled back.
func (pb *Playbook) RollbackTarget(p Progress) (target Phase, resets []Phase, err error) {
	anyRolledBack := false
	var unchanged []string
	for i := len(pb.Phases) - 1; i >= 0; i-- {
		ph := pb.Phases[i]
		switch p.Of(ph.ID) {
		case RolledBack:
			anyRolledBack = true
		case Waiting:
			resets = append(resets, ph)
		case FailedUnchanged:
			resets = append(resets, ph)
			unchanged = append(unchanged, ph.ID)
		case Done, Failed, Running:
			if ph.Undo == UndoNever && p.Of(ph.ID) == Done {
				return ph, nil, &RefusedError{Phase: ph.ID, Reason: fmt.Sprintf(
					"%s is the point of no return: it is done and cannot be undone", ph.ID)}
			}
			return ph, resets, nil
		}
	}
	if len(unchanged) > 0 {
		slices.Reverse(unchanged)
		return Phase{}, nil, &RefusedError{Reason: fmt.Sprintf("nothing to roll back: %s failed without changing anything, so %s not in force; fix what made %s fail and run the plan again",
			WordList(unchanged), Plural(len(unchanged), "it is", "they are"), Plural(len(unchanged), "it", "them"))}
	}
	if anyRolledBack {
		return Phase{}, nil, &RefusedError{Reason: "nothing to roll back: every phase is rolled back or pending"}
	}
	return Phase{}, nil, &RefusedError{Reason: "nothing to roll back: no phase of this plan has run"}
}

// InForce reports whether a phase with this status (as Effective gives it)
// has taken effect, wholly or in part: done, failed after a change, or
// interrupted (whatever it did before is unknown).
func InForce(s Status) bool { return s == Done || s == Failed || s == Running }

// Index returns the position of phase id in the playbook, or -1.
func (pb *Playbook) Index(id string) int {
	for i, ph := range pb.Phases {
		if ph.ID == id {
			return i
		}
	}
	return -1
}

// Phase returns the phase with that id.
func (pb *Playbook) Phase(id string) (Phase, bool) {
	if i := pb.Index(id); i >= 0 {
		return pb.Phases[i], true
	}
	return Phase{}, false
}

// IDs lists the phase ids in order.
func (pb *Playbook) IDs() []string {
	ids := make([]string, len(pb.Phases))
	for i, ph := range pb.Phases {
		ids[i] = ph.ID
	}
	return ids
}

// RefusedError is a rollback (or other request) that shepherd will not carry
// out, and why. Nothing was touched.
type RefusedError struct {
	Phase  string
	Reason string
}

func (e *RefusedError) Error() string { return e.Reason }

// CheckTargets checks a run's --until phase and --confirm gates against the
// playbook, before anything runs.
func (pb *Playbook) CheckTargets(until string, confirm []string) error {
	if until != "" && pb.Index(until) < 0 {
		return &TargetError{Msg: fmt.Sprintf("--until %s: %s has no phase %q (phases: %s)", until, pb.Name, until, strings.Join(pb.IDs(), ", "))}
	}
	for _, id := range confirm {
		if ph, ok := pb.Phase(id); !ok || !(ph.Gate || ph.Confirm) {
			return &TargetError{Msg: fmt.Sprintf("--confirm %s: %s has no gate %q (gates: %s)", id, pb.Name, id, strings.Join(pb.Gates(), ", "))}
		}
	}
	return nil
}

// Gates lists the phases that need a confirmation: the gates and the point
// of no return.
func (pb *Playbook) Gates() []string {
	var ids []string
	for _, ph := range pb.Phases {
		if ph.Gate || ph.Confirm {
			ids = append(ids, ph.ID)
		}
	}
	return ids
}

// TargetError is a --until or --confirm that names no phase or gate of the
// playbook. Nothing was touched.
type TargetError struct{ Msg string }

func (e *TargetError) Error() string { return e.Msg }
