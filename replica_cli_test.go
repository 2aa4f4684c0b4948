package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// --max-replica-lag on run and rollback: SQLite has no replicas, so the
// flag is accepted and changes nothing (the backfill runs to the end);
// a negative lag is a usage error (exit 2) before the database is touched.
func TestMaxReplicaLagFlag(t *testing.T) {
	t.Parallel()
	db := testdb.New(t, "sqlite")
	db.Seed(300)
	plan := filepath.Join(t.TempDir(), "plan.yaml")
	if err := os.WriteFile(plan, []byte(interruptPlan), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"run", "rollback"} {
		if _, errOut, code := cliRun(t, cmd, plan, "--non-interactive", "--max-replica-lag", "-1s", "--db", db.DSN); code != 2 || !strings.Contains(errOut, "--max-replica-lag must not be negative") {
			t.Errorf("%s --max-replica-lag -1s: exit %d\n%s", cmd, code, errOut)
		}
	}
	out, errOut, code := cliRun(t, "run", plan, "--non-interactive", "--confirm", "deploy-readers", "--until", "backfill", "--max-replica-lag", "0", "--batch-size", "100", "--db", db.DSN)
	if code != 0 {
		t.Fatalf("run: exit %d\n%s%s", code, out, errOut)
	}
	if strings.Contains(out+errOut, "replica") {
		t.Errorf("SQLite said something of replicas:\n%s%s", out, errOut)
	}
	if got := db.One(`SELECT count(*) FROM users WHERE email IS NULL OR email <> lower(username)`); got != "0" {
		t.Errorf("%s rows not backfilled", got)
	}
	if _, errOut, code := cliRun(t, "rollback", plan, "--non-interactive", "--max-replica-lag", "5s", "--db", db.DSN); code != 0 {
		t.Errorf("rollback --max-replica-lag 5s: exit %d\n%s", code, errOut)
	}
}
