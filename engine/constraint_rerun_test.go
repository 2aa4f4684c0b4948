package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// slippedCase is a tighten-constraint plan and rows that break it, written
// after clean was done and before add-constraint (the application still
// writing them: validate-in-app is not deployed everywhere).
type slippedCase struct {
	name, constraint, clean string
	slipped, another        string // INSERTs of violating rows: before the first attempt, and after it failed
	fix                     string // an UPDATE that fixes every violating row by hand
	rows                    string // the rows once the plan is done, id:amount:email
}

var slippedCases = []slippedCase{
	{name: "check", constraint: `{name: orders_amount_positive, check: "amount > 0"}`, clean: `{set: {amount: "1"}}`,
		slipped: `INSERT INTO orders (id, amount, email) VALUES (10, -5, 'j'), (11, -7, 'k')`,
		another: `INSERT INTO orders (id, amount, email) VALUES (12, -9, 'l')`,
		fix:     `UPDATE orders SET amount = 1 WHERE amount <= 0`,
		rows:    "1:10:a 2:1:b 3:7:c 10:1:j 11:1:k 12:1:l"},
	{name: "unique", constraint: `{name: orders_email_key, unique: [email]}`, clean: `{set: {email: "NULL"}}`,
		slipped: `INSERT INTO orders (id, amount, email) VALUES (10, 5, 'a'), (11, 6, 'c')`,
		another: `INSERT INTO orders (id, amount, email) VALUES (12, 7, 'b')`,
		fix:     `UPDATE orders SET email = NULL WHERE id >= 10`,
		rows:    "1:10:a 2:1:b 3:7:c 10:5:NULL 11:6:NULL 12:7:NULL"},
	{name: "not_null", constraint: `{not_null: email}`, clean: `{set: {email: "'none'"}}`,
		slipped: `INSERT INTO orders (id, amount, email) VALUES (10, 5, NULL), (11, 6, NULL)`,
		another: `INSERT INTO orders (id, amount, email) VALUES (12, 7, NULL)`,
		fix:     `UPDATE orders SET email = 'none' WHERE email IS NULL`,
		rows:    "1:10:a 2:1:b 3:7:c 10:5:none 11:6:none 12:7:none"},
}

func slippedTable(db *testdb.DB) {
	db.Exec(`CREATE TABLE orders (id int NOT NULL PRIMARY KEY, amount int NOT NULL, email varchar(100));
INSERT INTO orders (id, amount, email) VALUES (1, 10, 'a'), (2, 1, 'b'), (3, 7, 'c')`)
}

func orderRows(db *testdb.DB) string {
	var out []string
	for _, r := range db.Query(`SELECT id, amount, coalesce(email, 'NULL') FROM orders ORDER BY id`) {
		out = append(out, strings.Join(r, ":"))
	}
	return strings.Join(out, " ")
}

// Rows that break the constraint, written after clean by an application
// that still writes them, make add-constraint fail (the database's own
// check, at the DDL, or shepherd's count before it): the failure says how
// many rows and which keys, and what to do, instead of the database's
// message; nothing of the constraint is left half there. A plain rerun
// (no rollback) with clean: in the plan cleans again what slipped in,
// saying how many, and adds the constraint. It used to fail the same way
// at every rerun (PostgreSQL CHECK and UNIQUE, MariaDB UNIQUE).
func TestAddConstraintAfterRowsSlippedIn(t *testing.T) {
	for _, c := range slippedCases {
		t.Run(c.name, func(t *testing.T) {
			forEachDialect(t, func(t *testing.T, db *testdb.DB) {
				slippedTable(db)
				ctx := context.Background()
				plan := mustPlan(t, fmt.Sprintf("name: orders-tighten\nplaybook: tighten-constraint\ntable: orders\nconstraint: %s\nclean: %s\n", c.constraint, c.clean))
				// A MySQL CHECK copies the table: the test allows the lock it needs.
				s, _ := session(t, db, plan, Options{AllowLock: "shared"})
				if err := runTo(t, s, "validate-in-app", "clean"); err != nil {
					t.Fatalf("clean: %v", err)
				}
				db.Exec(c.slipped)
				err := s.RunPhase(ctx, "add-constraint")
				var ve *VerifyError
				if !errors.As(err, &ve) {
					t.Fatalf("add-constraint with rows written after clean: got %v (%T), want a verification failure with the count", err, err)
				}
				if ve.Count != 2 || fmt.Sprint(ve.Sample) != "[10 11]" {
					t.Errorf("the failure counts %d rows, keys %v; want 2 rows, keys 10, 11:\n%v", ve.Count, ve.Sample, err)
				}
				for _, want := range []string{"written after clean", "rerun", "cleans them again"} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("the failure does not say %q:\n%v", want, err)
					}
				}
				if got := s.st("add-constraint").Status; got != "failed" {
					t.Errorf("add-constraint is %s, want failed", got)
				}
				// Nothing of the constraint is left: another violating row goes in.
				if err := db.ExecE(c.another); err != nil {
					t.Fatalf("a violating write after the failed add-constraint was refused (a half-added constraint is left): %v", err)
				}
				// The rerun, without a rollback, cleans again and adds it.
				if err := s.RunPhase(ctx, "add-constraint"); err != nil {
					t.Fatalf("rerun of add-constraint: %v", err)
				}
				if got := s.st("add-constraint").Detail; !strings.Contains(got, "3 rows written after clean were cleaned again") || !strings.Contains(got, "is in force") {
					t.Errorf("add-constraint's detail: %s", got)
				}
				if err := s.RunPhase(ctx, "verify-failure-path"); err != nil {
					t.Fatalf("verify-failure-path: %v", err)
				}
				if got := orderRows(db); got != c.rows {
					t.Errorf("rows:\n got %s\nwant %s", got, c.rows)
				}
				if err := db.ExecE(strings.ReplaceAll(c.another, "12", "13")); err == nil {
					t.Errorf("the constraint is not in force: a violating write went in")
				}
			})
		})
	}
}

// Without clean: in the plan, the failure says to fix the rows and that a
// rerun then adds the constraint; it does.
func TestAddConstraintAfterRowsSlippedInWithoutClean(t *testing.T) {
	for _, c := range slippedCases {
		t.Run(c.name, func(t *testing.T) {
			forEachDialect(t, func(t *testing.T, db *testdb.DB) {
				slippedTable(db)
				ctx := context.Background()
				plan := mustPlan(t, fmt.Sprintf("name: orders-tighten\nplaybook: tighten-constraint\ntable: orders\nconstraint: %s\n", c.constraint))
				s, _ := session(t, db, plan, Options{AllowLock: "shared"})
				if err := runTo(t, s, "validate-in-app", "clean"); err != nil {
					t.Fatalf("clean: %v", err)
				}
				db.Exec(c.slipped)
				err := s.RunPhase(ctx, "add-constraint")
				var ve *VerifyError
				if !errors.As(err, &ve) || ve.Count != 2 || fmt.Sprint(ve.Sample) != "[10 11]" {
					t.Fatalf("add-constraint with rows written after clean: got %v, want a verification failure counting 2 rows, keys 10, 11", err)
				}
				for _, want := range []string{"written after clean", "fix them", "then rerun"} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("the failure does not say %q:\n%v", want, err)
					}
				}
				// The same failure again while the rows are there.
				if err := s.RunPhase(ctx, "add-constraint"); !errors.As(err, &ve) || ve.Count != 2 {
					t.Fatalf("rerun with the rows still there: %v", err)
				}
				db.Exec(c.fix)
				if err := s.RunPhase(ctx, "add-constraint"); err != nil {
					t.Fatalf("rerun after the fix: %v", err)
				}
				if err := db.ExecE(c.another); err == nil {
					t.Errorf("the constraint is not in force: a violating write went in")
				}
			})
		})
	}
}
