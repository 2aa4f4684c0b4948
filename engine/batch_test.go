package engine

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

func TestSizer(t *testing.T) {
	const target = 50 * time.Millisecond
	tests := []struct {
		name  string
		opts  Options
		start int
		took  []time.Duration
		want  []int
	}{
		{"grows at most 1.5x a batch while under the target",
			Options{BatchTime: target}, initialBatch,
			[]time.Duration{time.Millisecond, time.Millisecond, 10 * time.Millisecond},
			[]int{750, 1125, 1687}},
		{"grows only to fit the target",
			Options{BatchTime: target}, initialBatch,
			[]time.Duration{38 * time.Millisecond},
			[]int{657}},
		{"holds within 0.8x to 1.25x of the target",
			Options{BatchTime: target}, 1000,
			[]time.Duration{41 * time.Millisecond, 50 * time.Millisecond, 62 * time.Millisecond},
			[]int{1000, 1000, 1000}},
		{"shrinks at once to fit when a batch runs over",
			Options{BatchTime: target}, 1000,
			[]time.Duration{80 * time.Millisecond},
			[]int{625}},
		{"shrinks at once to fit when a batch runs far over",
			Options{BatchTime: target}, 10_000,
			[]time.Duration{500 * time.Millisecond},
			[]int{1000}},
		{"never below the floor",
			Options{BatchTime: target}, 100,
			[]time.Duration{10 * time.Second},
			[]int{minBatch}},
		{"never above the ceiling",
			Options{BatchTime: target}, maxBatch,
			[]time.Duration{time.Microsecond},
			[]int{maxBatch}},
		{"--batch-size pins it",
			Options{BatchSize: 2000, BatchTime: target}, 2000,
			[]time.Duration{time.Microsecond, 10 * time.Second},
			[]int{2000, 2000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			z := newSizer(tt.opts)
			if !z.fixed {
				z.n = tt.start
			}
			if z.n != tt.start {
				t.Fatalf("starts at %d, want %d", z.n, tt.start)
			}
			for i, took := range tt.took {
				z.observe(took)
				if z.n != tt.want[i] {
					t.Fatalf("after a batch of %s: %d rows, want %d", took, z.n, tt.want[i])
				}
			}
		})
	}
	if z := newSizer(Options{BatchTime: target}); z.n != initialBatch {
		t.Errorf("a sized walk starts at %d rows, want %d", z.n, initialBatch)
	}
}

// Progress events carry what the operator and the TUI show: rows done of
// the estimate, rows per second, and each batch's size and duration.
func TestProgressEvents(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		db.Seed(2500)
		s, rec := session(t, db, mustPlan(t, usersEmailPlan), Options{BatchSize: 1000})
		if _, err := s.Run(context.Background(), "backfill", map[string]bool{"deploy-readers": true}); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range rec.of(EventProgress) {
			if e.Phase != "backfill" {
				continue
			}
			got = append(got, fmt.Sprintf("%d/%d batch %d", *e.RowsDone, *e.RowsTotal, e.BatchSize))
			if e.BatchSize > 0 && (e.RowsPerSec <= 0 || e.BatchMS <= 0) {
				t.Errorf("progress %s: rows/s %v, batch ms %v; want both measured", got[len(got)-1], e.RowsPerSec, e.BatchMS)
			}
		}
		// The first says the estimate before any batch has run.
		want := []string{"0/2500 batch 0", "1000/2500 batch 1000", "2000/2500 batch 1000", "2500/2500 batch 500"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("progress %v, want %v", got, want)
		}
	})
}

// The estimate stays cheap on a big table: SQLite reads the integer key's
// range from its index instead of counting every row; a small table is
// counted exactly.
func TestEstimateRowsSQLite(t *testing.T) {
	tests := []struct {
		name   string
		create string
		fill   string
		key    string
		want   int64
	}{
		{"small: exact", `CREATE TABLE t (id integer PRIMARY KEY, v text)`,
			`WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 5000) INSERT INTO t SELECT n * 7, 'x' FROM s`,
			"id", 5000},
		{"big integer key: its range, not a count", `CREATE TABLE t (id integer PRIMARY KEY, v text)`,
			`WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 150000) INSERT INTO t SELECT n * 2, 'x' FROM s`,
			"id", 299_999},
		{"big text key: counted", `CREATE TABLE t (code text PRIMARY KEY, v text)`,
			`WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 120000) INSERT INTO t SELECT 'k' || n, 'x' FROM s`,
			"code", 120_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := testdb.New(t, "sqlite")
			db.Exec(tt.create)
			db.Exec(tt.fill)
			plan := fmt.Sprintf("name: est\nplaybook: add-column\ntable: t\nkey: %s\ncolumn: c\ntype: text\nbackfill: \"v\"\n", tt.key)
			s, _ := session(t, db, mustPlan(t, plan), Options{})
			got, err := s.estimateRows(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("estimate %d, want %d", got, tt.want)
			}
		})
	}
}

// TestBatchRunAgainAfterCommit: a batch whose commit went through but whose
// acknowledgement was lost with the connection is run again (runBatch puts
// the in-memory checkpoint back and retries the same range). That does no
// harm: each batch statement changes only rows that still need it (NULLs;
// rows where the copies differ), and the checkpoint is written as a value,
// not moved by an increment, so it ends where the first commit put it.
func TestBatchRunAgainAfterCommit(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		ctx := context.Background()
		db.Seed(30)
		s, _ := session(t, db, mustPlan(t, "name: again\nplaybook: add-column\ntable: users\ncolumn: email\ntype: {postgres: text, mysql: varchar(200), sqlite: text}\nbackfill: \"lower(username)\"\n"),
			Options{BatchSize: 10})
		if _, err := s.Run(ctx, "backfill", map[string]bool{"deploy-readers": true}); err != nil {
			t.Fatal(err)
		}
		// Old code writes a NULL in the last range meanwhile.
		db.Exec(`UPDATE users SET email = NULL WHERE id = 25`)
		db.Exec(`UPDATE users SET email = 'kept' WHERE id = 26`)
		want := db.Query(`SELECT id, coalesce(email, 'NULL') FROM users WHERE id <> 25 ORDER BY id`)
		st := s.st("backfill")
		st.Checkpoint, st.RowsDone, st.RowsChanged = ptr("20"), 20, 20 // as before the last batch
		if _, err := s.runBatch(ctx, s.builder().fillJob("backfill"), batchRange{lo: s.keyArg("20"), hi: s.keyArg("30"), rows: 10}); err != nil {
			t.Fatal(err)
		}
		if changed := st.RowsChanged - 20; changed != 1 {
			t.Errorf("the batch run again changed %d rows, want 1 (the NULL old code wrote)", changed)
		}
		if got := db.Query(`SELECT id, coalesce(email, 'NULL') FROM users WHERE id <> 25 ORDER BY id`); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("rows changed:\n%v\nwant\n%v", got, want)
		}
		if got := db.One(`SELECT email FROM users WHERE id = 25`); got != "user25" {
			t.Errorf("row 25: %s", got)
		}
		if got := fmt.Sprint(db.Query(`SELECT checkpoint, rows_done FROM ` + stateTableOf(db) + ` WHERE plan = 'again' AND phase = 'backfill'`)); got != "[[30 30]]" {
			t.Errorf("checkpoint and rows done: %s, want [[30 30]]", got)
		}
	})
}

// stateTableOf names shepherd_state as the test's database has it.
func stateTableOf(db *testdb.DB) string {
	if db.Dialect == "postgres" {
		return "shepherd.shepherd_state"
	}
	return "shepherd_state"
}

// checkpointIs reads the recorded checkpoint: after a lost connection, a
// batch whose commit went through is not run again.
func TestCheckpointIs(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		db.Seed(250)
		s, _ := session(t, db, mustPlan(t, usersEmailPlan), Options{BatchSize: 100})
		if _, err := s.Run(context.Background(), "backfill", map[string]bool{"deploy-readers": true}); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			cp   string
			want bool
		}{{"250", true}, {"200", false}} {
			got, rows, changed, err := s.checkpointIs(context.Background(), "backfill", tc.cp)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want || rows != 250 || changed != 250 {
				t.Errorf("checkpointIs(%s) = %v with %d rows done, %d changed; want %v with 250 and 250", tc.cp, got, rows, changed, tc.want)
			}
		}
	})
}
