//go:build failpoints

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// A backfill split among two workers (--workers 2), killed with SIGKILL in
// the middle of the walk, at points inside and between both workers'
// batches, then run again: every row is filled right, and the rows done
// add up to the table's rows exactly, so no batch was walked twice. SQLite
// walks with one and is killed the same way.
func TestSplitBackfillKilledResumes(t *testing.T) {
	bin := failpointBinary(t)
	const rows = 3000
	for _, dialect := range testdb.Dialects() {
		for _, killAt := range []int{9, 24, 51} {
			t.Run(dialect+"/"+strconv.Itoa(killAt), func(t *testing.T) {
				if ok, why := testdb.Available(dialect); !ok {
					t.Skip(why)
				}
				t.Parallel()
				dir := t.TempDir()
				plan := filepath.Join(dir, "plan.yaml")
				if err := os.WriteFile(plan, []byte(addColumnCrashPlan), 0o644); err != nil {
					t.Fatal(err)
				}
				db := testdb.New(t, dialect)
				db.Seed(rows)
				run := func(kill string) ([]byte, error) {
					cmd := exec.Command(bin, "run", plan, "--non-interactive", "--workers", "2", "--batch-size", "100",
						"--until", "backfill", "--confirm", "deploy-readers", "--db", db.DSN)
					cmd.Dir = dir
					cmd.Env = append(os.Environ(), "SHEPHERD_TEST_KILL_AT="+kill)
					return cmd.CombinedOutput()
				}
				if out, err := run(strconv.Itoa(killAt)); err == nil {
					t.Fatalf("the run killed at failpoint %d finished:\n%s", killAt, out)
				}
				if left := db.One("SELECT count(*) FROM users WHERE email IS NULL"); left == "0" {
					t.Fatalf("the run killed at failpoint %d had filled every row: kill earlier", killAt)
				}
				if out, err := run(""); err != nil {
					t.Fatalf("the rerun: %v\n%s", err, out)
				}
				if got := db.One("SELECT count(*) FROM users WHERE email IS NULL OR email <> lower(username)"); got != "0" {
					t.Errorf("%s rows have a wrong email after the rerun", got)
				}
				state := "shepherd_state"
				if dialect == "postgres" {
					state = "shepherd.shepherd_state"
				}
				if got := db.One("SELECT rows_done FROM " + state + " WHERE plan = 'users-email' AND phase = 'backfill'"); got != strconv.Itoa(rows) {
					t.Errorf("the backfill's rows done are %s, want %d: a batch was walked twice, or one was skipped", got, rows)
				}
			})
		}
	}
}
