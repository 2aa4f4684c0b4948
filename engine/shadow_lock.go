package engine

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"math/rand/v2"
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

// lockedStep runs one statement of the copy's, on the connection that
// holds the table's lock.
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

// underTableLock runs fn on a connection of its own that holds lockName
// (LOCK TABLES … NOWAIT, taken once no session holds the tables), then
// unlocks. The connection is closed, not given back to the pool: one
// whose UNLOCK TABLES did not go through must not serve anything else.
func (s *Session) underTableLock(ctx context.Context, id, lockName string, d sqlData, fn func(conn *sql.Conn) error) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("%s: copy of %s: %w", id, s.plan.Table, s.dsn.scrub(err))
	}
	defer func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "UNLOCK TABLES")
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		_ = conn.Close()
	}()
	lock, err := s.sql.Query(lockName, d)
	if err != nil {
		return err
	}
	err = s.nowait(ctx, id, "lock "+s.plan.Table+" to make the copy's triggers", func() error {
		_, err := conn.ExecContext(ctx, lock.SQL)
		return err
	})
	if err != nil {
		return err
	}
	return fn(conn)
}

// shadowPatience is how long a NOWAIT statement of the copy's is tried
// again while sessions hold the table, before the phase stops (to be
// rerun): under constant load, a moment with no transaction open on the
// table can take a while to come.
const shadowPatience = 60 * time.Second

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
// again after a short random pause while another session holds the lock,
// for up to shadowPatience.
func (s *Session) nowait(ctx context.Context, id, what string, op func() error) error {
	start := time.Now()
	patience := shadowPatience
	if w := waitsOf(ctx); w.retryScale > 0 {
		patience = w.pause(patience)
	}
	for tries := 1; ; tries++ {
		err := op()
		if err == nil {
			if tries > 1 {
				s.notice(id, "%s: done on try %d, after %s", what, tries, time.Since(start).Round(time.Millisecond))
			}
			return nil
		}
		if s.d.classify(err).kind != failLockTimeout {
			return fmt.Errorf("%s: %s: %w", id, what, s.dsn.scrub(err))
		}
		if time.Since(start) > patience {
			return &ShadowBusyError{Phase: id, Table: s.plan.Table, What: what, Tries: tries, Over: time.Since(start)}
		}
		if err := sleep(ctx, 5*time.Millisecond+rand.N(45*time.Millisecond)); err != nil {
			return s.interrupted(id)
		}
	}
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
		err = s.underTableLock(ctx, id, "shadow-lock-table", d, func(conn *sql.Conn) error {
			for _, step := range drops {
				if err := s.lockedStep(ctx, id, conn, step); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, step := range drops {
			if err := s.log(ctx, s.db, id, "sql", step.SQL, step.Lock); err != nil {
				return err
			}
		}
	}
	if left.old {
		return s.dropOld(ctx, id, d)
	}
	return nil
}
