package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// Crash anywhere: for each playbook on each dialect, the real binary is
// killed (SIGKILL, no cleanup) at one failpoint after another: before and
// after every statement of every DDL phase, before every commit, between
// backfill batches, inside SQLite's table rebuild, in the catch-up. After
// each kill, a rerun must finish the plan, every row's untouched columns
// must be byte for byte as before, and every value shepherd wrote must be
// right.

type crashCase struct {
	name string
	plan string
	// until, when set, ends the killed runs at that phase; after, when
	// set, is a phase the plan is first brought to (one release earlier).
	until, after string
	seed         func(db *testdb.DB)
	check        func(t *testing.T, db *testdb.DB, before map[string]string)
	// untouched are the columns no phase may change.
	untouched string
}

var crashCases = []crashCase{
	{
		name: "add-column",
		plan: `name: users-email
playbook: add-column
table: users
column: email
type: {postgres: text, mysql: varchar(200), sqlite: text}
backfill: "lower(username)"
`,
		seed:      func(db *testdb.DB) { db.Seed(900) },
		untouched: "username, name",
		check: func(t *testing.T, db *testdb.DB, _ map[string]string) {
			if got := db.One("SELECT count(*) FROM users WHERE email IS NULL OR email <> lower(username)"); got != "0" {
				t.Errorf("%s rows have a wrong email", got)
			}
		},
	},
	{
		// Up to stop-old-writes; the drop comes one release later, below.
		name: "rename-column", until: "stop-old-writes",
		plan: `name: users-full-name
playbook: rename-column
table: users
column: name
to: full_name
`,
		seed:      func(db *testdb.DB) { db.Seed(900) },
		untouched: "username, name",
		check: func(t *testing.T, db *testdb.DB, _ map[string]string) {
			if got := db.One("SELECT count(*) FROM users WHERE full_name IS NULL OR full_name <> name"); got != "0" {
				t.Errorf("%s rows have a wrong full_name", got)
			}
		},
	},
	{
		name: "rename-drop-old-column", after: "stop-old-writes",
		plan: `name: users-full-name
playbook: rename-column
table: users
column: name
to: full_name
`,
		seed:      func(db *testdb.DB) { db.Seed(900) },
		untouched: "username",
		check: func(t *testing.T, db *testdb.DB, _ map[string]string) {
			if got := db.One("SELECT count(*) FROM users WHERE full_name IS NULL OR full_name <> concat('Name ', id)"); got != "0" {
				t.Errorf("%s rows have a wrong full_name", got)
			}
			if _, err := db.QueryE("SELECT name FROM users"); err == nil {
				t.Error("the old column is still there")
			}
		},
	},
	{
		name: "tighten-constraint",
		plan: `name: users-id-odd-name
playbook: tighten-constraint
table: users
constraint: {name: users_name_short, check: "length(name) < 8"}
clean: {set: {name: "concat('N', id)"}}
`,
		seed:      func(db *testdb.DB) { db.Seed(900) },
		untouched: "username",
		check: func(t *testing.T, db *testdb.DB, _ map[string]string) {
			// Names shorter than 8 characters were kept; longer ones cleaned.
			if got := db.One("SELECT count(*) FROM users WHERE (id < 100 AND name <> concat('Name ', id)) OR (id >= 100 AND name <> concat('N', id))"); got != "0" {
				t.Errorf("%s rows are wrong after clean", got)
			}
			if _, err := db.SQL.Exec("UPDATE users SET name = 'much too long' WHERE id = 1"); err == nil {
				t.Error("the constraint is not in force")
			}
		},
	},
}

func TestCrashAnywhere(t *testing.T) {
	bin := failpointBinary(t)
	for _, dialect := range testdb.Dialects() {
		for _, tc := range crashCases {
			t.Run(dialect+"/"+tc.name, func(t *testing.T) {
				if ok, why := testdb.Available(dialect); !ok {
					t.Skip(why)
				}
				t.Parallel()
				dir := t.TempDir()
				plan := filepath.Join(dir, "plan.yaml")
				os.WriteFile(plan, []byte(tc.plan), 0o644)
				gates := []string{"--confirm", "deploy-readers", "--confirm", "switch-writes", "--confirm", "dual-write",
					"--confirm", "switch-reads", "--confirm", "stop-old-writes", "--confirm", "drop-old-column", "--confirm", "validate-in-app"}
				run := func(db *testdb.DB, killAt string) (string, error) {
					args := append([]string{"run", plan, "--non-interactive", "--batch-size", "250", "--db", db.DSN}, gates...)
					if tc.until != "" {
						args = append(args, "--until", tc.until)
					}
					cmd := exec.Command(bin, args...)
					cmd.Dir = dir
					cmd.Env = append(os.Environ(), "SHEPHERD_TEST_KILL_AT="+killAt)
					out, err := cmd.CombinedOutput()
					return string(out), err
				}
				// Gates the playbook does not have are refused: keep only
				// this playbook's.
				gates = ownGates(tc.plan, gates)

				// setup seeds a fresh database and brings the plan to tc.after.
				setup := func() *testdb.DB {
					db := testdb.New(t, dialect)
					tc.seed(db)
					if tc.after != "" {
						args := append([]string{"run", plan, "--non-interactive", "--until", tc.after, "--db", db.DSN}, gates...)
						cmd := exec.Command(bin, args...)
						cmd.Dir = dir
						if out, err := cmd.CombinedOutput(); err != nil {
							t.Fatalf("setup to %s: %v\n%s", tc.after, err, out)
						}
					}
					return db
				}
				// Count the failpoints of a whole run.
				db := setup()
				out, err := run(db, "count")
				if err != nil {
					t.Fatalf("counting run: %v\n%s", err, out)
				}
				points := regexp.MustCompile(`(?m)^failpoint \d+ (\S+)$`).FindAllStringSubmatch(out, -1)
				if len(points) < 3 {
					t.Fatalf("only %d failpoints:\n%s", len(points), out)
				}
				// Kill at a spread of them: about 10 per case, always including
				// the first and the last (the suite must stay fast; the
				// failpoints that are skipped differ between dialects, and
				// every kind of point is hit).
				step := max(1, len(points)/10)
				t.Logf("%d failpoints; killing at every %d", len(points), step)
				for n := 1; n <= len(points); n = nextKill(n, step, len(points)) {
					point := points[n-1][1]
					db := setup()
					before := snapshotCols(t, db, tc.untouched)
					out, err := run(db, fmt.Sprint(n))
					if !killed(err) {
						t.Fatalf("kill at %d (%s): the process was not killed: %v\n%s", n, point, err, out)
					}
					out, err = run(db, "")
					if err != nil {
						t.Fatalf("after a kill at %s, the rerun failed: %v\n%s", point, err, out)
					}
					if after := snapshotCols(t, db, tc.untouched); fmt.Sprint(after) != fmt.Sprint(before) {
						t.Errorf("after a kill at %s, untouched columns changed", point)
					}
					tc.check(t, db, before)
					if t.Failed() {
						t.Fatalf("after a kill at %s (failpoint %d of %d)", point, n, len(points))
					}
				}
			})
		}
	}
}

func ownGates(plan string, confirms []string) []string {
	var out []string
	for i := 0; i+1 < len(confirms); i += 2 {
		g := confirms[i+1]
		has := map[string]bool{
			"deploy-readers": strings.Contains(plan, "add-column\n"), "switch-writes": strings.Contains(plan, "add-column\n"),
			"dual-write": strings.Contains(plan, "rename-column"), "switch-reads": strings.Contains(plan, "rename-column"),
			"stop-old-writes": strings.Contains(plan, "rename-column"), "drop-old-column": strings.Contains(plan, "rename-column"),
			"validate-in-app": strings.Contains(plan, "tighten-constraint"),
		}[g]
		if has {
			out = append(out, "--confirm", g)
		}
	}
	return out
}

// snapshotCols reads the columns per row, by id.
func snapshotCols(t *testing.T, db *testdb.DB, cols string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, r := range db.Query("SELECT id, " + cols + " FROM users ORDER BY id") {
		out[r[0]] = strings.Join(r[1:], "\x00")
	}
	return out
}

func killed(err error) bool {
	ee, ok := err.(*exec.ExitError)
	if !ok {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

// nextKill walks 1, 1+step, … and ends on the last failpoint.
func nextKill(n, step, last int) int {
	if n < last && n+step > last {
		return last
	}
	return n + step
}

// The binary as it ships has no failpoints: SHEPHERD_TEST_KILL_AT, which
// kills the crash tests' build at a failpoint, does nothing to it.
func TestNoFailpointsInTheNormalBuild(t *testing.T) {
	bin := shepherdBinary(t)
	dir := t.TempDir()
	plan := filepath.Join(dir, "plan.yaml")
	os.WriteFile(plan, []byte(crashCases[0].plan), 0o644)
	db := testdb.New(t, "sqlite")
	db.Seed(50)
	for _, spec := range []string{"1", "count"} {
		cmd := exec.Command(bin, "run", plan, "--non-interactive", "--db", db.DSN, "--until", "add-column")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "SHEPHERD_TEST_KILL_AT="+spec)
		out, err := cmd.CombinedOutput()
		if killed(err) {
			t.Fatalf("SHEPHERD_TEST_KILL_AT=%s killed the normal build:\n%s", spec, out)
		}
		if err != nil {
			t.Fatalf("SHEPHERD_TEST_KILL_AT=%s: %v\n%s", spec, err, out)
		}
		if strings.Contains(string(out), "failpoint") {
			t.Errorf("SHEPHERD_TEST_KILL_AT=%s: the normal build names failpoints:\n%s", spec, out)
		}
	}
	if got := db.One("SELECT count(*) FROM shepherd_state WHERE plan = 'users-email' AND phase = 'add-column' AND status = 'done'"); got != "1" {
		t.Errorf("add-column is not done after the runs: %s", got)
	}
}
