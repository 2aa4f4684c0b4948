package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/shepherd-db/shepherd/internal/testdb"
	"github.com/shepherd-db/shepherd/phases"
)

const dropNameIndexPlan = `name: users-name-idx-drop
playbook: drop-index
table: users
index: {name: users_name_idx}
`

// indexDefinitionIn is the index as the catalog defines it, to compare
// before the drop and after the rollback.
func indexDefinitionIn(t *testing.T, db *testdb.DB, name string) string {
	t.Helper()
	switch db.Dialect {
	case phases.Postgres:
		return db.One("SELECT coalesce(max(indexdef), '') FROM pg_indexes WHERE indexname = $1", name)
	case phases.MySQL:
		return db.One("SELECT coalesce(group_concat(concat(column_name, ':', non_unique, ':', coalesce(sub_part, '')) ORDER BY seq_in_index), '') FROM information_schema.statistics WHERE table_schema = database() AND index_name = ?", name)
	}
	return db.One("SELECT coalesce(max(sql), '') FROM sqlite_master WHERE type = 'index' AND name = ?", name)
}

// The whole playbook on every dialect: the gate, the drop, and a rollback
// that builds the same index again from the definition recorded before it.
func TestDropIndexEndToEnd(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		db.Seed(500)
		if db.Dialect == phases.MySQL {
			db.Exec("CREATE UNIQUE INDEX users_name_idx ON users (name(20), username)")
		} else {
			db.Exec("CREATE UNIQUE INDEX users_name_idx ON users (name, username) WHERE id > 10")
		}
		before := indexDefinitionIn(t, db, "users_name_idx")
		s, rec := session(t, db, mustPlan(t, dropNameIndexPlan), Options{})
		out, err := s.Run(context.Background(), "", nil)
		if err != nil || out == Reached {
			t.Fatalf("the first run: %v, %v; want a stop at the gate", out, err)
		}
		if got := indexInCatalog(t, db, "users_name_idx"); got != "valid" {
			t.Fatalf("the gate dropped the index: %s", got)
		}
		runAll(t, s)
		if got := indexInCatalog(t, db, "users_name_idx"); got != "none" {
			t.Fatalf("after drop-index the index is %s", got)
		}
		if len(rec.find(EventPhaseDone, "its definition is recorded for rollback")) != 1 {
			t.Errorf("drop-index did not report its recorded definition")
		}
		ctx := context.Background()
		if _, err := s.Rollback(ctx); err != nil {
			t.Fatalf("rollback: %v", err)
		}
		if after := indexDefinitionIn(t, db, "users_name_idx"); after != before {
			t.Errorf("the index built again differs:\nbefore %s\nafter  %s", before, after)
		}
		if got := indexInCatalog(t, db, "users_name_idx"); got != "valid" {
			t.Errorf("after the rollback the index is %s", got)
		}
		if _, err := db.SQL.Exec("INSERT INTO users (id, username, name) VALUES (9001, 'user20', 'Name 20')"); err == nil {
			t.Errorf("the index built again is not UNIQUE")
		}
	})
}

// An index that backs a constraint, and one that is not there, are refused
// before anything changes.
func TestDropIndexRefusesBeforeAnythingChanges(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		db.Seed(10)
		db.Exec("CREATE TABLE tags (id integer PRIMARY KEY, label varchar(50) NOT NULL, CONSTRAINT tags_label_key UNIQUE (label))")
		backing := map[string]string{phases.Postgres: "tags_label_key", phases.MySQL: "tags_label_key", phases.SQLite: "sqlite_autoindex_tags_1"}[db.Dialect]
		for _, tc := range []struct{ plan, want string }{
			{dropNameIndexPlan, `index.name: users has no index "users_name_idx"`},
			{"name: tags-label-drop\nplaybook: drop-index\ntable: tags\nindex: {name: " + backing + "}\n", "index.name: " + backing + " backs "},
		} {
			if db.Dialect == phases.MySQL && strings.Contains(tc.plan, "tags") {
				continue // MySQL's UNIQUE is its index: dropping it is the constraint's drop, which MySQL allows
			}
			startRefused(t, db, tc.plan, tc.want)
		}
	})
}

// At the stop-using gate, PostgreSQL's count of the index's use is kept on
// arrival; the confirmation warns with how often it was used since.
func TestStopUsingShowsTheIndexUseSinceTheGate(t *testing.T) {
	db := pgOnly(t)
	db.Seed(2000)
	db.Exec("CREATE INDEX users_name_idx ON users (name); ANALYZE users")
	s, rec := session(t, db, mustPlan(t, dropNameIndexPlan), Options{})
	if _, err := s.Run(context.Background(), "", nil); err != nil {
		t.Fatal(err)
	}
	scans := func() string {
		return db.One("SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = 'users_name_idx'")
	}
	at := scans()
	// Code that still relies on the index: three lookups by name.
	for i := range 3 {
		db.One("SELECT count(*) FROM users WHERE name = $1", "Name "+string(rune('1'+i)))
	}
	// The server's statistics are flushed a moment after a transaction.
	for deadline := time.Now().Add(10 * time.Second); scans() == at && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	if err := s.RunPhase(context.Background(), stopUsingPhase); err != nil {
		t.Fatal(err)
	}
	warned := rec.find(EventNotice, `users_name_idx was used [1-9]\d* times? since the gate was reached`)
	if len(warned) != 1 || warned[0].Level != LevelWarning {
		t.Errorf("no warning of the index's use since the gate: %+v", rec.of(EventNotice))
	}
}
