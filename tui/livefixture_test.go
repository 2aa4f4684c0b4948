package tui

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/shepherd-db/shepherd/demo"
	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/phases"
)

// liveFixture is what the live TUI tests start from: the demo SQLite
// database with its users, the example users-email plan copied beside it,
// the real engine on it and a pool for the test's own queries, with a
// release job's run through deploy-readers done (the backfill is next).
type liveFixture struct {
	file string // the plan file
	eng  *engine.Engine
	db   *sql.DB
	plan *phases.Plan
}

func newLiveFixture(ctx context.Context, t *testing.T, users int) *liveFixture {
	t.Helper()
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "demo.db")
	if _, err := demo.Create(ctx, dbPath, users); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("../examples/users-email.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f := &liveFixture{file: filepath.Join(dir, "users-email.yaml")}
	if err := os.WriteFile(f.file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if f.eng, err = engine.Open(ctx, "sqlite:"+dbPath); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.eng.Close() })
	if f.db, err = sql.Open("sqlite", "file:"+dbPath+"?_pragma=busy_timeout(10000)"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.db.Close() })
	if f.plan, err = phases.Load(f.file); err != nil {
		t.Fatal(err)
	}
	job, err := f.eng.Start(ctx, f.plan, engine.Options{Operator: "release-job"})
	if err != nil {
		t.Fatal(err)
	}
	defer job.Close()
	if _, err := job.Run(ctx, "deploy-readers", map[string]bool{"deploy-readers": true}); err != nil {
		t.Fatal(err)
	}
	return f
}
