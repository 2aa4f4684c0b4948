package engine

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// A batch locks its own rows, not the table: while a UNIQUE clean's batch
// (which searches the whole table for duplicates) or a foreign key's clean
// (which reads the parent table) holds its transaction open, the
// application updates and inserts rows outside the batch without waiting.
// At InnoDB's default REPEATABLE READ the subqueries' reads took shared
// locks on every row they read, and the application's write timed out.
func TestMySQLBatchesLockOnlyTheirRows(t *testing.T) {
	for _, tc := range []struct{ name, setup, plan string }{
		{"unique", `CREATE TABLE accounts (id integer PRIMARY KEY, email varchar(100) NOT NULL, n integer NOT NULL DEFAULT 0, org integer)`, `
name: accounts-email
playbook: tighten-constraint
table: accounts
constraint: {name: accounts_email_key, unique: [email]}
clean: {set: {email: "concat(email, '-', id)"}}
`},
		{"foreign-key", `CREATE TABLE orgs (id integer PRIMARY KEY);
INSERT INTO orgs (id) VALUES (1), (2), (3);
CREATE TABLE accounts (id integer PRIMARY KEY, email varchar(100) NOT NULL, n integer NOT NULL DEFAULT 0, org integer)`, `
name: accounts-org
playbook: tighten-constraint
table: accounts
constraint: {name: accounts_org_fk, foreign_key: [org], references: {table: orgs}}
clean: {set: {org: "NULL"}}
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := testdb.New(t, "mysql")
			db.Exec(tc.setup)
			var vals []string
			for id := 1; id <= 2000; id++ {
				email := fmt.Sprintf("u%d@x", id)
				if id%10 == 0 {
					email = fmt.Sprintf("u%d@x", id-1) // a duplicate
				}
				vals = append(vals, fmt.Sprintf("(%d, '%s', %d)", id, email, id%5)) // org 0 and 4: no parent
			}
			db.Exec("INSERT INTO accounts (id, email, org) VALUES " + strings.Join(vals, ", "))

			var held atomic.Int64
			var appErr error
			hook := func(point string) {
				if point != "clean:batch-commit" || held.Add(1) != 1 {
					return
				}
				// Inside the first batch (ids up to 100), before its commit.
				ctx := context.Background()
				conn, err := db.SQL.Conn(ctx)
				if err != nil {
					appErr = err
					return
				}
				defer conn.Close()
				for _, q := range []string{
					`SET SESSION innodb_lock_wait_timeout = 1`,
					`UPDATE accounts SET n = n + 1 WHERE id = 1900`,
					`INSERT INTO accounts (id, email, org) VALUES (5000, 'new@x', 1)`,
				} {
					if _, err := conn.ExecContext(ctx, q); err != nil && appErr == nil {
						appErr = fmt.Errorf("the application's %q waited for the batch: %v", q, err)
					}
				}
			}
			s, _ := session(t, db, mustPlan(t, tc.plan), Options{BatchSize: 100, Failpoint: hook})
			if _, err := s.Run(context.Background(), "clean", map[string]bool{"validate-in-app": true}); err != nil {
				t.Fatal(err)
			}
			if held.Load() == 0 {
				t.Fatal("no clean batch ran")
			}
			if appErr != nil {
				t.Fatal(appErr)
			}
		})
	}
}
