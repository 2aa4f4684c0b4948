package engine

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// pressureCases make a database busy, per dialect, after the backfill's
// third batch, for about a second and a half, and undo it.
var pressureCases = map[string]func(t *testing.T, db *testdb.DB) (undone <-chan struct{}){
	// A DDL queued for the table behind a reader's open transaction.
	"postgres": func(t *testing.T, db *testdb.DB) <-chan struct{} {
		ctx := context.Background()
		reader, err := db.SQL.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		tx, err := reader.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(`SELECT 1 FROM users LIMIT 1`); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			if _, err := db.SQL.Exec(`ALTER TABLE users ADD COLUMN extra integer`); err != nil {
				t.Errorf("the queued DDL: %v", err)
			}
		}()
		for db.One(`SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'users'::regclass`) == "0" {
			time.Sleep(10 * time.Millisecond)
		}
		time.AfterFunc(1500*time.Millisecond, func() { tx.Rollback(); reader.Close() })
		return done
	},
	// Thirty busy threads.
	"mysql": func(t *testing.T, db *testdb.DB) <-chan struct{} {
		var wg sync.WaitGroup
		for range 30 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := db.SQL.Exec(`SELECT SLEEP(1.5)`); err != nil {
					t.Errorf("a busy thread: %v", err)
				}
			}()
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		time.Sleep(200 * time.Millisecond) // let them all start
		return done
	},
}

// Under pressure, the backfill holds between batches, says so, and goes on
// once it is over: no batch runs while a DDL waits for the table
// (PostgreSQL) or while the server is busy (MySQL).
func TestBackfillHoldsUnderPressure(t *testing.T) {
	for _, dialect := range []string{"postgres", "mysql"} {
		t.Run(dialect, func(t *testing.T) {
			db := testdb.New(t, dialect)
			db.Seed(2000)
			db.SQL.SetMaxOpenConns(40)
			var batches atomic.Int64
			var undone <-chan struct{}
			hook := func(point string) {
				if point == "backfill:batch-done" && batches.Add(1) == 3 {
					undone = pressureCases[dialect](t, db)
				}
			}
			s, rec := session(t, db, mustPlan(t, usersEmailPlan), Options{BatchSize: 100, Failpoint: hook})
			start := time.Now()
			if _, err := s.Run(context.Background(), "backfill", map[string]bool{"deploy-readers": true}); err != nil {
				t.Fatal(err)
			}
			if undone == nil {
				t.Fatal("the third batch was not reached")
			}
			<-undone
			if took := time.Since(start); took < time.Second {
				t.Errorf("the backfill took %s: it did not hold", took)
			}
			// The notices bracket the hold, and no batch ran inside it.
			holding, going, inside := -1, -1, 0
			for i, e := range rec.all() {
				switch {
				case e.Event == EventNotice && strings.Contains(e.Message, "holding between batches") && holding < 0:
					holding = i
				case e.Event == EventNotice && strings.Contains(e.Message, "going on after holding") && going < 0:
					going = i
				case e.Event == EventProgress && holding >= 0 && going < 0:
					inside++
				}
			}
			if holding < 0 || going < holding {
				t.Fatalf("no hold: notices %v", rec.of(EventNotice))
			}
			if inside > 0 {
				t.Errorf("%d batches ran while holding", inside)
			}
			t.Logf("%s / %s", rec.all()[holding].Message, rec.all()[going].Message)
			if got := db.One(`SELECT count(*) FROM users WHERE email IS NULL OR email <> lower(username)`); got != "0" {
				t.Errorf("%s rows not backfilled", got)
			}
		})
	}
}
