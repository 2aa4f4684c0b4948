package review

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// liteBaseline is drizzle-kit's SQLite output for the tables the cases
// change.
const liteBaseline = "CREATE TABLE `users` (\n" +
	"\t`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,\n" +
	"\t`username` text NOT NULL,\n" +
	"\t`name` text,\n" +
	"\t`nickname` text,\n" +
	"\t`age` integer\n" +
	");\n--> statement-breakpoint\n" +
	"CREATE TABLE `orders` (\n" +
	"\t`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,\n" +
	"\t`user_id` integer NOT NULL,\n" +
	"\t`amount` integer\n" +
	");\n--> statement-breakpoint\n" +
	"CREATE TABLE `tags` (\n" +
	"\t`id` integer NOT NULL,\n" +
	"\t`name` text\n" +
	");\n"

// liteRebuild is drizzle-kit's SQLite output for a change SQLite's ALTER
// TABLE cannot make (here: amount NOT NULL, a bigger type, a foreign key):
// the table is rebuilt.
const liteRebuild = "PRAGMA foreign_keys=OFF;--> statement-breakpoint\n" +
	"CREATE TABLE `__new_orders` (\n" +
	"\t`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,\n" +
	"\t`user_id` integer NOT NULL,\n" +
	"\t`amount` real NOT NULL,\n" +
	"\tFOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action\n" +
	");\n--> statement-breakpoint\n" +
	"INSERT INTO `__new_orders`(\"id\", \"user_id\", \"amount\") SELECT \"id\", \"user_id\", \"amount\" FROM `orders`;--> statement-breakpoint\n" +
	"DROP TABLE `orders`;--> statement-breakpoint\n" +
	"ALTER TABLE `__new_orders` RENAME TO `orders`;--> statement-breakpoint\n" +
	"PRAGMA foreign_keys=ON;"

// liteRules are the checks that apply to SQLite, as drizzle-kit writes them.
var liteRules = []ruleCase{
	{rule: "changing-column-type / setting NOT NULL / adding-foreign-key-constraint (a drizzle-kit table rebuild)",
		sql: liteRebuild, want: []string{"rebuild-table orders"}},
	{rule: "adding-required-field / adding-not-nullable-field",
		sql: "ALTER TABLE `users` ADD `email` text NOT NULL;", want: []string{"add-column-not-null users"}},
	{rule: "require-concurrent-index-creation; strong_migrations: adding an index non-concurrently",
		sql: "CREATE INDEX `users_name_idx` ON `users` (`name`);", want: []string{"create-index users"}},
	{rule: "disallowed-unique-constraint (a unique index)",
		sql: "CREATE UNIQUE INDEX `users_username_unique` ON `users` (`username`);", want: []string{"create-index users"}},
	{rule: "renaming-column; strong_migrations: renaming a column",
		sql: "ALTER TABLE `users` RENAME COLUMN `age` TO `years`;", want: []string{"rename-column users"}},
	{rule: "renaming-table; strong_migrations: renaming a table",
		sql: "ALTER TABLE `tags` RENAME TO `labels`;", want: []string{"rename-table tags"}},
	{rule: "ban-drop-column; strong_migrations: removing a column",
		sql: "ALTER TABLE `users` DROP COLUMN `nickname`;", want: []string{"drop-column users"}},
	{rule: "ban-drop-table",
		sql: "DROP TABLE `tags`;", want: []string{"drop-table tags"}},

	// Safe: each raises nothing.
	{rule: "adding a nullable column; adding-field-with-default (constant)",
		sql: "ALTER TABLE `users` ADD `bio` text;--> statement-breakpoint\nALTER TABLE `users` ADD `status` text DEFAULT 'active' NOT NULL;"},
	{rule: "a new table with its index, and a rebuild of it",
		sql: "CREATE TABLE `audit` (\n\t`id` integer PRIMARY KEY NOT NULL,\n\t`note` text\n);\n--> statement-breakpoint\n" +
			"CREATE INDEX `audit_note_idx` ON `audit` (`note`);--> statement-breakpoint\n" +
			"PRAGMA foreign_keys=OFF;--> statement-breakpoint\n" +
			"CREATE TABLE `__new_audit` (\n\t`id` integer PRIMARY KEY NOT NULL,\n\t`note` text NOT NULL\n);\n--> statement-breakpoint\n" +
			"INSERT INTO `__new_audit`(\"id\", \"note\") SELECT \"id\", \"note\" FROM `audit`;--> statement-breakpoint\n" +
			"DROP TABLE `audit`;--> statement-breakpoint\n" +
			"ALTER TABLE `__new_audit` RENAME TO `audit`;--> statement-breakpoint\n" +
			"PRAGMA foreign_keys=ON;"},
	{rule: "a view", sql: "CREATE VIEW `named_users` AS select \"id\", \"name\" from \"users\" where \"users\".\"name\" is not null;"},
}

func fileSum(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", sha256.Sum256(data))
}

// TestRulesSQLite: SQLite's scratch is a temporary file built from the
// earlier migrations; a rebuild, an index build and a NOT NULL column
// without a default are caught, a plain ADD COLUMN is not; the target
// file is byte for byte what it was, and no scratch file is left.
func TestRulesSQLite(t *testing.T) {
	db := testdb.New(t, "sqlite")
	applyBaseline(t, db, liteBaseline)
	db.Exec(`WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 2000)
INSERT INTO users (username, name) SELECT 'u' || n, 'n' || n FROM g;
WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 300)
INSERT INTO orders (user_id, amount) SELECT n, n FROM g;
INSERT INTO tags (id, name) VALUES (1, 'a'), (2, 'b')`)
	path := strings.TrimPrefix(db.DSN, "sqlite:")
	db.SQL.Close() // the file as it rests: no connection of the test's holds it
	before := fileSum(t, path)
	tmp := t.TempDir()
	reps := runRules(t, db, liteBaseline, liteRules, Options{TempDir: tmp})
	if pb := plansParse(t, reps); len(pb) < 3 {
		t.Errorf("plans written for playbooks %v only", pb)
	}
	f := findingOf(reps, "rebuild-table")
	if f == nil || f.Line != 11 || f.Rows != 300 || f.Lock != sqliteWriteLock ||
		f.Problem != "needs a rebuild (CREATE TABLE, INSERT … SELECT, DROP TABLE, RENAME) on orders while its 300 rows are copied; writes blocked" {
		t.Errorf("rebuild: %+v", f)
	}
	if f != nil && f.Reason != "amount: integer → real NOT NULL; foreign key (user_id) → users(id) added" {
		t.Errorf("what the rebuild changed: %q", f.Reason)
	}
	if f := findingOf(reps, "create-index"); f == nil || f.Problem != "SQLite's write lock on users while its 2k rows are scanned" {
		t.Errorf("index: %+v", f)
	}
	if f := findingOf(reps, "add-column-not-null"); f == nil || !strings.Contains(f.Why, "the server refuses") || !strings.Contains(f.Problem, "the server refuses it") {
		t.Errorf("NOT NULL without a default: %+v", f)
	}
	for _, r := range reps {
		if r != nil && (r.Dialect != "sqlite" || !strings.HasPrefix(r.Scratch, tmp)) {
			t.Errorf("scratch %q (%s)", r.Scratch, r.Dialect)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "*")); len(left) != 0 {
		t.Errorf("scratch files left: %v", left)
	}
	if after := fileSum(t, path); after != before {
		t.Fatal("the target file changed")
	}
}

// A scratch file left by a killed SQLite review is removed by the next;
// a fresh one (a review under way) is not.
func TestLeftoverScratchDroppedSQLite(t *testing.T) {
	db := testdb.New(t, "sqlite")
	applyBaseline(t, db, liteBaseline)
	tmp := t.TempDir()
	dead := filepath.Join(tmp, ScratchPrefix+"1000_deadbee3.db")
	live := filepath.Join(tmp, fmt.Sprintf("%s%d_cafe0003.db", ScratchPrefix, time.Now().Unix()))
	for _, p := range []string{dead, live} {
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	dir, since := writeMigrations(t, "drizzle", liteBaseline, "ALTER TABLE `users` ADD `bio` text;")
	files, first, err := Read(dir, since)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Rehearse(context.Background(), Options{DSN: db.DSN, TempDir: tmp}, files, first)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dead); err == nil || !slices.Contains(rep.Leftovers, dead) {
		t.Fatalf("leftover %s not removed (removed %v)", dead, rep.Leftovers)
	}
	if _, err := os.Stat(live); err != nil {
		t.Fatalf("a fresh scratch file was removed: %v", err)
	}
}
