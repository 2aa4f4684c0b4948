package engine

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// A backfill split among two workers, interrupted partway and resumed,
// fills every row, each batch once: the rows done add up to the table's
// rows exactly (a batch run again would add its rows twice), the rows
// changed too, and progress sums the workers. SQLite walks with one, and
// says so.
func TestSplitBackfillResumes(t *testing.T) {
	cases := []struct {
		name        string
		resumeWith  int // --workers of the resume: the split recorded is resumed whatever it says
		interruptAt int64
	}{
		{name: "resumed with two", resumeWith: 2, interruptAt: 6},
		{name: "resumed with one", resumeWith: 1, interruptAt: 9},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forEachDialect(t, func(t *testing.T, db *testdb.DB) {
				const rows = 1000
				db.Exec(`CREATE TABLE users (id integer PRIMARY KEY, username varchar(100) NOT NULL, name varchar(100) NOT NULL)`)
				db.SeedRows("users", rows)
				plan := mustPlan(t, usersEmailPlan)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				var batches atomic.Int64
				hook := func(point string) {
					if point == "backfill:batch-done" && batches.Add(1) == tc.interruptAt {
						cancel()
					}
				}
				s1, rec1 := session(t, db, plan, Options{BatchSize: 40, Workers: 2, Failpoint: hook, InPlace: true})
				_, err := s1.Run(ctx, "backfill", confirm("deploy-readers"))
				var ie *InterruptedError
				if !errors.As(err, &ie) {
					t.Fatalf("the first run was not interrupted: %v", err)
				}
				left := db.One("SELECT count(*) FROM users WHERE email IS NULL")
				if left == "0" || left == fmt.Sprint(rows) {
					t.Fatalf("the interrupted run left %s of %d rows NULL; the test wants it stopped partway", left, rows)
				}
				split := db.Dialect != "sqlite"
				if split {
					if got := db.One(fmt.Sprintf("SELECT count(*) FROM %s WHERE plan = 'users-email'", walkTable(db))); got != "2" {
						t.Fatalf("shepherd_walk has %s rows for the interrupted walk, want 2", got)
					}
					if !strings.Contains(ie.Checkpoint, "worker 1") || !strings.Contains(ie.Checkpoint, "worker 2") {
						t.Errorf("the interruption says %q: want each worker's checkpoint", ie.Checkpoint)
					}
				} else if rec1.notices("SQLite has one writer at a time") == 0 {
					t.Errorf("SQLite walked with one worker without saying why")
				}
				s1.Close()

				s2, rec := session(t, db, plan, Options{BatchSize: 40, Workers: tc.resumeWith, InPlace: true})
				if _, err := s2.Run(context.Background(), "backfill", confirm("deploy-readers")); err != nil {
					t.Fatalf("resume: %v", err)
				}
				if got := db.One("SELECT count(*) FROM users WHERE email IS NULL OR email <> lower(username)"); got != "0" {
					t.Errorf("%s rows are not filled with lower(username) after the resume", got)
				}
				got := db.Query(fmt.Sprintf("SELECT rows_done, rows_changed FROM %s WHERE plan = 'users-email' AND phase = 'backfill'", stateTable(db)))
				if want := fmt.Sprint([][]string{{fmt.Sprint(rows), fmt.Sprint(rows)}}); fmt.Sprint(got) != want {
					t.Errorf("the backfill's rows done and changed are %v, want %s: every batch walked once", got, want)
				}
				if split {
					if got := db.One(fmt.Sprintf("SELECT count(*) FROM %s", walkTable(db))); got != "0" {
						t.Errorf("shepherd_walk keeps %s rows after the walk ended", got)
					}
				}
				var last Event
				for _, e := range rec.of(EventProgress) {
					if e.Phase == "backfill" {
						last = e
					}
				}
				if last.RowsDone == nil || *last.RowsDone != rows {
					t.Errorf("the last progress is %+v, want %d rows done", last, rows)
				}
			})
		})
	}
}

func walkTable(db *testdb.DB) string {
	if db.Dialect == "postgres" {
		return "shepherd.shepherd_walk"
	}
	return "shepherd_walk"
}

// A key whose values are spread unevenly (ids 1 to 3000 and a few rows
// past a billion, as an application that numbers new rows elsewhere
// leaves them) is split by rows, not by values: each worker's range holds
// about half the rows. Split at half the values, the first worker would
// walk every row and the second a few.
func TestSplitWalkByRows(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		if db.Dialect == "sqlite" {
			t.Skip("SQLite walks with one worker")
		}
		db.Exec(`CREATE TABLE users (id bigint PRIMARY KEY, username varchar(100) NOT NULL, name varchar(100) NOT NULL)`)
		db.SeedRows("users", 3000)
		for i := 1; i <= 10; i++ {
			db.Exec(fmt.Sprintf(`INSERT INTO users (id, username, name) VALUES (%d, 'far%d', 'x')`, 1_000_000_000+i, i))
		}
		s, rec := session(t, db, mustPlan(t, usersEmailPlan), Options{Workers: 2, InPlace: true})
		runThrough(t, s, "add-column")
		for _, n := range []int{2, 3} {
			bounds, err := s.rowBounds(context.Background(), s.builder().fillJob("backfill"), nil, n)
			if err != nil {
				t.Fatal(err)
			}
			if len(bounds) != n-1 {
				t.Fatalf("%d workers: bounds %v", n, bounds)
			}
			lo := "0"
			for i, b := range append(bounds, "2000000000") {
				got := db.One(`SELECT count(*) FROM users WHERE id > ` + lo + ` AND id <= ` + b)
				if c, _ := strconv.Atoi(got); c < 3010/n-3010/(5*n) || c > 3010/n+3010/(5*n) {
					t.Errorf("%d workers: range %d (%s, %s] holds %s of 3010 rows", n, i+1, lo, b, got)
				}
				lo = b
			}
		}
		runThrough(t, s, "backfill")
		if n := db.One(`SELECT count(*) FROM users WHERE email IS NULL`); n != "0" {
			t.Errorf("%s rows NULL after the split walk", n)
		}
		if len(rec.find(EventNotice, "split among 2 workers")) != 1 {
			t.Errorf("the walk was not split; notices: %v", rec.of(EventNotice))
		}
	})
}

// The server's choice of workers (--workers 0) is at most 4, whatever the
// server allows one statement: more is the operator's to ask for.
func TestAutoWorkersBounded(t *testing.T) {
	t.Parallel()
	db := testdb.New(t, "postgres")
	db.Exec(`DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET max_parallel_workers_per_gather = 8', current_database()); END $$`)
	db.Exec(`CREATE TABLE users (id bigint PRIMARY KEY, username varchar(100) NOT NULL, name varchar(100) NOT NULL)`)
	db.SeedRows("users", 100)
	for _, c := range []struct{ asked, want int }{{WorkersAuto, 4}, {8, 8}} {
		s, _ := session(t, db, mustPlan(t, usersEmailPlan), Options{Workers: c.asked})
		if got := s.walkWorkers(context.Background(), "backfill"); got != c.want {
			t.Errorf("--workers %d on a server that allows 8: %d workers, want %d", c.asked, got, c.want)
		}
		s.Close()
	}
}
