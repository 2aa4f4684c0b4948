package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// Expressions and types are checked before anything changes: an
// expression that is not one value of one row (issue 12: `username,
// '@example.com'` became a row value written into every row on
// PostgreSQL), an expression of a type its column does not take, and a
// type the server does not know (issue 13: `type: txet`) stop `run` and
// `plan --db` with exit 2, with no column added and no shepherd table
// created.

// notScalar are the forms that are not one value of one row, over
// the accounts table below.
var notScalar = []string{
	"*",
	"accounts.*",
	"username AS e",
	"username e",
	"DISTINCT username",
	"max(username)",
	"count(*) over ()",
	"username, score",
	"username, '@example.com'",
	"username UNION SELECT username FROM accounts",
}

// exprPlans are plans over accounts with one expression field each: %s is
// the expression, as a YAML double-quoted scalar.
var exprPlans = []struct{ field, plan string }{
	{"backfill", `name: accounts-email
playbook: add-column
table: accounts
column: email
type: {postgres: text, mysql: varchar(200), sqlite: text}
backfill: %s
`},
	{"clean.set.username", `name: accounts-username-short
playbook: tighten-constraint
table: accounts
constraint: {name: accounts_username_short, check: "length(username) < 50"}
clean:
  set:
    username: %s
`},
	{"constraint.violating.username", `name: accounts-username-short
playbook: tighten-constraint
table: accounts
constraint:
  name: accounts_username_short
  check: "length(username) < 50"
  violating:
    username: %s
`},
}

const accountsTable = `CREATE TABLE accounts (id integer PRIMARY KEY, username varchar(100) NOT NULL, score integer NOT NULL);
INSERT INTO accounts (id, username, score) VALUES (1, 'alice', 5), (2, 'bob', -3)`

// yamlQuote writes s as a YAML double-quoted scalar (a JSON string is one).
func yamlQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// shepherdIn runs the command in-process against db, with the plan text
// written to a file of its own.
func shepherdIn(t *testing.T, db *testdb.DB, planText string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	dir := t.TempDir()
	plan := filepath.Join(dir, "plan.yaml")
	if err := os.WriteFile(plan, []byte(planText), 0o644); err != nil {
		t.Fatal(err)
	}
	full := append([]string{args[0], plan}, args[1:]...)
	full = append(full, "--db", db.DSN)
	var out, errOut bytes.Buffer
	code = run(context.Background(), full, &out, &errOut)
	return code, out.String(), errOut.String()
}

// nothingCreated checks that accounts has its three columns and its rows,
// and that no shepherd table exists.
func nothingCreated(t *testing.T, db *testdb.DB) {
	t.Helper()
	var cols, shepherd string
	switch db.Dialect {
	case "postgres":
		cols = db.One(`SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'accounts'`)
		shepherd = db.One(`SELECT count(*) FROM pg_catalog.pg_namespace WHERE nspname = 'shepherd'`) + "/" +
			db.One(`SELECT count(*) FROM pg_catalog.pg_class WHERE relname LIKE 'shepherd%'`)
	case "mysql":
		cols = db.One(`SELECT group_concat(column_name ORDER BY ordinal_position) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'accounts'`)
		shepherd = db.One(`SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE 'shepherd%'`)
	case "sqlite":
		cols = db.One(`SELECT group_concat(name, ',') FROM pragma_table_info('accounts')`)
		shepherd = db.One(`SELECT count(*) FROM sqlite_schema WHERE name LIKE 'shepherd%'`)
	}
	if cols != "id,username,score" {
		t.Errorf("accounts has columns %s, want id,username,score", cols)
	}
	if shepherd != "0" && shepherd != "0/0" {
		t.Errorf("shepherd objects exist (%s): a refused plan must create none", shepherd)
	}
	if rows := db.Query(`SELECT id, username, score FROM accounts ORDER BY id`); len(rows) != 2 || rows[0][1] != "alice" || rows[1][2] != "-3" {
		t.Errorf("accounts' rows changed: %v", rows)
	}
}

// refused runs `run` and `plan --db` on a plan: both must exit 2 naming
// the field at its line in the plan file, with the text want.
func refused(t *testing.T, db *testdb.DB, planText, field string, want *regexp.Regexp) {
	t.Helper()
	for _, args := range [][]string{{"run", "--non-interactive"}, {"plan"}} {
		code, out, errOut := shepherdIn(t, db, planText, args...)
		if code != 2 {
			t.Errorf("shepherd %s: exit %d, want 2\nstdout: %s\nstderr: %s", args[0], code, out, errOut)
			continue
		}
		if !regexp.MustCompile(`plan\.yaml:\d+: ` + regexp.QuoteMeta(field) + `: `).MatchString(errOut) {
			t.Errorf("shepherd %s: the error does not name plan.yaml:LINE: %s:\n%s", args[0], field, errOut)
		}
		if !want.MatchString(errOut) {
			t.Errorf("shepherd %s: the error does not say /%s/:\n%s", args[0], want, errOut)
		}
	}
}

func TestExpressionsAreOneValueOfTheColumnsType(t *testing.T) {
	for _, dialect := range testdb.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			db := testdb.New(t, dialect)
			db.Exec(accountsTable)

			// Each of the forms, in each field that becomes a
			// column's value.
			for _, p := range exprPlans {
				for _, form := range notScalar {
					t.Run(p.field+"/"+form, func(t *testing.T) {
						refused(t, db, strings.Replace(p.plan, "%s", yamlQuote(form), 1), p.field, regexp.MustCompile(`not one value|every column|alias|aggregate|window|DISTINCT|UNION`))
					})
				}
			}

			// An expression of a type the column does not take: the
			// server says so where it can tell before a row is written
			// (SQLite stores any value in any column).
			mismatched := []struct{ name, field, plan string }{
				{"text into a new integer column", "backfill", `name: accounts-rank
playbook: add-column
table: accounts
column: rank
type: integer
backfill: "username"
`},
				{"text into an integer column", "clean.set.score", `name: accounts-score-positive
playbook: tighten-constraint
table: accounts
constraint: {name: accounts_score_positive, check: "score > 0"}
clean: {set: {score: "username"}}
`},
			}
			for _, m := range mismatched {
				t.Run(m.name, func(t *testing.T) {
					if dialect == "sqlite" {
						code, out, errOut := shepherdIn(t, db, m.plan, "plan")
						if code != 0 {
							t.Errorf("SQLite is dynamically typed: plan --db exit %d, want 0\n%s%s", code, out, errOut)
						}
						return
					}
					refused(t, db, m.plan, m.field, regexp.MustCompile(`(?i)integer|int`))
				})
			}

			// A type the server does not know.
			txet := `name: accounts-email
playbook: add-column
table: accounts
column: email
type: txet
backfill: "username"
`
			if dialect != "sqlite" {
				t.Run("type txet", func(t *testing.T) {
					refused(t, db, txet, "type", regexp.MustCompile(`txet`))
				})
			}

			// MySQL reads || as OR: the backfill would write 0 or 1.
			pipes := `name: accounts-email
playbook: add-column
table: accounts
column: email
type: {postgres: text, mysql: varchar(200), sqlite: text}
backfill: "lower(username) || '@example.com'"
`
			t.Run("||", func(t *testing.T) {
				if dialect == "mysql" {
					refused(t, db, pipes, "backfill", regexp.MustCompile(`\|\| is logical OR`))
					return
				}
				if code, out, errOut := shepherdIn(t, db, pipes, "plan"); code != 0 {
					t.Errorf("plan --db: exit %d, want 0\n%s%s", code, out, errOut)
				}
			})

			nothingCreated(t, db)

			// Good expressions and types pass (plan --db writes nothing).
			good := []struct{ name, plan string }{
				{"concatenation", `name: accounts-email
playbook: add-column
table: accounts
column: email
type: {postgres: text, mysql: varchar(200), sqlite: text}
backfill: {postgres: "lower(username) || '@example.com'", mysql: "concat(lower(username), '@example.com')", sqlite: "lower(username) || '@example.com'"}
`},
				{"CASE", `name: accounts-kind
playbook: add-column
table: accounts
column: kind
type: varchar(255)
backfill: "CASE WHEN score > 0 THEN 'positive' ELSE 'other' END"
`},
				{"coalesce", `name: accounts-kind
playbook: add-column
table: accounts
column: kind
type: varchar(255)
backfill: "coalesce(username, 'none')"
`},
				{"scalar subquery", `name: accounts-kind
playbook: add-column
table: accounts
column: kind
type: varchar(255)
backfill: "(SELECT max(a2.username) FROM accounts a2 WHERE a2.id < accounts.id)"
`},
				{"numeric(10,2)", `name: accounts-balance
playbook: add-column
table: accounts
column: balance
type: numeric(10,2)
backfill: "score * 1.5"
`},
				{"clean and violating", `name: accounts-score-positive
playbook: tighten-constraint
table: accounts
constraint:
  name: accounts_score_positive
  check: "score > 0"
  violating: {score: "-1"}
clean: {set: {score: "abs(score) + 1"}}
`},
			}
			for _, g := range good {
				t.Run("good/"+g.name, func(t *testing.T) {
					if code, out, errOut := shepherdIn(t, db, g.plan, "plan"); code != 0 {
						t.Errorf("plan --db: exit %d, want 0\n%s%s", code, out, errOut)
					}
				})
			}
			nothingCreated(t, db)

			// One good plan runs: add-column, with the type as given.
			code, out, errOut := shepherdIn(t, db, good[4].plan, "run", "--non-interactive")
			if code != 3 {
				t.Fatalf("run: exit %d, want 3 (stopped at deploy-readers)\n%s%s", code, out, errOut)
			}
			if _, err := db.QueryE(`SELECT balance FROM accounts`); err != nil {
				t.Errorf("the column was not added: %v", err)
			}

			// SQLite takes any type name: shepherd checks its shape and
			// warns about one with no affinity word, then runs it.
			if dialect == "sqlite" {
				code, out, errOut := shepherdIn(t, db, txet, "run", "--non-interactive")
				if code != 3 {
					t.Fatalf("sqlite type txet: exit %d, want 3\n%s%s", code, out, errOut)
				}
				if !strings.Contains(out+errOut, `warning: type: SQLite gives "txet" NUMERIC affinity`) {
					t.Errorf("no warning about txet's affinity:\n%s%s", out, errOut)
				}
			}
		})
	}
}
