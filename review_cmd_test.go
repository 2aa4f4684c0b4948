package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

func runReview(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// review's usage errors exit 2 before any database is touched.
func TestReviewUsage(t *testing.T) {
	t.Setenv("SHEPHERD_DB", "")
	if code, _, errs := runReview(t, "review", "review/testdata/none", "--db", "postgres://127.0.0.1:1/x"); code != exitUsage {
		t.Fatalf("a missing path: exit %d (%s)", code, errs)
	}
	if code, _, errs := runReview(t, "review", "review/testdata/goose"); code != exitUsage || !strings.Contains(errs, "--db") {
		t.Fatalf("no --db: exit %d (%s)", code, errs)
	}
	if code, _, errs := runReview(t, "review", "review/testdata/goose", "--db", "sqlite:x.db"); code != exitUsage {
		t.Fatalf("a SQLite --db: exit %d (%s)", code, errs)
	}
}

// In GitHub Actions review annotates the findings' lines and exits 1; the
// plans it writes are plans shepherd shows; a clean file exits 0.
func TestReviewGitHubAndPlans(t *testing.T) {
	db := testdb.New(t, "postgres")
	t.Setenv("GITHUB_ACTIONS", "true")
	dir := t.TempDir()
	code, out, errs := runReview(t, "review", "review/testdata/goose/00002_orders_amount_positive.sql", "--db", db.DSN, "--write-plans", dir)
	if code != exitFailed {
		t.Fatalf("exit %d, want 1 (%s)", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "::error file=review/testdata/goose/00002_orders_amount_positive.sql,line=5,") ||
		!strings.Contains(lines[1], "Do not combine data cleanup") {
		t.Fatalf("annotations:\n%s", out)
	}
	plans, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if len(plans) != 1 {
		t.Fatalf("plans written: %v", plans)
	}
	if code, out, errs := runReview(t, "plan", plans[0], "--dialect", "postgres"); code != exitOK || !strings.Contains(out, "tighten-constraint") {
		t.Fatalf("shepherd plan %s: exit %d\n%s%s", plans[0], code, out, errs)
	}
	if data, _ := os.ReadFile(plans[0]); !strings.Contains(string(data), "check: amount > 0") {
		t.Fatalf("plan:\n%s", data)
	}
	t.Setenv("GITHUB_ACTIONS", "")
	code, out, errs = runReview(t, "review", "review/testdata/plain/002_unique_username.sql", "--db", db.DSN)
	for _, want := range []string{"002_unique_username.sql:1: SHARE on users while its rows", "  why: CREATE INDEX without CONCURRENTLY",
		`rule (the Migration Operations guide): "Backfill or clean existing rows.`, ": 2 unsafe\n"} {
		if code != exitFailed || !strings.Contains(out, want) {
			t.Fatalf("text output: exit %d, no %q:\n%s%s", code, want, out, errs)
		}
	}
	code, out, errs = runReview(t, "review", "review/testdata/plain", "--since", "003_safe.sql", "--db", db.DSN, "-o", "json")
	if code != exitOK || !strings.Contains(out, `"findings": []`) {
		t.Fatalf("safe file: exit %d\n%s%s", code, out, errs)
	}
}
