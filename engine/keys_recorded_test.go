package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// With a key column that holds data (key: email), no key value reaches
// shepherd's own tables: not the backfill's done detail (it used to say
// "50 rows walked up to email alice9@secret.example"), nor rename's copy,
// nor the sample keys of a failed enforce, switch-reads or clean. The
// checkpoint column alone keeps a position. The operator's events still
// show the keys.
func TestKeyValuesNotRecorded(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		ctx := context.Background()
		var rows []string
		for i := range 50 {
			rows = append(rows, fmt.Sprintf("('alice%d@secret.example', 'n%d', %d)", i, i, i%7))
		}
		for _, table := range []string{"people", "renamed", "scores"} {
			db.Exec(`CREATE TABLE ` + table + ` (email varchar(100) NOT NULL PRIMARY KEY, name varchar(50), score integer NOT NULL)`)
			db.Exec(`INSERT INTO ` + table + ` (email, name, score) VALUES ` + strings.Join(rows, ", "))
		}
		failed := func(s *Session, id string) *VerifyError {
			t.Helper()
			err := s.RunPhase(ctx, id)
			var ve *VerifyError
			if !errors.As(err, &ve) {
				t.Fatalf("%s: got %v, want a failed verification", id, err)
			}
			if !strings.Contains(err.Error(), "@secret.example") {
				t.Errorf("%s: the operator should see the sample keys: %v", id, err)
			}
			return ve
		}

		// add-column: the backfill walks the table; enforce then finds a
		// row that old code wrote without the column.
		add, addRec := session(t, db, mustPlan(t, `name: people-nick
playbook: add-column
table: people
key: email
column: nick
type: varchar(50)
backfill: "name"
`), Options{})
		if err := runTo(t, add, "add-column", "deploy-readers", "backfill", "switch-writes"); err != nil {
			t.Fatalf("switch-writes: %v", err)
		}
		if got := add.st("backfill").Detail; got != "50 rows walked to the end of the table, 50 filled" {
			t.Errorf("backfill: %s", got)
		}
		db.Exec(`INSERT INTO people (email, name, score) VALUES ('zed@secret.example', 'z', 1)`)
		failed(add, "enforce")
		if ev := addRec.of(EventPhaseFailed); len(ev) == 0 || !strings.Contains(strings.Join(ev[len(ev)-1].Sample, " "), "zed@secret.example") {
			t.Errorf("the phase-failed event should carry the sample keys: %+v", ev)
		}

		// rename-column: the copy walks the table; a row changed after it
		// fails switch-reads.
		rename, _ := session(t, db, mustPlan(t, `name: renamed-full-name
playbook: rename-column
table: renamed
key: email
column: name
to: full_name
`), Options{})
		if err := runTo(t, rename, "add-column", "dual-write", "backfill"); err != nil {
			t.Fatalf("backfill: %v", err)
		}
		if got := rename.st("backfill").Detail; !strings.HasPrefix(got, "50 rows walked to the end of the table, 50 copied") {
			t.Errorf("rename's backfill: %s", got)
		}
		db.Exec(`UPDATE renamed SET name = 'changed' WHERE email = 'alice3@secret.example'`)
		failed(rename, "switch-reads")

		// tighten-constraint: rows that break the CHECK fail clean.
		tighten, _ := session(t, db, mustPlan(t, `name: scores-positive
playbook: tighten-constraint
table: scores
key: email
constraint: {name: scores_positive, check: "score > 0"}
`), Options{})
		if err := tighten.RunPhase(ctx, "validate-in-app"); err != nil {
			t.Fatalf("validate-in-app: %v", err)
		}
		failed(tighten, "clean")

		state := stateTableOf(db)
		log := strings.Replace(state, "shepherd_state", "shepherd_log", 1)
		var recorded []string
		for _, table := range []string{state, log} {
			for _, row := range db.Query(`SELECT plan, phase, detail FROM ` + table + ` WHERE detail IS NOT NULL`) {
				recorded = append(recorded, strings.Join(row, " | "))
				if strings.Contains(row[2], "secret.example") || strings.Contains(row[2], "alice") {
					t.Errorf("%s keeps a key value: %v", table, row)
				}
			}
		}
		all := strings.Join(recorded, "\n")
		for _, want := range []string{
			"50 rows walked to the end of the table, 50 filled",
			"enforce: verification failed:",
			"switch-reads: verification failed:",
			"clean: verification failed:",
			keysWithheld,
		} {
			if !strings.Contains(all, want) {
				t.Errorf("shepherd's tables should say %q; they hold:\n%s", want, all)
			}
		}
	})
}
