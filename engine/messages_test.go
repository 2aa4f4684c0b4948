package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// The backfill and the catch-up count the rows they filled: a row the
// expression gives NULL for is walked but not filled, and the messages say
// how many stay NULL.
func TestFillCountsAreTrue(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		db.Seed(50)
		p := mustPlan(t, `
name: users-email
playbook: add-column
table: users
column: email
type: {postgres: text, mysql: varchar(100), sqlite: text}
backfill: "CASE WHEN id % 7 = 0 THEN NULL ELSE lower(username) END"
not_null: false
`)
		s, rec := session(t, db, p, Options{BatchSize: 20, InPlace: true})
		ctx := context.Background()
		if _, err := s.Run(ctx, "backfill", confirm("deploy-readers")); err != nil {
			t.Fatal(err)
		}
		// ids 7, 14, …, 49: seven rows the expression gives NULL for.
		done := rec.find(EventPhaseDone, "rows walked")
		if len(done) != 1 || done[0].Message != "50 rows walked up to id 50, 43 filled; 7 stay NULL: the expression gives NULL for them" {
			t.Errorf("backfill said %+v, want 43 filled and 7 NULL", done)
		}
		if got := db.One("SELECT count(*) FROM users WHERE email IS NOT NULL"); got != "43" {
			t.Fatalf("%s rows filled, want 43", got)
		}
		// Old code inserts after the backfill: 51–53 get a value, 56 does not.
		db.Exec("INSERT INTO users (id, username, name) VALUES (51, 'user51', 'n'), (52, 'user52', 'n'), (53, 'user53', 'n'), (56, 'user56', 'n')")
		if _, err := s.Run(ctx, "switch-writes", confirm("switch-writes")); err != nil {
			t.Fatal(err)
		}
		want := "the catch-up filled 3 rows where email was NULL; 8 rows stay NULL (not_null is false, so NULLs may remain)"
		if done := rec.find(EventPhaseDone, "catch-up"); len(done) != 1 || done[0].Message != want {
			t.Errorf("switch-writes said %+v, want %q", done, want)
		}
	})
}

// A DDL statement that waits out its lock timeout is retried from the top
// of its script; its SQL and locks are shown once, the retries as notices.
func TestRetryShowsStatementOnce(t *testing.T) {
	db := testdb.New(t, "postgres")
	db.Seed(10)
	ctx := context.Background()
	tx := holdAccessShare(t, db, "users")
	defer tx.Rollback()
	s, rec := session(t, db, mustPlan(t, usersEmailPlan), Options{LockTimeout: 100 * time.Millisecond})
	done := make(chan error, 1)
	go func() { _, err := s.Run(ctx, "add-column", nil); done <- err }()
	waitFor(t, "three lock-wait retries", 30*time.Second, func() bool { return rec.notices("lock wait over") >= 3 })
	tx.Rollback()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	steps := rec.steps("add-column")
	if len(steps) != 1 {
		t.Fatalf("add-column's ALTER was shown %d times, want once: %+v", len(steps), steps)
	}
	if !strings.Contains(steps[0].SQL, "ADD COLUMN") || steps[0].Lock == "" {
		t.Errorf("the step shown is %+v", steps[0])
	}
}
