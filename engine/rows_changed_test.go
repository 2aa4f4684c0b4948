package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// The rows a batched phase changed add up across an interruption and the
// resume: the phase's done message and shepherd_state's rows_changed say
// the whole pass's count. A resumed clean said only the second run's
// ("265 rows cleaned" after 515 rows violated), and a resumed backfill
// the same of the rows it filled.
func TestRowsChangedAddUpAcrossResumes(t *testing.T) {
	cases := []struct {
		name, plan, until string
		confirm           []string
		setup             string // makes the rows the phase changes: want of them
		left              string // counts the rows still to change
		want              int
		done              string // the done message's count, with %d for want
	}{
		{name: "clean", until: "clean", confirm: []string{"validate-in-app"},
			plan:  "name: users-amount\nplaybook: tighten-constraint\ntable: users\nconstraint: {name: users_amount_positive, check: \"amount > 0\"}\nclean: {set: {amount: \"1\"}}\n",
			setup: "UPDATE users SET amount = -1 WHERE id % 3 = 0 OR id % 7 = 0",
			left:  "SELECT count(*) FROM users WHERE amount <= 0",
			want:  171, done: "%d rows cleaned"},
		{name: "backfill", until: "backfill", confirm: []string{"deploy-readers"},
			plan: usersEmailPlan,
			left: "SELECT count(*) FROM users WHERE email IS NULL",
			want: 400, done: "%d filled"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forEachDialect(t, func(t *testing.T, db *testdb.DB) {
				db.Exec(`CREATE TABLE users (id integer PRIMARY KEY, username varchar(100) NOT NULL, name varchar(100) NOT NULL, amount integer NOT NULL DEFAULT 5)`)
				db.SeedRows("users", 400)
				if tc.setup != "" {
					db.Exec(tc.setup)
				}
				if tc.name == "clean" {
					if got := db.One(tc.left); got != fmt.Sprint(tc.want) {
						t.Fatalf("the fixture has %s violating rows, want %d", got, tc.want)
					}
				}
				plan := mustPlan(t, tc.plan)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				// Stopped after the third batch: about a third of the rows
				// are behind the checkpoint.
				var batches atomic.Int64
				hook := func(point string) {
					if point == tc.until+":batch-done" && batches.Add(1) == 3 {
						cancel()
					}
				}
				s, _ := session(t, db, plan, Options{BatchSize: 50, Failpoint: hook, InPlace: true})
				_, err := s.Run(ctx, tc.until, confirm(tc.confirm...))
				var ie *InterruptedError
				if !errors.As(err, &ie) {
					t.Fatalf("the first run was not interrupted in %s: %v", tc.until, err)
				}
				if left := db.One(tc.left); left == "0" || left == fmt.Sprint(tc.want) {
					t.Fatalf("the interrupted run left %s of the %d rows to change; the test wants it stopped partway", left, tc.want)
				}
				s.Close()

				s2, _ := session(t, db, plan, Options{BatchSize: 50, InPlace: true})
				if _, err := s2.Run(context.Background(), tc.until, confirm(tc.confirm...)); err != nil {
					t.Fatalf("resume %s: %v", tc.until, err)
				}
				st := s2.st(tc.until)
				if want := fmt.Sprintf(tc.done, tc.want); !strings.Contains(st.Detail, want) {
					t.Errorf("%s's done message says %q; want %q (the rows changed before the interruption and after it)", tc.until, st.Detail, want)
				}
				got := db.One(fmt.Sprintf("SELECT rows_changed FROM %s WHERE plan = '%s' AND phase = '%s'", stateTable(db), plan.Name, tc.until))
				if got != fmt.Sprint(tc.want) {
					t.Errorf("shepherd_state.rows_changed of %s is %s, want %d", tc.until, got, tc.want)
				}
			})
		})
	}
}

// A shepherd_state an older shepherd made has no rows_changed: reading it
// (plan --db) writes nothing; the next run adds the column and counts.
func TestStateTableWithoutRowsChanged(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		db.Seed(30)
		ctx := context.Background()
		plan := mustPlan(t, usersEmailPlan)
		s, _ := session(t, db, plan, Options{})
		if _, err := s.Run(ctx, "add-column", nil); err != nil {
			t.Fatal(err)
		}
		s.Close()
		db.Exec("ALTER TABLE " + stateTable(db) + " DROP COLUMN rows_changed")

		eng, err := Open(ctx, db.DSN)
		if err != nil {
			t.Fatal(err)
		}
		defer eng.Close()
		if _, err := eng.Inspect(ctx, plan, Options{}); err != nil {
			t.Fatalf("inspect an older state table: %v", err)
		}
		if hasStateColumn(t, db, "rows_changed") {
			t.Fatal("inspect added rows_changed: it must write nothing")
		}
		s2, _ := session(t, db, plan, Options{BatchSize: 10, InPlace: true})
		if !hasStateColumn(t, db, "rows_changed") {
			t.Fatal("a run did not add rows_changed to the older state table")
		}
		if _, err := s2.Run(ctx, "backfill", confirm("deploy-readers")); err != nil {
			t.Fatal(err)
		}
		if got := s2.st("backfill").Detail; !strings.Contains(got, "30 filled") {
			t.Errorf("backfill's done message: %s", got)
		}
	})
}
