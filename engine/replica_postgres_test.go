package engine

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// startStandby makes a streaming standby of the private server p: a base
// backup (pg_basebackup -R, which writes the standby's connection to p)
// started on a port of its own. It replies to p every second, so that p's
// pg_stat_replication follows it closely. Stopped when the test ends,
// before p.
func (p *privatePostgres) startStandby(t *testing.T) *privatePostgres {
	t.Helper()
	sb := &privatePostgres{t: t, bin: p.bin, dir: p.dir, asPostgres: p.asPostgres,
		data: filepath.Join(p.dir, "standby"), port: freePort(t)}
	began := time.Now()
	if out, err := p.run("pg_basebackup", "-h", "127.0.0.1", "-p", fmt.Sprint(p.port), "-U", "postgres",
		"-D", sb.data, "-R", "-X", "stream", "-c", "fast", "--no-sync"); err != nil {
		t.Fatalf("pg_basebackup: %v\n%s", err, out)
	}
	conf := fmt.Sprintf("\nport = %d\nwal_receiver_status_interval = 1s\nhot_standby = on\n", sb.port)
	f, err := os.OpenFile(filepath.Join(sb.data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(conf); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := os.Stat(filepath.Join(sb.data, "postmaster.pid")); err == nil {
			if out, err := sb.ctl("-m", "immediate", "-w", "-t", "30", "stop"); err != nil {
				t.Logf("stop the standby: %v\n%s", err, out)
			}
		}
	})
	backedUp := time.Since(began)
	if out, err := sb.run("pg_ctl", "-D", sb.data, "-l", filepath.Join(p.dir, "standby.log"), "-w", "-t", "60", "start"); err != nil {
		b, _ := os.ReadFile(filepath.Join(p.dir, "standby.log"))
		t.Fatalf("start the standby: %v\n%s\n%s", err, out, b)
	}
	t.Logf("standby on 127.0.0.1:%d: base backup %s, start %s", sb.port, backedUp.Round(time.Millisecond), (time.Since(began) - backedUp).Round(time.Millisecond))
	return sb
}

// openPlain opens a pool with the driver as is, closed when the test ends.
func openPlain(t *testing.T, driver, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// A backfill on a private primary with a streaming standby: once the
// standby's replay is paused it falls behind, and the backfill holds
// between batches, saying which standby and how far behind, with no batch
// run while it holds; once replay resumes the backfill goes on by itself
// and finishes with every row right, on the standby too.
func TestBackfillHoldsForPostgresReplicaLag(t *testing.T) {
	if ok, why := testdb.Available("postgres"); !ok {
		t.Skip(why)
	}
	if _, err := postgresBin(); err != nil {
		t.Skip(err.Error() + ": the test starts a primary and a standby of its own")
	}
	t.Parallel()
	primary := startPrivatePostgres(t)
	db := testdb.Attach(t, "postgres", primary.dsn())
	db.Seed(2000)
	standby := primary.startStandby(t)
	replica := openPlain(t, "pgx", standby.dsn())
	waitFor(t, "the standby to stream", 20*time.Second, func() bool {
		return db.One(`SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'`) == "1"
	})

	// After the third batch the standby stops replaying; half a second
	// after the backfill says it holds, it replays again. --max-rate
	// spreads the backfill over two seconds, for the standby's lag to
	// pass the limit (300ms) well before the backfill would end.
	// A machine under load may hold for a moment before the pause too
	// (the standby's ordinary lag passing 300ms): only the hold that comes
	// after the pause is the one the test resumes and checks.
	var batches atomic.Int64
	var resumed, paused, scheduled atomic.Bool
	var heldAt atomic.Value // time.Time of the hold after the pause
	resumedAt := make(chan time.Time, 1)
	hook := func(point string) {
		if point == "backfill:batch-done" && batches.Add(1) == 3 {
			if _, err := replica.Exec(`SELECT pg_wal_replay_pause()`); err != nil {
				t.Errorf("pause the standby's replay: %v", err)
			}
			paused.Store(true)
		}
	}
	rec := &recorder{on: func(e Event) {
		if e.Event == EventNotice && strings.Contains(e.Message, "holding between batches") && paused.Load() && scheduled.CompareAndSwap(false, true) {
			heldAt.Store(e.Time.Time)
			time.AfterFunc(500*time.Millisecond, func() {
				resumed.Store(true)
				resumedAt <- time.Now()
				if _, err := replica.Exec(`SELECT pg_wal_replay_resume()`); err != nil {
					t.Errorf("resume the standby's replay: %v", err)
				}
			})
		}
	}}
	s, _ := session(t, db, mustPlan(t, usersEmailPlan), Options{BatchSize: 100, MaxRate: 1000, MaxReplicaLag: 300 * time.Millisecond, Failpoint: hook, Emit: rec.emit})
	if _, err := s.Run(context.Background(), "backfill", map[string]bool{"deploy-readers": true}); err != nil {
		t.Fatal(err)
	}
	if !resumed.Load() {
		t.Fatalf("the backfill finished before the standby replayed again: it did not hold (%d batches)\nnotices: %v", batches.Load(), rec.of(EventNotice))
	}
	at := <-resumedAt
	holdsAndResumes(t, rec, " at 127.0.0.1 is ") // the standby, by its application name and address
	// No batch ran between the hold's notice and the resumed replay.
	held, _ := heldAt.Load().(time.Time)
	for _, e := range rec.find(EventNotice, "going on after holding") {
		if e.Time.Time.After(held) && e.Time.Time.Before(at) {
			t.Errorf("the backfill went on at %s, before the standby replayed again at %s", e.Time, at)
		}
	}
	if got := db.One(`SELECT count(*) FROM users WHERE email IS NULL OR email <> lower(username)`); got != "0" {
		t.Errorf("%s rows not backfilled", got)
	}
	// The standby has every row too, once it has caught up.
	waitFor(t, "the standby to have the backfill", 20*time.Second, func() bool {
		var n int
		err := replica.QueryRow(`SELECT count(*) FROM users WHERE email IS NULL OR email <> lower(username)`).Scan(&n)
		return err == nil && n == 0
	})
}

// holdsAndResumes checks that the notices bracket one hold that names the
// replica (want), that no batch ran inside it, and that it went on.
func holdsAndResumes(t *testing.T, rec *recorder, want string) {
	t.Helper()
	holding, going, inside := -1, -1, 0
	for i, e := range rec.all() {
		switch {
		case e.Event == EventNotice && strings.Contains(e.Message, "holding between batches") && holding < 0:
			holding = i
		case e.Event == EventNotice && strings.Contains(e.Message, "going on after holding") && holding >= 0 && going < 0:
			going = i
		case e.Event == EventProgress && holding >= 0 && going < 0:
			inside++
		}
	}
	if holding < 0 || going < holding {
		t.Fatalf("no hold: notices %v", rec.of(EventNotice))
	}
	if msg := rec.all()[holding].Message; !strings.Contains(msg, want) {
		t.Errorf("the hold's notice %q does not say %q", msg, want)
	}
	if inside > 0 {
		t.Errorf("%d batches ran while holding", inside)
	}
	t.Logf("%s / %s", rec.all()[holding].Message, rec.all()[going].Message)
}
