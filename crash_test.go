package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/shepherd-db/shepherd/internal/testdb"
	"github.com/shepherd-db/shepherd/phases"
)

// Crash anywhere: for each playbook on each dialect, the real binary is
// killed (SIGKILL, no cleanup) at one failpoint after another: before and
// after every statement of every DDL phase, before every commit, between
// backfill batches, inside SQLite's table rebuild, in the catch-up. After
// each kill a rerun resumes (and is killed in turn at the next point); the
// last rerun must finish the plan, every row's untouched columns must be
// byte for byte as before, and every value shepherd wrote must be right.

type crashCase struct {
	name string
	plan string
	// until, when set, ends the killed runs at that phase; after, when
	// set, is a phase the plan is first brought to (one release earlier).
	until, after string
	seed         func(db *testdb.DB)
	// late, when set, runs after the plan is brought to after: what the
	// application did meanwhile.
	late  func(db *testdb.DB)
	check func(t *testing.T, db *testdb.DB, before map[string]string)
	// untouched are the columns no phase may change.
	untouched string
}

// addColumnCrashPlan is the add-column plan of the crash cases.
const addColumnCrashPlan = `name: users-email
playbook: add-column
table: users
column: email
type: {postgres: text, mysql: varchar(200), sqlite: text}
backfill: "lower(username)"
`

var crashCases = []crashCase{
	{
		name:      "add-column",
		plan:      addColumnCrashPlan,
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
	{
		// A foreign key: MySQL's in-place ALTER commits by itself (and with
		// the checks off on its connection), so a kill after it must be
		// found in information_schema and the rows checked on the rerun.
		name: "tighten-foreign-key",
		plan: `name: users-team-fk
playbook: tighten-constraint
table: users
constraint: {name: users_team_fk, foreign_key: [team_id], references: {table: teams}}
clean: {set: {team_id: "NULL"}}
`,
		seed: func(db *testdb.DB) {
			db.Seed(900)
			db.Exec("CREATE TABLE teams (id integer PRIMARY KEY)")
			db.Exec("INSERT INTO teams (id) VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)")
			db.Exec("ALTER TABLE users ADD COLUMN team_id integer")
			db.Exec("UPDATE users SET team_id = id % 12")
		},
		untouched: "username, name",
		check: func(t *testing.T, db *testdb.DB, _ map[string]string) {
			// Teams 10 and 11 do not exist: those rows were cleaned, the others kept.
			if got := db.One("SELECT count(*) FROM users WHERE (id % 12 < 10 AND team_id <> id % 12) OR (id % 12 >= 10 AND team_id IS NOT NULL) OR (id % 12 < 10 AND team_id IS NULL)"); got != "0" {
				t.Errorf("%s rows are wrong after clean", got)
			}
			if db.Dialect == "sqlite" {
				db.Exec("PRAGMA foreign_keys = ON") // the test's one connection
			}
			if _, err := db.SQL.Exec("UPDATE users SET team_id = 99 WHERE id = 1"); err == nil {
				t.Error("the foreign key is not in force")
			}
		},
	},
	{
		// change-column-type up to stop-old-writes: the shadow and its
		// triggers, the conversion's backfill, and the swap (on MySQL steps
		// that commit one by one, some under LOCK TABLES; on SQLite a
		// rebuild).
		name: "change-column-type", until: "stop-old-writes",
		plan: `name: users-score-bigint
playbook: change-column-type
table: users
column: score
type: bigint
`,
		seed: func(db *testdb.DB) {
			db.Seed(900)
			db.Exec("ALTER TABLE users ADD COLUMN score integer NOT NULL DEFAULT 0")
			db.Exec("UPDATE users SET score = id * 3")
			db.Exec("CREATE INDEX users_score_idx ON users (score)")
		},
		untouched: "username, name",
		check: func(t *testing.T, db *testdb.DB, _ map[string]string) {
			if got := db.One("SELECT count(*) FROM users WHERE score <> id * 3 OR score_shepherd_old <> score"); got != "0" {
				t.Errorf("%s rows have a wrong score after the swap", got)
			}
			if _, err := db.QueryE("SELECT score_shepherd_new FROM users"); err == nil {
				t.Error("the shadow column is still there after the swap")
			}
			// The triggers keep the old column in step after the swap (until
			// drop-old-column, for the swap's rollback).
			if _, err := db.SQL.Exec("INSERT INTO users (id, username, name, score) VALUES (5000, 'u', 'n', 12345)"); err != nil {
				t.Errorf("an insert after the swap failed: %v", err)
			} else if got := db.One("SELECT score_shepherd_old FROM users WHERE id = 5000"); got != "12345" {
				t.Errorf("after the swap, an insert's old column is %q, want 12345", got)
			}
		},
	},
	{
		// switch-writes' catch-up with rows to catch up: old code
		// inserted 500 rows after the backfill, with email NULL.
		name: "add-column-catch-up", after: "backfill",
		plan:      addColumnCrashPlan,
		seed:      func(db *testdb.DB) { db.Seed(900) },
		late:      func(db *testdb.DB) { lateRows(db, 901, 1400) },
		untouched: "username, name",
		check: func(t *testing.T, db *testdb.DB, _ map[string]string) {
			if got := db.One("SELECT count(*) FROM users WHERE id > 900 AND email = lower(username)"); got != "500" {
				t.Errorf("%s of the 500 rows old code wrote after the backfill were caught up right", got)
			}
			if got := db.One("SELECT count(*) FROM users WHERE email IS NULL OR email <> lower(username)"); got != "0" {
				t.Errorf("%s rows have a wrong email", got)
			}
		},
	},
	{
		// UNIQUE: duplicates cleaned in batches, then (PostgreSQL) an
		// index built CONCURRENTLY outside any transaction and
		// attached as the constraint.
		name: "tighten-unique",
		plan: `name: users-username-unique
playbook: tighten-constraint
table: users
constraint: {name: users_username_key, unique: [username]}
clean: {set: {username: "concat(username, '-', id)"}}
`,
		seed: func(db *testdb.DB) {
			db.Seed(900)
			db.Exec("UPDATE users SET username = concat('dup', id % 10) WHERE id > 800")
		},
		untouched: "name",
		check: func(t *testing.T, db *testdb.DB, _ map[string]string) {
			if got := db.One("SELECT count(*) FROM users WHERE (id <= 800 AND username <> concat('user', id)) OR (id BETWEEN 801 AND 810 AND username <> concat('dup', id % 10)) OR (id > 810 AND username <> concat('dup', id % 10, '-', id))"); got != "0" {
				t.Errorf("%s rows are wrong after clean", got)
			}
			if _, err := db.SQL.Exec("UPDATE users SET username = 'user2' WHERE id = 1"); err == nil {
				t.Error("the unique constraint is not in force")
			}
			if db.Dialect == "postgres" {
				if got := db.One("SELECT count(*) FROM pg_index WHERE indrelid = 'users'::regclass AND NOT indisvalid"); got != "0" {
					t.Errorf("%s invalid indexes left on users", got)
				}
			}
		},
	},
	{
		// The index is built concurrently on PostgreSQL (a kill leaves an
		// INVALID index, which the rerun drops and builds again), in place
		// on MySQL, in one statement on SQLite.
		name: "add-index",
		plan: `name: users-name-idx
playbook: add-index
table: users
index: {name: users_name_idx, columns: [name, username]}
query: "SELECT id FROM users WHERE name = 'Name 7'"
`,
		seed:      func(db *testdb.DB) { db.Seed(900) },
		untouched: "username, name",
		check: func(t *testing.T, db *testdb.DB, _ map[string]string) {
			if got := crashIndexState(db, "users_name_idx"); got != "valid" {
				t.Errorf("users_name_idx is %s after the reruns, want valid", got)
			}
		},
	},
	{
		// Relax, the gate and the archive run once, unkilled (their kinds
		// of failpoint are those of tighten-not-null's rebuild and the
		// backfill's batches); the kills fall in the drop, where a MySQL
		// DROP COLUMN commits before shepherd records it.
		name: "drop-column-drop", after: "archive",
		plan:      dropColumnCrashPlan,
		seed:      dropColumnCrashSeed,
		untouched: "username, name",
		check: func(t *testing.T, db *testdb.DB, _ map[string]string) {
			if _, err := db.QueryE("SELECT nick FROM users"); err == nil {
				t.Error("the column is still there")
			}
			if got := db.One("SELECT count(*) FROM users_nick_archive WHERE nick = concat('n', shepherd_key)"); got != "900" {
				t.Errorf("the archive holds %s right values, want 900", got)
			}
		},
	},
	{
		// NOT NULL on an existing column: PostgreSQL's validated
		// check, MySQL's MODIFY, SQLite's rebuild.
		name: "tighten-not-null",
		plan: `name: users-nick-not-null
playbook: tighten-constraint
table: users
constraint: {not_null: nick}
clean: {set: {nick: "concat('n', id)"}}
`,
		seed: func(db *testdb.DB) {
			db.Seed(900)
			db.Exec("ALTER TABLE users ADD COLUMN nick varchar(100)")
			db.Exec("UPDATE users SET nick = username WHERE id % 3 <> 0")
		},
		untouched: "username, name",
		check: func(t *testing.T, db *testdb.DB, _ map[string]string) {
			if got := db.One("SELECT count(*) FROM users WHERE nick IS NULL OR (id % 3 <> 0 AND nick <> username) OR (id % 3 = 0 AND nick <> concat('n', id))"); got != "0" {
				t.Errorf("%s rows have a wrong nick", got)
			}
			if _, err := db.SQL.Exec("UPDATE users SET nick = NULL WHERE id = 1"); err == nil {
				t.Error("NOT NULL is not in force")
			}
		},
	},
}

// dropColumnCrashPlan drops users.nick, archived first.
const dropColumnCrashPlan = `name: users-drop-nick
playbook: drop-column
table: users
column: nick
archive: true
`

// dropColumnCrashSeed gives users a NOT NULL nick without a default, so
// that relax changes the table.
func dropColumnCrashSeed(db *testdb.DB) {
	db.Seed(900)
	if db.Dialect == "sqlite" {
		db.Exec(`CREATE TABLE users2 (id integer PRIMARY KEY, username varchar(100) NOT NULL, name varchar(100) NOT NULL, nick varchar(20) NOT NULL);
INSERT INTO users2 SELECT id, username, name, 'n' || id FROM users; DROP TABLE users; ALTER TABLE users2 RENAME TO users`)
		return
	}
	db.Exec("ALTER TABLE users ADD COLUMN nick varchar(20)")
	db.Exec("UPDATE users SET nick = concat('n', id)")
	if db.Dialect == "mysql" {
		db.Exec("ALTER TABLE users MODIFY nick varchar(20) NOT NULL")
	} else {
		db.Exec("ALTER TABLE users ALTER COLUMN nick SET NOT NULL")
	}
}

// crashIndexState reads from the catalog whether the index is there and
// valid: "valid", "invalid" or "none".
func crashIndexState(db *testdb.DB, name string) string {
	var n string
	switch db.Dialect {
	case "postgres":
		n = db.One("SELECT coalesce(max(CASE WHEN i.indisvalid AND i.indisready THEN 2 ELSE 1 END), 0) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = $1", name)
	case "mysql":
		n = db.One("SELECT 2 * count(DISTINCT index_name) FROM information_schema.statistics WHERE table_schema = database() AND index_name = ?", name)
	default:
		n = db.One("SELECT 2 * count(*) FROM sqlite_master WHERE type = 'index' AND name = ?", name)
	}
	return map[string]string{"0": "none", "1": "invalid", "2": "valid"}[n]
}

// lateRows inserts users first..last as code that does not know email
// writes them: email stays NULL.
func lateRows(db *testdb.DB, first, last int) {
	var vals []string
	for i := first; i <= last; i++ {
		vals = append(vals, fmt.Sprintf("(%d, 'Late%d', 'Name %d')", i, i, i))
	}
	db.Exec("INSERT INTO users (id, username, name) VALUES " + strings.Join(vals, ", "))
}

// pointKind is what kind of failpoint a point is, per phase: the statement
// number left out (enforce:step-2-done is enforce:step-done).
func pointKind(point string) string {
	return regexp.MustCompile(`-\d+`).ReplaceAllString(point, "")
}

// killsFor picks the failpoints to kill at: with a step, every step-th
// (always the first and the last); and the first point of each kind the
// stride missed and covered does not hold, so that every kind of point of
// every phase is hit.
func killsFor(points []string, step int, covered map[string]bool) []int {
	var kills []int
	hit := map[string]bool{}
	for k := range covered {
		hit[k] = true
	}
	for n := 1; step > 0 && n <= len(points); n = nextKill(n, step, len(points)) {
		kills = append(kills, n)
		hit[pointKind(points[n-1])] = true
	}
	for i, p := range points {
		if k := pointKind(p); !hit[k] {
			hit[k] = true
			kills = append(kills, i+1)
		}
	}
	slices.Sort(kills)
	return kills
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
					"--confirm", "switch-reads", "--confirm", "stop-old-writes", "--confirm", "drop-old-column", "--confirm", "validate-in-app", "--confirm", "stop-using", "--confirm", "drop-column"}
				run := func(db *testdb.DB, killAt string) (string, error) {
					// --allow-lock shared: MySQL copies the table to add a CHECK.
					args := append([]string{"run", plan, "--non-interactive", "--batch-size", "250", "--allow-lock", "shared", "--db", db.DSN}, gates...)
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
						args := append([]string{"run", plan, "--non-interactive", "--until", tc.after, "--allow-lock", "shared", "--db", db.DSN}, gates...)
						cmd := exec.Command(bin, args...)
						cmd.Dir = dir
						if out, err := cmd.CombinedOutput(); err != nil {
							t.Fatalf("setup to %s: %v\n%s", tc.after, err, out)
						}
					}
					if tc.late != nil {
						tc.late(db)
					}
					return db
				}
				// Count the failpoints of a whole run.
				db := setup()
				out, err := run(db, "count")
				if err != nil {
					t.Fatalf("counting run: %v\n%s", err, out)
				}
				var points []string
				for _, m := range regexp.MustCompile(`(?m)^failpoint \d+ (\S+)$`).FindAllStringSubmatch(out, -1) {
					points = append(points, m[1])
				}
				if len(points) < 3 {
					t.Fatalf("only %d failpoints:\n%s", len(points), out)
				}
				// Kill at the first point of each kind of each phase (the
				// suite must stay fast); SHEPHERD_CRASH_STRIDE=n kills at
				// every n-th point as well (1: at every one), for a full
				// sweep.
				step := 0
				if n, err := strconv.Atoi(os.Getenv("SHEPHERD_CRASH_STRIDE")); err == nil && n > 0 {
					step = n
				}
				// A kill before the plan's first phase (start:…) is the
				// same whatever the playbook: the first case kills there,
				// the others need not. A kill as a gate is confirmed
				// (its only work is to record it) is the same in every
				// case of a playbook: the playbook's first case kills there.
				covered := map[string]bool{}
				if step == 0 {
					gates := gatesOfLaterCase(tc)
					for _, p := range points {
						if strings.HasPrefix(p, "start:") && tc.name != crashCases[0].name || gates[strings.TrimSuffix(pointKind(p), ":finish")] {
							covered[pointKind(p)] = true
						}
					}
				}
				kills := killsFor(points, step, covered)
				t.Logf("%d failpoints; killing at every %d and at each kind's first: %d kills", len(points), step, len(kills))
				hit := map[string]bool{}
				for k := range covered {
					hit[k] = true
				}
				defer func() {
					for _, p := range points {
						if !hit[pointKind(p)] && !t.Failed() {
							t.Errorf("no kill at a %s failpoint", pointKind(p))
						}
					}
				}()
				// The kills are chained: each run after a kill resumes what
				// the killed one left and is itself killed at the next
				// point, until the last rerun finishes the plan; only then
				// are the rows checked. Every kill is still followed by a
				// rerun that resumes from it, and a chain crashes a run
				// that is itself recovering, at a fraction of the runs of
				// a fresh database per kill. A point the chain's state has
				// already passed (the run finished without reaching it)
				// starts a fresh chain.
				pending, chains := kills, 0
				defer func() { t.Logf("%d kills in %d chains", len(kills)-len(pending), chains) }()
				for len(pending) > 0 {
					chains++
					db := setup()
					before := snapshotCols(t, db, tc.untouched)
					var chain []string
					finished := false
					for len(pending) > 0 && !finished {
						point := points[pending[0]-1]
						out, err := run(db, point+"#1")
						switch {
						case killed(err):
							chain = append(chain, point)
							hit[pointKind(point)] = true
							pending = pending[1:]
						case len(chain) == 0:
							t.Fatalf("kill at %s (failpoint %d): a fresh run was not killed: %v\n%s", point, pending[0], err, out)
						case err != nil:
							t.Fatalf("after kills at %s, the rerun to be killed at %s failed: %v\n%s", strings.Join(chain, ", "), point, err, out)
						default:
							finished = true // the plan is done: check it, then a fresh chain
						}
					}
					if !finished {
						if out, err := run(db, ""); err != nil {
							t.Fatalf("after kills at %s, the rerun failed: %v\n%s", strings.Join(chain, ", "), err, out)
						}
					}
					if after := snapshotCols(t, db, tc.untouched); fmt.Sprint(after) != fmt.Sprint(before) {
						t.Errorf("after kills at %s, untouched columns changed", strings.Join(chain, ", "))
					}
					tc.check(t, db, before)
					if t.Failed() {
						t.Fatalf("after kills at %s (of %d failpoints)", strings.Join(chain, ", "), len(points))
					}
				}
			})
		}
	}
}

// gatesOfLaterCase is, for a case that is not its playbook's first in
// crashCases, the playbook's gates whose only work is to record their
// confirmation (not switch-writes' catch-up, nor stop-old-writes' NOT NULL
// move); for the first, none.
func gatesOfLaterCase(tc crashCase) map[string]bool {
	p, err := phases.Parse("plan.yaml", []byte(tc.plan))
	if err != nil {
		return nil
	}
	for _, other := range crashCases {
		if o, err := phases.Parse("plan.yaml", []byte(other.plan)); err == nil && o.Playbook == p.Playbook {
			if other.name == tc.name {
				return nil
			}
			break
		}
	}
	gates := map[string]bool{}
	for _, ph := range p.PlaybookDef().Phases {
		if ph.Gate && ph.Batches == phases.NoBatches && !ph.MovesNotNull {
			gates[ph.ID] = true
		}
	}
	return gates
}

func ownGates(plan string, confirms []string) []string {
	p, err := phases.Parse("plan.yaml", []byte(plan))
	if err != nil {
		return confirms
	}
	var out []string
	for i := 0; i+1 < len(confirms); i += 2 {
		if _, has := p.PlaybookDef().Phase(confirms[i+1]); has {
			out = append(out, "--confirm", confirms[i+1])
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
	os.WriteFile(plan, []byte(addColumnCrashPlan), 0o644)
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
