package export_test

// drizzle-kit generate after an export: drizzle-kit writes what differs
// between the schema files and the last snapshot in meta/, so each
// migration shepherd adds carries a snapshot. The real drizzle-kit (pinned
// in testdata/drizzle/package.json) generates a baseline, shepherd exports
// its plans into the folder, the schema files get the plans' changes, and
// drizzle-kit generate must find nothing to do. Without the snapshots it
// emits shepherd's DDL again, which the test also shows.

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shepherd-db/shepherd/export"
)

var drizzleKitCases = []struct {
	dialect, drizzle string
	plans            []string
	before, after    string
	// emitted is what drizzle-kit generates without shepherd's snapshots.
	emitted string
}{
	{
		dialect: "postgres", drizzle: "postgresql",
		plans: []string{drizzleAddPlan, drizzleCheckPlan, drizzleUniquePlan, drizzleRenamePlan},
		before: `import { pgTable, integer, varchar } from "drizzle-orm/pg-core";
export const users = pgTable("users", {
  id: integer("id").primaryKey(),
  username: varchar("username", { length: 100 }).notNull(),
  name: varchar("name", { length: 100 }).notNull(),
});
`,
		after: `import { pgTable, integer, varchar, text, unique, check } from "drizzle-orm/pg-core";
import { sql } from "drizzle-orm";
export const users = pgTable("users", {
  id: integer("id").primaryKey(),
  username: varchar("username", { length: 100 }).notNull(),
  email: text("email").notNull(),
  fullName: varchar("full_name", { length: 100 }).notNull(),
}, (t) => [unique("users_username_key").on(t.username), check("users_id_positive", sql` + "`id > 0`" + `)]);
`,
		emitted: `ALTER TABLE "users" ADD COLUMN "email" text NOT NULL`,
	},
	{
		dialect: "mysql", drizzle: "mysql",
		plans: []string{drizzleAddPlan, drizzleCheckPlan, drizzleUniquePlan, drizzleRenamePlan},
		before: `import { mysqlTable, int, varchar } from "drizzle-orm/mysql-core";
export const users = mysqlTable("users", {
  id: int("id").primaryKey(),
  username: varchar("username", { length: 100 }).notNull(),
  name: varchar("name", { length: 100 }).notNull(),
});
`,
		after: `import { mysqlTable, int, varchar, unique, check } from "drizzle-orm/mysql-core";
import { sql } from "drizzle-orm";
export const users = mysqlTable("users", {
  id: int("id").primaryKey(),
  username: varchar("username", { length: 100 }).notNull(),
  email: varchar("email", { length: 200 }).notNull(),
  fullName: varchar("full_name", { length: 100 }).notNull(),
}, (t) => [unique("users_username_key").on(t.username), check("users_id_positive", sql` + "`id > 0`" + `)]);
`,
		emitted: "ALTER TABLE `users` ADD `email` varchar(200) NOT NULL",
	},
	{
		// SQLite cannot add NOT NULL or a CHECK in place, so the export has
		// the column (nullable) and the unique index.
		dialect: "sqlite", drizzle: "sqlite",
		plans: []string{strings.Replace(drizzleAddPlan, "backfill:", "not_null: false\nbackfill:", 1), drizzleUniquePlan},
		before: `import { sqliteTable, integer, text } from "drizzle-orm/sqlite-core";
export const users = sqliteTable("users", {
  id: integer("id").primaryKey(),
  username: text("username").notNull(),
  name: text("name").notNull(),
});
`,
		after: `import { sqliteTable, integer, text, unique } from "drizzle-orm/sqlite-core";
export const users = sqliteTable("users", {
  id: integer("id").primaryKey(),
  username: text("username").notNull(),
  name: text("name").notNull(),
  email: text("email"),
}, (t) => [unique("users_username_key").on(t.username)]);
`,
		emitted: "ALTER TABLE `users` ADD `email` text",
	},
}

const (
	drizzleAddPlan = `
name: users-email
playbook: add-column
table: users
column: email
type: {postgres: text, mysql: varchar(200), sqlite: text}
backfill: "lower(username)"
`
	drizzleCheckPlan = `
name: users-id-positive
playbook: tighten-constraint
table: users
constraint: {name: users_id_positive, check: "id > 0"}
`
	drizzleUniquePlan = `
name: users-username-unique
playbook: tighten-constraint
table: users
constraint: {name: users_username_key, unique: [username]}
`
	drizzleRenamePlan = `
name: users-full-name
playbook: rename-column
table: users
column: name
to: full_name
type: varchar(100)
`
)

func TestDrizzleKitGenerateSeesTheExport(t *testing.T) {
	tools := drizzleMigrator(t)
	kit := filepath.Join(tools, "node_modules", ".bin", "drizzle-kit")
	for _, tc := range drizzleKitCases {
		t.Run(tc.dialect, func(t *testing.T) {
			// Inside the tools folder, so that the schema files find
			// drizzle-orm.
			dir, err := os.MkdirTemp(tools, "generate-")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(dir) })
			write := func(name, text string) {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			kitRun := func(command string) string {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				cmd := exec.CommandContext(ctx, kit, command)
				cmd.Dir = dir
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("drizzle-kit %s: %v\n%s", command, err, out)
				}
				return string(out)
			}
			generate := func() string { return kitRun("generate") }
			migrations := filepath.Join(dir, "drizzle")
			sqlFiles := func() []string {
				files, _ := filepath.Glob(filepath.Join(migrations, "*.sql"))
				return files
			}
			write("drizzle.config.ts", `import { defineConfig } from "drizzle-kit";
export default defineConfig({ dialect: "`+tc.drizzle+`", schema: "./schema.ts", out: "./drizzle" });
`)
			write("schema.ts", tc.before)
			generate() // the baseline: the table as it is before the plans

			var ours []string
			for _, text := range tc.plans {
				plan := loadPlan(t, text)
				ex, err := export.ReadDir(migrations, export.Drizzle, plan)
				if err != nil {
					t.Fatal(err)
				}
				files, err := export.Render(export.Options{Plan: plan, PlanFile: "plan.yaml", Dialect: tc.dialect, Format: export.Drizzle, Now: time.Now(), Existing: ex})
				if err != nil {
					t.Fatal(err)
				}
				w, err := export.Write(migrations, ex, files, true)
				if err != nil {
					t.Fatal(err)
				}
				for _, f := range w.Wrote {
					if strings.HasSuffix(f, "_snapshot.json") {
						ours = append(ours, f)
					}
				}
			}
			if len(ours) == 0 {
				t.Fatal("the export wrote no snapshot")
			}
			// drizzle-kit's own check of the folder: the snapshots chain.
			if out := kitRun("check"); !strings.Contains(out, "Everything's fine") {
				t.Errorf("drizzle-kit check:\n%s", out)
			}
			write("schema.ts", tc.after)
			files := len(sqlFiles())
			out := generate()
			if !strings.Contains(out, "No schema changes, nothing to migrate") || len(sqlFiles()) != files {
				t.Fatalf("after the export, drizzle-kit generate found changes to make:\n%s\n%s", out, strings.Join(sqlFiles()[files:], "\n"))
			}

			// The same without shepherd's snapshots: drizzle-kit emits
			// shepherd's DDL again. (The schema keeps name here: with
			// name gone and full_name new, drizzle-kit would stop to ask
			// whether that is a rename.)
			for _, f := range ours {
				os.Remove(filepath.Join(migrations, filepath.FromSlash(f)))
			}
			write("schema.ts", strings.Replace(tc.after, `fullName: varchar("full_name"`, `name: varchar("name"`, 1))
			out = generate()
			if len(sqlFiles()) != files+1 {
				t.Fatalf("without the snapshots, drizzle-kit generated no migration:\n%s", out)
			}
			emitted, _ := os.ReadFile(sqlFiles()[files])
			if !strings.Contains(string(emitted), tc.emitted) {
				t.Errorf("without the snapshots, drizzle-kit generated:\n%s\nwant it to contain %s", emitted, tc.emitted)
			}
		})
	}
}
