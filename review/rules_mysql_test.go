package review

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// myBaseline is drizzle-kit's MySQL output for the tables the cases change.
const myBaseline = "CREATE TABLE `users` (\n" +
	"\t`id` int AUTO_INCREMENT NOT NULL,\n" +
	"\t`username` varchar(100) NOT NULL,\n" +
	"\t`name` varchar(100),\n" +
	"\t`nickname` varchar(50),\n" +
	"\t`age` int,\n" +
	"\tCONSTRAINT `users_id` PRIMARY KEY(`id`)\n" +
	");\n--> statement-breakpoint\n" +
	"CREATE TABLE `orders` (\n" +
	"\t`id` int AUTO_INCREMENT NOT NULL,\n" +
	"\t`user_id` int NOT NULL,\n" +
	"\t`amount` int,\n" +
	"\tCONSTRAINT `orders_id` PRIMARY KEY(`id`)\n" +
	");\n--> statement-breakpoint\n" +
	"CREATE TABLE `tags` (\n" +
	"\t`id` int NOT NULL,\n" +
	"\t`name` varchar(100)\n" +
	");\n"

// myRules are the checks that apply to MySQL/MariaDB, as drizzle-kit (or
// golang-migrate, goose) writes them. What the server does online
// (ALGORITHM=INSTANT, or INPLACE with LOCK=NONE) raises nothing.
var myRules = []ruleCase{
	{rule: "adding-required-field / adding-not-nullable-field",
		sql: "ALTER TABLE `users` ADD `email` varchar(320) NOT NULL;", want: []string{"add-column-not-null users"}},
	{rule: "strong_migrations: adding a column with a volatile default",
		sql: "ALTER TABLE `users` ADD `token` varchar(36) DEFAULT (uuid());", want: []string{"add-column-rewrite users"}},
	{rule: "strong_migrations: adding a stored generated column",
		sql: "ALTER TABLE `users` ADD `name_lower` varchar(100) GENERATED ALWAYS AS (lower(`name`)) STORED;", want: []string{"add-column-rewrite users"}},
	{rule: "adding-serial-primary-key-field; strong_migrations: adding an auto-incrementing column",
		sql: "ALTER TABLE `tags` ADD `seq` int AUTO_INCREMENT NOT NULL UNIQUE;", want: []string{"add-column-rewrite tags"}},
	{rule: "changing-column-type; strong_migrations: changing the type of a column",
		sql: "ALTER TABLE `orders` MODIFY COLUMN `amount` bigint;", want: []string{"alter-column-type orders"}},
	{rule: "adding-foreign-key-constraint; strong_migrations: adding a foreign key",
		sql:  "ALTER TABLE `orders` ADD CONSTRAINT `orders_user_id_users_id_fk` FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON DELETE no action ON UPDATE no action;",
		want: []string{"add-constraint-validated orders"}},
	{rule: "constraint-missing-not-valid; strong_migrations: adding a check constraint",
		sql: "ALTER TABLE `orders` ADD CONSTRAINT `orders_amount_positive` CHECK (`orders`.`amount` > 0);", want: []string{"add-constraint-validated orders"}},
	{rule: "renaming-column; strong_migrations: renaming a column",
		sql: "ALTER TABLE `users` RENAME COLUMN `age` TO `years`;", want: []string{"rename-column users"}},
	{rule: "renaming-column, as CHANGE (golang-migrate)", format: "migrate",
		sql: "ALTER TABLE users CHANGE age years int;", want: []string{"rename-column users"}},
	{rule: "renaming-table; strong_migrations: renaming a table",
		sql: "RENAME TABLE `tags` TO `labels`;", want: []string{"rename-table tags"}},
	{rule: "ban-drop-column; strong_migrations: removing a column",
		sql: "ALTER TABLE `users` DROP COLUMN `nickname`;", want: []string{"drop-column users"}},
	{rule: "ban-drop-table",
		sql: "DROP TABLE `tags`;", want: []string{"drop-table tags"}},
	{rule: "backfilling data in the migration that adds the constraint", format: "goose",
		sql:  "UPDATE orders SET amount = 0 WHERE amount IS NULL;\nALTER TABLE orders ADD CONSTRAINT orders_amount_nonneg CHECK (amount >= 0);",
		want: []string{"add-constraint-validated orders", "data-and-constraint orders"}},

	// Safe: the server does them online.
	{rule: "adding-field-with-default (ALGORITHM=INSTANT)",
		sql: "ALTER TABLE `users` ADD `status` varchar(20) DEFAULT 'active' NOT NULL;--> statement-breakpoint\nALTER TABLE `users` ADD `bio` text;"},
	{rule: "require-concurrent-index-creation (ALGORITHM=INPLACE, LOCK=NONE)",
		sql: "CREATE INDEX `users_name_idx` ON `users` (`name`);"},
	{rule: "adding an index, as ALTER TABLE ADD INDEX", format: "migrate",
		sql: "ALTER TABLE orders ADD INDEX orders_user_idx (user_id);"},
	{rule: "disallowed-unique-constraint (ALGORITHM=INPLACE, LOCK=NONE)",
		sql: "ALTER TABLE `users` ADD CONSTRAINT `users_username_unique` UNIQUE(`username`);"},
	{rule: "strong_migrations: adding a primary key (ALGORITHM=INPLACE, LOCK=NONE)",
		sql: "ALTER TABLE `tags` ADD PRIMARY KEY(`id`);"},
	{rule: "strong_migrations: setting NOT NULL on an existing column (MariaDB: ALGORITHM=INPLACE, LOCK=NONE)",
		sql: "ALTER TABLE `users` MODIFY COLUMN `name` varchar(100) NOT NULL;"},
	{rule: "changing-column-type, widening a varchar (ALGORITHM=INSTANT)",
		sql: "ALTER TABLE `users` MODIFY COLUMN `name` varchar(200);"},
	{rule: "setting a default, adding a virtual generated column (ALGORITHM=INSTANT)",
		sql: "ALTER TABLE `users` ALTER COLUMN `name` SET DEFAULT 'anonymous';--> statement-breakpoint\nALTER TABLE `users` ADD `name_upper` varchar(100) GENERATED ALWAYS AS (upper(`name`)) VIRTUAL;"},
	{rule: "a new table with its index and NOT NULL column",
		sql: "CREATE TABLE `audit` (\n\t`id` int AUTO_INCREMENT NOT NULL,\n\t`note` text NOT NULL,\n\tCONSTRAINT `audit_id` PRIMARY KEY(`id`)\n);\n--> statement-breakpoint\n" +
			"CREATE INDEX `audit_id_idx` ON `audit` (`id`);--> statement-breakpoint\nALTER TABLE `audit` ADD `at` timestamp NOT NULL;"},
}

// mySnapshot is the target's tables' definitions and rows, as text.
func mySnapshot(t *testing.T, db *sql.DB) string {
	t.Helper()
	var b strings.Builder
	for _, table := range []string{"users", "orders", "tags"} {
		var name, create string
		if err := db.QueryRow("SHOW CREATE TABLE `"+table+"`").Scan(&name, &create); err != nil {
			t.Fatal(err)
		}
		var sum sql.NullInt64
		if err := db.QueryRow("CHECKSUM TABLE `"+table+"`").Scan(&name, &sum); err != nil {
			t.Fatal(err)
		}
		b.WriteString(fmt.Sprintf("%s\n%s %v\n", create, name, sum))
	}
	return b.String()
}

// TestRulesMySQL: on MySQL/MariaDB each statement is tried with
// ALGORITHM=INSTANT, then INPLACE with LOCK=NONE, on the scratch copy:
// what the server refuses to do online is caught with its reason, what it
// accepts raises nothing; the target is left as it was.
func TestRulesMySQL(t *testing.T) {
	db := testdb.New(t, "mysql")
	applyBaseline(t, db, myBaseline)
	db.Exec(`INSERT INTO users (username, name) SELECT concat('u', seq), concat('n', seq) FROM seq_1_to_2000;
INSERT INTO orders (user_id, amount) SELECT seq, seq FROM seq_1_to_300;
INSERT INTO tags (id, name) SELECT seq, concat('t', seq) FROM seq_1_to_50;
ANALYZE TABLE users, orders, tags`)
	before := mySnapshot(t, db.SQL)
	reps := runRules(t, db, myBaseline, myRules, Options{})
	if pb := plansParse(t, reps); len(pb) < 3 {
		t.Errorf("plans written for playbooks %v only", pb)
	}
	f := findingOf(reps, "alter-column-type")
	if f == nil || f.Method != "a table copy (ALGORITHM=COPY)" || f.Lock != "LOCK=SHARED" || !strings.Contains(f.Reason, "Cannot change column type") ||
		!hasAll(f.Problem, "needs a table copy (ALGORITHM=COPY) on orders while its ", " rows are copied; writes blocked") {
		t.Errorf("type change: %+v", f)
	}
	if f := findingOf(reps, "add-constraint-validated"); f == nil || !strings.Contains(f.Reason, "foreign_key_checks") || !strings.Contains(f.Safe, "foreign_key_checks = 0") {
		t.Errorf("foreign key: %+v", f)
	}
	for _, r := range reps {
		if r != nil && (r.Dialect != "mysql" || r.Scratch == "" || scratchExistsMy(t, db.SQL, r.Scratch)) {
			t.Errorf("scratch database %q (%s) not dropped", r.Scratch, r.Dialect)
		}
	}
	if after := mySnapshot(t, db.SQL); after != before {
		t.Fatalf("the target changed:\nbefore %s\nafter  %s", before, after)
	}
}

func scratchExistsMy(t *testing.T, db *sql.DB, name string) bool {
	t.Helper()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

// A scratch database left by a killed MySQL review is dropped by the next.
func TestLeftoverScratchDroppedMySQL(t *testing.T) {
	db := testdb.New(t, "mysql")
	applyBaseline(t, db, myBaseline)
	dead := ScratchPrefix + "1000_deadbee2"
	if _, err := db.SQL.Exec("CREATE DATABASE " + dead); err != nil {
		t.Fatal(err)
	}
	busy := ScratchPrefix + "1001_b05y0002" // old, but a long review still uses it
	if _, err := db.SQL.Exec("CREATE DATABASE " + busy); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = db.SQL.Exec("DROP DATABASE IF EXISTS " + dead)
		_, _ = db.SQL.Exec("DROP DATABASE IF EXISTS " + busy)
	})
	holder, err := db.SQL.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	if _, err := holder.ExecContext(context.Background(), "USE "+busy); err != nil {
		t.Fatal(err)
	}
	dir, since := writeMigrations(t, "drizzle", myBaseline, "ALTER TABLE `users` ADD `bio` text;")
	files, first, err := Read(dir, since)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Rehearse(context.Background(), Options{DSN: db.DSN}, files, first)
	if err != nil {
		t.Fatal(err)
	}
	if scratchExistsMy(t, db.SQL, dead) || !slices.Contains(rep.Leftovers, dead) || len(rep.Findings) != 0 {
		t.Fatalf("leftover %s: dropped %v, findings %v", dead, rep.Leftovers, findings(rep))
	}
	if !scratchExistsMy(t, db.SQL, busy) {
		t.Fatalf("a scratch database in use %s was dropped", busy)
	}
}
