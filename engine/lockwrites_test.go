package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shepherd-db/shepherd/internal/testdb"
	"github.com/shepherd-db/shepherd/phases"
)

// After its runner lock is lost, a runner writes nothing more to shepherd's
// tables: every write there checks, in its own transaction, that the lock's
// holder row still carries this runner's token.

// shepherdTables names shepherd_state, shepherd_log and shepherd_lock as
// the test's database has them.
func shepherdTables(db *testdb.DB) (state, log, lock string) {
	prefix := ""
	if db.Dialect == "postgres" {
		prefix = "shepherd."
	}
	return prefix + "shepherd_state", prefix + "shepherd_log", prefix + "shepherd_lock"
}

// shepherdRows is every row of shepherd_state and shepherd_log, as text.
func shepherdRows(t *testing.T, db *testdb.DB) string {
	t.Helper()
	state, log, _ := shepherdTables(db)
	return fmt.Sprintf("state:\n%v\nlog:\n%v", db.Query(`SELECT * FROM `+state+` ORDER BY plan, phase`),
		db.Query(`SELECT * FROM `+log+` ORDER BY id`))
}

// stall stands for a runner process that is stopped (SIGSTOP, a frozen VM)
// long enough to lose its runner lock: its keep-alive or lease renewals stop
// with it, and then the lock goes: the server ends the lock's session (a
// cut connection), or the lease expires. On SQLite the lease row is moved to
// another host first, as if the runner ran in another container: a stopped
// process on this host would still count as alive.
func stall(t *testing.T, db *testdb.DB, s *Session) {
	t.Helper()
	switch l := s.lock.(type) {
	case *sessionLock:
		l.stopKeepAlive()
		killLockSession(t, db, db.Dialect)
	case *lease:
		l.stopRenewing()
		db.Exec(`UPDATE shepherd_lock SET host = 'build-7'`)
		deadline := time.Now().Add(time.Minute)
		for {
			exp := parseTime(db.One(`SELECT expires_at FROM shepherd_lock`))
			if exp != nil && time.Now().After(*exp) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the lease did not expire")
			}
			time.Sleep(50 * time.Millisecond)
		}
	default:
		t.Fatalf("no way to stall a %T", l)
	}
}

// The scenario: runner A stalls mid-backfill and loses its lock;
// runner B takes it and finishes the plan; A goes on. A's next batch must
// not reach shepherd's tables (it flipped backfill back to running after
// enforce was done): A stops with a *LockLostError, the tables hold exactly
// what B left, and enforce stays done.
func TestStalledRunnerWritesNothingAfterItsLockIsLost(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		db.Seed(2000)
		ctx := context.Background()
		plan := mustPlan(t, usersEmailPlan)
		// A is held between two batches (after its last look at the lock,
		// before its next write) while it stalls and B runs.
		pause := &PauseSwitch{}
		var batches atomic.Int64
		hook := func(point string) {
			if point == "backfill:batch-done" && batches.Add(1) == 3 {
				pause.Pause()
			}
		}
		paused := make(chan struct{}, 1)
		recA := &recorder{on: func(e Event) {
			if e.Event == EventPaused {
				select {
				case paused <- struct{}{}:
				default:
				}
			}
		}}
		a, _ := session(t, db, plan, Options{Operator: "first", BatchSize: 100, Pause: pause, Failpoint: hook, LeaseTTL: 2 * time.Second, Emit: recA.emit})
		done := make(chan error, 1)
		go func() {
			_, err := a.Run(ctx, "", confirm("deploy-readers"))
			done <- err
		}()
		t.Cleanup(pause.Resume)
		select {
		case <-paused:
		case err := <-done:
			t.Fatalf("A ended before its pause: %v", err)
		case <-time.After(time.Minute):
			t.Fatal("A did not pause")
		}
		stall(t, db, a)

		b, _, err := secondRunner(t, db, "second")
		if err != nil {
			t.Fatalf("B could not take the lock A lost: %v", err)
		}
		if _, err := b.Run(ctx, "", confirm("deploy-readers", "switch-writes")); err != nil {
			t.Fatalf("B: %v", err)
		}
		b.Close()
		left := shepherdRows(t, db)

		pause.Resume()
		var runErr error
		select {
		case runErr = <-done:
		case <-time.After(2 * time.Minute):
			t.Fatal("A did not stop after it went on")
		}
		var lost *LockLostError
		if !errors.As(runErr, &lost) || errors.As(runErr, new(*LockHeldError)) {
			t.Fatalf("A returned %v, want a *LockLostError (exit 1)", runErr)
		}
		if !strings.Contains(runErr.Error(), "lost the runner lock of") || !strings.Contains(runErr.Error(), "during backfill") {
			t.Errorf("A's error does not say it lost the lock during backfill: %v", runErr)
		}
		if after := shepherdRows(t, db); after != left {
			t.Errorf("A wrote to shepherd's tables after losing its lock:\nB left:\n%s\nnow:\n%s", left, after)
		}
		state, _, _ := shepherdTables(db)
		if got := db.Query(`SELECT phase, status FROM ` + state + ` WHERE plan = 'users-email' AND status <> 'done' ORDER BY phase`); len(got) > 0 {
			t.Errorf("phases not done after B finished and A stopped: %v", got)
		}
		eng, err := Open(ctx, db.DSN)
		if err != nil {
			t.Fatal(err)
		}
		defer eng.Close()
		if err := eng.Ready(ctx, "users-email", "enforce"); err != nil {
			t.Errorf("ready --phase enforce: %v", err)
		}
	})
}

// Every way a session writes to shepherd's tables (a state row alone, a
// move with its log row, a log row on the pool, in a transaction, on a
// connection, the registration of a plan, a changed plan's hash) is
// refused with a *LockLostError once another runner holds the lock, and
// changes nothing.
func TestEveryStateWriteNeedsTheLock(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		db.Seed(20)
		ctx := context.Background()
		plan := mustPlan(t, usersEmailPlan)
		a, _ := session(t, db, plan, Options{Operator: "first", LeaseTTL: 2 * time.Second})
		stall(t, db, a)
		b, _, err := secondRunner(t, db, "second")
		if err != nil {
			t.Fatalf("B could not take the lock A lost: %v", err)
		}
		defer b.Close()
		state, _, _ := shepherdTables(db)
		db.Exec(`DELETE FROM ` + state + ` WHERE phase = 'enforce'`) // for register to write
		before := shepherdRows(t, db)
		writes := []struct {
			name  string
			write func() error
		}{
			{"save on the pool", func() error {
				st := a.st("backfill")
				st.RowsDone = 7
				return a.save(ctx, a.db, st)
			}},
			{"move in its own transaction", func() error { return a.moveNow(ctx, "add-column", phases.Start, "") }},
			{"log on the pool", func() error { return a.log(ctx, a.db, "add-column", "sql", "SELECT 1", "") }},
			{"log in a transaction", func() error {
				return a.inTx(ctx, func(tx *sql.Tx) error { return a.log(ctx, tx, "add-column", "sql", "SELECT 1", "") })
			}},
			{"log on a connection", func() error {
				conn, err := a.db.Conn(ctx)
				if err != nil {
					return err
				}
				defer conn.Close()
				return a.log(ctx, conn, "add-column", "sql", "SELECT 1", "")
			}},
			{"register", func() error {
				delete(a.state, "enforce")
				return a.register(ctx)
			}},
			{"a changed plan's hash", func() error {
				for _, st := range a.state {
					st.Hash = "an older plan"
				}
				return a.checkHash(ctx, true)
			}},
		}
		for _, w := range writes {
			err := w.write()
			var lost *LockLostError
			if !errors.As(err, &lost) {
				t.Errorf("%s after the lock was lost: %v, want a *LockLostError", w.name, err)
			}
			if after := shepherdRows(t, db); after != before {
				t.Errorf("%s after the lock was lost changed shepherd's tables:\nbefore:\n%s\nafter:\n%s", w.name, before, after)
				before = after
			}
		}
	})
}
