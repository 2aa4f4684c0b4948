package engine

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/shepherd-db/shepherd/phases"
)

// RunOutOfOrder runs a phase the playbook would not run yet, for real, and
// still refuses what shepherd's checks refuse.
func TestSandboxRunOutOfOrder(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sandbox.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT NOT NULL);
		INSERT INTO users VALUES (1, 'ada'), (2, 'grace');`); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	plan, err := phases.Parse("test.yaml", []byte("name: users-email\nplaybook: add-column\ntable: users\ncolumn: email\ntype: text\nbackfill: \"username || '@example.com'\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	sb, err := OpenSandbox(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	s, err := sb.Start(ctx, plan, Options{Operator: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.RunOutOfOrder(ctx, "add-column"); err != nil {
		t.Fatal(err)
	}
	// The next phase is the deploy-readers gate: RunPhase refuses backfill,
	// RunOutOfOrder runs it.
	var ue *UsageError
	if err := s.RunPhase(ctx, "backfill"); !errors.As(err, &ue) {
		t.Fatalf("RunPhase(backfill) before the gate: %v, want a UsageError", err)
	}
	if err := s.RunOutOfOrder(ctx, "backfill"); err != nil {
		t.Fatal(err)
	}
	if got := s.Progress().Of("deploy-readers"); got != phases.Pending {
		t.Fatalf("deploy-readers is %s, want pending: running another phase out of order does not confirm it", got)
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM users WHERE email IS NULL`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("after the backfill: %d NULL emails (%v)", n, err)
	}
	// Enforce out of order, with a NULL written since: shepherd's own
	// check still refuses.
	if _, err := db.Exec(`INSERT INTO users (id, username) VALUES (3, 'alan')`); err != nil {
		t.Fatal(err)
	}
	var ve *VerifyError
	if err := s.RunOutOfOrder(ctx, "enforce"); !errors.As(err, &ve) {
		t.Fatalf("enforce with a NULL row: %v, want a VerifyError", err)
	}
	if err := s.RunOutOfOrder(ctx, "backfill"); !errors.As(err, &ue) {
		t.Fatalf("a phase already done: %v, want a UsageError", err)
	}
}

// The point of no return is never run out of order, in a sandbox either:
// RunOutOfOrder refuses it as RunPhase refuses it on any database, until
// every phase before it is done, and drops nothing.
func TestSandboxRefusesThePointOfNoReturnOutOfOrder(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sandbox.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
		INSERT INTO users VALUES (1, 'Ada'), (2, 'Grace');`); err != nil {
		t.Fatal(err)
	}
	plan, err := phases.Parse("test.yaml", []byte("name: users-full-name\nplaybook: rename-column\ntable: users\ncolumn: name\nto: full_name\n"))
	if err != nil {
		t.Fatal(err)
	}
	sb, err := OpenSandbox(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	s, err := sb.Start(ctx, plan, Options{Operator: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, id := range []string{"add-column", "dual-write", "backfill"} {
		if err := s.RunOutOfOrder(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	var ue *UsageError
	if err := s.RunOutOfOrder(ctx, "drop-old-column"); !errors.As(err, &ue) {
		t.Fatalf("drop-old-column before switch-reads: %v, want it refused as RunPhase refuses it", err)
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM pragma_table_info('users') WHERE name = 'name'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("users.name after the refused drop: %d (%v)", n, err)
	}
	if got := s.Progress().Of("drop-old-column"); got != phases.Pending {
		t.Fatalf("drop-old-column is %s, want pending", got)
	}
}
