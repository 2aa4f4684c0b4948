package review

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/shepherd-db/shepherd/internal/testdb"
	"github.com/shepherd-db/shepherd/phases"
)

// Statements are cut at semicolons outside quotes, comments and $$
// bodies, and at drizzle-kit's breakpoints; each keeps its line.
func TestSplit(t *testing.T) {
	text := "-- lead\nCREATE TABLE a (x text DEFAULT ';');--> statement-breakpoint\n" +
		"CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $body$ SELECT 1; $body$;\n" +
		"DO $$ BEGIN PERFORM 1; END $$\n--> statement-breakpoint\n/* c; */ SELECT $1"
	got := Split(text)
	want := []Statement{
		{"CREATE TABLE a (x text DEFAULT ';')", 2},
		{"CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $body$ SELECT 1; $body$", 3},
		{"DO $$ BEGIN PERFORM 1; END $$", 4},
		{"SELECT $1", 6},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Split:\n got %+v\nwant %+v", got, want)
	}
}

// A goose file is read up to -- +goose Down; golang-migrate's .down.sql
// files and drizzle-kit's journal order are honoured.
func TestRead(t *testing.T) {
	files, first, err := Read("testdata/goose", "00002_orders_amount_positive.sql")
	if err != nil {
		t.Fatal(err)
	}
	if first != 1 || len(files) != 2 || len(files[1].Statements) != 2 || files[1].Statements[1].Line != 5 {
		t.Fatalf("goose: first %d, files %+v", first, files)
	}
	files, _, err = Read("testdata/migrate", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 || strings.Contains(files[0].Name+files[1].Name+files[2].Name, "down") {
		t.Fatalf("golang-migrate: %+v", files)
	}
	if _, _, err := Read("testdata/nope", ""); err == nil {
		t.Fatal("a missing folder was read")
	}
	if _, _, err := Read("testdata/migrate/000001_init.down.sql", ""); err == nil || !strings.Contains(err.Error(), "not one of the up migrations") {
		t.Fatalf("a down file: %v", err)
	}
	if _, _, err := Read("testdata/plain", "009_none.sql"); err == nil {
		t.Fatal("a --since naming no file was accepted")
	}
}

type seen struct {
	line  int
	check string
	lock  string
}

func findings(rep *Report) []seen {
	var out []seen
	for _, f := range rep.Findings {
		out = append(out, seen{f.Line, f.Check, f.Lock})
	}
	return out
}

// target is a PostgreSQL database with the tables the testdata migrate,
// holding rows, analyzed.
func target(t *testing.T) *testdb.DB {
	db := testdb.New(t, "postgres")
	db.Exec(`CREATE TABLE users (id serial PRIMARY KEY, username text NOT NULL, name text, nickname text, age integer);
INSERT INTO users (username, name) SELECT 'u' || g, 'n' || g FROM generate_series(1, 2000) g;
CREATE TABLE orders (id serial PRIMARY KEY, user_id integer NOT NULL, amount integer);
INSERT INTO orders (user_id, amount) SELECT g, g FROM generate_series(1, 300) g;
ANALYZE users; ANALYZE orders`)
	return db
}

// snapshot is the target's schema, storage files and rows, as text.
func snapshot(t *testing.T, db *sql.DB) string {
	t.Helper()
	var s string
	err := db.QueryRow(`SELECT concat_ws(E'\n',
  (SELECT string_agg(format('%s.%s %s %s %s', table_name, column_name, data_type, is_nullable, column_default), E'\n' ORDER BY table_name, ordinal_position)
     FROM information_schema.columns WHERE table_schema = 'public'),
  (SELECT string_agg(indexdef, E'\n' ORDER BY indexname) FROM pg_indexes WHERE schemaname = 'public'),
  (SELECT string_agg(conname || ' ' || pg_get_constraintdef(oid), E'\n' ORDER BY conname) FROM pg_constraint WHERE connamespace = 'public'::regnamespace),
  (SELECT string_agg(relname || ' ' || relfilenode, E'\n' ORDER BY relname) FROM pg_class WHERE relnamespace = 'public'::regnamespace),
  (SELECT string_agg(u::text, ',' ORDER BY id) FROM users u),
  (SELECT string_agg(o::text, ',' ORDER BY id) FROM orders o))`).Scan(&s)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func scratchExists(t *testing.T, db *sql.DB, name string) bool {
	t.Helper()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

func review(t *testing.T, db *testdb.DB, path, since string) *Report {
	t.Helper()
	files, first, err := Read(path, since)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Rehearse(context.Background(), Options{DSN: db.DSN}, files, first)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Scratch == "" || scratchExists(t, db.SQL, rep.Scratch) {
		t.Fatalf("scratch database %q not dropped after the review", rep.Scratch)
	}
	return rep
}

// Each risky statement of each format is caught with the lock the server
// took and the rule it breaks; the safe statements raise nothing; the
// target is left byte for byte as it was.
func TestReviewPostgres(t *testing.T) {
	db := target(t)
	before := snapshot(t, db.SQL)

	var all []Finding
	rep := review(t, db, "testdata/drizzle", "0001_risky_changes.sql")
	all = append(all, rep.Findings...)
	want := []seen{
		{1, "add-column-not-null", "ACCESS EXCLUSIVE"},
		{2, "add-column-rewrite", "ACCESS EXCLUSIVE"},
		{3, "alter-column-type", "ACCESS EXCLUSIVE"},
		{4, "set-not-null", "ACCESS EXCLUSIVE"},
		{5, "add-constraint-validated", "SHARE ROW EXCLUSIVE"},
		{5, "add-foreign-key-referenced", "SHARE ROW EXCLUSIVE"}, // users, which the key references
		{6, "create-index", "SHARE"},
		{7, "drop-column", "ACCESS EXCLUSIVE"},
		{8, "rename-column", "ACCESS EXCLUSIVE"},
	}
	if got := findings(rep); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("drizzle findings:\n got %v\nwant %v", got, want)
	}
	if p := rep.Findings[1].Problem; p != "ACCESS EXCLUSIVE on users while its 2k rows are rewritten" {
		t.Errorf("rewrite cost: %q", p)
	}
	if f := rep.Findings[5]; f.Table != "users" || f.Problem != "SHARE ROW EXCLUSIVE on users (the target has 2k rows) while the rows of orders are validated" {
		t.Errorf("referenced table: %s %q", f.Table, f.Problem)
	}
	if p := rep.Findings[6].Problem; p != "SHARE on orders while its 300 rows are scanned" {
		t.Errorf("index cost: %q", p)
	}
	if r := rep.Findings[0].Rule; r != "Add the column as nullable or with a safe default." {
		t.Errorf("add-column rule: %q", r)
	}

	rep = review(t, db, "testdata/goose", "00002_orders_amount_positive.sql")
	all = append(all, rep.Findings...)
	want = []seen{{5, "add-constraint-validated", "ACCESS EXCLUSIVE"}, {3, "data-and-constraint", ""}}
	if got := findings(rep); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("goose findings:\n got %v\nwant %v", got, want)
	}
	if !strings.HasPrefix(rep.Findings[1].Rule, "Do not combine data cleanup") {
		t.Errorf("combine rule: %q", rep.Findings[1].Rule)
	}

	rep = review(t, db, "testdata/plain/002_unique_username.sql", "")
	all = append(all, rep.Findings...)
	want = []seen{{1, "create-index", "SHARE"}, {2, "add-constraint-validated", "ACCESS EXCLUSIVE"}}
	if got := findings(rep); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("plain findings:\n got %v\nwant %v", got, want)
	}

	rep = review(t, db, "testdata/migrate", "000002_email_not_null.up.sql")
	want = []seen{{2, "set-not-null", "ACCESS EXCLUSIVE"}, {1, "data-and-constraint", ""}}
	if got := findings(rep); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("golang-migrate findings:\n got %v\nwant %v", got, want)
	}

	// A file with its own BEGIN and COMMIT: they are not rehearsed (COMMIT
	// would end the rehearsal's transaction), the statement between is.
	rep = review(t, db, "testdata/migrate", "000003_wrapped.up.sql")
	if len(rep.Findings) != 0 || rep.Statements != 1 {
		t.Fatalf("wrapped file: %d rehearsed, false alarms %v", rep.Statements, findings(rep))
	}

	// The safe file: a constant default, a stable default (now()), an index
	// built concurrently, a CHECK added NOT VALID then validated, a varchar
	// widened, a new table's own index and NOT NULL column: no false alarm.
	rep = review(t, db, "testdata/plain", "003_safe.sql")
	if len(rep.Findings) != 0 || rep.Statements != 11 {
		t.Fatalf("safe statements: %d rehearsed, false alarms %v", rep.Statements, findings(rep))
	}

	if after := snapshot(t, db.SQL); after != before {
		t.Fatalf("the target changed:\nbefore %s\nafter  %s", before, after)
	}
	checkPlans(t, all)
}

// A new migration that fails on the scratch database fails the review,
// saying where, and the scratch database is dropped all the same.
func TestReviewFailingMigration(t *testing.T) {
	db := testdb.New(t, "postgres")
	files, first, err := Read("testdata/broken", "002_bad.sql")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Rehearse(context.Background(), Options{DSN: db.DSN}, files, first)
	if err == nil || !strings.Contains(err.Error(), "002_bad.sql line 2") || !strings.Contains(err.Error(), `"missing" does not exist`) {
		t.Fatalf("err = %v", err)
	}
	if rep == nil || rep.Scratch == "" || scratchExists(t, db.SQL, rep.Scratch) {
		t.Fatalf("scratch database left after a failed review: %+v", rep)
	}
}

// A scratch database left by a killed review (its name's time long past)
// is dropped by the next review; one of a review under way is not.
func TestLeftoverScratchDropped(t *testing.T) {
	db := target(t)
	dead := ScratchPrefix + "1000_deadbeef"
	live := fmt.Sprintf("%s%d_%s", ScratchPrefix, 1<<40, "cafe0001") // a time to come: never stale
	for _, n := range []string{dead, live} {
		if _, err := db.SQL.Exec("CREATE DATABASE " + n); err != nil {
			t.Fatal(err)
		}
	}
	busy := ScratchPrefix + "1001_b05y0001" // old, but a long review still holds it
	if _, err := db.SQL.Exec("CREATE DATABASE " + busy); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = db.SQL.Exec("DROP DATABASE IF EXISTS " + live)
		_, _ = db.SQL.Exec("DROP DATABASE IF EXISTS " + busy + " WITH (FORCE)")
	})
	cfg, err := pgx.ParseConfig(db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Database = busy
	holder, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close(context.Background())
	rep := review(t, db, "testdata/goose", "00002_orders_amount_positive.sql")
	if scratchExists(t, db.SQL, dead) || !strings.Contains(strings.Join(rep.Leftovers, " "), dead) {
		t.Fatalf("leftover %s not dropped (dropped %v)", dead, rep.Leftovers)
	}
	if !scratchExists(t, db.SQL, busy) {
		t.Fatalf("a scratch database in use %s was dropped", busy)
	}
	if !scratchExists(t, db.SQL, live) {
		t.Fatalf("a fresh scratch database %s was dropped", live)
	}
}

// Every plan --write-plans writes parses as a shepherd plan, and each
// playbook a finding can name is written.
func checkPlans(t *testing.T, findings []Finding) {
	t.Helper()
	dir := t.TempDir()
	wrote, err := WritePlans(dir, findings)
	if err != nil {
		t.Fatal(err)
	}
	playbooks := map[string]bool{}
	for _, p := range wrote {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		plan, err := phases.Parse(p, data)
		if err != nil {
			t.Fatalf("%s does not parse: %v\n%s", filepath.Base(p), err, data)
		}
		playbooks[plan.Playbook] = true
	}
	for _, pb := range []string{"add-column", "change-column-type", "tighten-constraint", "add-index", "drop-column", "rename-column"} {
		if !playbooks[pb] {
			t.Errorf("no %s plan written (wrote %v)", pb, wrote)
		}
	}
	// CREATE UNIQUE INDEX: a unique constraint, which add-index cannot make.
	data, err := os.ReadFile(filepath.Join(dir, "users-username-key-tighten-constraint.yaml"))
	if err != nil || !strings.Contains(string(data), "unique:\n        - username") {
		t.Errorf("unique index plan: %v\n%s", err, data)
	}
	if _, err := WritePlans(dir, findings); err == nil {
		t.Error("an existing plan was overwritten")
	}
}
