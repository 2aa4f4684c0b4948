package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// seedRowidItems is seedItems' table with rowids (SQLite's default): the
// key (tenant_id, id) is an index of its own, and the rows are stored in
// the order they were inserted, tenants last first.
func seedRowidItems(t *testing.T, db *testdb.DB, extra string, tenants, perTenant int) {
	t.Helper()
	db.Exec(`CREATE TABLE items (tenant_id INTEGER NOT NULL, id INTEGER NOT NULL, name VARCHAR(50) NOT NULL` + extra + `, PRIMARY KEY (tenant_id, id))`)
	db.Exec(fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < %d)
		INSERT INTO items (tenant_id, id, name) SELECT %d - i / %d, i %% %d + 1, 'item ' || i FROM n`, tenants*perTenant, tenants, perTenant, perTenant))
}

// On a SQLite table with rowids, a composite key's batches walk the rowid:
// the checkpoint is a rowid, the interrupted walk resumes just after it,
// and every row is filled exactly once. The rows filled at the
// interruption are the first ones stored, not the first by key.
func TestRowidWalkResumes(t *testing.T) {
	db := testdb.New(t, "sqlite")
	const tenants, perTenant = 7, 500
	seedRowidItems(t, db, "", tenants, perTenant)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	batches := 0
	s, _ := session(t, db, mustPlan(t, itemsLabelPlan), Options{BatchSize: 97, Failpoint: func(point string) {
		if point == "backfill:batch-done" {
			if batches++; batches == 12 {
				cancel()
			}
		}
	}})
	if s.keyLabel() != "(tenant_id, id)" || s.rowid != "rowid" {
		t.Fatalf("the key is %s walked by %q, want (tenant_id, id) walked by rowid", s.keyLabel(), s.rowid)
	}
	if err := runPhases(context.Background(), t, s, "add-column", "deploy-readers"); err != nil {
		t.Fatal(err)
	}
	var ie *InterruptedError
	if err := runPhases(ctx, t, s, "backfill"); !errors.As(err, &ie) {
		t.Fatalf("backfill = %v, want it interrupted", err)
	}
	if ie.Checkpoint != "rowid 1164" {
		t.Errorf("the interruption's checkpoint is %q, want rowid 1164", ie.Checkpoint)
	}
	state := stateTableOf(db)
	if got := db.One(`SELECT checkpoint FROM ` + state + ` WHERE phase = 'backfill'`); got != "1164" {
		t.Errorf("the checkpoint is kept as %s, want 1164", got)
	}
	if got := db.One(`SELECT count(*) FROM items WHERE (label IS NOT NULL) <> (rowid <= 1164)`); got != "0" {
		t.Errorf("%s rows are filled past the checkpoint, or not filled before it", got)
	}
	s.Close()

	s2, rec := session(t, db, mustPlan(t, itemsLabelPlan), Options{BatchSize: 97})
	if err := s2.RunPhase(context.Background(), "backfill"); err != nil {
		t.Fatalf("resumed backfill: %v", err)
	}
	if len(rec.find(EventNotice, `resuming from the checkpoint rowid 1164 \(1164 rows done\)`)) != 1 {
		t.Errorf("no notice of the resumption from rowid 1164; notices: %v", rec.of(EventNotice))
	}
	total := fmt.Sprint(tenants * perTenant)
	row := db.Query(`SELECT rows_done, rows_changed, status FROM ` + state + ` WHERE phase = 'backfill'`)
	if len(row) != 1 || row[0][0] != total || row[0][1] != total || row[0][2] != "done" {
		t.Errorf("backfill state (rows_done, rows_changed, status) = %v, want %s walked and filled once each, done", row, total)
	}
	if got := db.One(`SELECT count(*) FROM items WHERE label IS NULL OR label <> upper(name)`); got != "0" {
		t.Errorf("%s rows are not filled with upper(name)", got)
	}
	_, log, _ := shepherdTables(db)
	if got := db.One(`SELECT count(*) FROM ` + log + ` WHERE phase = 'backfill' AND event = 'sql' AND sql_text LIKE '%rowid_ > ?%' AND detail LIKE '%batch of rows on rowid%'`); got == "0" {
		t.Errorf("the log does not show the batch statement walking the rowid: %v", db.Query(`SELECT sql_text, detail FROM `+log+` WHERE event = 'sql'`))
	}
}

// A batch of the rowid walk, and the search for its upper bound, read a
// range of the table's own b-tree: SQLite's plan says so.
func TestRowidWalkBatchIsRowidRange(t *testing.T) {
	db := testdb.New(t, "sqlite")
	seedRowidItems(t, db, "", 40, 1000)
	s, _ := session(t, db, mustPlan(t, itemsLabelPlan), Options{})
	if err := runPhases(context.Background(), t, s, "add-column"); err != nil {
		t.Fatal(err)
	}
	job := s.builder().fillJob("backfill")
	data := job.data
	data.HasLo = true
	script, err := s.sql.Script(job.update, data)
	if err != nil {
		t.Fatal(err)
	}
	upper, err := s.sql.Query("upper-bound", data)
	if err != nil {
		t.Fatal(err)
	}
	vals := map[string]any{"offset": 499, "lo": int64(3000), "hi": int64(3500)}
	for _, st := range []string{script[len(script)-1].SQL, upper.SQL} {
		stmt := script[len(script)-1].Statement
		if st == upper.SQL {
			stmt = upper
		}
		args, err := stmt.Args(vals)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for _, r := range db.Query(`EXPLAIN QUERY PLAN `+st, args...) {
			plan = append(plan, r[len(r)-1])
		}
		text := strings.Join(plan, "\n")
		if !strings.Contains(text, "USING INTEGER PRIMARY KEY (rowid>?") || strings.Contains(text, "SCAN") {
			t.Errorf("not a range of the rowid:\n%s\n%s", st, text)
		}
	}
}

// A table with a column named rowid walks the rowid under another of its
// names; rows inserted while the walk runs get rowids past it and are
// walked too; a rowid table with a single-column key keeps walking the key.
func TestRowidWalkNames(t *testing.T) {
	t.Run("a column named rowid", func(t *testing.T) {
		db := testdb.New(t, "sqlite")
		seedRowidItems(t, db, ", rowid TEXT", 3, 100)
		inserted := false
		s, _ := session(t, db, mustPlan(t, itemsLabelPlan), Options{BatchSize: 50, Failpoint: func(point string) {
			if point == "backfill:batch-done" && !inserted {
				inserted = true
				db.Exec(`INSERT INTO items (tenant_id, id, name) VALUES (1, 0, 'late')`)
			}
		}})
		if s.rowid != "_rowid_" {
			t.Fatalf("the walk is by %q, want _rowid_", s.rowid)
		}
		if err := runPhases(context.Background(), t, s, "add-column", "deploy-readers", "backfill"); err != nil {
			t.Fatalf("backfill: %v", err)
		}
		if got := db.One(`SELECT count(*) FROM items WHERE label IS NULL OR label <> upper(name)`); got != "0" {
			t.Errorf("%s rows are not filled after the backfill", got)
		}
		if got := db.One(`SELECT label FROM items WHERE tenant_id = 1 AND id = 0`); got != "LATE" {
			t.Errorf("the row inserted during the walk has label %q, want LATE", got)
		}
	})
	t.Run("a single-column key", func(t *testing.T) {
		db := testdb.New(t, "sqlite")
		db.Exec(`CREATE TABLE items (code TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL)`)
		db.Exec(`INSERT INTO items VALUES ('b', 'x'), ('a', 'y')`)
		s, _ := session(t, db, mustPlan(t, itemsLabelPlan), Options{})
		if s.rowid != "" {
			t.Errorf("a single-column key is walked by %q, want the key", s.rowid)
		}
	})
}
