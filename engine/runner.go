package engine

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/shepherd-db/shepherd/phases"
)

// Runner is who holds a plan's runner lock, as the lock's row in
// shepherd_lock names it, and whether that runner is alive: whether it
// still holds the lock (the database holds it for a live session, or the
// lease is renewed; on this host, its process exists). A phase recorded as
// running without a live runner was stopped without a chance to say so (kill
// -9, a crash, a lost machine): it is stopped, and a run resumes it.
type Runner struct {
	Holder string    `json:"holder"`
	Host   string    `json:"host"`
	PID    int64     `json:"pid"`
	Since  time.Time `json:"since"`
	Alive  bool      `json:"alive"`
}

// holderAlive says whether the holder h of scope's runner lock (expires:
// its lease's end) still holds it.
func (e *Engine) holderAlive(ctx context.Context, scope string, h *LockHeldError, expires *time.Time) (bool, error) {
	if deadOnThisHost(h.Host, h.PID) {
		return false, nil // the server may not have noticed yet
	}
	alive, err := e.d.runnerAlive(ctx, e, scope, h, expires)
	if err != nil {
		return false, fmt.Errorf("check whether the runner lock of %s is held: %w", scope, e.dsn.scrub(err))
	}
	return alive, nil
}

// runners reads every runner lock's holder, by the plan it runs.
func (e *Engine) runners(ctx context.Context) (map[string]*Runner, error) {
	type row struct {
		scope   string
		h       LockHeldError
		expires *time.Time
	}
	var found []row
	err := func() error {
		rows, err := e.query(ctx, e.db, "lease-list", nil, nil)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r row
			var since, expires any
			if err := rows.Scan(&r.scope, &r.h.Plan, &r.h.Holder, &r.h.Host, &r.h.PID, &since, &expires); err != nil {
				return err
			}
			if t := parseTime(since); t != nil {
				r.h.Since = *t
			}
			r.expires = parseTime(expires)
			found = append(found, r)
		}
		return rows.Err()
	}()
	if err != nil {
		return nil, fmt.Errorf("read shepherd_lock: %w", e.dsn.scrub(err))
	}
	out := map[string]*Runner{}
	for _, r := range found {
		if out[r.h.Plan] != nil {
			continue
		}
		alive, err := e.holderAlive(ctx, r.scope, &r.h, r.expires)
		if err != nil {
			return nil, err
		}
		out[r.h.Plan] = &Runner{Holder: r.h.Holder, Host: r.h.Host, PID: r.h.PID, Since: r.h.Since, Alive: alive}
	}
	return out, nil
}

// heldByAnother reads, without taking it, whether a live runner holds the
// runner lock of the session's table, and returns it as the
// *LockHeldError that taking the lock would; nil when none does, or when
// that cannot be read (the lock itself decides then).
func (s *Session) heldByAnother(ctx context.Context) *LockHeldError {
	scope, err := s.d.lockScope(ctx, s)
	if err != nil {
		return nil
	}
	h, _, expires, err := s.readHolder(ctx, s.db, scope)
	if err != nil {
		return nil
	}
	if alive, err := s.holderAlive(ctx, scope, h, expires); err != nil || !alive {
		return nil
	}
	return h
}

// readRunner reads who runs the session's plan now, for screens (nil when
// nobody holds its lock, or that cannot be read).
func (s *Session) readRunner(ctx context.Context) *Runner {
	if !s.tablesComplete {
		if exists, err := s.stateExists(ctx); err != nil || !exists {
			return nil
		}
	}
	runners, err := s.runners(ctx)
	if err != nil {
		return nil
	}
	return runners[s.plan.Name]
}

// ownRunner is this session, once it holds the lock, as Runner.
func (s *Session) ownRunner() *Runner {
	host, _ := os.Hostname()
	return &Runner{Holder: s.opts.Operator, Host: host, PID: int64(os.Getpid()), Since: time.Now(), Alive: true}
}

// withRunners adds to each plan who holds (or last held) its runner lock.
func (e *Engine) withRunners(ctx context.Context, plans []PlanStatus) ([]PlanStatus, error) {
	if len(plans) == 0 {
		return plans, nil
	}
	runners, err := e.runners(ctx)
	if err != nil {
		return nil, err
	}
	for i := range plans {
		plans[i].Runner = runners[plans[i].Name]
	}
	return plans, nil
}

// Stopped reports whether the phase stopped before it finished, and a run
// resumes it: it was interrupted (Ctrl-C, a signal, a closed TUI), or it is
// recorded as running while no live runner holds the plan's lock (a
// runner killed, crashed or cut off before it could record anything).
func (p PhaseInfo) Stopped() bool {
	return stopped(p.Status, p.Interrupted(), p.Runner)
}

// Interrupted reports whether the phase's last run was interrupted
// (Ctrl-C, a signal, a closed TUI): it is recorded as failed, keeps its
// checkpoint, and screens call it stopped.
func (p PhaseInfo) Interrupted() bool { return wasInterrupted(p.Status, p.Detail) }

// Stopped is PhaseInfo.Stopped for a phase as status reads it, with the
// runner of its plan (PlanStatus.Runner).
func (p PhaseStatus) Stopped(runner *Runner) bool {
	return stopped(p.Status, p.Interrupted(), runner)
}

// Interrupted is PhaseInfo.Interrupted for a phase as status reads it.
func (p PhaseStatus) Interrupted() bool { return wasInterrupted(p.Status, p.Detail) }

func stopped(status phases.Status, interrupted bool, runner *Runner) bool {
	switch status {
	case phases.Failed:
		return interrupted
	case phases.Running:
		return runner == nil || !runner.Alive
	}
	return false
}
