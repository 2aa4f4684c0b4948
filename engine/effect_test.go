package engine

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shepherd-db/shepherd/internal/testdb"
	"github.com/shepherd-db/shepherd/phases"
)

// add-column fails with nothing changed, in a way no check of the plan
// beforehand can foresee: on PostgreSQL and MySQL a long transaction holds
// the table and the operator stops the run while the ALTER waits for its
// lock; on SQLite someone else adds a column of that name between the
// run's checks and its ALTER (where a MySQL rerun would find its probe
// done). The failure is recorded, but it is not in force: rollback has
// nothing to undo, and the plan's type: may change; the changed plan then
// runs.
func TestFailedWithNothingChangedLetsTheTypeChange(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		db.Seed(20)
		ctx := context.Background()
		plan := usersEmailPlan
		// The operator's stop lands between two attempts of the ALTER,
		// never while one runs (then what it did would be unknown).
		runCtx, stop := context.WithCancel(ctx)
		defer stop()
		var rec *recorder
		opts := Options{LockTimeout: 100 * time.Millisecond, Failpoint: func(point string) {
			if strings.HasPrefix(point, "add-column:step-") && rec.notices("lock wait over") > 0 {
				stop()
			}
		}}
		s, rec := session(t, db, mustPlan(t, plan), opts)

		var runErr error
		switch db.Dialect {
		case "sqlite":
			db.Exec("ALTER TABLE users ADD COLUMN email text")
			_, runErr = s.Run(ctx, "add-column", nil)
			db.Exec("ALTER TABLE users DROP COLUMN email")
		default:
			tx, err := db.SQL.Begin()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Exec("SELECT count(*) FROM users"); err != nil {
				t.Fatal(err)
			}
			if db.Dialect == "postgres" {
				if _, err := tx.Exec("LOCK TABLE users IN ACCESS SHARE MODE"); err != nil {
					t.Fatal(err)
				}
			}
			_, runErr = s.Run(runCtx, "add-column", nil)
			tx.Rollback()
		}
		if runErr == nil {
			t.Fatal("add-column succeeded; the test provoked no failure")
		}
		t.Logf("add-column failed, as provoked: %v", runErr)
		s.Close()

		// Recorded as failed, and as having changed nothing.
		if got := db.One("SELECT status FROM " + stateTable(db) + " WHERE plan = 'users-email' AND phase = 'add-column'"); got != "failed" {
			t.Fatalf("add-column is %q, want failed", got)
		}
		if _, err := db.QueryE("SELECT email FROM users WHERE 1 = 0"); err == nil {
			t.Fatalf("users.email exists after a failure that changed nothing")
		}
		s2, _ := session(t, db, mustPlan(t, plan), Options{})
		if got := s2.Progress().Of("add-column"); got != phases.FailedUnchanged {
			t.Fatalf("add-column stands as %q, want %q", got, phases.FailedUnchanged)
		}
		var re *phases.RefusedError
		if _, err := s2.Rollback(ctx); !errors.As(err, &re) || !strings.Contains(err.Error(), "add-column failed without changing anything") {
			t.Fatalf("rollback = %v, want a refusal saying add-column changed nothing", err)
		}
		s2.Close()

		// The type changes: accepted, recorded, and the changed plan runs.
		retyped := strings.Replace(plan, "type: {postgres: text, mysql: varchar(200), sqlite: text}", "type: varchar(300)", 1)
		s3, rec3 := session(t, db, mustPlan(t, retyped), Options{})
		if rec3.notices("no phase of it is in force, so the changed plan replaces it") != 1 {
			t.Fatalf("no notice that the changed plan replaces the old one: %+v", rec3.all())
		}
		if _, err := s3.Run(ctx, "add-column", nil); err != nil {
			t.Fatalf("the changed plan's add-column: %v", err)
		}
		if got := strings.ToLower(columnType(t, db, "users", "email")); !strings.Contains(got, "300") {
			t.Errorf("users.email is %q, want the changed plan's varchar(300)", got)
		}
	})
}

// A shepherd_state an older shepherd made has no took_effect: reading it
// (plan --db) writes nothing and counts every failure as in force; the
// next run adds the column, and the old rows keep counting so.
func TestStateTableWithoutTookEffect(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		db.Seed(10)
		ctx := context.Background()
		s, _ := session(t, db, mustPlan(t, usersEmailPlan), Options{})
		if _, err := s.Run(ctx, "add-column", nil); err != nil {
			t.Fatal(err)
		}
		s.Close()
		// As an older shepherd left it: no took_effect, add-column failed
		// (after its ALTER went through, as far as anyone can tell).
		db.Exec("ALTER TABLE " + stateTable(db) + " DROP COLUMN took_effect")
		db.Exec("UPDATE " + stateTable(db) + " SET status = 'failed' WHERE phase = 'add-column'")

		eng, err := Open(ctx, db.DSN)
		if err != nil {
			t.Fatal(err)
		}
		defer eng.Close()
		v, err := eng.Inspect(ctx, mustPlan(t, usersEmailPlan), Options{})
		if err != nil {
			t.Fatalf("inspect an older state table: %v", err)
		}
		if got := progressOfInfos(v.Phases()).Of("add-column"); got != phases.Failed {
			t.Errorf("inspect: add-column stands as %q, want failed (in force)", got)
		}
		if hasStateColumn(t, db, "took_effect") {
			t.Fatal("inspect added took_effect: it must write nothing")
		}
		s2, _ := session(t, db, mustPlan(t, usersEmailPlan), Options{})
		if !hasStateColumn(t, db, "took_effect") {
			t.Fatal("a run did not add took_effect to the older state table")
		}
		target, _, err := s2.pb.RollbackTarget(s2.Progress())
		if err != nil || target.ID != "add-column" {
			t.Errorf("rollback target = %q, %v; want add-column (an older failed row is in force)", target.ID, err)
		}
	})
}

func progressOfInfos(infos []PhaseInfo) phases.Progress {
	p := phases.Progress{}
	for _, in := range infos {
		p[in.ID] = phases.Effective(in.Status, in.TookEffect)
	}
	return p
}

// stateTable names shepherd_state as the dialect places it.
func stateTable(db *testdb.DB) string {
	if db.Dialect == "postgres" {
		return "shepherd.shepherd_state"
	}
	return "shepherd_state"
}

func hasStateColumn(t *testing.T, db *testdb.DB, col string) bool {
	t.Helper()
	var q string
	switch db.Dialect {
	case "postgres":
		q = "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'shepherd' AND table_name = 'shepherd_state' AND column_name = '" + col + "'"
	case "mysql":
		q = "SELECT count(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'shepherd_state' AND column_name = '" + col + "'"
	default:
		q = "SELECT count(*) FROM pragma_table_info('shepherd_state') WHERE name = '" + col + "'"
	}
	return db.One(q) != "0"
}

// columnType is a column's type as the catalog gives it.
func columnType(t *testing.T, db *testdb.DB, table, col string) string {
	t.Helper()
	switch db.Dialect {
	case "postgres":
		return db.One("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = '" + table + "'::regclass AND attname = '" + col + "'")
	case "mysql":
		return db.One("SELECT column_type FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = '" + table + "' AND column_name = '" + col + "'")
	}
	var typ string
	if err := db.SQL.QueryRow("SELECT type FROM pragma_table_info('"+table+"') WHERE name = ?", col).Scan(&typ); err != nil && !errors.Is(err, sql.ErrNoRows) {
		t.Fatal(err)
	}
	return typ
}
