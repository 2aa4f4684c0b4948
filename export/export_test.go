package export_test

// What the exported files say, without a database: names and order, the
// annotations each tool needs, a lock comment above every statement, the
// downs, the journal, and what export refuses.

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shepherd-db/shepherd/export"
)

const addColumnPlan = `
name: users-email
playbook: add-column
table: users
column: email
type: {postgres: text, mysql: varchar(320), sqlite: text}
backfill: "lower(username)"
`

const renamePlan = `
name: users-full-name
playbook: rename-column
table: users
column: name
to: full_name
type: {postgres: text, mysql: varchar(100), sqlite: text}
`

const uniquePlan = `
name: users-username-unique
playbook: tighten-constraint
table: users
constraint: {name: users_username_key, unique: [username]}
`

const fkPlan = `
name: orders-user-fk
playbook: tighten-constraint
table: orders
constraint: {name: orders_user_fk, foreign_key: [user_id], references: {table: users, columns: [id]}}
clean: {set: {user_id: "NULL"}}
`

func render(t *testing.T, planText, dialect, format string, ex export.Existing) map[string]string {
	t.Helper()
	files, err := export.Render(export.Options{Plan: loadPlan(t, planText), PlanFile: "plan.yaml", Dialect: dialect, Format: format,
		Now: time.UnixMilli(1_700_000_000_000), Existing: ex})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range files {
		out[f.Path] = string(f.Data)
	}
	return out
}

func names(files map[string]string) []string {
	var out []string
	for n := range files {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func TestNamesFollowThePlanAndEachTool(t *testing.T) {
	cases := []struct {
		plan, dialect, format string
		want                  []string
	}{
		{addColumnPlan, "postgres", export.Goose, []string{
			"00001_users-email_add-column.sql",
			"00002_users-email_enforce-1-of-3.sql", "00003_users-email_enforce-2-of-3.sql", "00004_users-email_enforce-3-of-3.sql",
			"users-email.shepherd.md"}},
		{addColumnPlan, "mysql", export.GolangMigrate, []string{
			"000001_users-email_add-column.down.sql", "000001_users-email_add-column.up.sql",
			"000002_users-email_enforce.down.sql", "000002_users-email_enforce.up.sql",
			"users-email.shepherd.md"}},
		{renamePlan, "sqlite", export.Plain, []string{
			"0001_users-full-name_add-column.down.sql", "0001_users-full-name_add-column.up.sql",
			"0002_users-full-name_drop-old-column.down.sql", "0002_users-full-name_drop-old-column.up.sql",
			"users-full-name.shepherd.md"}},
		{uniquePlan, "postgres", export.Drizzle, []string{
			"0000_users-username-unique_add-constraint.sql", "meta/_journal.json", "users-username-unique.shepherd.md"}},
	}
	for _, c := range cases {
		got := names(render(t, c.plan, c.dialect, c.format, export.Existing{}))
		if !slices.Equal(got, c.want) {
			t.Errorf("%s %s: files\n%v\nwant\n%v", c.dialect, c.format, got, c.want)
		}
	}
}

// Every statement of every migration has its locks in a comment above it:
// each block of lines (statements are separated by empty lines) that holds
// SQL has a "-- locks: " line before its first line of SQL.
func TestEveryStatementHasItsLocksAbove(t *testing.T) {
	for _, d := range []string{"postgres", "mysql", "sqlite"} {
		for _, plan := range []string{addColumnPlan, renamePlan, uniquePlan} {
			if d == "sqlite" && plan == addColumnPlan {
				continue // refused: TestRefusals
			}
			for _, format := range []string{export.Plain, export.GolangMigrate, export.Goose} {
				for name, text := range render(t, plan, d, format, export.Existing{}) {
					if !strings.HasSuffix(name, ".sql") {
						continue
					}
					statements := 0
					for _, block := range strings.Split(text, "\n\n") {
						locks := false
						for _, l := range strings.Split(block, "\n") {
							if strings.HasPrefix(l, "-- locks: ") {
								locks = true
							}
							if l != "" && !strings.HasPrefix(l, "--") {
								statements++
								if !locks {
									t.Errorf("%s %s %s: no lock comment above %q", d, format, name, l)
								}
								break
							}
						}
					}
					if statements == 0 {
						t.Errorf("%s %s %s: no statement", d, format, name)
					}
				}
			}
		}
	}
}

func TestGooseAnnotations(t *testing.T) {
	files := render(t, uniquePlan, "postgres", export.Goose, export.Existing{})
	want := map[string]bool{ // NO TRANSACTION
		"00001_users-username-unique_add-constraint-1-of-4.sql": false, // the guard
		"00002_users-username-unique_add-constraint-2-of-4.sql": true,  // DROP INDEX CONCURRENTLY
		"00003_users-username-unique_add-constraint-3-of-4.sql": true,  // CREATE UNIQUE INDEX CONCURRENTLY
		"00004_users-username-unique_add-constraint-4-of-4.sql": false, // ADD CONSTRAINT … USING INDEX
	}
	for name, notx := range want {
		text, ok := files[name]
		if !ok {
			t.Fatalf("no %s in %v", name, names(files))
		}
		if got := strings.Contains(text, "\n-- +goose NO TRANSACTION\n"); got != notx {
			t.Errorf("%s: NO TRANSACTION %v, want %v", name, got, notx)
		}
		up, down, ok := strings.Cut(text, "\n-- +goose Down\n")
		if !ok || !strings.Contains(up, "\n-- +goose Up\n") {
			t.Errorf("%s: no Up and Down sections", name)
		}
		if !strings.Contains(down, `DROP CONSTRAINT IF EXISTS "users_username_key"`) {
			t.Errorf("%s: the down is not the phase's revert:\n%s", name, down)
		}
	}
	// A statement with a semicolon of its own is one goose statement.
	files = render(t, `
name: notes-no-semicolon
playbook: tighten-constraint
table: notes
constraint: {name: notes_body_clean, check: "body <> ';'"}
`, "postgres", export.Goose, export.Existing{})
	for name, text := range files {
		if strings.Contains(text, "ADD CONSTRAINT \"notes_body_clean\"") &&
			!regexp.MustCompile(`(?s)-- \+goose StatementBegin\nALTER TABLE "notes" ADD CONSTRAINT "notes_body_clean" CHECK \(body <> ';'\) NOT VALID;\n-- \+goose StatementEnd`).MatchString(text) {
			t.Errorf("%s: the statement with a ';' is not between StatementBegin and StatementEnd:\n%s", name, text)
		}
	}
}

func TestPointOfNoReturnHasNoDown(t *testing.T) {
	files := render(t, renamePlan, "postgres", export.GolangMigrate, export.Existing{})
	down := files["000002_users-full-name_drop-old-column.down.sql"]
	for _, want := range []string{"No down: a dropped column cannot be brought back.", "point of no return: users.name cannot be restored", "VALUES (1)"} {
		if !strings.Contains(down, want) {
			t.Errorf("drop-old-column's down lacks %q:\n%s", want, down)
		}
	}
	up := files["000002_users-full-name_drop-old-column.up.sql"]
	guard := strings.Index(up, "users.full_name lacks values of name: backfill first")
	drop := strings.Index(up, `ALTER TABLE "users" DROP COLUMN "name"`)
	if guard < 0 || drop < 0 || guard > drop {
		t.Errorf("drop-old-column's guard does not come before the drop:\n%s", up)
	}
}

func TestNotesWalkEveryPhase(t *testing.T) {
	files := render(t, renamePlan, "postgres", export.Goose, export.Existing{})
	notes := files["users-full-name.shepherd.md"]
	ids := loadPlan(t, renamePlan).PlaybookDef().IDs()
	last := 0
	for i, id := range ids {
		at := strings.Index(notes, "## "+string(rune('1'+i))+". "+id)
		if at < last {
			t.Errorf("notes: phase %s missing or out of order", id)
		}
		last = at
	}
	for _, want := range []string{
		"`00001_users-full-name_add-column.sql`",
		`UPDATE "users" SET "full_name" = "name"`,                                // the backfill's batch
		"shepherd runs these statements at this gate only when name is NOT NULL", // stop-old-writes
		"up-to VERSION",
	} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q", want)
		}
	}
	// The file before drop-old-column says what comes first.
	drop := files["00002_users-full-name_drop-old-column.sql"]
	for _, id := range []string{"dual-write", "backfill", "switch-reads", "stop-old-writes"} {
		if !strings.Contains(drop, "  - "+id+", ") {
			t.Errorf("drop-old-column's header does not list %s before it", id)
		}
	}
}

func TestDrizzleJournal(t *testing.T) {
	files := render(t, addColumnPlan, "postgres", export.Drizzle, export.Existing{})
	var j export.Journal
	if err := json.Unmarshal([]byte(files["meta/_journal.json"]), &j); err != nil {
		t.Fatal(err)
	}
	if j.Dialect != "postgresql" || len(j.Entries) != 2 {
		t.Fatalf("journal %+v", j)
	}
	for i, e := range j.Entries {
		if e.Idx != i || !e.Breakpoints || e.When < 1_700_000_000_000 || i > 0 && e.When <= j.Entries[i-1].When {
			t.Errorf("entry %d: %+v", i, e)
		}
		if _, ok := files[e.Tag+".sql"]; !ok {
			t.Errorf("entry %d: no file %s.sql", i, e.Tag)
		}
	}
	enforce := files["0001_users-email_enforce.sql"]
	// Three commits inside drizzle's one transaction: COMMIT and BEGIN
	// between them, each a statement of its own.
	if strings.Count(enforce, "--> statement-breakpoint\n-- shepherd commits here.\nCOMMIT;") != 2 ||
		strings.Count(enforce, "BEGIN;") != 2 {
		t.Errorf("enforce does not commit where shepherd does:\n%s", enforce)
	}
}

// Exporting into a folder that has migrations (with --force) continues
// their versions, keeps their files and journal entries, and replaces this
// plan's earlier export.
func TestExportIntoAFolderWithMigrations(t *testing.T) {
	plan := loadPlan(t, addColumnPlan)
	for _, format := range []string{export.Goose, export.Drizzle} {
		dir := t.TempDir()
		if format == export.Goose {
			os.WriteFile(filepath.Join(dir, "00041_init.sql"), []byte("-- +goose Up\nSELECT 1;\n"), 0o644)
			os.WriteFile(filepath.Join(dir, "00009_users-email_enforce-1-of-3.sql"), []byte("an earlier export"), 0o644)
		} else {
			os.MkdirAll(filepath.Join(dir, "meta"), 0o755)
			os.WriteFile(filepath.Join(dir, "0000_init.sql"), []byte("SELECT 1;"), 0o644)
			os.WriteFile(filepath.Join(dir, "0001_users-email_add-column.sql"), []byte("an earlier export"), 0o644)
			os.WriteFile(filepath.Join(dir, "meta", "_journal.json"), []byte(`{"version":"7","dialect":"postgresql","entries":[
				{"idx":0,"version":"7","when":1800000000000,"tag":"0000_init","breakpoints":true},
				{"idx":1,"version":"7","when":1800000000001,"tag":"0001_users-email_add-column","breakpoints":true}]}`), 0o644)
		}
		ex, err := export.ReadDir(dir, format, plan)
		if err != nil {
			t.Fatal(err)
		}
		files, err := export.Render(export.Options{Plan: plan, PlanFile: "plan.yaml", Dialect: "postgres", Format: format, Now: time.Now(), Existing: ex})
		if err != nil {
			t.Fatal(err)
		}
		_, err = export.Write(dir, ex, files, false)
		var ue *export.UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), "give --force") {
			t.Fatalf("%s: into a folder with files, without --force: %v", format, err)
		}
		if _, err := export.Write(dir, ex, files, true); err != nil {
			t.Fatal(err)
		}
		entries, _ := os.ReadDir(dir)
		var got []string
		for _, e := range entries {
			got = append(got, e.Name())
		}
		var want []string
		if format == export.Goose {
			want = []string{"00041_init.sql", "00042_users-email_add-column.sql", "00043_users-email_enforce-1-of-3.sql",
				"00044_users-email_enforce-2-of-3.sql", "00045_users-email_enforce-3-of-3.sql", "users-email.shepherd.md"}
		} else {
			want = []string{"0000_init.sql", "0001_users-email_add-column.sql", "0002_users-email_enforce.sql", "meta", "users-email.shepherd.md"}
			var j export.Journal
			data, _ := os.ReadFile(filepath.Join(dir, "meta", "_journal.json"))
			json.Unmarshal(data, &j)
			var tags []string
			for _, e := range j.Entries {
				tags = append(tags, e.Tag)
			}
			if !slices.Equal(tags, []string{"0000_init", "0001_users-email_add-column", "0002_users-email_enforce"}) || j.Entries[1].When <= 1800000000000 {
				t.Errorf("journal after the export: %+v", j)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: folder\n%v\nwant\n%v", format, got, want)
		}
	}
}

func TestRefusals(t *testing.T) {
	cases := []struct{ plan, dialect, want string }{
		{addColumnPlan, "sqlite", "enforce: SQLite cannot change a column's NOT NULL, a CHECK or a foreign key in place"},
		{fkPlan, "sqlite", "add-constraint: SQLite cannot change a column's NOT NULL, a CHECK or a foreign key in place"},
		{fkPlan, "mysql", "cannot export orders-user-fk for mysql: add-constraint: MySQL adds a foreign key in place only with foreign_key_checks = 0, which skips checking the existing rows; " +
			"shepherd makes up for it by counting the rows without a parent right after the ALTER and dropping the constraint again if one slipped in, which a migration file cannot do"},
		{strings.Replace(fkPlan, ", columns: [id]", "", 1), "postgres", "add-constraint: references.columns: the primary key of users, which only the database holds (or give references: {table: users, columns: [...]} in the plan)"},
		{`
name: orders-positive
playbook: tighten-constraint
table: orders
constraint: {name: orders_positive, check: "amount > 0"}
`, "sqlite", "add-constraint: SQLite cannot change"},
		{`
name: users-rename
playbook: rename-column
table: users
column: name
to: full_name
`, "postgres", "add-column: the type of full_name is name's type, which only the database holds (or give type: in the plan)"},
		{`
name: users-name-not-null
playbook: tighten-constraint
table: users
constraint: {not_null: name}
`, "mysql", "add-constraint: MODIFY restates the whole live definition of users.name"},
	}
	for _, c := range cases {
		_, err := export.Render(export.Options{Plan: loadPlan(t, c.plan), PlanFile: "plan.yaml", Dialect: c.dialect, Format: export.Goose})
		var ue *export.UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want a refusal saying %q", c.dialect, err, c.want)
		}
	}
}

// TestForceKeepsAnEarlierExportsVersions: exporting a plan again into a
// folder where another plan was exported since keeps the versions (and
// drizzle's journal entries) of its earlier export. Renumbered, the
// migrations a tool applied would look missing and the new numbers would
// be applied again.
func TestForceKeepsAnEarlierExportsVersions(t *testing.T) {
	for _, format := range export.Formats() {
		t.Run(format, func(t *testing.T) {
			dir := t.TempDir()
			exportTo := func(planText string, now int64) []string {
				t.Helper()
				plan := loadPlan(t, planText)
				ex, err := export.ReadDir(dir, format, plan)
				if err != nil {
					t.Fatal(err)
				}
				files, err := export.Render(export.Options{Plan: plan, PlanFile: "plan.yaml", Dialect: "postgres", Format: format, Now: time.UnixMilli(now), Existing: ex})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := export.Write(dir, ex, files, true); err != nil {
					t.Fatal(err)
				}
				var names []string
				filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
					if err == nil && !d.IsDir() {
						rel, _ := filepath.Rel(dir, path)
						names = append(names, filepath.ToSlash(rel))
					}
					return nil
				})
				return names
			}
			journal := func() string {
				data, _ := os.ReadFile(filepath.Join(dir, "meta", "_journal.json"))
				var j export.Journal
				json.Unmarshal(data, &j)
				var out []string
				for _, e := range j.Entries {
					out = append(out, fmt.Sprintf("%d %s %d", e.Idx, e.Tag, e.When))
				}
				return strings.Join(out, "; ")
			}
			exportTo(addColumnPlan, 1_700_000_000_000)
			exportTo(uniquePlan, 1_700_000_001_000)
			before, journalBefore := exportTo(uniquePlan, 1_700_000_001_000), journal()
			// users-email again, later: nothing moves.
			after := exportTo(addColumnPlan, 1_700_000_002_000)
			if !slices.Equal(before, after) {
				t.Errorf("the folder changed:\n%v\nbecame\n%v", before, after)
			}
			if got := journal(); got != journalBefore {
				t.Errorf("the journal changed:\n%s\nbecame\n%s", journalBefore, got)
			}
			first := map[string]string{export.Goose: "00001_users-email_add-column.sql", export.GolangMigrate: "000001_users-email_add-column.up.sql",
				export.Plain: "0001_users-email_add-column.up.sql", export.Drizzle: "0000_users-email_add-column.sql"}[format]
			if !slices.Contains(after, first) {
				t.Errorf("users-email's first migration is not %s any more: %v", first, after)
			}
			// A third plan still comes after everything.
			third := exportTo(renamePlan, 1_700_000_003_000)
			next := map[string]string{export.Goose: "00009_users-full-name_add-column.sql", export.GolangMigrate: "000009_users-full-name_add-column.up.sql",
				export.Plain: "0009_users-full-name_add-column.up.sql", export.Drizzle: "0003_users-full-name_add-column.sql"}[format]
			if !slices.Contains(third, next) {
				t.Errorf("the next plan should start at %s: %v", next, third)
			}
		})
	}
}

// TestDrizzleWithoutASnapshotSaysSo: into a folder with no drizzle-kit
// snapshot to start from, no snapshot is written and the notes say what
// that means for drizzle-kit generate.
func TestDrizzleWithoutASnapshotSaysSo(t *testing.T) {
	out := render(t, addColumnPlan, "postgres", export.Drizzle, export.Existing{})
	for path := range out {
		if strings.HasSuffix(path, "_snapshot.json") {
			t.Errorf("wrote %s with nothing to start from", path)
		}
	}
	if notes := out["users-email.shepherd.md"]; !strings.Contains(notes, "No drizzle-kit snapshot was written for these migrations: the folder has no drizzle-kit snapshot to start from") {
		t.Errorf("the notes do not say why there are no snapshots:\n%s", notes)
	}
}
