package engine

import (
	"context"
	"strings"
	"testing"

	"github.com/shepherd-db/shepherd/internal/testdb"
	"github.com/shepherd-db/shepherd/templates"
)

// What `shepherd plan` shows is what `shepherd run` executes: for every DDL
// phase, the statements the session previews from the live table are the
// statements it then runs, in order.
func TestPreviewIsWhatRuns(t *testing.T) {
	plans := []string{usersEmailPlan, `
name: users-name-check
playbook: tighten-constraint
table: users
constraint: {name: users_name_long, check: "length(name) > 2"}
`, `
name: users-username-unique
playbook: tighten-constraint
table: users
constraint: {name: users_username_key, unique: [username]}
`, `
name: orders-user-fk
playbook: tighten-constraint
table: orders
constraint: {name: orders_user_fk, foreign_key: [user_id], references: {table: users}}
`}
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		db.Seed(30)
		db.Exec(`CREATE TABLE orders (id integer PRIMARY KEY, user_id integer);
INSERT INTO orders (id, user_id) VALUES (1, 1), (2, 30), (3, NULL)`)
		for _, text := range plans {
			// MySQL copies the table to add a CHECK: it runs only with
			// --allow-lock shared.
			s, rec := session(t, db, mustPlan(t, text), Options{AllowLock: "shared"})
			for {
				ph, more := s.pb.Next(s.progress())
				if !more {
					break
				}
				if err := s.refreshTable(context.Background()); err != nil {
					t.Fatal(err)
				}
				previews, err := s.Preview()
				if err != nil {
					t.Fatal(err)
				}
				want := executable(previews[s.pb.Index(ph.ID)].Steps)
				before, notices := len(rec.of(EventStep)), len(rec.of(EventNotice))
				if err := s.RunPhase(context.Background(), ph.ID); err != nil {
					t.Fatalf("%s: %v", ph.ID, err)
				}
				var got []string
				for _, e := range rec.of(EventStep)[before:] {
					got = append(got, e.SQL)
				}
				// A step whose probe finds nothing to do is skipped, and
				// says so.
				skipped := map[string]bool{}
				for _, e := range rec.of(EventNotice)[notices:] {
					if sql, ok := strings.CutPrefix(e.Message, "skipped, nothing to do: "); ok {
						skipped[sql] = true
					}
				}
				var ran []string
				for _, sql := range want {
					if !skipped[oneLine(sql)] {
						ran = append(ran, sql)
					}
				}
				want = ran
				if ph.ID != "add-column" && ph.ID != "enforce" && ph.ID != "add-constraint" {
					continue // batches and probes: covered by their own tests
				}
				if strings.Join(got, "\n;\n") != strings.Join(want, "\n;\n") {
					t.Errorf("%s %s: ran\n%s\nbut the preview shows\n%s", s.plan.Name, ph.ID, strings.Join(got, "\n;\n"), strings.Join(want, "\n;\n"))
				}
			}
			s.Close() // the next plan is on the same table
		}
	})
}

// executable is the statements of a script that run (connection settings
// and checks are not reported as steps).
func executable(script templates.Script) []string {
	var out []string
	for _, st := range script {
		if st.Mode != templates.ConnOp && st.Mode != templates.Check {
			out = append(out, st.SQL)
		}
	}
	return out
}
