package engine

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// Connection lost: every connection shepherd has to the database (its pool
// and the runner lock's session) is killed by the server mid-backfill and
// mid-DDL. shepherd reconnects, takes its lock again, and finishes; no row is
// skipped or updated twice.

// killOthers is, per server dialect, the statement that kills every other
// session on the test's database.
var killOthers = map[string]func(db *testdb.DB) int{
	"postgres": func(db *testdb.DB) int {
		rows := db.Query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)
		return len(rows)
	},
	"mysql": func(db *testdb.DB) int {
		ids := db.Query(`SELECT id FROM information_schema.processlist WHERE db = DATABASE() AND id <> CONNECTION_ID()`)
		for _, r := range ids {
			db.SQL.Exec("KILL " + r[0])
		}
		return len(ids)
	},
}

var countUpdates = map[string][]string{
	"postgres": {
		`CREATE TABLE upd (id integer NOT NULL)`,
		`CREATE FUNCTION count_upd() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO upd (id) VALUES (NEW.id); RETURN NEW; END $$`,
		`CREATE TRIGGER count_upd AFTER UPDATE OF email ON users FOR EACH ROW EXECUTE FUNCTION count_upd()`,
	},
	"mysql": {
		`CREATE TABLE upd (id integer NOT NULL)`,
		`CREATE TRIGGER count_upd AFTER UPDATE ON users FOR EACH ROW INSERT INTO upd (id) VALUES (NEW.id)`,
	},
}

func TestConnectionLost(t *testing.T) {
	for _, dialect := range []string{"postgres", "mysql"} {
		for _, at := range []string{"backfill:batch-done", "enforce:step-0", "enforce:step-0-done"} {
			t.Run(dialect+"/"+at, func(t *testing.T) {
				t.Parallel()
				db := testdb.New(t, dialect)
				db.Seed(3000)
				var kills, batches atomic.Int64
				hook := func(point string) {
					if point == "backfill:batch-done" {
						batches.Add(1)
					}
					// Kill every session once, at the chosen point (for the
					// backfill: after its third batch).
					if point == at && kills.Load() == 0 && (at != "backfill:batch-done" || batches.Load() == 3) {
						kills.Add(int64(killOthers[dialect](db)))
					}
				}
				s, rec := session(t, db, mustPlan(t, `
name: users-email
playbook: add-column
table: users
column: email
type: {postgres: text, mysql: varchar(200), sqlite: text}
backfill: "lower(username)"
`), Options{BatchSize: 400, Failpoint: hook})
				if _, err := s.Run(context.Background(), "add-column", nil); err != nil {
					t.Fatal(err)
				}
				for _, st := range countUpdates[dialect] {
					db.Exec(st)
				}
				if _, err := s.Run(context.Background(), "", map[string]bool{"deploy-readers": true, "switch-writes": true}); err != nil {
					t.Fatalf("the run did not survive losing its connections at %s: %v", at, err)
				}
				if kills.Load() == 0 {
					t.Fatalf("no session was killed at %s: the failpoint was not reached", at)
				}
				lost := len(rec.find(EventNotice, "lost"))
				if lost == 0 {
					t.Errorf("no notice says the connection was lost and retried")
				}
				if got := db.One(`SELECT count(*) FROM users WHERE email IS NULL OR email <> lower(username)`); got != "0" {
					t.Errorf("%s rows not backfilled right", got)
				}
				if got := db.One(`SELECT count(*) FROM upd`); got != "3000" {
					t.Errorf("%s updates for 3000 rows", got)
				}
				if dup := db.Query(`SELECT id FROM upd GROUP BY id HAVING count(*) > 1`); len(dup) > 0 {
					t.Errorf("%d rows updated twice", len(dup))
				}
				nn := db.One(map[string]string{
					"postgres": `SELECT count(*) FROM pg_attribute WHERE attrelid = 'users'::regclass AND attname = 'email' AND attnotnull`,
					"mysql":    `SELECT count(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'users' AND column_name = 'email' AND is_nullable = 'NO'`,
				}[dialect])
				if nn != "1" {
					t.Errorf("NOT NULL is not in force")
				}
				// The lock is this runner's again: a second runner is refused.
				eng, err := Open(context.Background(), db.DSN)
				if err != nil {
					t.Fatal(err)
				}
				defer eng.Close()
				if _, err := eng.Start(context.Background(), s.plan, Options{}); err == nil || !strings.Contains(err.Error(), "another runner holds") {
					t.Errorf("after reconnecting, the runner lock is not held: a second session got %v", err)
				}
				t.Logf("%s: killed %s sessions; %d retry notices", at, strconv.FormatInt(kills.Load(), 10), lost)
			})
		}
	}
}
