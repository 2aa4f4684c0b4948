package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// The fleet tests: one plan across several databases of every dialect
// there is a server for, through --fleet FILE.

const fleetPassword = "Fleet-pw-7f3a9c"

// fleetDBs makes n fresh databases per dialect available, each seeded with
// rows users.
func fleetDBs(t *testing.T, n, rows int) []*testdb.DB {
	t.Helper()
	var dbs []*testdb.DB
	for _, dialect := range []string{"postgres", "mysql", "sqlite"} {
		if ok, _ := testdb.Available(dialect); !ok {
			continue
		}
		for range n {
			db := testdb.New(t, dialect)
			db.Seed(rows)
			dbs = append(dbs, db)
		}
	}
	return dbs
}

// fleetCmd runs shepherd in-process.
func fleetCmd(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// fleetLines reads --output json's lines.
func fleetLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not a JSON line: %q: %v", l, err)
		}
		lines = append(lines, m)
	}
	return lines
}

// outcomes are the fleet event's outcome per target ("waiting deploy-readers").
func outcomes(t *testing.T, lines []map[string]any) map[string]string {
	t.Helper()
	var last map[string]any
	for _, l := range lines {
		if l["event"] == "fleet" {
			last = l
		}
	}
	if last == nil {
		t.Fatalf("no line is the fleet's summary: %v", lines)
	}
	out := map[string]string{}
	for _, r := range last["targets"].([]any) {
		m := r.(map[string]any)
		phase, _ := m["phase"].(string)
		out[m["target"].(string)] = strings.TrimSpace(fmt.Sprint(m["outcome"], " ", phase))
	}
	return out
}

// TestFleetAcrossDialects walks the add-column playbook across a fleet of
// PostgreSQL, MariaDB and SQLite databases: the canary group first, every
// target to the first gate (exit 3), then both gates confirmed once for the
// fleet, to the end. A MariaDB target reaches its database with a user
// whose password comes from the environment: it is in no output.
func TestFleetAcrossDialects(t *testing.T) {
	dbs := fleetDBs(t, 2, 300)
	t.Logf("a fleet of %d databases", len(dbs))
	t.Setenv("FLEET_TEST_PW", fleetPassword)
	dir := t.TempDir()
	var spec strings.Builder
	spec.WriteString("concurrency: 3\ngroups: [canary, rest]\ntargets:\n")
	for i, db := range dbs {
		dsn := db.DSN
		if db.Dialect == "mysql" && i%2 == 1 {
			u, _ := url.Parse(db.DSN)
			name := strings.TrimPrefix(u.Path, "/")
			user := makeUser(t, db, name, fleetPassword)
			dsn = fmt.Sprintf("mysql://%s:${FLEET_TEST_PW}@%s/%s", user, u.Host, name)
		}
		group := "rest"
		if i == len(dbs)-1 {
			group = "canary" // an SQLite database: always there
		}
		fmt.Fprintf(&spec, "  - {name: t%d-%s, db: '%s', group: %s}\n", i, db.Dialect, dsn, group)
	}
	fleetFile := filepath.Join(dir, "fleet.yaml")
	os.WriteFile(fleetFile, []byte(spec.String()), 0o644)
	plan, _ := filepath.Abs("examples/users-email.yaml")
	canary := fmt.Sprintf("t%d-sqlite", len(dbs)-1)
	var all strings.Builder

	code, out, errOut := fleetCmd("run", plan, "--fleet", fleetFile, "--non-interactive", "-o", "json")
	all.WriteString(out + errOut)
	if code != 3 {
		t.Fatalf("first run: exit %d, want 3\n%s%s", code, out, errOut)
	}
	lines := fleetLines(t, out)
	lastCanary, firstRest := -1, len(lines)
	for i, l := range lines {
		switch target, _ := l["target"].(string); {
		case target == canary:
			lastCanary = i
		case target != "" && i < firstRest:
			firstRest = i
		}
	}
	if lastCanary < 0 || lastCanary > firstRest {
		t.Errorf("the canary group did not run first: its last line %d, the first of the rest %d", lastCanary, firstRest)
	}
	for name, o := range outcomes(t, lines) {
		if o != "waiting deploy-readers" {
			t.Errorf("%s: %s, want waiting at deploy-readers", name, o)
		}
	}

	code, out, errOut = fleetCmd("run", plan, "--fleet", fleetFile, "--non-interactive", "--confirm", "deploy-readers", "--confirm", "switch-writes")
	all.WriteString(out + errOut)
	if code != 0 {
		t.Fatalf("run with the gates confirmed: exit %d\n%s%s", code, out, errOut)
	}
	for _, db := range dbs {
		if n := db.One("SELECT count(*) FROM users WHERE email IS NULL"); n != "0" {
			t.Errorf("%s: %s rows without email", db.Dialect, n)
		}
		if e := db.One("SELECT email FROM users WHERE id = 7"); e != "user7@example.com" {
			t.Errorf("%s: row 7's email is %q", db.Dialect, e)
		}
	}
	// The fleet's status, and one target's on its own, tell the same truth.
	code, out, errOut = fleetCmd("status", "--fleet", fleetFile, "-o", "json")
	all.WriteString(out + errOut)
	var st struct {
		Targets []struct {
			Name  string
			Plans []struct {
				Name   string
				Phases []struct{ ID, Status string }
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil || code != 0 || len(st.Targets) != len(dbs) {
		t.Fatalf("status --fleet -o json: exit %d, %v\n%s", code, err, out)
	}
	for _, tg := range st.Targets {
		if len(tg.Plans) != 1 || len(tg.Plans[0].Phases) != 5 || tg.Plans[0].Phases[4].Status != "done" {
			t.Errorf("status of %s: %+v", tg.Name, tg.Plans)
		}
	}
	code, out, _ = fleetCmd("status", "--fleet", fleetFile)
	all.WriteString(out)
	if code != 0 || strings.Count(out, "done        done") < len(dbs) {
		t.Errorf("status --fleet's matrix:\n%s", out)
	}
	code, out, _ = fleetCmd("status", "users-email", "--db", dbs[0].DSN)
	if code != 0 || !strings.Contains(out, "enforce") {
		t.Errorf("status --db of one target: exit %d\n%s", code, out)
	}
	code, out, errOut = fleetCmd("ready", plan, "--fleet", fleetFile, "--phase", "enforce")
	all.WriteString(out + errOut)
	if code != 0 || !strings.Contains(out, fmt.Sprintf("on every target (%d)", len(dbs))) {
		t.Errorf("ready --fleet: exit %d\n%s%s", code, out, errOut)
	}
	if strings.Contains(all.String(), fleetPassword) {
		t.Errorf("a password is in the output:\n%s", all.String())
	}
}

// sqliteFleet writes a fleet file of SQLite databases; bad ones have no
// users table, so that the plan fails there.
func sqliteFleet(t *testing.T, head string, names []string, bad map[string]bool, group func(string) string) (string, map[string]*testdb.DB) {
	t.Helper()
	dir := t.TempDir()
	dbs := map[string]*testdb.DB{}
	spec := head + "targets:\n"
	for _, n := range names {
		db := testdb.New(t, "sqlite")
		if !bad[n] {
			db.Seed(50)
		}
		dbs[n] = db
		spec += fmt.Sprintf("  - {name: %s, db: '%s', group: %s}\n", n, db.DSN, group(n))
	}
	file := filepath.Join(dir, "fleet.yaml")
	os.WriteFile(file, []byte(spec), 0o644)
	return file, dbs
}

// TestFleetFailurePolicy: a canary that fails stops the fleet (the default)
// and nothing else is touched; with on_failure: continue the others go on,
// and the exit is 1 with the failure named.
func TestFleetFailurePolicy(t *testing.T) {
	plan, _ := filepath.Abs("examples/users-email.yaml")
	group := func(n string) string {
		if n == "canary" {
			return "canary"
		}
		return "rest"
	}
	names := []string{"canary", "a", "b"}
	for _, policy := range []string{"", "continue"} {
		t.Run("policy="+policy, func(t *testing.T) {
			head := "groups: [canary, rest]\n"
			if policy != "" {
				head += "on_failure: " + policy + "\n"
			}
			file, dbs := sqliteFleet(t, head, names, map[string]bool{"canary": true}, group)
			code, out, errOut := fleetCmd("run", plan, "--fleet", file, "--non-interactive", "-o", "json")
			if code != 1 || !strings.Contains(errOut, "1 of 3 targets failed: canary") {
				t.Fatalf("exit %d, want 1 naming canary\n%s%s", code, out, errOut)
			}
			got := outcomes(t, fleetLines(t, out))
			want := "skipped"
			if policy == "continue" {
				want = "waiting deploy-readers"
			}
			if !strings.HasPrefix(got["canary"], "failed") || got["a"] != want || got["b"] != want {
				t.Errorf("outcomes %v, want canary failed and the rest %s", got, want)
			}
			for _, n := range []string{"a", "b"} {
				has := dbs[n].One("SELECT count(*) FROM pragma_table_info('users') WHERE name = 'email'")
				if (policy == "" && has != "0") || (policy == "continue" && has != "1") {
					t.Errorf("%s has the email column: %s", n, has)
				}
			}
		})
	}
}

// TestFleetGateHoldsForTheWholeFleet: a target confirmed on its own does not
// pass a gate the rest of the fleet has not reached; a fleet run brings
// those to the gate first, then passes it everywhere.
func TestFleetGateHoldsForTheWholeFleet(t *testing.T) {
	plan, _ := filepath.Abs("examples/users-email.yaml")
	file, _ := sqliteFleet(t, "concurrency: 2\n", []string{"a", "b", "c"}, nil, func(string) string { return "" })
	if code, out, errOut := fleetCmd("run", plan, "--fleet", file, "--target", "a", "--non-interactive"); code != 3 {
		t.Fatalf("a to its gate: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ := fleetCmd("run", plan, "--fleet", file, "--target", "a", "--non-interactive", "--confirm", "deploy-readers")
	if code != 3 || !strings.Contains(out, "--confirm deploy-readers: not passed") || !strings.Contains(out, "b and c") {
		t.Fatalf("a alone passed the fleet's gate: exit %d\n%s", code, out)
	}
	code, out, _ = fleetCmd("run", plan, "--fleet", file, "--non-interactive", "--confirm", "deploy-readers", "-o", "json")
	if code != 3 {
		t.Fatalf("the fleet: exit %d\n%s", code, out)
	}
	for name, o := range outcomes(t, fleetLines(t, out)) {
		if o != "waiting switch-writes" {
			t.Errorf("%s: %s, want waiting at switch-writes", name, o)
		}
	}
	// A rollback of the fleet reverts each target's last reversible phase.
	code, out, _ = fleetCmd("rollback", plan, "--fleet", file, "--non-interactive", "-o", "json")
	if code != 0 {
		t.Fatalf("rollback --fleet: exit %d\n%s", code, out)
	}
	for name, o := range outcomes(t, fleetLines(t, out)) {
		if o != "rolled-back backfill" {
			t.Errorf("%s: %s, want the backfill rolled back", name, o)
		}
	}
}
