package tui

import (
	"os"
	"path/filepath"
	"testing"

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

	tm.waitFor("rehearsed 8 statements in 1 new migration file: 8 unsafe", "Findings  8 unsafe",
		"0001_risky_changes.sql:1", "add-column-not-null", "0001_risky_changes.sql:8", "rename-column")
	if tm.format("#{alternate_on}") != "1" {
		t.Fatal("the review TUI is not on the alternate screen")
	}
	tm.keys("j", "Enter")
	tm.waitFor("0001_risky_changes.sql:2 · add-column-rewrite on users · 2 of 8",
		"ACCESS EXCLUSIVE on users while its 1.5k rows are rewritten", "users has about 1,500 rows", "↓ more below")
	tm.keys("J") // a page down: the plan
	tm.waitFor("name: users-token-add-column", "backfill: gen_random_uuid()")
	tm.keys("Escape")
	tm.waitFor("Findings  8 unsafe", "› 0001_risky_changes.sql:2")
	tm.keys("q")
	if st := tm.exited(); st != "1" {
		t.Fatalf("shepherd review exited %s after showing 8 findings, want 1:\n%s", st, tm.screen())
	}
	if tm.format("#{alternate_on}") != "0" {
		t.Fatal("the terminal was not restored after quit")
	}
	tm.waitFor("8 unsafe (shepherd review drizzle --non-interactive prints them)")
}
