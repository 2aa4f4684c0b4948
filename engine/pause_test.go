package engine_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/internal/testdb"
	"github.com/shepherd-db/shepherd/phases"
)

const emailPlan = `
name: users-email
playbook: add-column
table: users
column: email
type: {postgres: text, mysql: varchar(200), sqlite: text}
backfill: {postgres: "lower(username)", mysql: "lower(username)", sqlite: "lower(username)"}
`

// startAt opens a session on a fresh users table of n rows and runs the
// plan's phases up to (not including) phase stop.
func startAt(t *testing.T, dialect string, n int, plan string, stop string, opts engine.Options) (*testdb.DB, *engine.Session) {
	t.Helper()
	db := testdb.New(t, dialect)
	db.Seed(n)
	p, err := phases.Parse("plan.yaml", []byte(plan))
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.Open(context.Background(), db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	sess, err := eng.Start(context.Background(), p, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sess.Close)
	for _, id := range p.PlaybookDef().IDs() {
		if id == stop {
			break
		}
		if err := sess.RunPhase(context.Background(), id); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
	}
	return db, sess
}

func TestPauseHoldsBackfillBetweenBatches(t *testing.T) {
	for _, dialect := range testdb.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			sw := &engine.PauseSwitch{}
			events := make(chan engine.Event, 1000)
			emit := func(e engine.Event) {
				// Pause as soon as the first batch is in: the loop must
				// stop before the second.
				if e.Event == engine.EventProgress && e.BatchSize > 0 && *e.RowsDone == 100 { // after a batch, not the estimate before the first
					sw.Pause()
				}
				events <- e
			}
			db, sess := startAt(t, dialect, 1000, emailPlan, "backfill", engine.Options{BatchSize: 100, Pause: sw, Emit: emit, InPlace: true})
			done := make(chan error, 1)
			go func() { done <- sess.RunPhase(context.Background(), "backfill") }()

			waitFor(t, events, engine.EventPaused)
			if !sw.Paused() {
				t.Fatal("the switch should report paused")
			}
			// Held: nothing moves while paused.
			time.Sleep(150 * time.Millisecond)
			if got := db.One(`SELECT count(*) FROM users WHERE email IS NOT NULL`); got != "100" {
				t.Fatalf("while paused, %s rows are filled; want the first batch, 100", got)
			}
			if got := db.One(`SELECT checkpoint FROM ` + stateTable(db) + ` WHERE plan = 'users-email' AND phase = 'backfill'`); got != "100" {
				t.Fatalf("checkpoint while paused = %s, want 100", got)
			}
			select {
			case err := <-done:
				t.Fatalf("the backfill returned while paused: %v", err)
			default:
			}
			sw.Resume()
			waitFor(t, events, engine.EventResumed)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if got := db.One(`SELECT count(*) FROM users WHERE email IS NULL`); got != "0" {
				t.Fatalf("%s rows left NULL after the resumed backfill", got)
			}
		})
	}
}

func TestCancelWhilePausedKeepsTheCheckpoint(t *testing.T) {
	for _, dialect := range testdb.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			sw := &engine.PauseSwitch{}
			events := make(chan engine.Event, 1000)
			emit := func(e engine.Event) {
				if e.Event == engine.EventProgress && e.BatchSize > 0 && *e.RowsDone == 300 { // not the resumed run's first event
					sw.Pause()
				}
				events <- e
			}
			db, sess := startAt(t, dialect, 1000, emailPlan, "backfill", engine.Options{BatchSize: 100, Pause: sw, Emit: emit, InPlace: true})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- sess.RunPhase(ctx, "backfill") }()
			waitFor(t, events, engine.EventPaused)
			cancel()
			err := <-done
			var ie *engine.InterruptedError
			if !errors.As(err, &ie) || ie.Checkpoint != "id 300" {
				t.Fatalf("err = %v, want an interruption at id 300", err)
			}
			// The next run resumes from the checkpoint: 700 rows left.
			sw.Resume()
			if err := sess.RunPhase(context.Background(), "backfill"); err != nil {
				t.Fatal(err)
			}
			if got := db.One(`SELECT rows_done FROM ` + stateTable(db) + ` WHERE plan = 'users-email' AND phase = 'backfill'`); got != "1000" {
				t.Fatalf("rows_done = %s, want 1000 (resumed, none twice)", got)
			}
		})
	}
}

func waitFor(t *testing.T, events <-chan engine.Event, kind engine.EventKind) engine.Event {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e := <-events:
			if e.Event == kind {
				return e
			}
		case <-timeout:
			t.Fatalf("no %s event", kind)
		}
	}
}

// stateTable names shepherd_state as the test's database has it.
func stateTable(db *testdb.DB) string {
	if db.Dialect == "postgres" {
		return "shepherd.shepherd_state"
	}
	return "shepherd_state"
}
