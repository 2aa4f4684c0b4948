package engine

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/shepherd-db/shepherd/internal/testdb"
	"github.com/shepherd-db/shepherd/templates"
)

// itemsLabelPlan adds items.label over a table whose primary key is
// (tenant_id, id): the key is not given, so it is the primary key.
const itemsLabelPlan = `name: items-label
playbook: add-column
table: items
column: label
type: {postgres: text, mysql: varchar(100), sqlite: text}
backfill: "upper(name)"
`

// seedItems creates items with PRIMARY KEY (tenant_id, id) and tenants ×
// perTenant rows. Ids repeat across tenants and tenants are inserted out of
// order, so only a walk in the order of the whole tuple covers each row
// once. On SQLite the table is WITHOUT ROWID, so its batches walk the key
// as on the other databases; a table with rowids walks its rowid
// (rowidwalk_test.go).
func seedItems(t *testing.T, db *testdb.DB, tenants, perTenant int) {
	t.Helper()
	db.Exec(`CREATE TABLE items (tenant_id INTEGER NOT NULL, id INTEGER NOT NULL, name VARCHAR(50) NOT NULL, PRIMARY KEY (tenant_id, id))` + withoutRowid(db))
	var rows []string
	flush := func() {
		if len(rows) > 0 {
			db.Exec(`INSERT INTO items (tenant_id, id, name) VALUES ` + strings.Join(rows, ", "))
			rows = rows[:0]
		}
	}
	for k := range tenants {
		tenant := tenants - k // every tenant once, last first
		for id := 1; id <= perTenant; id++ {
			rows = append(rows, fmt.Sprintf("(%d, %d, 'item %d-%d')", tenant, id, tenant, id))
			if len(rows) == 500 {
				flush()
			}
		}
	}
	flush()
}

// runPhases arrives at and runs each phase in turn.
func runPhases(ctx context.Context, t *testing.T, s *Session, ids ...string) error {
	t.Helper()
	for _, id := range ids {
		if err := s.Arrive(ctx, id); err != nil {
			t.Fatalf("arrive at %s: %v", id, err)
		}
		if err := s.RunPhase(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// A backfill over a composite primary key, interrupted mid-walk and
// resumed: the checkpoint is the last committed tuple, shown with its
// columns' names, and the rerun walks on from just after it, so every row
// is walked and filled exactly once.
func TestCompositeKeyBackfillResumes(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		const tenants, perTenant = 7, 500
		seedItems(t, db, tenants, perTenant)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		batches := 0
		s, _ := session(t, db, mustPlan(t, itemsLabelPlan), Options{
			BatchSize: 97, // batches end inside a tenant and cross from one to the next
			Failpoint: func(point string) {
				if point == "backfill:batch-done" {
					if batches++; batches == 12 {
						cancel()
					}
				}
			},
		})
		if s.keyLabel() != "(tenant_id, id)" {
			t.Fatalf("the key is %s, want the primary key (tenant_id, id)", s.keyLabel())
		}
		if err := runPhases(context.Background(), t, s, "add-column", "deploy-readers"); err != nil {
			t.Fatal(err)
		}
		err := runPhases(ctx, t, s, "backfill")
		var ie *InterruptedError
		if !errors.As(err, &ie) {
			t.Fatalf("backfill = %v, want it interrupted", err)
		}
		// 12 batches of 97 rows: 1164 rows, the last of them tenant 3's
		// id 164 (tenant 1 and 2 hold 1000 rows).
		if ie.Checkpoint != "tenant_id 3, id 164" {
			t.Errorf("the interruption's checkpoint is %q, want tenant_id 3, id 164", ie.Checkpoint)
		}
		state := stateTableOf(db)
		if got := db.One(`SELECT rows_done FROM ` + state + ` WHERE phase = 'backfill'`); got != "1164" {
			t.Errorf("%s rows done at the interruption, want 1164", got)
		}
		if got := db.One(`SELECT count(*) FROM items WHERE label IS NOT NULL`); got != "1164" {
			t.Errorf("%s rows filled at the interruption, want 1164", got)
		}
		// The rows filled are exactly those up to the checkpoint's tuple.
		if got := db.One(`SELECT count(*) FROM items WHERE (label IS NOT NULL) <> (tenant_id < 3 OR (tenant_id = 3 AND id <= 164))`); got != "0" {
			t.Errorf("%s rows are filled but past the checkpoint, or not filled before it", got)
		}

		// Screens show the recorded checkpoint by the key's columns too.
		for _, ph := range s.Phases() {
			if ph.ID == "backfill" && ph.Checkpoint != "tenant_id 3, id 164" {
				t.Errorf("the backfill's recorded checkpoint is shown as %q, want tenant_id 3, id 164", ph.Checkpoint)
			}
		}
		if got := db.One(`SELECT checkpoint FROM ` + state + ` WHERE phase = 'backfill'`); got != `["3","164"]` {
			t.Errorf("the checkpoint is kept as %s, want [\"3\",\"164\"]", got)
		}
		s.Close() // the interrupted run has ended: its runner lock goes
		s2, rec := session(t, db, mustPlan(t, itemsLabelPlan), Options{BatchSize: 97})
		if err := s2.RunPhase(context.Background(), "backfill"); err != nil {
			t.Fatalf("resumed backfill: %v", err)
		}
		if len(rec.find(EventNotice, `resuming from the checkpoint tenant_id 3, id 164 \(1164 rows done\)`)) != 1 {
			t.Errorf("no notice of the resumption from tenant_id 3, id 164; notices: %v", rec.of(EventNotice))
		}
		total := fmt.Sprint(tenants * perTenant)
		row := db.Query(`SELECT rows_done, rows_changed, status FROM ` + state + ` WHERE phase = 'backfill'`)
		if len(row) != 1 || row[0][0] != total || row[0][1] != total || row[0][2] != "done" {
			t.Errorf("backfill state (rows_done, rows_changed, status) = %v, want %s walked and filled once each, done", row, total)
		}
		if got := db.One(`SELECT count(*) FROM items WHERE label IS NULL OR label <> upper(name)`); got != "0" {
			t.Errorf("%s rows are not filled with upper(name)", got)
		}
		// The first batch after the resumption starts just after the
		// checkpoint: the resumed run walked exactly the rows left.
		progress := rec.of(EventProgress)
		if last := progress[len(progress)-1]; last.RowsDone == nil || *last.RowsDone != int64(tenants*perTenant) || last.Checkpoint != fmt.Sprintf("tenant_id %d, id %d", tenants, perTenant) {
			t.Errorf("the last progress event is %+v, want %s rows done at tenant_id %d, id %d", last, total, tenants, perTenant)
		}
		// What the log keeps of the batch statement names no value.
		_, log, _ := shepherdTables(db)
		for _, r := range db.Query(`SELECT detail FROM ` + log + ` WHERE phase = 'backfill' AND event = 'sql'`) {
			if strings.Contains(r[0], "164") {
				t.Errorf("the logged batch statement holds a key value: %s", r[0])
			}
		}
	})
}

// One batch's UPDATE over a composite key is an index range scan on every
// dialect, never a full scan: PostgreSQL's row-value comparison is an
// Index Cond, MySQL/MariaDB's written-out form is a range, SQLite's row
// values SEARCH the primary key. So is the search for the batch's upper
// bound.
func TestCompositeKeyBatchIsIndexRange(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		seedItems(t, db, 40, 1000)
		switch db.Dialect {
		case "postgres":
			db.Exec(`ANALYZE items`)
		case "mysql":
			db.Exec(`ANALYZE TABLE items`)
		}
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
		vals := map[string]any{"offset": 499}
		bindKey(vals, "lo", keyTuple{int64(12), int64(300)})
		bindKey(vals, "hi", keyTuple{int64(12), int64(800)})
		for _, st := range []templates.Statement{script[len(script)-1].Statement, upper} {
			args, err := st.Args(vals)
			if err != nil {
				t.Fatal(err)
			}
			plan := explainRange(t, db, st.SQL, args)
			t.Logf("%s\n%s", st.SQL, plan)
		}
	})
}

// explainRange EXPLAINs a statement over items and fails the test unless
// the database reads a range of the primary key's index, and no more.
func explainRange(t *testing.T, db *testdb.DB, query string, args []any) string {
	t.Helper()
	var plan []string
	switch db.Dialect {
	case "postgres":
		for _, r := range db.Query(`EXPLAIN `+query, args...) {
			plan = append(plan, r[0])
		}
		text := strings.Join(plan, "\n")
		// An Index Scan, or a Bitmap Index Scan (the planner's choice
		// for a range of a few hundred rows): both read only the range
		// of items_pkey that the Index Cond gives.
		if strings.Contains(text, "Seq Scan") || !regexp.MustCompile(`(Bitmap Index Scan on|Index (Only )?Scan using) items_pkey`).MatchString(text) || !strings.Contains(text, "Index Cond: (") || !strings.Contains(text, "(ROW(tenant_id, id) > ROW(12, 300))") {
			t.Errorf("not a range of items_pkey:\n%s\n%s", query, text)
		}
	case "mysql":
		rows, err := db.SQL.Query(`EXPLAIN `+query, args...)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			row := map[string]string{}
			for i, c := range cols {
				row[c] = keyText(vals[i])
			}
			plan = append(plan, fmt.Sprint(row))
			if row["type"] != "range" || row["key"] != "PRIMARY" {
				t.Errorf("reads items with access type %q on %q, want a range of PRIMARY:\n%s", row["type"], row["key"], query)
			}
		}
		if len(plan) == 0 {
			t.Fatal("EXPLAIN gave no row")
		}
	case "sqlite":
		for _, r := range db.Query(`EXPLAIN QUERY PLAN `+query, args...) {
			plan = append(plan, r[len(r)-1])
		}
		text := strings.Join(plan, "\n")
		if !regexp.MustCompile(`SEARCH items USING (PRIMARY KEY|(COVERING )?INDEX \S+) \(\(tenant_id,id\)>\(\?,\?\)`).MatchString(text) || strings.Contains(text, "SCAN items") {
			t.Errorf("not a search of the primary key:\n%s\n%s", query, text)
		}
	}
	return strings.Join(plan, "\n")
}

// A table with no unique NOT NULL key is refused before anything changes,
// saying what to do; a composite key given that is not one is refused
// naming the candidates.
func TestCompositeKeyRefusals(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		db.Exec(`CREATE TABLE logs (tenant_id INTEGER NOT NULL, id INTEGER NOT NULL, name VARCHAR(50) NOT NULL, note VARCHAR(50))`)
		db.Exec(`CREATE UNIQUE INDEX logs_tenant_note ON logs (tenant_id, note)`) // note takes NULL: no key
		db.Exec(`INSERT INTO logs (tenant_id, id, name) VALUES (1, 1, 'a'), (1, 2, 'b')`)
		start := func(plan string) error {
			eng, err := Open(context.Background(), db.DSN)
			if err != nil {
				t.Fatal(err)
			}
			defer eng.Close()
			s, err := eng.Start(context.Background(), mustPlan(t, plan), Options{})
			if err == nil {
				s.Close()
			}
			return err
		}
		plan := strings.ReplaceAll(itemsLabelPlan, "items", "logs")
		err := start(plan)
		var se *SchemaError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), "key: logs has no single-column primary key (primary key: none); set key: to a unique NOT NULL column, or add one: a primary key, or a unique index over NOT NULL columns") {
			t.Errorf("start on a table with no key = %v, want a refusal saying to add a primary key", err)
		}
		db.Exec(`CREATE UNIQUE INDEX logs_tenant_id ON logs (tenant_id, id)`)
		err = start(plan + "key: [id, tenant_id]\n")
		if !errors.As(err, &se) || !strings.Contains(err.Error(), "key: (id, tenant_id) is not a unique set of NOT NULL columns of logs") || !strings.Contains(err.Error(), "candidates: (tenant_id, id)") {
			t.Errorf("start with key: [id, tenant_id] = %v, want a refusal naming the candidate (tenant_id, id)", err)
		}
		if err := start(plan + "key: [tenant_id, id]\n"); err != nil {
			t.Errorf("start with key: [tenant_id, id], a unique index over NOT NULL columns: %v", err)
		}
		// A rename of a column of the composite key is refused, as a
		// rename of a single key column is.
		seedItems(t, db, 2, 3)
		err = start("name: items-rename\nplaybook: rename-column\ntable: items\ncolumn: id\nto: item_id\n")
		if !errors.As(err, &se) || !strings.Contains(err.Error(), `key: "id", which the plan renames, is a column of the primary key (tenant_id, id), the batch key`) {
			t.Errorf("start renaming a column of the composite primary key = %v, want a refusal", err)
		}
		if db.Dialect == "sqlite" {
			// SQLite takes NULL in a composite primary key's columns
			// unless they are declared NOT NULL: no key to walk.
			db.Exec(`CREATE TABLE loose (tenant_id int, id int, name text, PRIMARY KEY (tenant_id, id))`)
			err = start(strings.ReplaceAll(itemsLabelPlan, "items", "loose"))
			if !errors.As(err, &se) || !strings.Contains(err.Error(), "key: the primary key of loose, (tenant_id, id), takes NULL") {
				t.Errorf("start on a SQLite table whose composite primary key takes NULL = %v, want a refusal", err)
			}
		}
		if got := db.One(`SELECT count(*) FROM logs`); got != "2" {
			t.Errorf("logs has %s rows, want 2: nothing changes", got)
		}
		if db.Query(`SELECT name FROM logs WHERE name = 'a'`) == nil {
			t.Error("logs changed")
		}
	})
}

// membersTable has a composite primary key; membersGroups are rows whose
// email repeats in an order the tuple (tenant_id, id) decides, not id:
// a: (1,5) first, then (1,9), (2,1), (2,2); b: (1,2) first, then (3,0).
const (
	membersTable  = `CREATE TABLE members (tenant_id int NOT NULL, id int NOT NULL, email varchar(100), amount int NOT NULL, PRIMARY KEY (tenant_id, id))`
	membersGroups = `INSERT INTO members (tenant_id, id, email, amount) VALUES (2, 1, 'a', 1), (1, 5, 'a', 1), (1, 9, 'a', -1), (3, 0, 'b', 1), (1, 2, 'b', -3), (2, 7, 'c', 1), (1, 3, 'd', 1), (1, 4, NULL, 1), (2, 8, NULL, 1), (2, 2, 'a', -2)`
)

func memberRows(db *testdb.DB) string {
	var out []string
	for _, r := range db.Query(`SELECT tenant_id, id, coalesce(email, 'NULL'), amount FROM members ORDER BY tenant_id, id`) {
		out = append(out, strings.Join(r, ":"))
	}
	return strings.Join(out, " ")
}

// A UNIQUE clean over a table with a composite key walks the duplicates in
// the order of the key's tuple, keeps each group's first row by that order,
// resumes after an interruption from the last tuple cleaned, and the proof
// then writes a duplicate by the first rows' composite keys.
func TestCompositeKeyUniqueClean(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		db.Exec(membersTable)
		db.Exec(membersGroups)
		plan := mustPlan(t, `name: members-email
playbook: tighten-constraint
table: members
constraint: {name: members_email_key, unique: [email]}
clean:
  set:
    email: {postgres: "email || '-' || tenant_id || '.' || id", sqlite: "email || '-' || tenant_id || '.' || id", mysql: "CONCAT(email, '-', tenant_id, '.', id)"}
`)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		s, _ := session(t, db, plan, Options{BatchSize: 2, Failpoint: func(point string) {
			if point == "clean:batch-done" {
				cancel()
			}
		}})
		if err := s.RunPhase(context.Background(), "validate-in-app"); err != nil {
			t.Fatal(err)
		}
		err := s.RunPhase(ctx, "clean")
		var ie *InterruptedError
		if !errors.As(err, &ie) || ie.Checkpoint != "tenant_id 2, id 1" {
			t.Fatalf("clean, stopped after its first batch: %v, want interrupted at tenant_id 2, id 1", err)
		}
		if got, want := memberRows(db), "1:2:b:-3 1:3:d:1 1:4:NULL:1 1:5:a:1 1:9:a-1.9:-1 2:1:a-2.1:1 2:2:a:-2 2:7:c:1 2:8:NULL:1 3:0:b:1"; got != want {
			t.Errorf("rows when interrupted:\n got %s\nwant %s", got, want)
		}
		s.Close()

		s2, rec := session(t, db, plan, Options{BatchSize: 2})
		runAll(t, s2)
		if rec.notices("resuming from the checkpoint tenant_id 2, id 1") != 1 {
			t.Errorf("the rerun did not resume from the checkpoint; notices: %v", rec.of(EventNotice))
		}
		if got, want := memberRows(db), "1:2:b:-3 1:3:d:1 1:4:NULL:1 1:5:a:1 1:9:a-1.9:-1 2:1:a-2.1:1 2:2:a-2.2:-2 2:7:c:1 2:8:NULL:1 3:0:b-3.0:1"; got != want {
			t.Errorf("rows after clean:\n got %s\nwant %s", got, want)
		}
		if got := db.One(`SELECT rows_done FROM ` + stateTableOf(db) + ` WHERE phase = 'clean'`); got != "4" {
			t.Errorf("clean walked %s rows, want the 4 duplicates", got)
		}
		if got := db.One(`SELECT status FROM ` + stateTableOf(db) + ` WHERE phase = 'verify-failure-path'`); got != "done" {
			t.Errorf("verify-failure-path is %s, want done", got)
		}
		if err := db.ExecE(`UPDATE members SET email = 'd' WHERE tenant_id = 1 AND id = 2`); err == nil {
			t.Error("a duplicate email was written: the constraint is not there")
		}
	})
}

// A CHECK clean over a composite key walks the table in ranges of the
// tuple; the proof writes a violating value to the first row by its
// composite key.
func TestCompositeKeyCheckClean(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		db.Exec(membersTable)
		db.Exec(membersGroups)
		s, _ := session(t, db, mustPlan(t, `name: members-amount
playbook: tighten-constraint
table: members
key: [tenant_id, id]
constraint: {name: members_amount_positive, check: "amount > 0"}
clean: {set: {amount: "abs(amount)"}}
`), Options{BatchSize: 3, AllowLock: "shared"}) // MySQL adds a CHECK only by copying the table
		runAll(t, s)
		if got, want := memberRows(db), "1:2:b:3 1:3:d:1 1:4:NULL:1 1:5:a:1 1:9:a:1 2:1:a:1 2:2:a:2 2:7:c:1 2:8:NULL:1 3:0:b:1"; got != want {
			t.Errorf("rows after clean:\n got %s\nwant %s", got, want)
		}
		state := stateTableOf(db)
		row := db.Query(`SELECT rows_done, rows_changed FROM ` + state + ` WHERE phase = 'clean'`)
		if len(row) != 1 || row[0][0] != "10" || row[0][1] != "3" {
			t.Errorf("clean (rows_done, rows_changed) = %v, want 10 walked, 3 changed", row)
		}
		if got := db.One(`SELECT status FROM ` + state + ` WHERE phase = 'verify-failure-path'`); got != "done" {
			t.Errorf("verify-failure-path is %s, want done", got)
		}
		if got := memberRows(db); !strings.HasPrefix(got, "1:2:b:3 ") {
			t.Errorf("the proof's write stayed: %s", got)
		}
	})
}

// With a composite key, a row that old code inserts behind the walk (a
// tenant already walked) is no late commit to walk again from: a new row
// lands anywhere in the tuple's order. The backfill says so and finishes;
// switch-writes' catch-up fills it.
func TestCompositeKeyRowsBehindTheWalk(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		seedItems(t, db, 3, 100)
		inserted := false
		s, rec := session(t, db, mustPlan(t, itemsLabelPlan), Options{BatchSize: 50, Failpoint: func(point string) {
			if point == "backfill:batch-done" && !inserted {
				inserted = true
				db.Exec(`INSERT INTO items (tenant_id, id, name) VALUES (1, 0, 'late')`)
			}
		}})
		if err := runPhases(context.Background(), t, s, "add-column", "deploy-readers", "backfill"); err != nil {
			t.Fatalf("backfill: %v", err)
		}
		if len(rec.find(EventNotice, `1 rows behind the walk are NULL \(keys \(1, 0\)\)`)) != 1 {
			t.Errorf("no notice naming the row behind the walk by its tuple; notices: %v", rec.of(EventNotice))
		}
		if got := db.One(`SELECT count(*) FROM items WHERE label IS NULL`); got != "1" {
			t.Errorf("%s rows NULL after the backfill, want the late one", got)
		}
		if err := runPhases(context.Background(), t, s, "switch-writes"); err != nil {
			t.Fatalf("switch-writes: %v", err)
		}
		if got := db.One(`SELECT label FROM items WHERE tenant_id = 1 AND id = 0`); got != "LATE" {
			t.Errorf("the late row's label is %q after the catch-up, want LATE", got)
		}
	})
}

// A composite key with a text column is walked in the order the database
// sorts it (MySQL's case-insensitive collations: 'a' < 'B' < 'c'), so a
// batch's bounds, bound back as text, cover each row once.
func TestCompositeKeyTextColumn(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		db.Exec(`CREATE TABLE regions (region varchar(20) NOT NULL, id int NOT NULL, name varchar(50) NOT NULL, PRIMARY KEY (region, id))`)
		var rows []string
		for i, r := range []string{"c", "B", "a", "Ab", "b2", "C1"} {
			for id := 1; id <= 7; id++ {
				rows = append(rows, fmt.Sprintf("('%s', %d, 'n%d')", r, id, i*10+id))
			}
		}
		db.Exec(`INSERT INTO regions (region, id, name) VALUES ` + strings.Join(rows, ", "))
		plan := strings.NewReplacer("items", "regions", "items-label", "regions-label").Replace(itemsLabelPlan)
		s, _ := session(t, db, mustPlan(t, plan), Options{BatchSize: 4})
		if err := runPhases(context.Background(), t, s, "add-column", "deploy-readers", "backfill"); err != nil {
			t.Fatalf("backfill: %v", err)
		}
		row := db.Query(`SELECT rows_done, rows_changed FROM ` + stateTableOf(db) + ` WHERE phase = 'backfill'`)
		if len(row) != 1 || row[0][0] != "42" || row[0][1] != "42" {
			t.Errorf("backfill (rows_done, rows_changed) = %v, want 42 walked and filled once each", row)
		}
		if got := db.One(`SELECT count(*) FROM regions WHERE label IS NULL OR label <> upper(name)`); got != "0" {
			t.Errorf("%s rows are not filled", got)
		}
	})
}

// A rename's copy walks a composite key too, and its check up to the
// checkpoint compares every row.
func TestCompositeKeyRenameColumn(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		seedItems(t, db, 4, 250)
		s, _ := session(t, db, mustPlan(t, "name: items-title\nplaybook: rename-column\ntable: items\ncolumn: name\nto: title\n"), Options{BatchSize: 90})
		if err := runPhases(context.Background(), t, s, "add-column", "dual-write", "backfill", "switch-reads"); err != nil {
			t.Fatal(err)
		}
		row := db.Query(`SELECT rows_done, rows_changed, status FROM ` + stateTableOf(db) + ` WHERE phase = 'backfill'`)
		if len(row) != 1 || row[0][0] != "1000" || row[0][1] != "1000" || row[0][2] != "done" {
			t.Errorf("the copy (rows_done, rows_changed, status) = %v, want 1000 walked and copied, done", row)
		}
		if got := db.One(`SELECT count(*) FROM items WHERE title = 'item ' || tenant_id || '-' || id`); db.Dialect != "mysql" && got != "1000" {
			t.Errorf("%s rows have their name as title, want 1000", got)
		}
		if got := db.One(`SELECT count(*) FROM items WHERE title = CONCAT('item ', tenant_id, '-', id)`); db.Dialect == "mysql" && got != "1000" {
			t.Errorf("%s rows have their name as title, want 1000", got)
		}
	})
}

// A composite checkpoint is kept as a JSON list of each column's text,
// which a comma, a quote or a bracket in a text column cannot make
// ambiguous, read back with each column's type, and shown by column.
func TestCompositeCheckpointText(t *testing.T) {
	s := &Session{table: &Table{Columns: []Column{{Name: "region", Type: "varchar(20)"}, {Name: "id", Type: "bigint"}}}}
	s.setKey([]string{"region", "id"})
	for _, tc := range []struct {
		key        keyTuple
		kept, at   string
		shown      string
		backRegion string
	}{
		{keyTuple{"eu", int64(1200)}, `["eu","1200"]`, "region eu, id 1200", "(eu, 1200)", "eu"},
		{keyTuple{[]byte(`a, "b" [c]`), int64(-3)}, `["a, \"b\" [c]","-3"]`, `region a, "b" [c], id -3`, `(a, "b" [c], -3)`, `a, "b" [c]`},
	} {
		kept := keyText(tc.key)
		if kept != tc.kept {
			t.Errorf("keyText(%v) = %s, want %s", tc.key, kept, tc.kept)
		}
		back, ok := s.keyArg(kept).(keyTuple)
		if !ok || len(back) != 2 || back[0] != tc.backRegion || back[1] != tc.key[1] {
			t.Errorf("keyArg(%s) = %#v, want region %q and the int64 %v", kept, s.keyArg(kept), tc.backRegion, tc.key[1])
		}
		if got := s.keyAt(kept); got != tc.at {
			t.Errorf("keyAt(%s) = %q, want %q", kept, got, tc.at)
		}
		if got := s.keyShown(kept); got != tc.shown {
			t.Errorf("keyShown(%s) = %q, want %q", kept, got, tc.shown)
		}
	}
	// A checkpoint that is not this key's (a single key's, before an edit
	// of key:) walks from the start rather than from a wrong place.
	if got := s.keyArg("1200"); got != nil {
		t.Errorf("keyArg of a single key's checkpoint = %#v, want nil", got)
	}
	vals := map[string]any{"hi": keyTuple{"eu", int64(7)}, "offset": 4}
	expandKeys(vals)
	if vals["hi_0"] != "eu" || vals["hi_1"] != int64(7) || vals["offset"] != 4 {
		t.Errorf("expandKeys = %v, want hi_0, hi_1 by column", vals)
	}
}

// A key of three columns: MySQL's written-out ranges nest one level more,
// and every dialect walks each row once.
func TestCompositeKeyThreeColumns(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		db.Exec(`CREATE TABLE cells (a int NOT NULL, b int NOT NULL, c int NOT NULL, name varchar(20) NOT NULL, PRIMARY KEY (a, b, c))` + withoutRowid(db))
		var rows []string
		for a := 3; a >= 1; a-- {
			for b := 1; b <= 4; b++ {
				for c := 5; c >= 1; c-- {
					rows = append(rows, fmt.Sprintf("(%d, %d, %d, 'n%d%d%d')", a, b, c, a, b, c))
				}
			}
		}
		db.Exec(`INSERT INTO cells (a, b, c, name) VALUES ` + strings.Join(rows, ", "))
		plan := strings.NewReplacer("items-label", "cells-label", "items", "cells").Replace(itemsLabelPlan)
		s, _ := session(t, db, mustPlan(t, plan), Options{BatchSize: 7})
		if err := runPhases(context.Background(), t, s, "add-column", "deploy-readers", "backfill"); err != nil {
			t.Fatalf("backfill: %v", err)
		}
		row := db.Query(`SELECT rows_done, rows_changed, checkpoint FROM ` + stateTableOf(db) + ` WHERE phase = 'backfill'`)
		if len(row) != 1 || row[0][0] != "60" || row[0][1] != "60" || row[0][2] != `["3","4","5"]` {
			t.Errorf("backfill (rows_done, rows_changed, checkpoint) = %v, want 60 walked and filled once each, ending at [\"3\",\"4\",\"5\"]", row)
		}
	})
}

// withoutRowid makes a SQLite table of a test WITHOUT ROWID, so that its
// batches walk its composite key; nothing elsewhere.
func withoutRowid(db *testdb.DB) string {
	if db.Dialect == "sqlite" {
		return " WITHOUT ROWID"
	}
	return ""
}
