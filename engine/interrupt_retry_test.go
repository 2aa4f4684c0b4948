package engine

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// An interrupt (Ctrl-C, a signal, a stopped TUI) is recorded as one
// wherever it lands: in a statement that waits for its lock, in the pause
// before a retry, while the run reconnects. It was recorded as
// "failed: context canceled".

// blockDDL opens a transaction that keeps add-column's ALTER from taking
// effect until the returned func ends it: a reader's lock on users
// (PostgreSQL's ACCESS SHARE, MySQL's metadata lock), or on SQLite a
// reader's SHARED lock on the database, which the ALTER's commit must wait
// out (the run's transaction holds the write lock already).
func blockDDL(t *testing.T, db *testdb.DB) (release func()) {
	t.Helper()
	var tx *sql.Tx
	var err error
	pool := db.SQL
	if db.Dialect == "sqlite" {
		// The test's own pool has one connection: block from another.
		if pool, err = sql.Open("sqlite", "file:"+strings.TrimPrefix(db.DSN, "sqlite:")); err != nil {
			t.Fatal(err)
		}
		pool.SetMaxOpenConns(1)
	}
	if tx, err = pool.Begin(); err != nil {
		t.Fatal(err)
	}
	block := map[string]string{
		"postgres": `LOCK TABLE users IN ACCESS SHARE MODE`,
		"mysql":    `SELECT count(*) FROM users`,
		"sqlite":   `SELECT count(*) FROM users`,
	}[db.Dialect]
	if _, err := tx.Exec(block); err != nil {
		tx.Rollback()
		t.Fatal(err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			tx.Rollback()
			if pool != db.SQL {
				pool.Close()
			}
		})
	}
	t.Cleanup(release)
	return release
}

// ddlWaiting reports whether add-column's ALTER waits for its lock, where
// the database shows it (SQLite's busy wait is not seen: true).
func ddlWaiting(db *testdb.DB) bool {
	q := map[string]string{
		"postgres": `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'ALTER TABLE%'`,
		"mysql":    `SELECT count(*) FROM information_schema.processlist WHERE db = DATABASE() AND state LIKE 'Waiting for table metadata lock%'`,
	}[db.Dialect]
	if q == "" {
		return true
	}
	r, err := db.QueryE(q)
	return err == nil && len(r) == 1 && r[0][0] != "0"
}

func TestInterruptDuringRetriesIsRecordedAsInterrupted(t *testing.T) {
	cases := []struct {
		name    string
		servers bool // only where a connection can be lost
		// lockTimeout is add-column's --lock-timeout.
		lockTimeout time.Duration
		// at runs at add-column's first statement, before it runs; it
		// returns what is left to do once the run is interrupted (the
		// failure's record waits for it on SQLite).
		at func(t *testing.T, db *testdb.DB, cancel func()) (after func())
		// cancelOn is the notice on which the run is interrupted ("": at
		// cancels it itself).
		cancelOn string
	}{
		{
			name: "waiting for the DDL's lock", lockTimeout: 10 * time.Second,
			at: func(t *testing.T, db *testdb.DB, cancel func()) func() {
				release := blockDDL(t, db)
				go func() {
					deadline := time.Now().Add(time.Minute)
					for !ddlWaiting(db) && time.Now().Before(deadline) {
						time.Sleep(20 * time.Millisecond)
					}
					time.Sleep(100 * time.Millisecond) // well into the wait
					cancel()
				}()
				return release
			},
		},
		{
			name: "in the pause before a retry", lockTimeout: 100 * time.Millisecond, cancelOn: "lock wait over",
			at: func(t *testing.T, db *testdb.DB, cancel func()) func() { return blockDDL(t, db) },
		},
		{
			name: "while it reconnects", servers: true, lockTimeout: time.Second, cancelOn: "lost the connection to the database; reconnecting",
			at: func(t *testing.T, db *testdb.DB, cancel func()) func() {
				killOthers[db.Dialect](db)
				return func() {}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forEachDialect(t, func(t *testing.T, db *testdb.DB) {
				if tc.servers && db.Dialect == "sqlite" {
					t.Skip("SQLite has no connection to lose")
				}
				db.Seed(20)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				var after func()
				var once sync.Once
				hook := func(point string) {
					if point == "add-column:step-0" {
						once.Do(func() { after = tc.at(t, db, cancel) })
					}
				}
				rec := &recorder{}
				rec.on = func(e Event) {
					if tc.cancelOn != "" && e.Event == EventNotice && strings.Contains(e.Message, tc.cancelOn) {
						cancel()
					}
					if e.Event == EventPhaseFailed && after != nil {
						after() // before the failure is recorded
					}
				}
				s, _ := session(t, db, mustPlan(t, usersEmailPlan), Options{LockTimeout: tc.lockTimeout, Failpoint: hook, Emit: rec.emit})
				_, err := s.Run(ctx, "add-column", nil)
				if after == nil {
					t.Fatalf("the failpoint was not reached: %v", err)
				}
				after()
				if tc.cancelOn != "" && rec.notices(tc.cancelOn) == 0 {
					t.Fatalf("no notice %q: the run was not interrupted there (%v)", tc.cancelOn, err)
				}
				var ie *InterruptedError
				if !errors.As(err, &ie) {
					t.Errorf("the run returned %v, want an *InterruptedError", err)
				}
				state, log, _ := shepherdTables(db)
				row := db.Query(`SELECT status, detail FROM ` + state + ` WHERE plan = 'users-email' AND phase = 'add-column'`)
				if len(row) != 1 || row[0][0] != "failed" || !interruptedDetail(row[0][1]) || strings.Contains(row[0][1], "cancel") {
					t.Errorf("add-column is recorded as %v, want failed with an interruption's detail", row)
				}
				if got := db.Query(`SELECT detail FROM ` + log + ` WHERE phase = 'add-column' AND event = 'fail'`); len(got) != 1 || !interruptedDetail(got[0][0]) {
					t.Errorf("the log records the failure as %v", got)
				}
			})
		})
	}
}
