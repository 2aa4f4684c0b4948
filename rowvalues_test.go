package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// Plans whose phases make each database quote a row's value in an error:
// a UNIQUE whose build meets a duplicate and whose proof writes one (MySQL:
// Duplicate entry '…'), a backfill that casts a row's text to an integer
// (PostgreSQL: invalid input syntax "…"; MySQL: Truncated incorrect
// INTEGER value '…'), and a CHECK whose proof is refused (SQLite's CHECK
// constraint failed, once with its extended code (275)).
const (
	rowUniquePlan = `name: accounts-email
playbook: tighten-constraint
table: accounts
constraint: {name: accounts_email_key, unique: [email]}
clean:
  set:
    email: {postgres: "email || '-' || id", sqlite: "email || '-' || id", mysql: "CONCAT(email, '-', id)"}
`
	rowCastPlan = `name: accounts-num
playbook: add-column
table: accounts
column: num
type: {postgres: integer, mysql: int, sqlite: integer}
backfill: {postgres: "CAST(code AS integer)", mysql: "CAST(code AS SIGNED)", sqlite: "CAST(code AS integer)"}
`
	rowCheckPlan = `name: accounts-amount
playbook: tighten-constraint
table: accounts
constraint: {name: accounts_amount_positive, check: "amount > 0"}
`
)

// TestNoRowValuesOut: the values a database quotes in its errors (copied
// production data) reach neither the operator's output, text or JSON, nor
// shepherd's tables; what the operator needs of the error (which
// constraint, which column, the database's reason) is still said.
func TestNoRowValuesOut(t *testing.T) {
	bin := shepherdBinary(t)
	for _, dialect := range testdb.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			db := testdb.New(t, dialect)
			db.Exec(`CREATE TABLE accounts (id integer PRIMARY KEY, email varchar(200) NOT NULL, code varchar(40) NOT NULL, amount integer NOT NULL)`)
			for i := 1; i <= 6; i++ {
				// Rows 4..6 repeat the emails of rows 1..3.
				db.Exec(fmt.Sprintf(`INSERT INTO accounts (id, email, code, amount) VALUES (%d, 'Row-Value-Zq81-%d@example.com', 'Row-Value-Code-%d', %d)`, i, (i-1)%3+1, i, i))
			}
			dir := t.TempDir()
			for name, text := range map[string]string{"unique.yaml": rowUniquePlan, "cast.yaml": rowCastPlan, "check.yaml": rowCheckPlan} {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var all bytes.Buffer
			shep := func(want int, args ...string) string {
				t.Helper()
				cmd := exec.Command(bin, append(args, "--db", db.DSN)...)
				cmd.Dir = dir
				out, err := cmd.CombinedOutput()
				all.Write(out)
				if got := exitOf(err); got != want {
					t.Errorf("shepherd %s: exit %d, want %d\n%s", strings.Join(args, " "), got, want, out)
				}
				return string(out)
			}
			shep(0, "run", "unique.yaml", "--non-interactive", "--confirm", "validate-in-app", "--until", "clean")
			// A duplicate arrives before add-constraint: it fails, counting
			// the rows, and the rerun cleans them again, then proves the
			// constraint by writing a duplicate, which the database refuses.
			db.Exec(`INSERT INTO accounts (id, email, code, amount) VALUES (100, 'Row-Value-Zq81-1@example.com', 'Row-Value-Code-100', 100)`)
			shep(1, "run", "unique.yaml", "--non-interactive", "--output", "json")
			proof := shep(0, "run", "unique.yaml", "--non-interactive")
			if dialect == "mysql" && !strings.Contains(proof, `Duplicate entry '…' for key 'accounts_email_key'`) {
				t.Errorf("the proof does not say what MySQL refused:\n%s", proof)
			}
			// The backfill casts a row's text to an integer.
			backfill := shep(map[string]int{"sqlite": 3}[dialect]|map[string]int{"postgres": 1, "mysql": 1}[dialect],
				"run", "cast.yaml", "--non-interactive", "--confirm", "deploy-readers")
			if dialect == "postgres" && !strings.Contains(backfill, `invalid input syntax for type integer: "…"`) {
				t.Errorf("the backfill's failure does not say what PostgreSQL refused:\n%s", backfill)
			}
			if dialect != "sqlite" {
				shep(1, "run", "cast.yaml", "--non-interactive", "--output", "json")
			}
			checkArgs := []string{"run", "check.yaml", "--non-interactive", "--confirm", "validate-in-app", "--output", "json"}
			if dialect == "mysql" { // MySQL adds a CHECK by copying the table
				checkArgs = append(checkArgs, "--allow-lock", "shared")
			}
			if backfillCopies(t, dialect) {
				// The failed backfill left its copy of accounts, whose
				// triggers keep the check's plan off the table until the
				// copy is rolled back (or finished).
				if out := shep(2, checkArgs...); !strings.Contains(out, "plan accounts-num's backfill") {
					t.Errorf("the check's run does not name the copy in its way:\n%s", out)
				}
				shep(0, "rollback", "cast.yaml", "--non-interactive")
			}
			check := shep(0, checkArgs...)
			if dialect == "sqlite" && !strings.Contains(check, "CHECK constraint failed: accounts_amount_positive (rolled back)") {
				t.Errorf("the CHECK proof does not say SQLite's refusal cleanly:\n%s", check)
			}
			shep(0, "status", "--log")
			shep(0, "status", "--json")
			for _, leak := range []string{"Row-Value", "Zq81", "(275)"} {
				if strings.Contains(all.String(), leak) {
					t.Errorf("the output shows %q:\n%s", leak, all.String())
				}
			}
			for _, table := range []string{stateTable(dialect), logTable(dialect)} {
				for _, row := range db.Query(`SELECT * FROM ` + table) {
					if strings.Contains(strings.Join(row, " "), "Row-Value") {
						t.Errorf("%s holds a row's value: %v", table, row)
					}
				}
			}
		})
	}
}
