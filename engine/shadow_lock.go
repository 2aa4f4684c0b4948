package engine

import (
	"context"
	"database/sql/driver"
	"fmt"
	"time"

	"github.com/shepherd-db/shepherd/templates"
)

// The statements of add-column's copy (shadow.go) that need the table's
// metadata lock: each asks for it with NOWAIT and is tried again, so that
// no application write ever queues behind one; and dropping what a copy
// left.

// shadowStep runs one statement of the copy's and records it in the log.
func (s *Session) shadowStep(ctx context.Context, id string, q querier, step templates.Step) error {
	if err := s.lockedStep(ctx, id, q, step); err != nil {
		return err
	}
	return s.log(ctx, s.db, id, "sql", step.SQL, step.Lock)
}

// lockedStep runs one statement of the copy's on q (under the table's
// lock, the connection that holds it).
func (s *Session) lockedStep(ctx context.Context, id string, q querier, step templates.Step) error {
	args, err := step.Args(nil)
	if err != nil {
		return err
	}
	if _, err := q.ExecContext(ctx, step.SQL, args...); err != nil {
		return fmt.Errorf("%s: copy of %s: %w", id, s.plan.Table, s.dsn.scrub(err))
	}
	return nil
}

// underTableLock runs script's statements on a connection of its own that
// holds lockName (LOCK TABLES … NOWAIT, taken once no session holds the
// tables), calling failpoint, when set, after each, then unlocks; and logs
// the statements that ran once the lock is gone: each log row is a commit,
// which the application's writes would wait for. The connection is
// closed, not given back to the pool: one whose UNLOCK TABLES did not go
// through must not serve anything else.
func (s *Session) underTableLock(ctx context.Context, id, what, lockName string, d sqlData, script templates.Script, failpoint string) error {
	ran, err := s.runLocked(ctx, id, what, lockName, d, script, failpoint)
	for _, step := range ran {
		if lerr := s.log(ctx, s.db, id, "sql", step.SQL, step.Lock); lerr != nil && err == nil {
			err = lerr
		}
	}
	return err
}

// runLocked is underTableLock's run under the lock: it returns the steps
// that ran.
func (s *Session) runLocked(ctx context.Context, id, what, lockName string, d sqlData, script templates.Script, failpoint string) (templates.Script, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: copy of %s: %w", id, s.plan.Table, s.dsn.scrub(err))
	}
	defer func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "UNLOCK TABLES")
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		_ = conn.Close()
	}()
	lock, err := s.sql.Query(lockName, d)
	if err != nil {
		return nil, err
	}
	err = s.nowait(ctx, id, "lock "+s.plan.Table+" to "+what, func() error {
		_, err := conn.ExecContext(ctx, lock.SQL)
		return err
	})
	if err != nil {
		return nil, err
	}
	var ran templates.Script
	for _, step := range script {
		if err := s.lockedStep(ctx, id, conn, step); err != nil {
			return ran, err
		}
		ran = append(ran, step)
		if failpoint != "" {
			s.opts.Failpoint(failpoint)
		}
	}
	return ran, nil
}

// shadowTries bounds how often a NOWAIT statement of the copy's is tried
// while sessions hold the table, a pause of 5 to 45 ms apart: about a
// minute, before the phase stops (to be rerun). Under constant load, a
// moment with no transaction open on the table can take a while to come.
const shadowTries = 2400

// ShadowBusyError is a copy's step that never found the table free:
// sessions held it through every try. Nothing is lost: the triggers keep
// the copy in step, and a rerun tries again.
type ShadowBusyError struct {
	Phase, Table, What string
	Tries              int
	Over               time.Duration
}

func (e *ShadowBusyError) Error() string {
	return fmt.Sprintf("%s: %s: other sessions held %s open through %d tries over %s (each asked for its lock with NOWAIT, so that no write queued behind it); nothing is lost, and the copy is kept in step with the table: rerun when transactions on %s are shorter or fewer, and the run goes on from here",
		e.Phase, e.What, e.Table, e.Tries, e.Over.Round(time.Second), e.Table)
}

// nowait runs op, a statement that asks for a metadata lock with NOWAIT,
// again after a short pause while another session holds the lock, up to
// shadowTries times. A lost connection is not tried again: the statement
// may have gone through.
func (s *Session) nowait(ctx context.Context, id, what string, op func() error) error {
	start := time.Now()
	r := &retrier{first: 25 * time.Millisecond, jitter: 0.8, steady: true, lockTries: shadowTries, connTries: 1}
	err := r.run(ctx, func(err error) failureKind { return s.d.classify(err).kind }, op, nil, nil)
	switch {
	case err == nil:
		if r.attempts > 1 {
			s.notice(id, "%s: done on try %d, after %s", what, r.attempts, time.Since(start).Round(time.Millisecond))
		}
		return nil
	case ctx.Err() != nil:
		return s.interrupted(id)
	case r.kind == failLockTimeout:
		return &ShadowBusyError{Phase: id, Table: s.plan.Table, What: what, Tries: r.attempts, Over: time.Since(start)}
	}
	return fmt.Errorf("%s: %s: %w", id, what, s.dsn.scrub(err))
}

// dropOld drops the old table, with the triggers that stayed on it.
func (s *Session) dropOld(ctx context.Context, id string, d sqlData) error {
	return s.nowaitStatement(ctx, id, "drop "+d.Shadow.Old, "shadow-drop-old", d)
}

// nowaitStatement runs the one statement of template name, which asks for
// its lock with NOWAIT (see nowait), on the pool, and records it in the
// log.
func (s *Session) nowaitStatement(ctx context.Context, id, what, name string, d sqlData) error {
	script, err := s.sql.Script(name, d)
	if err != nil {
		return err
	}
	step := script[0]
	err = s.nowait(ctx, id, what, func() error {
		_, err := s.db.ExecContext(ctx, step.SQL)
		return err
	})
	if err != nil {
		return err
	}
	return s.log(ctx, s.db, id, "sql", step.SQL, step.Lock)
}

// dropShadow removes what a copy left: the copy first (the triggers ignore
// its absence), then the triggers, under the table's lock, then the old
// table. A rollback of the backfill runs it too.
func (s *Session) dropShadow(ctx context.Context, id string) error {
	if !copiesByShadow(s.d) {
		return nil
	}
	d := s.builder().shadowData()
	left, err := s.shadowLeft(ctx, d)
	if err != nil || !left.any() {
		return err
	}
	if left.copy {
		if err := s.nowaitStatement(ctx, id, "drop "+d.Shadow.Copy, "shadow-drop-copy", d); err != nil {
			return err
		}
		s.notice(id, "dropped %s, the copy an earlier run began", d.Shadow.Copy)
	}
	if left.triggers > 0 {
		drops, err := s.sql.Script("shadow-drop-triggers", d)
		if err != nil {
			return err
		}
		if err := s.underTableLock(ctx, id, "drop the copy's triggers", "shadow-lock-table", d, drops, ""); err != nil {
			return err
		}
	}
	if left.old {
		return s.dropOld(ctx, id, d)
	}
	return nil
}
