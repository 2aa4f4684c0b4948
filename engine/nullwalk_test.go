package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/shepherd-db/shepherd/internal/testdb"
	"github.com/shepherd-db/shepherd/templates"
)

// switch-writes' catch-up walks the rows still NULL, not the table: rows
// that old code inserted after the backfill, ahead of its walk and behind
// it, are filled exactly once, also across an interruption and the
// resume; when there are none, the catch-up is one search and no batch,
// and that search is its verification.
func TestCatchUpWalksTheNullRows(t *testing.T) {
	cases := []struct {
		name      string
		plan      string
		oldWrites bool  // old code inserts rows without email after the backfill
		interrupt bool  // the first run of switch-writes stops after its second batch
		filled    int   // rows the catch-up fills
		stay      int   // rows left NULL: the expression gives NULL (id % 10 = 0)
		searches  int64 // searches from the start of an uninterrupted run (one, and one more after batches behind the backfill's end); 0: not checked
		done      string
	}{
		{name: "none", plan: usersEmailPlan, filled: 0, searches: 1, done: "the catch-up filled 0 rows where email was NULL; no row is NULL"},
		{name: "ahead and behind", plan: usersEmailPlan, oldWrites: true, filled: 50, done: "the catch-up filled 50 rows where email was NULL; no row is NULL"},
		{name: "interrupted", plan: usersEmailPlan, oldWrites: true, interrupt: true, filled: 50, done: "the catch-up filled 50 rows where email was NULL; no row is NULL"},
		{name: "stay NULL", plan: "name: users-email\nplaybook: add-column\ntable: users\ncolumn: email\nnot_null: false\ntype: {postgres: text, mysql: varchar(200), sqlite: text}\nbackfill: \"CASE WHEN id % 10 = 0 THEN NULL ELSE lower(username) END\"\n",
			oldWrites: true, filled: 45, stay: 43, searches: 2, done: "the catch-up filled 45 rows where email was NULL; 43 rows stay NULL (not_null is false, so NULLs may remain)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forEachDialect(t, func(t *testing.T, db *testdb.DB) {
				db.Exec(`CREATE TABLE users (id integer PRIMARY KEY, username varchar(100) NOT NULL, name varchar(100) NOT NULL)`)
				db.SeedRows("users", 400)
				// Old code's inserts behind the walk land in this gap.
				db.Exec(`DELETE FROM users WHERE id > 100 AND id <= 120`)
				plan := mustPlan(t, tc.plan)
				s, _ := session(t, db, plan, Options{BatchSize: 7})
				if _, err := s.Run(context.Background(), "backfill", confirm("deploy-readers")); err != nil {
					t.Fatalf("backfill: %v", err)
				}
				s.Close()
				if tc.oldWrites {
					var vals []string
					for _, id := range []int{101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119, 120} {
						vals = append(vals, fmt.Sprintf("(%d, 'Old%d', 'n')", id, id))
					}
					for id := 401; id <= 430; id++ {
						vals = append(vals, fmt.Sprintf("(%d, 'Old%d', 'n')", id, id))
					}
					db.Exec("INSERT INTO users (id, username, name) VALUES " + strings.Join(vals, ", "))
				}

				if tc.interrupt {
					ctx, cancel := context.WithCancel(context.Background())
					var batches atomic.Int64
					hook := func(point string) {
						if point == "switch-writes:batch-done" && batches.Add(1) == 2 {
							cancel()
						}
					}
					s1, _ := session(t, db, plan, Options{BatchSize: 7, Failpoint: hook})
					_, err := s1.Run(ctx, "switch-writes", confirm("deploy-readers", "switch-writes"))
					cancel()
					if ie := (*InterruptedError)(nil); !errors.As(err, &ie) {
						t.Fatalf("the first catch-up was not interrupted: %v", err)
					}
					if left := db.One("SELECT count(*) FROM users WHERE email IS NULL"); left != "36" {
						t.Fatalf("the interrupted catch-up left %s rows NULL, want 36 (two batches of 7 filled)", left)
					}
					s1.Close()
				}

				s2, rec := session(t, db, plan, Options{BatchSize: 7})
				var searches, past atomic.Int64
				s2.watchBatch = func(_ context.Context, _ *sql.Tx, at string, _ templates.Script, _ [][]any) {
					switch at {
					case "search":
						searches.Add(1)
					case "search-past":
						past.Add(1)
					}
				}
				if _, err := s2.Run(context.Background(), "switch-writes", confirm("deploy-readers", "switch-writes")); err != nil {
					t.Fatalf("switch-writes: %v", err)
				}
				st := s2.st("switch-writes")
				if st.Detail != tc.done {
					t.Errorf("switch-writes' done message is %q, want %q", st.Detail, tc.done)
				}
				if tc.searches > 0 && searches.Load() != tc.searches {
					t.Errorf("the catch-up searched the whole table %d times, want %d", searches.Load(), tc.searches)
				}
				// An uninterrupted catch-up looks past the backfill's end
				// once, first; a resumed one past its own checkpoint.
				if !tc.interrupt && past.Load() != 1 {
					t.Errorf("the catch-up searched past the backfill's end %d times, want 1", past.Load())
				}
				if got := db.One(fmt.Sprintf("SELECT rows_changed FROM %s WHERE plan = '%s' AND phase = 'switch-writes'", stateTable(db), plan.Name)); got != fmt.Sprint(tc.filled) {
					t.Errorf("shepherd_state.rows_changed of switch-writes is %s, want %d: each row filled exactly once", got, tc.filled)
				}
				if got := db.One("SELECT count(*) FROM users WHERE email IS NULL"); got != fmt.Sprint(tc.stay) {
					t.Errorf("%s rows are NULL after the catch-up, want %d", got, tc.stay)
				}
				if got := db.One("SELECT count(*) FROM users WHERE email IS NOT NULL AND email <> lower(username)"); got != "0" {
					t.Errorf("%s rows have an email that is not lower(username)", got)
				}
				// Progress counts the rows walked, up to the rows filled.
				var last Event
				for _, e := range rec.of(EventProgress) {
					if e.Phase == "switch-writes" {
						last = e
					}
				}
				if last.RowsDone == nil || *last.RowsDone != int64(tc.filled) || *last.RowsTotal != int64(tc.filled) {
					t.Errorf("the catch-up's last progress is %+v, want %d rows done of %d", last, tc.filled, tc.filled)
				}
			})
		})
	}
}

// Each catch-up batch starts at the first NULL row it fills, not where the
// last batch or the search began: after a search from the start, a range
// from the cursor would read the whole table up to old code's inserts at
// its end, in one batch holding the rows it passes.
func TestCatchUpBatchStartsAtItsFirstNullRow(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		db.Exec(`CREATE TABLE users (id integer PRIMARY KEY, username varchar(100) NOT NULL, name varchar(100) NOT NULL)`)
		db.SeedRows("users", 400)
		plan := mustPlan(t, usersEmailPlan)
		s, _ := session(t, db, plan, Options{})
		if _, err := s.Run(context.Background(), "backfill", confirm("deploy-readers")); err != nil {
			t.Fatalf("backfill: %v", err)
		}
		s.Close()
		var vals []string
		for id := 401; id <= 420; id++ {
			vals = append(vals, fmt.Sprintf("(%d, 'Old%d', 'n')", id, id))
		}
		db.Exec("INSERT INTO users (id, username, name) VALUES " + strings.Join(vals, ", "))

		s2, _ := session(t, db, plan, Options{BatchSize: 8})
		var bounds [][2]string
		s2.watchBatch = func(_ context.Context, _ *sql.Tx, at string, script templates.Script, args [][]any) {
			if at != "begin" {
				return
			}
			last := args[len(args)-1]
			if len(last) < 2 || !strings.Contains(script[len(script)-1].SQL, ">=") {
				t.Errorf("a catch-up batch has no lower bound of its own: %s %v", script[len(script)-1].SQL, last)
				return
			}
			bounds = append(bounds, [2]string{fmt.Sprint(last[0]), fmt.Sprint(last[1])})
		}
		if _, err := s2.Run(context.Background(), "switch-writes", confirm("deploy-readers", "switch-writes")); err != nil {
			t.Fatalf("switch-writes: %v", err)
		}
		want := [][2]string{{"401", "408"}, {"409", "416"}, {"417", "420"}}
		if fmt.Sprint(bounds) != fmt.Sprint(want) {
			t.Errorf("the catch-up's batches ran over %v, want %v (each from its first NULL row to its last)", bounds, want)
		}
		if got := db.One("SELECT count(*) FROM users WHERE email IS NULL OR email <> lower(username)"); got != "0" {
			t.Errorf("%s rows are NULL or wrong after the catch-up", got)
		}
	})
}
