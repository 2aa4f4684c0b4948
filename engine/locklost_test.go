package engine

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// The runner lock's session on a server (PostgreSQL's advisory lock,
// MySQL's GET_LOCK) is kept alive while a long step runs on another
// connection; when it ends anyway, the lock is taken again only if nobody
// else held it meanwhile, and otherwise the run stops without writing
// anything more.

// idleTimeout is, per server dialect, the statement that makes a session
// end after secs seconds without a command from its client.
var idleTimeout = map[string]string{
	"postgres": "SET idle_session_timeout = '%ds'",
	"mysql":    "SET SESSION wait_timeout = %d",
}

// onLockSession runs a statement on the runner lock's own session.
func onLockSession(t *testing.T, s *Session, stmt string) {
	t.Helper()
	l := s.lock.(*sessionLock)
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.conn.ExecContext(context.Background(), stmt); err != nil {
		t.Fatalf("%s on the lock's session: %v", stmt, err)
	}
}

// lockSession is the id of the server session that holds the runner lock
// of the users table, or "" when none does.
func lockSession(t *testing.T, db *testdb.DB, dialect string) string {
	t.Helper()
	if dialect == "mysql" {
		id := db.One("SELECT IS_USED_LOCK(?)", mysqlLockName(databaseOf(t, db)+".users"))
		if id == "NULL" {
			return ""
		}
		return id
	}
	key := uint64(advisoryKey("public.users"))
	rows := db.Query(`SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted
AND classid::bigint = $1 AND objid::bigint = $2 AND objsubid = 1
AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`, int64(key>>32), int64(key&0xffffffff))
	if len(rows) == 0 {
		return ""
	}
	return rows[0][0]
}

// killLockSession ends the session that holds the runner lock, as an
// operator or a proxy would, and waits until the server has freed the lock.
func killLockSession(t *testing.T, db *testdb.DB, dialect string) {
	t.Helper()
	id := lockSession(t, db, dialect)
	if id == "" {
		t.Fatal("nobody holds the runner lock")
	}
	if dialect == "mysql" {
		db.Exec("KILL CONNECTION " + id)
	} else {
		db.Exec("SELECT pg_terminate_backend(" + id + ")")
	}
	for i := 0; lockSession(t, db, dialect) != ""; i++ {
		if i > 250 {
			t.Fatal("the runner lock is still held after its session was killed")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// secondRunner starts another session of the plan, as a release job that
// retries would.
func secondRunner(t *testing.T, db *testdb.DB, operator string) (*Session, *recorder, error) {
	t.Helper()
	eng, err := Open(context.Background(), db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	rec := &recorder{}
	s, err := eng.Start(context.Background(), mustPlan(t, usersEmailPlan), Options{Operator: operator, Emit: rec.emit})
	if err == nil {
		t.Cleanup(s.Close)
	}
	return s, rec, err
}

func serverDialects(t *testing.T, fn func(t *testing.T, dialect string, db *testdb.DB)) {
	for _, dialect := range []string{"postgres", "mysql"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			fn(t, dialect, testdb.New(t, dialect))
		})
	}
}

// An idle timeout shorter than a step does not end the lock's session:
// it is pinged while the step runs. The pings and the idle timeout are
// shortened alike (production's are 5s, and 7s here before): the step
// outlasts the idle timeout by a ping's interval all the same.
func TestLockKeptAliveThroughALongStep(t *testing.T) {
	const ping, idle = 500 * time.Millisecond, 2 // the idle timeout in seconds
	serverDialects(t, func(t *testing.T, dialect string, db *testdb.DB) {
		db.Seed(50)
		var s *Session
		var during error
		hook := func(point string) {
			if point != "enforce:step-0" || s == nil {
				return
			}
			before := lockSession(t, db, dialect)
			time.Sleep(ping + idle*time.Second) // past the idle timeout
			if now := lockSession(t, db, dialect); now == "" || now != before {
				during = fmt.Errorf("the runner lock's session %s ended during the step (held by %q now)", before, now)
				return
			}
			if _, _, err := secondRunner(t, db, "second"); !errors.As(err, new(*LockHeldError)) {
				during = fmt.Errorf("during the step a second runner got %v, want *LockHeldError", err)
			}
		}
		ctx := withWaits(context.Background(), waits{lockPing: ping})
		s, rec := sessionWith(ctx, t, db, mustPlan(t, usersEmailPlan), Options{Operator: "first", Failpoint: hook})
		onLockSession(t, s, fmt.Sprintf(idleTimeout[dialect], idle))
		if _, err := s.Run(context.Background(), "", confirm("deploy-readers", "switch-writes")); err != nil {
			t.Fatal(err)
		}
		if during != nil {
			t.Fatal(during)
		}
		if n := len(rec.find(EventNotice, "session ended|lost")); n > 0 {
			t.Errorf("%d notices say the lock's session was lost: %v", n, rec.of(EventNotice))
		}
	})
}

// The lock's session ends during a step (an idle timeout shorter than the
// pings' interval, here): the keep-alive notices within seconds, while the
// step still runs, and the run takes the lock again, as nobody else took it.
// The pings come every 2s instead of production's 5s, which still outlasts
// the idle timeout of 1s.
func TestLockSessionEndedIsTakenAgain(t *testing.T) {
	const ping = 2 * time.Second
	serverDialects(t, func(t *testing.T, dialect string, db *testdb.DB) {
		db.Seed(50)
		var s *Session
		var ended, stepDone time.Time
		var firstSession string
		hook := func(point string) {
			if point != "enforce:step-0" || s == nil {
				return
			}
			firstSession = lockSession(t, db, dialect)
			onLockSession(t, s, fmt.Sprintf(idleTimeout[dialect], 1))
			for lockSession(t, db, dialect) != "" {
				time.Sleep(50 * time.Millisecond)
			}
			ended = time.Now()
			// The step runs until the keep-alive has found the session
			// gone, and on into the next second: the notice's time (in
			// seconds) is then before the step's end.
			lockSessionEnded(s, ping+3*time.Second)
			time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second + 100*time.Millisecond)))
			stepDone = time.Now()
		}
		ctx := withWaits(context.Background(), waits{lockPing: ping})
		s, rec := sessionWith(ctx, t, db, mustPlan(t, usersEmailPlan), Options{Operator: "first", Failpoint: hook})
		if _, err := s.Run(context.Background(), "", confirm("deploy-readers", "switch-writes")); err != nil {
			t.Fatalf("the run did not go on after its lock's session ended: %v", err)
		}
		if ended.IsZero() {
			t.Fatal("the failpoint was not reached")
		}
		// The notice says when the session was found gone: during the
		// step, within a ping's interval of its end.
		found := rec.find(EventNotice, `runner lock's connection to the database was lost \(at \d\d:\d\d:\d\d`)
		if len(found) != 1 {
			t.Fatalf("no notice says the lock's session ended: %v", rec.of(EventNotice))
		}
		at, err := time.ParseInLocation("15:04:05", regexp.MustCompile(`\d\d:\d\d:\d\d`).FindString(found[0].Message), time.Local)
		if err != nil {
			t.Fatal(err)
		}
		y, m, d := ended.Date()
		at = time.Date(y, m, d, at.Hour(), at.Minute(), at.Second(), 0, time.Local)
		if at.Before(ended.Truncate(time.Second)) || at.After(ended.Add(ping+time.Second)) || !at.Before(stepDone.Truncate(time.Second)) {
			t.Errorf("the loss was noticed at %s; the session ended at %s and the step ran until %s", at.Format("15:04:05"), ended.Format("15:04:05.000"), stepDone.Format("15:04:05.000"))
		}
		if rec.notices("took the runner lock of") != 1 {
			t.Errorf("no notice says the lock was taken again: %v", rec.of(EventNotice))
		}
		if got := db.One(map[string]string{
			"postgres": `SELECT status FROM shepherd.shepherd_state WHERE plan = 'users-email' AND phase = 'enforce'`,
			"mysql":    `SELECT status FROM shepherd_state WHERE plan = 'users-email' AND phase = 'enforce'`,
		}[dialect]); got != "done" {
			t.Errorf("enforce is %s", got)
		}
		// The lock is this runner's again, on a new session.
		if now := lockSession(t, db, dialect); now == "" || now == firstSession {
			t.Errorf("the lock is held by session %q (the first was %s)", now, firstSession)
		}
		if _, _, err := secondRunner(t, db, "second"); !errors.As(err, new(*LockHeldError)) {
			t.Errorf("a second runner got %v, want *LockHeldError", err)
		}
	})
}

// The lock's session ends during a step and another runner takes the lock
// (and holds it, or releases it again) before the first notices: the first
// stops with a *LockLostError, cancelled before its next statement, and
// writes nothing: no failure, no log row. The other runner's state is
// untouched, and it finishes the plan. The keep-alive pings every 500ms
// instead of production's 5s: the step lasts until it has looked.
func TestLockTakenMeanwhileStopsTheRun(t *testing.T) {
	const ping = 500 * time.Millisecond
	for _, released := range []bool{false, true} {
		name := "held"
		if released {
			name = "released"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			serverDialects(t, func(t *testing.T, dialect string, db *testdb.DB) {
				db.Seed(50)
				shepherd := map[string]string{"postgres": "shepherd.", "mysql": ""}[dialect]
				snapshot := func() string {
					return fmt.Sprint(db.Query(`SELECT * FROM `+shepherd+`shepherd_state ORDER BY plan, phase`),
						db.Query(`SELECT count(*) FROM `+shepherd+`shepherd_log`))
				}
				var s, second *Session
				var before string
				hook := func(point string) {
					if point != "enforce:step-0" || s == nil || second != nil {
						return
					}
					killLockSession(t, db, dialect)
					var err error
					if second, _, err = secondRunner(t, db, "second"); err != nil {
						t.Errorf("the second runner: %v", err)
						return
					}
					if released {
						second.Close()
					}
					before = snapshot()
					lockLostFound(s, ping+2*time.Second) // the keep-alive looks in the meantime
				}
				ctx := withWaits(context.Background(), waits{lockPing: ping})
				s, rec := sessionWith(ctx, t, db, mustPlan(t, usersEmailPlan), Options{Operator: "first", Failpoint: hook})
				start := time.Now()
				_, err := s.Run(context.Background(), "", confirm("deploy-readers", "switch-writes"))
				if second == nil {
					t.Fatalf("the failpoint was not reached: %v", err)
				}
				var lost *LockLostError
				if !errors.As(err, &lost) {
					t.Fatalf("the first run returned %v, want *LockLostError", err)
				}
				if errors.As(err, new(*LockHeldError)) {
					t.Errorf("the error is a *LockHeldError too, which exits 4 (nothing touched)")
				}
				for _, want := range []string{"lost the runner lock of", "during enforce", "another runner may have run meanwhile", "shepherd status plan.yaml --log", "then rerun"} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("%q does not say %q", err, want)
					}
				}
				if !released && (lost.Holder == nil || lost.Holder.Holder != "second") {
					t.Errorf("the error does not name the runner that holds the lock: %+v", lost.Holder)
				}
				if took := time.Since(start); took > 30*time.Second {
					t.Errorf("the run took %s to stop", took)
				}
				// Nothing written after the other runner took over.
				if after := snapshot(); after != before {
					t.Errorf("the first runner wrote after losing its lock:\nbefore %s\nafter  %s", before, after)
				}
				if got := db.One(`SELECT count(*) FROM ` + shepherd + `shepherd_log WHERE event = 'fail'`); got != "0" {
					t.Errorf("%s fail rows in the log", got)
				}
				// Stopped before the step's statement ran: the column is
				// not enforced yet.
				if nn := db.One(map[string]string{
					"postgres": `SELECT count(*) FROM pg_constraint WHERE conrelid = 'users'::regclass AND contype = 'c'`,
					"mysql":    `SELECT count(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'users' AND column_name = 'email' AND is_nullable = 'NO'`,
				}[dialect]); nn != "0" {
					t.Errorf("enforce's first statement ran after the lock was lost")
				}
				if failed := rec.of(EventPhaseFailed); len(failed) != 1 || !strings.HasPrefix(failed[0].Error, "lost the runner lock") {
					t.Errorf("no phase-failed event says the lock was lost: %v", failed)
				}
				s.Close()
				// The other runner (or the next one) finishes the plan.
				next := second
				if released {
					if next, _, err = secondRunner(t, db, "third"); err != nil {
						t.Fatal(err)
					}
				}
				if _, err := next.Run(context.Background(), "", confirm("deploy-readers", "switch-writes")); err != nil {
					t.Fatalf("the next runner: %v", err)
				}
				if got := db.One(`SELECT count(*) FROM ` + shepherd + `shepherd_state WHERE plan = 'users-email' AND status <> 'done'`); got != "0" {
					t.Errorf("%s phases not done after the next runner", got)
				}
			})
		})
	}
}
