package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/shepherd-db/shepherd/internal/testdb"
	"github.com/shepherd-db/shepherd/phases"
)

const dropFlagPlan = `name: users-drop-flag
playbook: drop-column
table: users
column: flag
`

// runFresh runs the plan in a session of its own, as each run of the
// command does (a run that confirmed stop-using never drops).
func runFresh(t *testing.T, db *testdb.DB, plan string, opts Options, confirm map[string]bool) (*Session, Outcome, error) {
	t.Helper()
	s, _ := session(t, db, mustPlan(t, plan), opts)
	out, err := s.Run(context.Background(), "", confirm)
	s.Close()
	return s, out, err
}

// flagTable is users with a NOT NULL column flag (no default) that code is
// about to stop writing, and an index on it.
func flagTable(t *testing.T, db *testdb.DB) {
	t.Helper()
	db.Seed(600)
	db.Exec("ALTER TABLE users ADD COLUMN flag varchar(20)")
	db.Exec("UPDATE users SET flag = " + map[string]string{phases.MySQL: "concat('f', id % 7)"}[db.Dialect] + map[bool]string{true: "", false: "'f' || (id % 7)"}[db.Dialect == phases.MySQL])
	switch db.Dialect {
	case phases.Postgres:
		db.Exec("ALTER TABLE users ALTER COLUMN flag SET NOT NULL")
	case phases.MySQL:
		db.Exec("ALTER TABLE users MODIFY flag varchar(20) NOT NULL")
	default:
		db.Exec(`CREATE TABLE users2 (id integer PRIMARY KEY, username varchar(100) NOT NULL, name varchar(100) NOT NULL, flag varchar(20) NOT NULL);
INSERT INTO users2 SELECT id, username, name, flag FROM users; DROP TABLE users; ALTER TABLE users2 RENAME TO users`)
	}
	db.Exec("CREATE INDEX users_flag_idx ON users (flag)")
}

func columnThere(db *testdb.DB, col string) bool {
	var q string
	switch db.Dialect {
	case phases.Postgres:
		q = "SELECT count(*) FROM information_schema.columns WHERE table_name = 'users' AND column_name = '" + col + "'"
	case phases.MySQL:
		q = "SELECT count(*) FROM information_schema.columns WHERE table_schema = database() AND table_name = 'users' AND column_name = '" + col + "'"
	default:
		q = "SELECT count(*) FROM pragma_table_info('users') WHERE name = '" + col + "'"
	}
	return db.One(q) == "1"
}

// Without an archive: relax lets inserts leave the column out, the drop
// waits for the gate and a later run, is refused while an index uses the
// column, and once done cannot be rolled back.
func TestDropColumnWithoutArchive(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		flagTable(t, db)
		ctx := context.Background()
		all := map[string]bool{"stop-using": true, "drop-column": true}
		if _, out, err := runFresh(t, db, dropFlagPlan, Options{}, all); err != nil || out == Reached {
			t.Fatalf("the run that confirmed stop-using: %v, %v; want a stop before the drop", out, err)
		}
		if !columnThere(db, "flag") {
			t.Fatal("flag was dropped in the run that confirmed stop-using")
		}
		// relax: code that no longer writes flag can insert.
		db.Exec("INSERT INTO users (id, username, name) VALUES (9001, 'new', 'New')")
		_, _, err := runFresh(t, db, dropFlagPlan, Options{}, all)
		var de *DependentsError
		if !errors.As(err, &de) || !strings.Contains(err.Error(), "index users_flag_idx uses flag") {
			t.Fatalf("the drop with an index on flag: %v, want a refusal naming the index", err)
		}
		if !columnThere(db, "flag") {
			t.Fatal("the refused drop dropped flag")
		}
		db.Exec("DROP INDEX users_flag_idx" + map[bool]string{true: " ON users", false: ""}[db.Dialect == phases.MySQL])
		if _, out, err := runFresh(t, db, dropFlagPlan, Options{}, all); err != nil || out != Reached {
			t.Fatalf("the drop: %v, %v", out, err)
		}
		if columnThere(db, "flag") {
			t.Fatal("flag is still there after drop-column")
		}
		s, _ := session(t, db, mustPlan(t, dropFlagPlan), Options{})
		var re *phases.RefusedError
		if _, err := s.Rollback(ctx); !errors.As(err, &re) {
			t.Errorf("rollback past a drop without archive: %v, want a refusal", err)
		}
	})
}

// With archive: true, every value is archived before the drop, and a
// rollback adds the column again and restores each row's value; rolling
// relax back makes it NOT NULL again.
func TestDropColumnWithArchiveRollsBack(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		flagTable(t, db)
		db.Exec("DROP INDEX users_flag_idx" + map[bool]string{true: " ON users", false: ""}[db.Dialect == phases.MySQL])
		before := db.Query("SELECT id, flag FROM users ORDER BY id")
		plan := dropFlagPlan + "archive: true\n"
		ctx := context.Background()
		all := map[string]bool{"stop-using": true, "drop-column": true}
		if _, _, err := runFresh(t, db, plan, Options{BatchSize: 100}, all); err != nil {
			t.Fatal(err)
		}
		if _, out, err := runFresh(t, db, plan, Options{BatchSize: 100}, all); err != nil || out != Reached {
			t.Fatalf("the drop: %v, %v", out, err)
		}
		if columnThere(db, "flag") {
			t.Fatal("flag is still there after drop-column")
		}
		if got := db.One("SELECT count(*) FROM users_flag_archive"); got != "600" {
			t.Errorf("the archive holds %s rows, want 600", got)
		}
		s, _ := session(t, db, mustPlan(t, plan), Options{BatchSize: 100})
		for range 4 {
			if _, err := s.Rollback(ctx); err != nil {
				t.Fatalf("rollback: %v", err)
			}
		}
		after := db.Query("SELECT id, flag FROM users ORDER BY id")
		if len(after) != len(before) {
			t.Fatalf("%d rows after the rollback, want %d", len(after), len(before))
		}
		for i := range before {
			if strings.Join(after[i], "|") != strings.Join(before[i], "|") {
				t.Fatalf("row %d after the rollback: %v, want %v", i, after[i], before[i])
			}
		}
		if _, err := db.SQL.Exec("INSERT INTO users (id, username, name) VALUES (9002, 'x', 'X')"); err == nil {
			t.Errorf("flag is not NOT NULL again after relax was rolled back")
		}
	})
}

// Over a composite key the archive keeps each value by every column of the
// key (shepherd_key_0, shepherd_key_1): a rollback after the drop restores
// each row's own value, though ids repeat across tenants.
func TestDropColumnArchiveOverACompositeKey(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		db.Exec("CREATE TABLE items (tenant_id integer NOT NULL, id integer NOT NULL, flag varchar(20), PRIMARY KEY (tenant_id, id))")
		var vals []string
		for tenant := 1; tenant <= 3; tenant++ {
			for id := 1; id <= 150; id++ {
				vals = append(vals, fmt.Sprintf("(%d, %d, 'f%d-%d')", tenant, id, tenant, id))
			}
		}
		db.Exec("INSERT INTO items (tenant_id, id, flag) VALUES " + strings.Join(vals, ", "))
		before := db.Query("SELECT tenant_id, id, flag FROM items ORDER BY tenant_id, id")
		plan := "name: items-drop-flag\nplaybook: drop-column\ntable: items\ncolumn: flag\narchive: true\n"
		all := map[string]bool{"stop-using": true, "drop-column": true}
		if _, _, err := runFresh(t, db, plan, Options{BatchSize: 40}, all); err != nil {
			t.Fatal(err)
		}
		if _, out, err := runFresh(t, db, plan, Options{BatchSize: 40}, all); err != nil || out != Reached {
			t.Fatalf("the drop: %v, %v", out, err)
		}
		if got := db.One("SELECT count(*) FROM items_flag_archive WHERE flag = " + map[bool]string{true: "concat('f', shepherd_key_0, '-', shepherd_key_1)", false: "'f' || shepherd_key_0 || '-' || shepherd_key_1"}[db.Dialect == phases.MySQL]); got != "450" {
			t.Errorf("the archive holds %s right values, want 450", got)
		}
		s, _ := session(t, db, mustPlan(t, plan), Options{BatchSize: 40})
		if _, err := s.Rollback(context.Background()); err != nil {
			t.Fatalf("rollback: %v", err)
		}
		after := db.Query("SELECT tenant_id, id, flag FROM items ORDER BY tenant_id, id")
		if fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("the values restored differ from the values before the drop")
		}
	})
}
