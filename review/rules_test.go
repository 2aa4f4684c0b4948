package review

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shepherd-db/shepherd/internal/testdb"
	"github.com/shepherd-db/shepherd/phases"
)

// ruleCase is one check of squawk's or strong_migrations' list, as the
// migration a tool generates for it.
type ruleCase struct {
	rule string // squawk rule / strong_migrations check
	// format is the tool that wrote sql: drizzle (the default), goose,
	// migrate (golang-migrate) or plain.
	format string
	sql    string
	// want is each finding, as "check table"; none: a safe case.
	want []string
}

// writeMigrations writes baseline and change as the format's two files
// and returns the folder and the new file's name.
func writeMigrations(t *testing.T, format, baseline, change string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	switch format {
	case "", "drizzle":
		if err := os.MkdirAll(filepath.Join(dir, "meta"), 0o755); err != nil {
			t.Fatal(err)
		}
		write("0000_baseline.sql", baseline)
		write("0001_change.sql", change)
		write("meta/_journal.json", `{"version": "7", "dialect": "x", "entries": [
  {"idx": 0, "version": "7", "when": 1767225600000, "tag": "0000_baseline", "breakpoints": true},
  {"idx": 1, "version": "7", "when": 1767312000000, "tag": "0001_change", "breakpoints": true}]}`)
		return dir, "0001_change.sql"
	case "goose":
		write("00001_baseline.sql", "-- +goose Up\n"+baseline+"\n-- +goose Down\nSELECT 1;\n")
		write("00002_change.sql", "-- +goose Up\n"+change+"\n\n-- +goose Down\nSELECT 1;\n")
		return dir, "00002_change.sql"
	case "migrate":
		write("000001_baseline.up.sql", baseline)
		write("000001_baseline.down.sql", "SELECT 1;\n")
		write("000002_change.up.sql", change)
		write("000002_change.down.sql", "SELECT 1;\n")
		return dir, "000002_change.up.sql"
	case "plain":
		write("001_baseline.sql", baseline)
		write("002_change.sql", change)
		return dir, "002_change.sql"
	}
	t.Fatalf("no format %q", format)
	return "", ""
}

// runRules reviews each case against the target and says what it found;
// it fails on a missed or extra finding, and counts the false alarms the
// safe cases raise (the goal: none).
func runRules(t *testing.T, db *testdb.DB, baseline string, cases []ruleCase, opts Options) []*Report {
	t.Helper()
	var reps []*Report
	safe, alarms := 0, 0
	for _, c := range cases {
		dir, since := writeMigrations(t, c.format, baseline, c.sql)
		files, first, err := Read(dir, since)
		if err != nil {
			t.Fatalf("%s: %v", c.rule, err)
		}
		opts.DSN = db.DSN
		rep, err := Rehearse(context.Background(), opts, files, first)
		if err != nil {
			t.Errorf("%s: %v", c.rule, err)
			reps = append(reps, rep)
			continue
		}
		reps = append(reps, rep)
		var got []string
		for _, f := range rep.Findings {
			got = append(got, f.Check+" "+f.Table)
			t.Logf("%s: %s: %s\n    why: %s\n    safe: %s", c.rule, f.Check, f.Problem, f.Why, f.Safe)
		}
		if len(c.want) == 0 {
			safe++
			alarms += len(got)
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s (%s):\n got %v\nwant %v", c.rule, firstOf(c.format, "drizzle"), got, c.want)
			for _, f := range rep.Findings {
				t.Logf("  %s: %s (%s)", f.Check, f.Problem, f.Why)
			}
		}
	}
	t.Logf("%s: %d cases, %d safe, %d false alarms on the safe cases", db.Dialect, len(cases), safe, alarms)
	return reps
}

// findingOf is the first finding of a check in the reports.
func findingOf(reps []*Report, check string) *Finding {
	for _, r := range reps {
		if r == nil {
			continue
		}
		for i := range r.Findings {
			if r.Findings[i].Check == check {
				return &r.Findings[i]
			}
		}
	}
	return nil
}

// applyBaseline runs the baseline's statements on the target itself, so
// that it has the tables the migrations change.
func applyBaseline(t *testing.T, db *testdb.DB, baseline string) {
	t.Helper()
	for _, s := range Split(baseline) {
		if _, err := db.SQL.Exec(s.SQL); err != nil {
			t.Fatalf("baseline line %d on the target: %v", s.Line, err)
		}
	}
}

func hasAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// plansParse writes the plans of every finding of the reports and checks
// that each parses as a shepherd plan; it returns the playbooks written.
func plansParse(t *testing.T, reps []*Report) map[string]bool {
	t.Helper()
	var all []Finding
	for _, r := range reps {
		if r != nil {
			all = append(all, r.Findings...)
		}
	}
	wrote, err := WritePlans(t.TempDir(), all)
	if err != nil {
		t.Fatal(err)
	}
	playbooks := map[string]bool{}
	for _, p := range wrote {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		plan, err := phases.Parse(p, data)
		if err != nil {
			t.Errorf("%s does not parse: %v\n%s", filepath.Base(p), err, data)
			continue
		}
		playbooks[plan.Playbook] = true
	}
	return playbooks
}

// A target that cannot be reached fails the review saying so, without
// the DSN's password; an SQLite target that does not exist is not made.
func TestRehearseTargetErrors(t *testing.T) {
	files := []File{{Path: "x.sql", Name: "x.sql", Statements: []Statement{{SQL: "SELECT 1", Line: 1}}}}
	missing := filepath.Join(t.TempDir(), "missing.db")
	for _, c := range []struct{ dsn, want string }{
		{"postgres://shepherd:s3cr3t-pw@127.0.0.1:1/x?sslmode=disable&connect_timeout=2", "connect to the target"},
		{"mysql://shepherd:s3cr3t-pw@127.0.0.1:1/x", "connect to the target"},
		{"sqlite:" + missing, "missing.db"},
		{"oracle://x", "not one shepherd reads"},
	} {
		_, err := Rehearse(context.Background(), Options{DSN: c.dsn}, files, 0)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("%s: %v", strings.SplitN(c.dsn, ":", 2)[0], err)
		}
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("review made the missing SQLite target")
	}
}
