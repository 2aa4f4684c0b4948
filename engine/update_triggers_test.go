package engine

import (
	"context"
	"strings"
	"testing"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// MySQL and MariaDB rewrite a column declared ON UPDATE CURRENT_TIMESTAMP
// in every row an UPDATE changes: shepherd's batches rewrote the
// application's last-modified times (5,000 of 5,000 rows). Every batched
// update shepherd runs on the table keeps them: the backfill, rename's
// copy and its carry back on rollback, and clean.
func TestBatchesKeepOnUpdateColumns(t *testing.T) {
	db := mysqlTestDB(t)
	ctx := context.Background()
	const old = "2001-02-03 04:05:06"
	db.Exec(`CREATE TABLE users (id int PRIMARY KEY, username varchar(100) NOT NULL, name varchar(100) NOT NULL, amount int NOT NULL DEFAULT 5,
  updated_at timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP)`)
	db.SeedRows("users", 300)
	db.Exec(`UPDATE users SET amount = -1 WHERE id % 4 = 0`)
	db.Exec(`UPDATE users SET updated_at = '` + old + `'`)
	// Each step is checked on its own: the times are set back after it.
	kept := func(after string) {
		t.Helper()
		if n := db.One(`SELECT count(*) FROM users WHERE updated_at <> '` + old + `'`); n != "0" {
			t.Errorf("after %s, %s of 300 rows have a new updated_at: shepherd's updates must keep it", after, n)
		}
		db.Exec(`UPDATE users SET updated_at = '` + old + `'`)
	}
	opts := Options{BatchSize: 100}

	// add-column's backfill
	s, _ := session(t, db, mustPlan(t, usersEmailPlan), opts)
	if _, err := s.Run(ctx, "backfill", confirm("deploy-readers")); err != nil {
		t.Fatal(err)
	}
	if n := db.One(`SELECT count(*) FROM users WHERE email IS NULL`); n != "0" {
		t.Fatalf("%s rows not backfilled", n)
	}
	kept("the backfill")
	s.Close()

	// rename-column's copy, then the copy back when stop-old-writes is
	// rolled back (what v4 wrote into full_name goes back into name)
	rename := mustPlan(t, "name: users-full-name\nplaybook: rename-column\ntable: users\ncolumn: name\nto: full_name\n")
	s, _ = session(t, db, rename, opts)
	if _, err := s.Run(ctx, "stop-old-writes", confirm("dual-write", "switch-reads", "stop-old-writes")); err != nil {
		t.Fatal(err)
	}
	kept("rename's backfill")
	db.Exec(`UPDATE users SET full_name = concat('v4 ', id), updated_at = '` + old + `' WHERE id <= 150`)
	if ph, err := s.Rollback(ctx); err != nil || ph.ID != "stop-old-writes" {
		t.Fatalf("rollback: %s, %v", ph.ID, err)
	}
	if n := db.One(`SELECT count(*) FROM users WHERE name LIKE 'v4 %'`); n != "150" {
		t.Fatalf("the rollback carried %s rows back, want 150", n)
	}
	kept("the carry back of rename's rollback")
	s.Close()

	// tighten-constraint's clean
	tighten := mustPlan(t, "name: users-amount\nplaybook: tighten-constraint\ntable: users\nconstraint: {name: users_amount_positive, check: \"amount > 0\"}\nclean: {set: {amount: \"1\"}}\n")
	s, _ = session(t, db, tighten, Options{BatchSize: 100, AllowLock: "shared"})
	if _, err := s.Run(ctx, "clean", confirm("validate-in-app")); err != nil {
		t.Fatal(err)
	}
	if n := db.One(`SELECT count(*) FROM users WHERE amount <= 0`); n != "0" {
		t.Fatalf("%s rows not cleaned", n)
	}
	kept("clean")
}

// Triggers that fire on UPDATE run for every row a batch changes: they may
// rewrite columns (a trigger-maintained updated_at) and they slow the
// batches. plan --db and the start of a run name each one that fires on
// the rows shepherd will update, on every dialect; a trigger on INSERT, on
// UPDATE OF columns shepherd does not set, or disabled, does not fire and
// is not named.
func TestUpdateTriggersAreNamed(t *testing.T) {
	ddl := map[string]string{
		"postgres": `ALTER TABLE users ADD COLUMN updated_at timestamptz;
CREATE FUNCTION users_touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;
CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION users_touch();
CREATE TRIGGER users_on_insert BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION users_touch();
CREATE TRIGGER users_username_changed BEFORE UPDATE OF username ON users FOR EACH ROW EXECUTE FUNCTION users_touch();
CREATE TRIGGER users_disabled BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION users_touch();
ALTER TABLE users DISABLE TRIGGER users_disabled`,
		"mysql": `ALTER TABLE users ADD COLUMN updated_at datetime NULL;
CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW SET NEW.updated_at = NOW();
CREATE TRIGGER users_on_insert BEFORE INSERT ON users FOR EACH ROW SET NEW.updated_at = NOW()`,
		"sqlite": `ALTER TABLE users ADD COLUMN updated_at text;
CREATE TRIGGER users_touch AFTER UPDATE ON users FOR EACH ROW BEGIN UPDATE users SET updated_at = 'now' WHERE id = NEW.id; END;
CREATE TRIGGER users_on_insert AFTER INSERT ON users BEGIN SELECT 1; END;
CREATE TRIGGER "users_username_changed" AFTER UPDATE OF username ON users BEGIN SELECT 1; END`,
	}
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		db.Seed(20)
		db.Exec(ddl[db.Dialect])
		ctx := context.Background()
		plan := mustPlan(t, usersEmailPlan)
		eng, err := Open(ctx, db.DSN)
		if err != nil {
			t.Fatal(err)
		}
		defer eng.Close()
		v, err := eng.Inspect(ctx, plan, Options{})
		if err != nil {
			t.Fatal(err)
		}
		named := func(where string, texts []string) {
			t.Helper()
			var touch []string
			for _, w := range texts {
				if strings.Contains(w, "users_on_insert") || strings.Contains(w, "users_username_changed") || strings.Contains(w, "users_disabled") {
					t.Errorf("%s names a trigger that does not fire on the backfill's updates: %s", where, w)
				}
				if strings.Contains(w, "users_touch") {
					touch = append(touch, w)
				}
			}
			if len(touch) != 1 {
				t.Fatalf("%s names users_touch %d times, want once: %q", where, len(touch), texts)
			}
			for _, want := range []string{"fires on every row", "backfill", "updated_at", "slowing"} {
				if !strings.Contains(touch[0], want) {
					t.Errorf("%s does not say %q: %s", where, want, touch[0])
				}
			}
		}
		named("plan --db's warnings", v.Warnings())

		s, rec := session(t, db, plan, Options{})
		var notices []string
		for _, e := range rec.of(EventNotice) {
			notices = append(notices, e.Message)
		}
		named("the run's notices", notices)
		if len(rec.find(EventNotice, `^warning: trigger users_touch`)) != 1 {
			t.Errorf("the run's start does not warn of users_touch: %q", notices)
		}
		s.Close()
	})
}

// SQLite keeps a trigger as its CREATE TRIGGER text: whether it fires on
// UPDATE, and of which columns, is read from its tokens, never from words
// inside names, strings or comments.
func TestSQLiteUpdateTrigger(t *testing.T) {
	for _, tc := range []struct {
		sql    string
		ok     bool
		timing string
		of     string
	}{
		{`CREATE TRIGGER t1 AFTER UPDATE ON users BEGIN SELECT 1; END`, true, "AFTER", ""},
		{`CREATE TRIGGER t1 UPDATE ON users BEGIN SELECT 1; END`, true, "BEFORE", ""},
		{`create temp trigger if not exists main."update" instead of update of "name", email on v begin select 1; end`, true, "INSTEAD OF", "name,email"},
		{`CREATE TRIGGER [on update] /* UPDATE */ BEFORE UPDATE OF [on] ON users BEGIN SELECT 1; END`, true, "BEFORE", "on"},
		{`CREATE TRIGGER "update_users" AFTER INSERT ON users BEGIN UPDATE users SET name = 'x'; END`, false, "", ""},
		{`CREATE TRIGGER update_log -- on UPDATE
 AFTER DELETE ON users BEGIN SELECT 'UPDATE'; END`, false, "", ""},
	} {
		tr, ok := sqliteUpdateTrigger(SchemaObject{Type: "trigger", Name: "t", SQL: tc.sql})
		if ok != tc.ok || ok && (tr.Timing != tc.timing || strings.Join(tr.Of, ",") != tc.of || !tr.PerRow) {
			t.Errorf("%s:\n got %v %+v, want %v %s OF %q", tc.sql, ok, tr, tc.ok, tc.timing, tc.of)
		}
	}
}
