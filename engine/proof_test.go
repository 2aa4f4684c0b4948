package engine

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// On an empty table, verify-failure-path inserts a row that breaks only the
// constraint. When the database refuses every such row for another reason
// (here another CHECK refuses shepherd's values), nothing was proven: the
// phase fails, retryable, naming the other refusal and the columns to give
// as constraint.violating; with them, it proves the constraint.
func TestProofOnAnEmptyTableNeverPassesWithoutARejection(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		db.Exec(`CREATE TABLE orders (id integer PRIMARY KEY, amount integer NOT NULL, note varchar(20) NOT NULL, CONSTRAINT orders_a_note CHECK (note <> '1'))`)
		ctx := context.Background()
		plan := `name: orders-amount
playbook: tighten-constraint
table: orders
constraint: {name: orders_amount_positive, check: "amount > 0"}
`
		s, _ := session(t, db, mustPlan(t, plan), Options{AllowLock: "shared"}) // MySQL copies the table to add a CHECK
		err := s.RunPhase(ctx, "validate-in-app")
		for _, id := range []string{"clean", "add-constraint", "verify-failure-path"} {
			if err != nil {
				t.Fatalf("before %s: %v", id, err)
			}
			err = s.RunPhase(ctx, id)
		}
		var ve *VerifyError
		if !errors.As(err, &ve) {
			t.Fatalf("verify-failure-path: got %v, want a verification failure", err)
		}
		for _, want := range []string{
			"no violating write was rejected by orders_amount_positive",
			"was refused for another reason",
			"add to the plan constraint.violating: {",
			"amount: …", "note: …",
			"values that break only orders_amount_positive",
		} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("the failure does not say %q:\n%v", want, err)
			}
		}
		if got := s.st("verify-failure-path").Status; got != "failed" {
			t.Errorf("verify-failure-path is %s, want failed", got)
		}
		if got := db.One(`SELECT count(*) FROM orders`); got != "0" {
			t.Errorf("the proof left %s rows", got)
		}
		s.Close()

		// The plan gives the values (constraint.violating may change while
		// the plan is in force): the proof goes through.
		withValues := strings.Replace(plan, `check: "amount > 0"}`, `check: "amount > 0", violating: {amount: "-1", note: "'ok'"}}`, 1)
		s2, rec := session(t, db, mustPlan(t, withValues), Options{})
		if err := s2.RunPhase(ctx, "verify-failure-path"); err != nil {
			t.Fatalf("verify-failure-path with constraint.violating: %v", err)
		}
		if got := s2.st("verify-failure-path").Detail; !strings.Contains(got, "a violating write was rejected by orders_amount_positive") {
			t.Errorf("verify-failure-path: %s", got)
		}
		if len(rec.find(EventStep, `INSERT INTO .orders. .*\(-1\), \('ok'\)`)) == 0 {
			t.Errorf("the proof did not insert the plan's values: %+v", rec.steps("verify-failure-path"))
		}
	})
}

// runTo runs a plan's phases in order up to (not including) the last one
// given, and returns that one's error.
func runTo(t *testing.T, s *Session, ids ...string) error {
	t.Helper()
	ctx := context.Background()
	for _, id := range ids[:len(ids)-1] {
		if err := s.RunPhase(ctx, id); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
	}
	return s.RunPhase(ctx, ids[len(ids)-1])
}

var tightenPhases = []string{"validate-in-app", "clean", "add-constraint", "verify-failure-path"}

// The proof counts a rejection only when the violating statement of a try
// is refused by the plan's constraint. With one row (1, 'a') and an id
// without a default, the first pair of rows shepherd inserts for a new
// UNIQUE on email starts with id 1: the primary key refuses that first
// row, which proves nothing about the email constraint (it used to be
// reported as the proof: "rejected by acct_email_key: … acct_pkey").
func TestProofIgnoresAnotherUniqueConstraint(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		// int, not integer: SQLite's INTEGER PRIMARY KEY would be the rowid,
		// which an insert may leave out.
		db.Exec(`CREATE TABLE acct (id int NOT NULL PRIMARY KEY, email varchar(100))`)
		db.Exec(`INSERT INTO acct (id, email) VALUES (1, 'a')`)
		s, rec := session(t, db, mustPlan(t, `name: acct-email
playbook: tighten-constraint
table: acct
constraint: {name: acct_email_key, unique: [email]}
`), Options{})
		if err := runTo(t, s, tightenPhases...); err != nil {
			t.Fatalf("verify-failure-path: %v", err)
		}
		detail := s.st("verify-failure-path").Detail
		if !strings.HasPrefix(detail, "a violating write was rejected by acct_email_key (UNIQUE email): ") {
			t.Errorf("verify-failure-path: %s", detail)
		}
		for _, other := range []string{"acct_pkey", "PRIMARY", "acct.id"} {
			if strings.Contains(detail, other) {
				t.Errorf("the proof is the primary key's rejection, not the plan's constraint's: %s", detail)
			}
		}
		// The first pair (id 1) was tried and refused by the primary key.
		if len(rec.find(EventStep, `INSERT INTO .acct. .*\(1\), \('1'\)`)) == 0 {
			t.Errorf("the first try did not insert id 1: %+v", rec.steps("verify-failure-path"))
		}
		if got := db.One(`SELECT count(*) FROM acct`); got != "1" {
			t.Errorf("the proof left %s rows", got)
		}
	})
}

// A rejection that no statement of any try can pin on the plan's UNIQUE
// (every first row is refused by another unique key: tag defaults to the
// one row's value) never makes the phase done: it fails, retryable, naming
// what refused the rows.
func TestProofNeverDoneOnAnotherConstraintsRejection(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		db.Exec(`CREATE TABLE acct (id int NOT NULL PRIMARY KEY, email varchar(100), tag varchar(10) NOT NULL DEFAULT 'x', CONSTRAINT acct_tag_key UNIQUE (tag))`)
		db.Exec(`INSERT INTO acct (id, email) VALUES (100, 'a')`)
		s, _ := session(t, db, mustPlan(t, `name: acct-email
playbook: tighten-constraint
table: acct
constraint: {name: acct_email_key, unique: [email]}
`), Options{})
		err := runTo(t, s, tightenPhases...)
		var ve *VerifyError
		if !errors.As(err, &ve) {
			t.Fatalf("verify-failure-path: got %v, want a verification failure", err)
		}
		for _, want := range []string{"no violating write was rejected by acct_email_key", "a row written before the violating one, was refused", "tag", "add to the plan constraint.violating: {"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("the failure does not say %q:\n%v", want, err)
			}
		}
		if got := s.st("verify-failure-path").Status; got != "failed" {
			t.Errorf("verify-failure-path is %s, want failed", got)
		}
	})
}

// SQLite never names the foreign key a write breaks. On an empty orders
// table with another required foreign key (org_id, whose parent table is
// empty), the row shepherd inserts is refused by org_id's foreign key: that
// is no proof of orders_user_fk (it used to be taken as one). The phase
// fails, saying what to give as constraint.violating; once org_id has a
// parent, the proof compares with the same row whose user_id satisfies
// orders_user_fk, which is accepted. PostgreSQL and MySQL name the
// constraint, and must come to the same answers.
func TestProofForeignKeyNotProvenByAnotherForeignKey(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		db.Exec(`CREATE TABLE orgs (id integer PRIMARY KEY)`)
		db.Exec(`CREATE TABLE users (id integer PRIMARY KEY)`)
		db.Exec(`CREATE TABLE orders (id integer PRIMARY KEY, org_id integer NOT NULL, user_id integer, CONSTRAINT orders_org_fk FOREIGN KEY (org_id) REFERENCES orgs (id))`)
		ctx := context.Background()
		plan := `name: orders-user-fk
playbook: tighten-constraint
table: orders
constraint: {name: orders_user_fk, foreign_key: [user_id], references: {table: users}}
`
		s, _ := session(t, db, mustPlan(t, plan), Options{})
		err := runTo(t, s, tightenPhases...)
		var ve *VerifyError
		if !errors.As(err, &ve) {
			t.Fatalf("verify-failure-path: got %v, want a verification failure (the rejection was org_id's foreign key)", err)
		}
		for _, want := range []string{"no violating write was rejected by orders_user_fk", "add to the plan constraint.violating: {", "org_id: …"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("the failure does not say %q:\n%v", want, err)
			}
		}
		if got := s.st("verify-failure-path").Status; got != "failed" {
			t.Errorf("verify-failure-path is %s, want failed", got)
		}
		s.Close()

		// org_id gets a parent through constraint.violating: the proof
		// goes through, and is the plan's constraint's.
		db.Exec(`INSERT INTO orgs (id) VALUES (7)`)
		withOrg := strings.Replace(plan, `references: {table: users}}`, `references: {table: users}, violating: {org_id: "7"}}`, 1)
		s2, rec := session(t, db, mustPlan(t, withOrg), Options{})
		if err := s2.RunPhase(ctx, "verify-failure-path"); err != nil {
			t.Fatalf("verify-failure-path with org_id given: %v", err)
		}
		detail := s2.st("verify-failure-path").Detail
		if !strings.HasPrefix(detail, "a violating write was rejected by orders_user_fk") || strings.Contains(detail, "orders_org_fk") {
			t.Errorf("verify-failure-path: %s", detail)
		}
		if db.Dialect == "sqlite" {
			if !strings.Contains(detail, "the same row with user_id satisfying orders_user_fk was accepted") {
				t.Errorf("SQLite names no foreign key: the proof should say what it compared with: %s", detail)
			}
			if len(rec.find(EventStep, `INSERT INTO .orders. .*\(7\), \(NULL\)`)) == 0 {
				t.Errorf("no comparison row with user_id NULL: %+v", rec.steps("verify-failure-path"))
			}
		}
		if got := db.One(`SELECT count(*) FROM orders`); got != "0" {
			t.Errorf("the proof left %s rows", got)
		}
	})
}
