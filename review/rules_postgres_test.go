package review

import (
	"testing"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// pgBaseline is drizzle-kit's PostgreSQL output for the tables the cases
// change, one of them in a schema of its own.
const pgBaseline = `CREATE SCHEMA "billing";
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "users" (
	"id" serial PRIMARY KEY NOT NULL,
	"username" text NOT NULL,
	"name" text,
	"nickname" varchar(50),
	"age" integer
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "orders" (
	"id" serial PRIMARY KEY NOT NULL,
	"user_id" integer NOT NULL,
	"amount" integer
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "tags" (
	"id" integer NOT NULL,
	"name" text
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "billing"."invoices" (
	"id" serial PRIMARY KEY NOT NULL,
	"user_id" integer NOT NULL,
	"total" integer
);
`

// pgRules are squawk's rules and strong_migrations' checks that apply to
// PostgreSQL, each as drizzle-kit (or goose, golang-migrate, a hand-written
// file where drizzle-kit has no such output) writes it.
var pgRules = []ruleCase{
	{rule: "adding-required-field / adding-not-nullable-field; strong_migrations: adding a column NOT NULL",
		sql: `ALTER TABLE "users" ADD COLUMN "email" varchar(320) NOT NULL;`, want: []string{"add-column-not-null users"}},
	{rule: "adding-field-with-default, volatile; strong_migrations: adding a column with a volatile default",
		sql: `ALTER TABLE "users" ADD COLUMN "token" uuid DEFAULT gen_random_uuid();`, want: []string{"add-column-rewrite users"}},
	{rule: "strong_migrations: adding a stored generated column",
		sql: `ALTER TABLE "users" ADD COLUMN "name_lower" text GENERATED ALWAYS AS (lower("users"."name")) STORED;`, want: []string{"add-column-rewrite users"}},
	{rule: "adding-serial-primary-key-field; strong_migrations: adding an auto-incrementing column",
		sql: `ALTER TABLE "tags" ADD COLUMN "seq" serial NOT NULL;`, want: []string{"add-column-rewrite tags"}},
	{rule: "changing-column-type; strong_migrations: changing the type of a column",
		sql: `ALTER TABLE "orders" ALTER COLUMN "amount" SET DATA TYPE bigint;`, want: []string{"alter-column-type orders"}},
	{rule: "strong_migrations: setting NOT NULL on an existing column",
		sql: `ALTER TABLE "users" ALTER COLUMN "name" SET NOT NULL;`, want: []string{"set-not-null users"}},
	{rule: "adding-foreign-key-constraint; strong_migrations: adding a foreign key",
		sql:  `ALTER TABLE "orders" ADD CONSTRAINT "orders_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;`,
		want: []string{"add-constraint-validated orders", "add-foreign-key-referenced users"}},
	{rule: "constraint-missing-not-valid; strong_migrations: adding a check constraint",
		sql: `ALTER TABLE "orders" ADD CONSTRAINT "orders_amount_positive" CHECK ("orders"."amount" > 0);`, want: []string{"add-constraint-validated orders"}},
	{rule: "disallowed-unique-constraint; strong_migrations: adding a unique constraint",
		sql: `ALTER TABLE "users" ADD CONSTRAINT "users_username_unique" UNIQUE("username");`, want: []string{"add-constraint-index users"}},
	{rule: "strong_migrations: adding a primary key",
		sql: `ALTER TABLE "tags" ADD CONSTRAINT "tags_id_pk" PRIMARY KEY("id");`, want: []string{"add-constraint-index tags"}},
	{rule: "strong_migrations: adding an exclusion constraint", format: "plain",
		sql: "ALTER TABLE users ADD CONSTRAINT users_name_excl EXCLUDE USING btree (name WITH =);", want: []string{"add-constraint-index users"}},
	{rule: "require-concurrent-index-creation; strong_migrations: adding an index non-concurrently",
		sql: `CREATE INDEX IF NOT EXISTS "users_name_idx" ON "users" USING btree ("name");`, want: []string{"create-index users"}},
	{rule: "renaming-column; strong_migrations: renaming a column",
		sql: `ALTER TABLE "users" RENAME COLUMN "age" TO "years";`, want: []string{"rename-column users"}},
	{rule: "renaming-table; strong_migrations: renaming a table",
		sql: `ALTER TABLE "tags" RENAME TO "labels";`, want: []string{"rename-table tags"}},
	{rule: "ban-drop-column; strong_migrations: removing a column",
		sql: `ALTER TABLE "users" DROP COLUMN IF EXISTS "nickname";`, want: []string{"drop-column users"}},
	{rule: "ban-drop-table",
		sql: `DROP TABLE "tags" CASCADE;`, want: []string{"drop-table tags"}},
	{rule: "strong_migrations: backfilling data in the migration that adds the constraint", format: "goose",
		sql:  "UPDATE orders SET amount = 0 WHERE amount IS NULL;\nALTER TABLE orders ALTER COLUMN amount SET NOT NULL;",
		want: []string{"set-not-null orders", "data-and-constraint orders"}},
	// Schema-qualified names resolve to the table they name.
	{rule: "changing-column-type, schema-qualified (public)",
		sql: `ALTER TABLE "public"."users" ALTER COLUMN "age" SET DATA TYPE bigint;`, want: []string{"alter-column-type users"}},
	{rule: "require-concurrent-index-creation, another schema",
		sql:  `CREATE INDEX IF NOT EXISTS "invoices_total_idx" ON "billing"."invoices" USING btree ("total");`,
		want: []string{"create-index billing.invoices"}},
	{rule: "adding-foreign-key-constraint, across schemas",
		sql:  `ALTER TABLE "billing"."invoices" ADD CONSTRAINT "invoices_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;`,
		want: []string{"add-constraint-validated billing.invoices", "add-foreign-key-referenced users"}},

	// Safe: each raises nothing.
	{rule: "adding-field-with-default, constant (PostgreSQL 11+)",
		sql: `ALTER TABLE "users" ADD COLUMN "status" text DEFAULT 'active' NOT NULL;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "created_at" timestamp with time zone DEFAULT now();`},
	{rule: "adding a nullable column", sql: `ALTER TABLE "billing"."invoices" ADD COLUMN "note" text;`},
	{rule: "require-concurrent-index-creation, concurrently",
		sql: `CREATE INDEX CONCURRENTLY IF NOT EXISTS "users_name_idx" ON "users" USING btree ("name");`},
	{rule: "constraint-missing-not-valid: NOT VALID, then VALIDATE", format: "migrate",
		sql: "ALTER TABLE orders ADD CONSTRAINT orders_amount_positive CHECK (amount > 0) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT orders_amount_positive;"},
	{rule: "adding-foreign-key-constraint: NOT VALID, then VALIDATE", format: "plain",
		sql: "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk;"},
	{rule: "setting NOT NULL after a validated CHECK (col IS NOT NULL)", format: "plain",
		sql: "ALTER TABLE users ADD CONSTRAINT users_name_nn CHECK (name IS NOT NULL) NOT VALID;\nALTER TABLE users VALIDATE CONSTRAINT users_name_nn;\nALTER TABLE users ALTER COLUMN name SET NOT NULL;"},
	{rule: "disallowed-unique-constraint: a unique index built concurrently, then USING INDEX", format: "plain",
		sql: "CREATE UNIQUE INDEX CONCURRENTLY users_username_idx ON users (username);\nALTER TABLE users ADD CONSTRAINT users_username_unique UNIQUE USING INDEX users_username_idx;"},
	{rule: "changing-column-type, binary-coercible (varchar(50) widened)",
		sql: `ALTER TABLE "users" ALTER COLUMN "nickname" SET DATA TYPE varchar(100);`},
	{rule: "setting a default", sql: `ALTER TABLE "users" ALTER COLUMN "name" SET DEFAULT 'anonymous';`},
	{rule: "a new table with its index and NOT NULL column",
		sql: `CREATE TABLE IF NOT EXISTS "audit" (
	"id" serial PRIMARY KEY NOT NULL,
	"note" text NOT NULL
);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "audit_note_idx" ON "audit" USING btree ("note");--> statement-breakpoint
ALTER TABLE "audit" ADD COLUMN "at" timestamp NOT NULL;`},
}

// TestRulesPostgres: every PostgreSQL rule is caught by rehearsal, with
// the lock the server took; the safe cases raise nothing; the target is
// left as it was.
func TestRulesPostgres(t *testing.T) {
	db := testdb.New(t, "postgres")
	applyBaseline(t, db, pgBaseline)
	db.Exec(`INSERT INTO users (username, name) SELECT 'u' || g, 'n' || g FROM generate_series(1, 2000) g;
INSERT INTO orders (user_id, amount) SELECT g, g FROM generate_series(1, 300) g;
INSERT INTO tags (id, name) SELECT g, 't' || g FROM generate_series(1, 50) g;
INSERT INTO billing.invoices (user_id, total) SELECT g, g FROM generate_series(1, 1200) g;
ANALYZE users; ANALYZE orders; ANALYZE tags; ANALYZE billing.invoices`)
	before := snapshot(t, db.SQL)
	reps := runRules(t, db, pgBaseline, pgRules, Options{})
	if pb := plansParse(t, reps); len(pb) < 3 {
		t.Errorf("plans written for playbooks %v only", pb)
	}
	if f := findingOf(reps, "create-index"); f != nil && f.Table == "users" && f.Lock != "SHARE" {
		t.Errorf("create-index lock: %q", f.Lock)
	}
	var inv *Finding
	for _, r := range reps {
		for i, f := range r.Findings {
			if f.Table == "billing.invoices" && f.Check == "create-index" {
				inv = &r.Findings[i]
			}
		}
	}
	if inv == nil || inv.Lock != "SHARE" || !inv.OnTarget || inv.Problem != "SHARE on billing.invoices while its 1.2k rows are scanned" {
		t.Errorf("a table in another schema: %+v", inv)
	}
	if f := findingOf(reps, "add-foreign-key-referenced"); f == nil || f.Lock != "SHARE ROW EXCLUSIVE" || f.Rows != 2000 {
		t.Errorf("the referenced table's lock: %+v", f)
	}
	if after := snapshot(t, db.SQL); after != before {
		t.Fatalf("the target changed:\nbefore %s\nafter  %s", before, after)
	}
}
