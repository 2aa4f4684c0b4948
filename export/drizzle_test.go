package export_test

// The drizzle export, applied by drizzle-orm's own migrator under Node
// (drizzle-orm and pg from the npm registry, installed once in a temporary
// folder) against the PostgreSQL server: a release at a time, as the notes
// say, with the guard refusing a migration that comes too early.

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shepherd-db/shepherd/export"
	"github.com/shepherd-db/shepherd/internal/testdb"
)

var (
	npmOnce sync.Once
	npmDir  string
	npmErr  error
)

// drizzleMigrator returns a folder with drizzle-orm and pg installed and
// the migrate.mjs script, or skips the test when Node or npm is missing.
func drizzleMigrator(t *testing.T) string {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed: drizzle's migrator cannot run, so the drizzle export is not applied (install Node.js and npm to run this test)", tool)
		}
	}
	npmOnce.Do(func() {
		pkg, err := os.ReadFile("testdata/drizzle/package.json")
		if err != nil {
			npmErr = err
			return
		}
		// One folder per package.json: a changed pin installs afresh.
		npmDir = filepath.Join(os.TempDir(), "shepherd-export-drizzle-"+shortHash(pkg))
		if err := os.MkdirAll(npmDir, 0o755); err != nil {
			npmErr = err
			return
		}
		for _, f := range []string{"package.json", "migrate.mjs"} {
			data, err := os.ReadFile(filepath.Join("testdata/drizzle", f))
			if err == nil {
				err = os.WriteFile(filepath.Join(npmDir, f), data, 0o644)
			}
			if err != nil {
				npmErr = err
				return
			}
		}
		if _, err := os.Stat(filepath.Join(npmDir, "node_modules", "drizzle-orm", "package.json")); err == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "npm", "install", "--no-audit", "--no-fund", "--loglevel=error")
		cmd.Dir = npmDir
		if out, err := cmd.CombinedOutput(); err != nil {
			npmErr = &npmError{err: err, out: string(out)}
		}
	})
	if npmErr != nil {
		t.Fatalf("npm install drizzle-orm pg: %v", npmErr)
	}
	return npmDir
}

type npmError struct {
	err error
	out string
}

func (e *npmError) Error() string { return e.err.Error() + ": " + e.out }

func shortHash(b []byte) string {
	var h uint32 = 2166136261
	for _, c := range b {
		h = (h ^ uint32(c)) * 16777619
	}
	const hex = "0123456789abcdef"
	out := make([]byte, 8)
	for i := range out {
		out[i] = hex[h>>(28-4*i)&0xf]
	}
	return string(out)
}

// drizzleMigrate runs drizzle-orm's migrator on the folder.
func drizzleMigrate(t *testing.T, migrator string, db *testdb.DB, folder string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join(migrator, "migrate.mjs"), db.DSN, folder)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return strings.TrimSpace(out.String()), err
}

// release keeps the journal's first n entries: what a repository holds
// when each migration is committed in the release it belongs to.
func release(t *testing.T, folder string, full []byte, n int) {
	t.Helper()
	var j export.Journal
	if err := json.Unmarshal(full, &j); err != nil {
		t.Fatal(err)
	}
	j.Entries = j.Entries[:n]
	data, _ := json.Marshal(j)
	if err := os.WriteFile(filepath.Join(folder, "meta", "_journal.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDrizzleMigratorAppliesAddColumn(t *testing.T) {
	migrator := drizzleMigrator(t)
	db := testdb.New(t, "postgres")
	db.Seed(20)
	plan := loadPlan(t, `
name: users-email
playbook: add-column
table: users
column: email
type: text
backfill: "lower(username) || '@example.com'"
`)
	folder := filepath.Join(t.TempDir(), "drizzle")
	exportTo(t, plan, "postgres", export.Drizzle, folder)
	full, err := os.ReadFile(filepath.Join(folder, "meta", "_journal.json"))
	if err != nil {
		t.Fatal(err)
	}

	// Release 1: add-column.
	release(t, folder, full, 1)
	if out, err := drizzleMigrate(t, migrator, db, folder); err != nil {
		t.Fatalf("release 1: %v\n%s", err, out)
	}
	wantColumn(t, db, "users", "email", true, false)

	// A later release, before the backfill: enforce's guard refuses, and
	// drizzle's transaction leaves nothing behind (no NOT VALID check that
	// would refuse the old code's inserts).
	release(t, folder, full, 2)
	out, err := drizzleMigrate(t, migrator, db, folder)
	if err == nil || !strings.Contains(out, "users.email has NULLs: backfill it first") {
		t.Fatalf("enforce before the backfill: got %v\n%s\nwant the guard's error", err, out)
	}
	if n := db.One("SELECT count(*) FROM pg_constraint WHERE conname = 'shepherd_nn_users_email'"); n != "0" {
		t.Errorf("the refused migration left its NOT VALID check behind")
	}
	db.Exec("INSERT INTO users (id, username, name) VALUES (100, 'old', 'old code')")

	// The backfill (a data phase: not a migration), then enforce, which
	// commits in three steps inside drizzle's run.
	db.Exec("UPDATE users SET email = lower(username) || '@example.com'")
	out, err = drizzleMigrate(t, migrator, db, folder)
	if err != nil {
		t.Fatalf("enforce after the backfill: %v\n%s", err, out)
	}
	if !strings.Contains(out, "2 recorded") {
		t.Errorf("drizzle recorded: %s, want 2 migrations", out)
	}
	wantColumn(t, db, "users", "email", true, true)
	if n := db.One("SELECT count(*) FROM pg_constraint WHERE conname = 'shepherd_nn_users_email'"); n != "0" {
		t.Errorf("enforce's temporary check is still there")
	}
	if err := db.ExecE("INSERT INTO users (id, username, name) VALUES (101, 'u', 'n')"); err == nil {
		t.Error("an insert without email succeeded: NOT NULL is not in force")
	}
}

func TestDrizzleMigratorBuildsUniqueConcurrently(t *testing.T) {
	migrator := drizzleMigrator(t)
	db := testdb.New(t, "postgres")
	db.Seed(20)
	db.Exec("UPDATE users SET username = 'user1' WHERE id = 2")
	plan := loadPlan(t, `
name: users-username-unique
playbook: tighten-constraint
table: users
constraint: {name: users_username_key, unique: [username]}
`)
	folder := filepath.Join(t.TempDir(), "drizzle")
	exportTo(t, plan, "postgres", export.Drizzle, folder)

	out, err := drizzleMigrate(t, migrator, db, folder)
	if err == nil || !strings.Contains(out, "duplicates break users_username_key: clean them first") {
		t.Fatalf("with a duplicate: got %v\n%s\nwant the guard's error", err, out)
	}
	wantIndex(t, db, "users_username_key", false)

	// CREATE UNIQUE INDEX CONCURRENTLY runs between the COMMIT and BEGIN
	// the file puts around it: inside drizzle's transaction it would fail.
	db.Exec("UPDATE users SET username = 'user2' WHERE id = 2")
	if out, err := drizzleMigrate(t, migrator, db, folder); err != nil {
		t.Fatalf("after the clean: %v\n%s", err, out)
	}
	wantIndex(t, db, "users_username_key", true)
	if n := db.One("SELECT count(*) FROM pg_constraint WHERE conname = 'users_username_key' AND contype = 'u'"); n != "1" {
		t.Errorf("the index was not attached as the constraint")
	}
	if err := db.ExecE("UPDATE users SET username = 'user1' WHERE id = 3"); err == nil {
		t.Error("a duplicate username was written: the constraint is not in force")
	}
}
