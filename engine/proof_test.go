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
		s, _ := session(t, db, mustPlan(t, plan), Options{})
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
