package engine

import (
	"context"
	"fmt"

	"github.com/shepherd-db/shepherd/phases"
)

// A Sandbox is a throwaway SQLite database that a training lesson makes for
// itself. A session started on a sandbox can do one thing no other session
// can: run a phase out of the playbook's order, so that a lesson can apply a
// trainee's wrong order for real and show what breaks. Everything else is
// the ordinary engine: the same templates, state, lock and checks.

// Sandbox is an engine on a training sandbox.
type Sandbox struct{ *Engine }

// SandboxSession is a session on a sandbox.
type SandboxSession struct{ *Session }

// OpenSandbox connects to the SQLite sandbox file at path, which the caller
// has created (shepherd changes databases; it does not make them).
func OpenSandbox(ctx context.Context, path string) (*Sandbox, error) {
	e, err := Open(ctx, "sqlite:"+path)
	if err != nil {
		return nil, err
	}
	if e.Dialect() != "sqlite" {
		e.Close()
		return nil, &UsageError{Msg: "a sandbox is an SQLite file"}
	}
	return &Sandbox{e}, nil
}

// Start starts a session on the sandbox, as Engine.Start does.
func (sb *Sandbox) Start(ctx context.Context, plan *phases.Plan, opts Options) (*SandboxSession, error) {
	s, err := sb.Engine.Start(ctx, plan, opts)
	if err != nil {
		return nil, err
	}
	return &SandboxSession{s}, nil
}

// RunOutOfOrder runs phase id now, wherever the playbook stands. When id is
// the next phase it is RunPhase. Otherwise the phase's own work and checks
// run as they would in order (the database still refuses what it refuses,
// and shepherd's checks still refuse what they refuse), with a notice that
// says the order was skipped; for a gate, running it is a confirmation given
// before the deploy was checked. A phase already done is refused, and so is
// a phase that cannot be undone (the point of no return) while it is not
// the next one: that order is shepherd's own, on every database, so the
// sandbox applies RunPhase's rule to it rather than skip it.
func (s *SandboxSession) RunOutOfOrder(ctx context.Context, id string) error {
	ph, ok := s.pb.Phase(id)
	if !ok {
		return &UsageError{Msg: fmt.Sprintf("%s has no phase %q (phases: %v)", s.plan.Playbook, id, s.pb.IDs())}
	}
	if s.st(id).Status == phases.Done {
		return &UsageError{Msg: fmt.Sprintf("%s is already done", id)}
	}
	next, more := s.pb.Next(s.progress())
	if more && next.ID == id || ph.Undo == phases.UndoNever {
		return s.RunPhase(ctx, id)
	}
	s.notice(id, "sandbox: %s runs out of the playbook's order; the next phase in order is %s", id, next.ID)
	return s.execute(ctx, ph, "confirmed out of order in a training sandbox by "+s.opts.Operator)
}
