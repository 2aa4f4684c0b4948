package tui

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// The real binary in a real terminal: `shepherd review` rehearses a
// drizzle-kit migration on a real PostgreSQL behind its spinner, lists the
// findings, opens one with its plan, comes back, and exits 1 (unsafe found)
// as a scripted review would, the terminal restored.
func TestTmuxReviewOpensAFindingAndItsPlan(t *testing.T) {
	bin, dir := buildShepherd(t)
	db := testdb.New(t, "postgres")
	base, err := os.ReadFile(filepath.Join("..", "review", "testdata", "drizzle", "0000_tidy_baseline.sql"))
	if err != nil {
		t.Fatal(err)
	}
	db.Exec(string(base))
	db.Exec(`INSERT INTO users (username, name) SELECT 'u' || g, 'n' FROM generate_series(1, 1500) g; ANALYZE users`)
	if err := os.CopyFS(filepath.Join(dir, "drizzle"), os.DirFS(filepath.Join("..", "review", "testdata", "drizzle"))); err != nil {
		t.Fatal(err)
	}
	tm := newTerm(t, dir, bin, "review", "drizzle", "--since", "0001_risky_changes.sql", "--db", db.DSN)

	tm.waitFor("rehearsed 8 statements in 1 new migration file: 9 unsafe", "Findings  9 unsafe",
		"0001_risky_changes.sql:1", "add-column-not-null", "0001_risky_changes.sql:8", "rename-column")
	if tm.format("#{alternate_on}") != "1" {
		t.Fatal("the review TUI is not on the alternate screen")
	}
	tm.keys("j", "Enter")
	tm.waitFor("0001_risky_changes.sql:2 · add-column-rewrite on users · 2 of 9",
		"ACCESS EXCLUSIVE on users while its 1.5k rows are rewritten", "users has about 1,500 rows", "↓ more below")
	tm.keys("J") // a page down: the plan
	tm.waitFor("name: users-token-add-column", "backfill: gen_random_uuid()")
	tm.keys("Escape")
	tm.waitFor("Findings  9 unsafe", "› 0001_risky_changes.sql:2")
	tm.keys("q")
	if st := tm.exited(); st != "1" {
		t.Fatalf("shepherd review exited %s after showing 9 findings, want 1:\n%s", st, tm.screen())
	}
	if tm.format("#{alternate_on}") != "0" {
		t.Fatal("the terminal was not restored after quit")
	}
	tm.waitFor("review: 8 statement(s) rehearsed, 9 unsafe (--non-interactive prints them)")
}

// q while the rehearsal runs cancels it: the review exits 1 saying nothing
// was reviewed, and its scratch database is gone by then. The rehearsal is
// held deterministically: its replay comments on a role the test holds a
// comment on in an open transaction (a role's lock spans databases).
func TestTmuxReviewQuitMidRehearsalDropsTheScratch(t *testing.T) {
	bin, dir := buildShepherd(t)
	db := testdb.New(t, "postgres")
	role := fmt.Sprintf("shepherd_review_quit_%d", os.Getpid())
	db.Exec(`CREATE ROLE ` + role)
	t.Cleanup(func() { _ = db.ExecE(`DROP ROLE IF EXISTS ` + role) })
	mig := filepath.Join(dir, "migrations")
	if err := os.MkdirAll(mig, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, sql := range map[string]string{
		"001_base.sql": "CREATE TABLE quitters (id int PRIMARY KEY);\nCOMMENT ON ROLE " + role + " IS 'replayed';\n",
		"002_more.sql": "ALTER TABLE quitters ADD COLUMN note text NOT NULL;\n",
	} {
		if err := os.WriteFile(filepath.Join(mig, name), []byte(sql), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	holder, err := db.SQL.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	tx, err := holder.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`COMMENT ON ROLE ` + role + ` IS 'held by the test'`); err != nil {
		t.Fatal(err)
	}

	tm := newTerm(t, dir, bin, "review", "migrations", "--since", "002_more.sql", "--db", db.DSN)
	tm.waitFor("rehearsing 1 new migration file on a scratch database", "The migration file before them is replayed there first.")
	var scratch string
	deadline := time.Now().Add(30 * time.Second)
	for scratch == "" && time.Now().Before(deadline) {
		scratch = db.One(`SELECT coalesce(max(datname), '') FROM pg_stat_activity
			WHERE datname LIKE 'shepherd_review_%' AND wait_event_type = 'Lock' AND query LIKE $1`, "COMMENT ON ROLE "+role+"%")
		time.Sleep(20 * time.Millisecond)
	}
	if scratch == "" {
		t.Fatalf("the rehearsal never waited on the test's lock:\n%s", tm.screen())
	}
	tm.keys("q")
	if st := tm.exited(); st != "1" {
		t.Fatalf("shepherd review exited %s after q mid-rehearsal, want 1:\n%s", st, tm.screen())
	}
	tm.waitFor("quit before the rehearsal ended")
	if n := db.One(`SELECT count(*) FROM pg_database WHERE datname = $1`, scratch); n != "0" {
		t.Fatalf("the scratch database %s is still there after quitting mid-rehearsal", scratch)
	}
}
