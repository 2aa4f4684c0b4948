package engine

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shepherd-db/shepherd/internal/testdb"
	"github.com/shepherd-db/shepherd/phases"
)

// usersNameIndexPlan builds users_name_idx for the query that looks a user
// up by name.
const usersNameIndexPlan = `name: users-name-idx
playbook: add-index
table: users
index: {name: users_name_idx, columns: [name]}
query: "SELECT id FROM users WHERE name = 'Name 42'"
`

// indexInCatalog reads, from the database's own catalog, whether the table
// has the index and whether it is valid: "valid", "invalid" or "none".
func indexInCatalog(t *testing.T, db *testdb.DB, name string) string {
	t.Helper()
	var n string
	switch db.Dialect {
	case phases.Postgres:
		n = db.One("SELECT coalesce(max(CASE WHEN i.indisvalid AND i.indisready THEN 2 ELSE 1 END), 0) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = $1", name)
	case phases.MySQL:
		n = db.One("SELECT 2 * count(DISTINCT index_name) FROM information_schema.statistics WHERE table_schema = database() AND index_name = ?", name)
	default:
		n = db.One("SELECT 2 * count(*) FROM sqlite_master WHERE type = 'index' AND name = ?", name)
	}
	return map[string]string{"0": "none", "1": "invalid", "2": "valid"}[n]
}

// startRefused starts plan and expects a SchemaError saying want: the plan
// is refused before anything changes.
func startRefused(t *testing.T, db *testdb.DB, plan, want string) {
	t.Helper()
	eng, err := Open(context.Background(), db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	_, err = eng.Start(context.Background(), mustPlan(t, plan), Options{Emit: func(Event) {}})
	var se *SchemaError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), want) {
		t.Errorf("start: %v, want a schema error with %q", err, want)
	}
}

// The whole playbook on every dialect: the index is built, valid, and the
// planner uses it for the plan's query; rollback drops it again.
func TestAddIndexEndToEnd(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		db.Seed(3000)
		s, rec := session(t, db, mustPlan(t, usersNameIndexPlan), Options{})
		runAll(t, s)
		if got := indexInCatalog(t, db, "users_name_idx"); got != "valid" {
			t.Fatalf("users_name_idx after the run: %s, want valid", got)
		}
		if got := db.One("SELECT count(*) FROM " + stateTable(db) + " WHERE plan = 'users-name-idx' AND status = 'done'"); got != "2" {
			t.Errorf("%s phases done, want 2", got)
		}
		done := rec.find(EventPhaseDone, "the query's plan uses users_name_idx")
		if len(done) != 1 || done[0].Phase != verifyIndexPhase {
			t.Errorf("verify-index did not report the planner's use of the index: %+v", rec.of(EventPhaseDone))
		}
		// The build said what it locks.
		if steps := rec.steps(createIndexPhase); len(steps) == 0 || steps[len(steps)-1].Lock == "" {
			t.Errorf("create-index's steps say nothing of their locks: %+v", steps)
		}
		ctx := context.Background()
		for range 2 {
			if _, err := s.Rollback(ctx); err != nil {
				t.Fatalf("rollback: %v", err)
			}
		}
		if got := indexInCatalog(t, db, "users_name_idx"); got != "none" {
			t.Errorf("users_name_idx after the rollback: %s, want none", got)
		}
		if got := db.One("SELECT count(*) FROM " + stateTable(db) + " WHERE plan = 'users-name-idx' AND status = 'rolled-back'"); got != "2" {
			t.Errorf("%s phases rolled back, want 2", got)
		}
	})
}

// A query the index cannot serve fails verify-index, naming the index and
// what the planner chose; the index stays built.
func TestVerifyIndexNamesWhatThePlannerChose(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		db.Seed(3000)
		plan := strings.Replace(usersNameIndexPlan, "WHERE name = 'Name 42'", "WHERE username = 'user42'", 1)
		s, _ := session(t, db, mustPlan(t, plan), Options{})
		_, err := s.Run(context.Background(), "", nil)
		var ve *VerifyError
		if !errors.As(err, &ve) || ve.Phase != verifyIndexPhase {
			t.Fatalf("run: %v, want verify-index's verification to fail", err)
		}
		scan := map[string]string{phases.Postgres: "Seq Scan on users", phases.MySQL: "access ALL on users", phases.SQLite: "SCAN users"}[db.Dialect]
		if !strings.Contains(ve.What, "does not use users_name_idx: the planner chose") || !strings.Contains(ve.What, scan) {
			t.Errorf("the failure does not say what the planner chose (%q): %s", scan, ve.What)
		}
		if got := s.Progress().Of(createIndexPhase); got != phases.Done {
			t.Errorf("create-index is %s, want done", got)
		}
		if got := indexInCatalog(t, db, "users_name_idx"); got != "valid" {
			t.Errorf("users_name_idx: %s, want valid", got)
		}
	})
}

// Before anything changes: a column the table lacks, and an index name
// already taken, are refused with the plan's field.
func TestAddIndexRefusesBeforeAnythingChanges(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		db.Seed(10)
		db.Exec("CREATE INDEX users_taken_idx ON users (username)")
		for _, tc := range []struct{ plan, want string }{
			{strings.Replace(usersNameIndexPlan, "columns: [name]", "columns: [nmae]", 1), `index.columns: users has no column "nmae"`},
			{strings.Replace(usersNameIndexPlan, "{name: users_name_idx", "{name: users_taken_idx", 1), `index.name: users already has an index "users_taken_idx"`},
			{strings.Replace(usersNameIndexPlan, "WHERE name =", "WHERE nmae =", 1), "query: the database cannot plan it"},
		} {
			startRefused(t, db, tc.plan, tc.want)
		}
		eng, err := Open(context.Background(), db.DSN)
		if err != nil {
			t.Fatal(err)
		}
		defer eng.Close()
		plans, err := eng.Status(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range plans {
			if p.Name == "users-name-idx" {
				for _, ph := range p.Phases {
					if ph.Status != phases.Pending {
						t.Errorf("%s is %s after refusals, want pending", ph.ID, ph.Status)
					}
				}
			}
		}
		if got := indexInCatalog(t, db, "users_name_idx"); got != "none" {
			t.Errorf("users_name_idx: %s after refusals", got)
		}
	})
}

// A concurrent build stopped half way (PostgreSQL) leaves an INVALID index:
// create-index is not done, and a rerun drops that index and builds it
// again, never taking it as done.
func TestCreateIndexRebuildsTheIndexAStoppedBuildLeft(t *testing.T) {
	t.Parallel()
	db := testdb.New(t, phases.Postgres)
	db.Seed(3000)
	// A writer's open transaction: CREATE INDEX CONCURRENTLY waits for it
	// after it has put the (invalid) index in the catalog.
	tx, err := db.SQL.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec("UPDATE users SET name = name WHERE id = 1"); err != nil {
		t.Fatal(err)
	}
	s, _ := session(t, db, mustPlan(t, usersNameIndexPlan), Options{})
	ctx, cancel := context.WithCancel(context.Background())
	result := make(chan error, 1)
	go func() { _, err := s.Run(ctx, "", nil); result <- err }()
	for indexInCatalog(t, db, "users_name_idx") != "invalid" {
		select {
		case err := <-result:
			t.Fatalf("the run ended before its build waited: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel() // the operator's Ctrl-C: the build is cancelled half way
	if err := <-result; err == nil {
		t.Fatal("the stopped run reported success")
	}
	tx.Rollback()
	s.Close() // the stopped runner is gone, and its lock with it
	if got := indexInCatalog(t, db, "users_name_idx"); got != "invalid" {
		t.Fatalf("after the stopped build the index is %s, want invalid", got)
	}
	if got := db.One("SELECT status FROM " + stateTable(db) + " WHERE plan = 'users-name-idx' AND phase = 'create-index'"); got == "done" {
		t.Fatalf("create-index is done with an INVALID index")
	}
	again, rec := session(t, db, mustPlan(t, usersNameIndexPlan), Options{})
	runAll(t, again)
	if got := indexInCatalog(t, db, "users_name_idx"); got != "valid" {
		t.Errorf("after the rerun the index is %s, want valid", got)
	}
	if drops := rec.find(EventStep, `DROP INDEX CONCURRENTLY`); len(drops) != 1 {
		t.Errorf("the rerun did not drop the INVALID index first: %d drops", len(drops))
	}
}
