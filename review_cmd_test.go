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

// review takes --db on each dialect and rehearses there: a migration that
// needs a table copy on MySQL, a rebuild on SQLite and a rewrite on
// PostgreSQL is reported with the dialect's own check, and a column added
// as the server can add it in place raises nothing.
func TestReviewEachDialect(t *testing.T) {
	cases := map[string]struct{ risky, safe, check string }{
		"postgres": {`ALTER TABLE "orders" ALTER COLUMN "amount" SET DATA TYPE bigint;`, `ALTER TABLE "orders" ADD COLUMN "note" text;`, "alter-column-type"},
		"mysql":    {"ALTER TABLE `orders` MODIFY COLUMN `amount` bigint;", "ALTER TABLE `orders` ADD `note` text;", "alter-column-type"},
		"sqlite": {"PRAGMA foreign_keys=OFF;--> statement-breakpoint\nCREATE TABLE `__new_orders` (\n\t`id` integer PRIMARY KEY NOT NULL,\n\t`amount` real NOT NULL\n);\n--> statement-breakpoint\n" +
			"INSERT INTO `__new_orders`(\"id\", \"amount\") SELECT \"id\", \"amount\" FROM `orders`;--> statement-breakpoint\nDROP TABLE `orders`;--> statement-breakpoint\n" +
			"ALTER TABLE `__new_orders` RENAME TO `orders`;--> statement-breakpoint\nPRAGMA foreign_keys=ON;", "ALTER TABLE `orders` ADD `note` text;", "rebuild-table"},
	}
	for _, dialect := range testdb.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			c := cases[dialect]
			db := testdb.New(t, dialect)
			base := "CREATE TABLE orders (id integer PRIMARY KEY NOT NULL, amount integer);"
			db.Exec(base)
			db.Exec("INSERT INTO orders (id, amount) VALUES (1, 10), (2, 20)")
			dir := t.TempDir()
			for name, sql := range map[string]string{"001_base.sql": base, "002_risky.sql": c.risky, "003_safe.sql": c.safe} {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(sql+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			code, out, errs := runReview(t, "review", filepath.Join(dir, "002_risky.sql"), "--db", db.DSN, "-o", "json")
			if code != exitFailed || !strings.Contains(out, `"check": "`+c.check+`"`) || !strings.Contains(out, `"table": "orders"`) {
				t.Fatalf("risky: exit %d, want 1 and %s on orders\n%s%s", code, c.check, out, errs)
			}
			code, out, errs = runReview(t, "review", dir, "--since", "003_safe.sql", "--db", db.DSN, "-o", "json")
			if code != exitOK || !strings.Contains(out, `"findings": []`) {
				t.Fatalf("safe: exit %d\n%s%s", code, out, errs)
			}
			if got := db.One("SELECT count(*) FROM orders WHERE amount IS NOT NULL"); got != "2" {
				t.Fatalf("the target's rows changed: %s", got)
			}
		})
	}
}
