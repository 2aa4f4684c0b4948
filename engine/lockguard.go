package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Only the runner that holds a table's runner lock writes to shepherd's
// tables, and only while it holds it. A check of the lock before a write is
// not enough: a runner stopped between the two (SIGSTOP, a frozen VM, a
// long GC pause) can lose its lock meanwhile, and another runner can take it
// and finish the plan before the write lands. So every write (a state row,
// a checkpoint, a log row, a registration) runs in a transaction that
// first reads the lock's holder row (lease-guard), and writes only when the
// row still carries this runner's token:
//
//   - PostgreSQL and MySQL read it with a share lock: a runner that takes
//     the lock over writes its row (lease-put) only after the transaction
//     ends, and then reads what it wrote; a transaction that reads after the
//     takeover sees the other runner's token and writes nothing.
//   - SQLite's write transactions begin with the database's write lock
//     (BEGIN IMMEDIATE): a lease is taken over in one too, so the two never
//     interleave.
//
// Taking the lock writes its row without this check (that is what taking
// it is), and a lease is renewed or released by an UPDATE or DELETE that
// names this runner's token.

// guardedTx is a transaction whose lock check is done: the writes made
// through it do not check again.
type guardedTx struct{ *sql.Tx }

// write runs fn, which writes to shepherd's tables through the querier it
// is given, in a transaction that first checks that the runner lock is
// still this runner's (runnerLock.guard). When q is a transaction, that is
// the transaction, so the check commits or rolls back with the writes
// around it (a batch and its checkpoint, DDL and its state row); on the
// pool or a connection, fn gets a transaction of its own.
func (s *Session) write(ctx context.Context, q querier, fn func(q querier) error) error {
	switch q := q.(type) {
	case guardedTx:
		return fn(q)
	case *sql.Tx:
		if s.lock == nil {
			return errors.New("write to shepherd's tables without the runner lock: nothing was written")
		}
		if err := s.lock.guard(ctx, q); err != nil {
			return err
		}
		return fn(guardedTx{q})
	case *sql.DB:
		return s.inTx(ctx, func(tx *sql.Tx) error { return s.write(ctx, tx, fn) })
	case *sql.Conn:
		tx, err := q.BeginTx(ctx, nil)
		if err != nil {
			return s.dsn.scrub(err)
		}
		if err := s.write(ctx, tx, fn); err != nil {
			tx.Rollback()
			return err
		}
		return s.dsn.scrub(tx.Commit())
	}
	return fmt.Errorf("write to shepherd's tables through a %T", q)
}

// guardRow is runnerLock.guard for a lock whose holder row is scope's:
// rowLost says what a read of that row shows (nil: still this runner's,
// or not read). A loss found here is recorded, so that every later check
// of the lock fails too, and cancels the running phase.
func (s *Session) guardRow(ctx context.Context, q querier, scope string, loss *lossSignal, rowLost func(h *LockHeldError, token string, err error) *LockLostError) error {
	if lost := loss.err(); lost != nil {
		return lost
	}
	h, token, _, err := s.readHolderWith(ctx, q, "lease-guard", scope)
	if lost := rowLost(h, token, err); lost != nil {
		return loss.lose(lost)
	}
	if err != nil {
		return fmt.Errorf("check that the runner lock of %s is still this runner's: %w", scope, s.dsn.scrub(err))
	}
	return nil
}

func (l *sessionLock) guard(ctx context.Context, q querier) error {
	return l.s.guardRow(ctx, q, l.scope, &l.loss, func(h *LockHeldError, token string, err error) *LockLostError {
		if !errors.Is(err, sql.ErrNoRows) && (err != nil || token == l.token) {
			return nil
		}
		// The error says how the lock's session ended, which the
		// keep-alive records under l.mu.
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.rowLost(h, token, err)
	})
}

func (l *lease) guard(ctx context.Context, q querier) error {
	return l.s.guardRow(ctx, q, l.scope, &l.loss, l.rowLost)
}
