package engine

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

const amountPositivePlan = `name: orders-amount
playbook: tighten-constraint
table: orders
constraint: {name: orders_amount_positive, check: "amount > 0"}
`

// replaceCheck puts a CHECK named orders_amount_positive with expr on
// orders in place of any constraint of that name, by hand (SQLite: a
// rebuild, as an operator would do it).
func replaceCheck(t *testing.T, db *testdb.DB, expr string) {
	t.Helper()
	if db.Dialect == "sqlite" {
		db.Exec(`CREATE TABLE orders_new (id int NOT NULL PRIMARY KEY, amount int NOT NULL, CONSTRAINT orders_amount_positive CHECK (` + expr + `));
INSERT INTO orders_new (id, amount) SELECT id, amount FROM orders;
DROP TABLE orders;
ALTER TABLE orders_new RENAME TO orders`)
		return
	}
	_ = db.ExecE(`ALTER TABLE orders DROP CONSTRAINT orders_amount_positive`)
	db.Exec(`ALTER TABLE orders ADD CONSTRAINT orders_amount_positive CHECK (` + expr + `)`)
}

// A CHECK of the plan's name but weaker (amount > -100 for the plan's
// amount > 0) is not the plan's constraint: verify-failure-path used to
// write a value both refuse (-1000000000) and report done. The catalog's
// definition is compared with the plan's, as the database normalises
// both, before the proof and when add-constraint finds the constraint
// already there: a mismatch fails, naming both and what to do.
func TestWeakerConstraintOfThePlansNameIsRefused(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		db.Exec(`CREATE TABLE orders (id int NOT NULL PRIMARY KEY, amount int NOT NULL)`)
		db.Exec(`INSERT INTO orders (id, amount) VALUES (1, 10), (2, 5)`)
		ctx := context.Background()
		s, _ := session(t, db, mustPlan(t, amountPositivePlan), Options{AllowLock: "shared"})
		if err := runTo(t, s, "validate-in-app", "clean", "add-constraint"); err != nil {
			t.Fatalf("add-constraint: %v", err)
		}
		replaceCheck(t, db, "amount > -100")
		err := s.RunPhase(ctx, "verify-failure-path")
		var ve *VerifyError
		if !errors.As(err, &ve) {
			t.Fatalf("verify-failure-path with a weaker CHECK of the plan's name: got %v, want a verification failure", err)
		}
		for _, want := range []string{"orders_amount_positive", "-100", "amount > 0", "is not the plan's", "drop"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("the failure does not say %q:\n%v", want, err)
			}
		}
		if got := s.st("verify-failure-path").Status; got != "failed" {
			t.Errorf("verify-failure-path is %s, want failed", got)
		}
		// The same CHECK, spaced and parenthesised otherwise, is the plan's.
		replaceCheck(t, db, "(amount>0)")
		if err := s.RunPhase(ctx, "verify-failure-path"); err != nil {
			t.Errorf("verify-failure-path with the plan's CHECK written differently: %v", err)
		}
	})
}

// add-constraint skips the DDL when a constraint of the plan's name is
// already there (a rerun after a crash, MySQL's applied probe): one that
// is not the plan's is refused, not adopted.
func TestWeakerConstraintIsNotAdopted(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		db.Exec(`CREATE TABLE orders (id int NOT NULL PRIMARY KEY, amount int NOT NULL)`)
		db.Exec(`INSERT INTO orders (id, amount) VALUES (1, 10), (2, 5)`)
		ctx := context.Background()
		s, _ := session(t, db, mustPlan(t, amountPositivePlan), Options{AllowLock: "shared"})
		if err := runTo(t, s, "validate-in-app", "clean"); err != nil {
			t.Fatalf("clean: %v", err)
		}
		// add-constraint fails once (a row slipped in), so that its rerun
		// takes a constraint of its name for its own attempt's.
		db.Exec(`INSERT INTO orders (id, amount) VALUES (3, -5)`)
		if err := s.RunPhase(ctx, "add-constraint"); err == nil {
			t.Fatal("add-constraint with a violating row went through")
		}
		db.Exec(`DELETE FROM orders WHERE id = 3`)
		replaceCheck(t, db, "amount > -100")
		err := s.RunPhase(ctx, "add-constraint")
		var ve *VerifyError
		if !errors.As(err, &ve) {
			t.Fatalf("add-constraint with a weaker CHECK of the plan's name there: got %v, want a verification failure", err)
		}
		for _, want := range []string{"-100", "amount > 0", "is not the plan's"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("the failure does not say %q:\n%v", want, err)
			}
		}
		// Not the plan's, so not shepherd's to drop: it stays.
		if err := db.ExecE(`INSERT INTO orders (id, amount) VALUES (4, -200)`); err == nil {
			t.Error("the weaker constraint was dropped")
		}
	})
}

// The proof's violating value is on the boundary of the plan's CHECK: for
// amount > 0, 0, which a weaker constraint (amount > -100) would accept;
// it used to be -1 or -1000000000.
func TestProofValueIsOnTheBoundary(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		db.Exec(`CREATE TABLE orders (id int NOT NULL PRIMARY KEY, amount int NOT NULL)`)
		db.Exec(`INSERT INTO orders (id, amount) VALUES (1, 10), (2, 5)`)
		s, rec := session(t, db, mustPlan(t, amountPositivePlan), Options{AllowLock: "shared"})
		if err := runTo(t, s, tightenPhases...); err != nil {
			t.Fatalf("verify-failure-path: %v", err)
		}
		steps := rec.steps("verify-failure-path")
		if len(steps) == 0 || !regexp.MustCompile(`SET .amount. = \(0\) WHERE`).MatchString(steps[0].SQL) {
			t.Errorf("the proof's first write is not amount = 0: %+v", steps)
		}
		if !strings.HasPrefix(s.st("verify-failure-path").Detail, "a violating write was rejected by orders_amount_positive") {
			t.Errorf("verify-failure-path: %s", s.st("verify-failure-path").Detail)
		}
		// A weaker constraint would accept that value: the proof tells
		// them apart.
		replaceCheck(t, db, "amount > -100")
		if err := db.ExecE(`UPDATE orders SET amount = 0 WHERE id = 1`); err != nil {
			t.Errorf("amount > -100 refuses 0: %v", err)
		}
	})
}

// The numbers of a CHECK and their neighbours are the proof's boundary
// candidates; the database then keeps those that violate the check, the
// nearest to a satisfying one first (TestProofValueIsOnTheBoundary).
func TestBoundaryCandidates(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ check, want string }{
		{"amount > 0", "0 -1 1"},
		{"amount BETWEEN 1 AND 100", "1 0 2 100 99 101"},
		{"amount >= -5", "-5 -6 -4"},
		{"(amount - 3) > 0", "3 2 4 0 -1 1"},
		{"price > 0.5", "0.5 -0.5 1.5"},
		{"status IN ('a', 'b')", ""},
		{"amount > 0", "0 -1 1"},
	} {
		if got := strings.Join(boundaryCandidates(c.check), " "); got != c.want {
			t.Errorf("%s: candidates %q, want %q", c.check, got, c.want)
		}
	}
}

// A foreign key of the plan's name that references another table is not
// the plan's: the proof's orphan (a user_id no user has) is refused by it
// too, and was taken as the proof.
func TestOtherForeignKeyOfThePlansNameIsRefused(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		db.Exec(`CREATE TABLE users (id int NOT NULL PRIMARY KEY);
CREATE TABLE admins (id int NOT NULL PRIMARY KEY);
CREATE TABLE orders (id int NOT NULL PRIMARY KEY, user_id int);
INSERT INTO users (id) VALUES (1), (2);
INSERT INTO admins (id) VALUES (1), (2);
INSERT INTO orders (id, user_id) VALUES (1, 1), (2, 2)`)
		ctx := context.Background()
		s, _ := session(t, db, mustPlan(t, `name: orders-user-fk
playbook: tighten-constraint
table: orders
constraint: {name: orders_user_fk, foreign_key: [user_id], references: {table: users}}
`), Options{})
		if err := runTo(t, s, "validate-in-app", "clean", "add-constraint"); err != nil {
			t.Fatalf("add-constraint: %v", err)
		}
		switch db.Dialect {
		case "sqlite":
			db.Exec(`PRAGMA foreign_keys = OFF;
CREATE TABLE orders_new (id int NOT NULL PRIMARY KEY, user_id int, CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES admins (id));
INSERT INTO orders_new (id, user_id) SELECT id, user_id FROM orders;
DROP TABLE orders;
ALTER TABLE orders_new RENAME TO orders`)
		case "mysql":
			db.Exec(`ALTER TABLE orders DROP FOREIGN KEY orders_user_fk`)
			db.Exec(`ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES admins (id)`)
		default:
			db.Exec(`ALTER TABLE orders DROP CONSTRAINT orders_user_fk`)
			db.Exec(`ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES admins (id)`)
		}
		err := s.RunPhase(ctx, "verify-failure-path")
		var ve *VerifyError
		if !errors.As(err, &ve) {
			t.Fatalf("verify-failure-path with a foreign key of the plan's name to admins: got %v, want a verification failure", err)
		}
		for _, want := range []string{"is not the plan's", "REFERENCES admins (id)", "REFERENCES users (id)"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("the failure does not say %q:\n%v", want, err)
			}
		}
	})
}
