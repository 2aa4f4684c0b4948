package engine

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shepherd-db/shepherd/internal/testdb"
	"github.com/shepherd-db/shepherd/templates"
)

// A table with everything a rebuild could lose: rows with deleted ids under
// AUTOINCREMENT, a default, a collation, a column CHECK, a table CHECK, a
// foreign key to a parent, a child table referencing it, a unique
// constraint, plain, unique, partial and expression indexes, a trigger, a
// stored generated column and a view.
const richSchema = `
CREATE TABLE teams (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
INSERT INTO teams (id, name) VALUES (1, 'red'), (2, 'blue');
CREATE TABLE players (
  id      INTEGER PRIMARY KEY AUTOINCREMENT,
  team_id INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
  handle  TEXT COLLATE NOCASE NOT NULL,
  score   INTEGER DEFAULT 0 CHECK (score >= 0),
  note    TEXT,
  -- a comment with a comma, and "NOT NULL" in it
  shout   TEXT GENERATED ALWAYS AS (upper(handle)) STORED,
  CONSTRAINT players_handle_team UNIQUE (team_id, handle),
  CONSTRAINT players_note_short CHECK (length(note) < 100)
);
CREATE INDEX players_score ON players (score DESC);
CREATE UNIQUE INDEX players_handle ON players (handle);
CREATE INDEX players_noted ON players (note) WHERE note IS NOT NULL;
CREATE INDEX players_lower ON players (lower(handle));
CREATE TABLE audit (player_id INTEGER REFERENCES players (id), what TEXT);
CREATE TRIGGER players_audit AFTER UPDATE OF score ON players BEGIN
  INSERT INTO audit (player_id, what) VALUES (NEW.id, 'score; now ' || NEW.score);
END;
CREATE VIEW top_players AS SELECT handle, score FROM players WHERE score > 10`

func seedRich(t *testing.T, db *testdb.DB) {
	t.Helper()
	if _, err := db.SQL.Exec(richSchema); err != nil { // one call: the trigger body has semicolons
		t.Fatal(err)
	}
	for i := 1; i <= 300; i++ {
		db.Exec("INSERT INTO players (team_id, handle, score, note) VALUES (" +
			strconv.Itoa(1+i%2) + ", 'p" + strconv.Itoa(i) + "', " + strconv.Itoa(i%50) + ", 'n" + strconv.Itoa(i) + "')")
	}
	db.Exec("DELETE FROM players WHERE id > 290") // AUTOINCREMENT must not reuse 291..300
	db.Exec("INSERT INTO audit (player_id, what) VALUES (5, 'seed')")
}

// snapshot is everything about the table that a rebuild must keep.
func snapshot(t *testing.T, db *testdb.DB) map[string]string {
	t.Helper()
	q := func(sql string) string {
		var rows []string
		for _, r := range db.Query(sql) {
			rows = append(rows, strings.Join(r, "|"))
		}
		return strings.Join(rows, "\n")
	}
	return map[string]string{
		"rows":     q("SELECT rowid, id, team_id, handle, score, note, shout FROM players ORDER BY id"),
		"indexes":  q("SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'players' AND sql IS NOT NULL ORDER BY name"),
		"triggers": q("SELECT name, sql FROM sqlite_schema WHERE type = 'trigger' ORDER BY name"),
		"views":    q("SELECT name, sql FROM sqlite_schema WHERE type = 'view' ORDER BY name"),
		"fks":      q("SELECT \"table\", \"from\", \"to\", on_delete FROM pragma_foreign_key_list('players') ORDER BY id"),
		"childfks": q("SELECT \"table\", \"from\", \"to\" FROM pragma_foreign_key_list('audit')"),
		"seq":      q("SELECT seq FROM sqlite_sequence WHERE name = 'players'"),
		"columns":  q("SELECT name, type, dflt_value, hidden FROM pragma_table_xinfo('players') ORDER BY cid"),
		"audit":    q("SELECT player_id, what FROM audit ORDER BY rowid"),
	}
}

func TestSQLiteRebuildKeepsEverything(t *testing.T) {
	cases := []struct {
		name, plan string
		check      func(t *testing.T, db *testdb.DB)
	}{
		{"not null", `
name: players-note
playbook: tighten-constraint
table: players
constraint: {not_null: note}
`, func(t *testing.T, db *testdb.DB) {
			if got := db.One("SELECT \"notnull\" FROM pragma_table_info('players') WHERE name = 'note'"); got != "1" {
				t.Errorf("note notnull = %s, want 1", got)
			}
			if _, err := db.SQL.Exec("UPDATE players SET note = NULL WHERE id = 1"); err == nil || !strings.Contains(err.Error(), "NOT NULL") {
				t.Errorf("NULL note accepted: %v", err)
			}
		}},
		{"check", `
name: players-score-cap
playbook: tighten-constraint
table: players
constraint: {name: players_score_cap, check: "score <= 1000"}
`, func(t *testing.T, db *testdb.DB) {
			if _, err := db.SQL.Exec("UPDATE players SET score = 5000 WHERE id = 1"); err == nil || !strings.Contains(err.Error(), "players_score_cap") {
				t.Errorf("score 5000 accepted: %v", err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := testdb.New(t, "sqlite")
			seedRich(t, db)
			before := snapshot(t, db)
			s, _ := session(t, db, mustPlan(t, tc.plan), Options{})
			runAll(t, s)
			after := snapshot(t, db)
			for k, v := range before {
				if after[k] != v {
					t.Errorf("%s changed by the rebuild:\nbefore:\n%s\nafter:\n%s", k, v, after[k])
				}
			}
			tc.check(t, db)
			// Every old constraint still holds, enforced by the database.
			for _, bad := range []string{
				"UPDATE players SET score = -1 WHERE id = 1",                   // column CHECK
				"UPDATE players SET note = '" + strings.Repeat("x", 200) + "'", // table CHECK
				"UPDATE players SET handle = 'P2' WHERE id = 1",                // unique index, NOCASE
				"INSERT INTO players (team_id, handle, note) VALUES (1, 'p2', 'dup')",
			} {
				if _, err := db.SQL.Exec(bad); err == nil {
					t.Errorf("accepted after rebuild: %s", bad)
				}
			}
			// Foreign keys: still declared, and enforced where enabled.
			conn, err := db.SQL.Conn(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			conn.ExecContext(context.Background(), "PRAGMA foreign_keys = ON")
			if _, err := conn.ExecContext(context.Background(), "INSERT INTO players (team_id, handle, note) VALUES (99, 'orphan', 'x')"); err == nil {
				t.Error("a player of a team that does not exist was accepted")
			}
			conn.ExecContext(context.Background(), "PRAGMA foreign_keys = OFF")
			conn.Close() // the test's pool has one connection
			// The trigger still fires.
			db.Exec("UPDATE players SET score = 42 WHERE id = 3")
			if got := db.One("SELECT what FROM audit WHERE player_id = 3"); got != "score; now 42" {
				t.Errorf("trigger wrote %q", got)
			}
			// AUTOINCREMENT does not reuse deleted ids.
			db.Exec("INSERT INTO players (team_id, handle, note) VALUES (1, 'fresh', 'x')")
			if got := db.One("SELECT max(id) FROM players"); got != "301" {
				t.Errorf("next id = %s, want 301", got)
			}
			// No leftover of the rebuild.
			if got := db.One("SELECT count(*) FROM sqlite_schema WHERE name LIKE '_shepherd%'"); got != "0" {
				t.Errorf("leftover objects: %s", got)
			}
		})
	}
}

func TestCreateTableEdits(t *testing.T) {
	const create = `CREATE TABLE "odd table" (
  "id" INTEGER PRIMARY KEY,
  [weird, name] TEXT CHECK ([weird, name] <> 'NOT NULL, really'),
  b TEXT CONSTRAINT b_nn NOT NULL ON CONFLICT ABORT DEFAULT ('x,y'),
  c INT CONSTRAINT c_pos CHECK (c > 0) NOT NULL,
  CONSTRAINT t_chk CHECK (length(b) > 0 AND c IS NOT NULL)
) WITHOUT ROWID`
	cases := []struct {
		name string
		edit func(ct *createTable) error
		want []string // substrings of the new definition
		not  []string
	}{
		{"set not null on a bracketed name", func(ct *createTable) error { return ct.setNotNull("weird, name") },
			[]string{"[weird, name] TEXT CHECK ([weird, name] <> 'NOT NULL, really') NOT NULL"}, nil},
		{"drop named not null with conflict clause", func(ct *createTable) error { return ct.dropNotNull("b") },
			[]string{"b TEXT DEFAULT ('x,y')", "CONSTRAINT t_chk CHECK (length(b) > 0 AND c IS NOT NULL)"}, []string{"b_nn"}},
		{"drop not null leaves checks alone", func(ct *createTable) error { return ct.dropNotNull("c") },
			[]string{"c INT CONSTRAINT c_pos CHECK (c > 0)", "c IS NOT NULL)"}, []string{"(c > 0) NOT NULL"}},
		{"drop a table constraint", func(ct *createTable) error {
			if !ct.dropConstraint("t_chk") {
				t.Error("t_chk not found")
			}
			return nil
		}, []string{"c_pos"}, []string{"t_chk"}},
		{"drop a column constraint", func(ct *createTable) error {
			if !ct.dropConstraint("c_pos") {
				t.Error("c_pos not found")
			}
			return nil
		}, []string{"c INT NOT NULL", "t_chk"}, []string{"c_pos"}},
		{"add a check", func(ct *createTable) error { ct.addCheck("new", "c < 10", `"new"`); return nil },
			[]string{`CONSTRAINT "new" CHECK (c < 10)`, ") WITHOUT ROWID"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ct, err := parseCreateTable(create)
			if err != nil {
				t.Fatal(err)
			}
			if len(ct.items) != 5 {
				t.Fatalf("items = %d, want 5", len(ct.items))
			}
			if err := tc.edit(ct); err != nil {
				t.Fatal(err)
			}
			def := ct.definition()
			for _, w := range tc.want {
				if !strings.Contains(def, w) {
					t.Errorf("definition lacks %q:\n%s", w, def)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(def, n) {
					t.Errorf("definition still has %q:\n%s", n, def)
				}
			}
			// The edited definition is valid SQLite.
			db := testdb.New(t, "sqlite")
			db.Exec(`CREATE TABLE x ` + def)
		})
	}
	if err := (&createTable{}).setNotNull("nope"); err == nil {
		t.Error("setNotNull on a missing column succeeded")
	}
}

// SQLite reads a double-quoted name that matches no column as a string; a
// check that names a dropped column must fail, not compare a string.
func TestSQLiteMissingColumnFails(t *testing.T) {
	db := testdb.New(t, "sqlite")
	db.Seed(3)
	d := sqliteDialect{}
	set, err := templates.Load("sqlite", d.quote, d.placeholder)
	if err != nil {
		t.Fatal(err)
	}
	st, err := set.Query("count-where", sqlData{Table: "users", Key: "id", Column: "name", To: "gone", Cond: "diff"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL.Exec(st.SQL); err == nil || !strings.Contains(err.Error(), "no such column") {
		t.Fatalf("%s: err = %v, want no such column", st.SQL, err)
	}
}

// A reader holding SQLite's shared lock makes the rebuild's commit time
// out; the retry must run the phase again from the database's state, not
// from the in-memory state the failed attempt had already moved to done.
func TestSQLiteCommitTimeoutIsRetried(t *testing.T) {
	db := testdb.New(t, "sqlite")
	db.Seed(200)
	ctx := context.Background()
	reader, err := db.SQL.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	held := false
	// Just before the rebuild commits, a reader starts a read transaction
	// and keeps it for 1.5s: the commit cannot get its exclusive lock.
	hook := func(point string) {
		if point != "add-constraint:commit" || held {
			return
		}
		held = true
		reader.ExecContext(ctx, "BEGIN")
		var n int
		reader.QueryRowContext(ctx, "SELECT count(*) FROM users").Scan(&n)
		go func() {
			time.Sleep(1500 * time.Millisecond)
			reader.ExecContext(ctx, "COMMIT")
		}()
	}
	s, rec := session(t, db, mustPlan(t, `
name: users-name-short
playbook: tighten-constraint
table: users
constraint: {name: users_name_short, check: "length(name) < 100"}
`), Options{LockTimeout: 200 * time.Millisecond, Failpoint: hook})
	if _, err := s.Run(ctx, "clean", map[string]bool{"validate-in-app": true}); err != nil {
		t.Fatal(err)
	}
	if err := s.RunPhase(ctx, "add-constraint"); err != nil {
		t.Fatalf("add-constraint after a commit timeout: %v", err)
	}
	if !held || len(rec.find(EventNotice, "lock wait over")) == 0 {
		t.Error("the commit never waited: the test did not hold the lock")
	}
	time.Sleep(200 * time.Millisecond) // the reader's COMMIT
	reader.Close()                     // the test's pool has one connection
	if got := db.One("SELECT status FROM shepherd_state WHERE plan = 'users-name-short' AND phase = 'add-constraint'"); got != "done" {
		t.Errorf("add-constraint is %s", got)
	}
	if got := db.One("SELECT count(*) FROM sqlite_schema WHERE sql LIKE '%users_name_short%'"); got != "1" {
		t.Errorf("the constraint is in %s table definitions", got)
	}
}

func TestLastTxGroupEnd(t *testing.T) {
	step := func(m templates.Mode) templates.Step { return templates.Step{Mode: m} }
	cases := []struct {
		modes []templates.Mode
		want  int
	}{
		{[]templates.Mode{templates.Own, templates.Own}, -1},
		{[]templates.Mode{templates.InTx}, 0},
		{[]templates.Mode{templates.Own, templates.InTx, templates.InTx}, 2},
		// SQLite's rebuild: the foreign key check after the copy commits with it.
		{[]templates.Mode{templates.ConnOp, templates.ConnOp, templates.Check, templates.InTx, templates.InTx, templates.Check, templates.ConnOp, templates.ConnOp}, 5},
		{[]templates.Mode{templates.InTx, templates.ConnOp, templates.Check}, 0},
	}
	for _, tc := range cases {
		var script templates.Script
		for _, m := range tc.modes {
			script = append(script, step(m))
		}
		if got := lastTxGroupEnd(script); got != tc.want {
			t.Errorf("%v: %d, want %d", tc.modes, got, tc.want)
		}
	}
}

// The SQLite lease: a holder on this host is alive while its process is,
// however old its lease; a lease taken over elsewhere is noticed.
func TestSQLiteLease(t *testing.T) {
	db := testdb.New(t, "sqlite")
	db.Seed(10)
	plan := mustPlan(t, emailPlan)
	a, _ := session(t, db, plan, Options{Operator: "a"})
	ctx := context.Background()
	eng, err := Open(ctx, db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()

	// Expired, but its process (this one) lives: refused.
	db.Exec(`UPDATE shepherd_lock SET expires_at = '2000-01-01T00:00:00Z'`)
	if _, err := eng.Start(ctx, plan, Options{Operator: "b"}); err == nil || !strings.Contains(err.Error(), "another runner holds users: a on host") {
		t.Fatalf("a live holder's expired lease was taken over: %v", err)
	}
	// Expired on another host: taken over, and the first runner notices.
	db.Exec(`UPDATE shepherd_lock SET host = 'elsewhere', expires_at = '2000-01-01T00:00:00Z'`)
	b, err := eng.Start(ctx, plan, Options{Operator: "b"})
	if err != nil {
		t.Fatalf("an expired lease elsewhere was not taken over: %v", err)
	}
	if err := a.lock.held(ctx); err == nil || !strings.Contains(err.Error(), "taken over") {
		t.Errorf("the first runner did not notice the takeover: %v", err)
	}
	// Lost, not held by another (exit 1, not 4): the run stops, and
	// writes nothing.
	var lost *LockLostError
	if err := a.RunPhase(ctx, "add-column"); !errors.As(err, &lost) || lost.Holder == nil || lost.Holder.Holder != "b" || errors.As(err, new(*LockHeldError)) {
		t.Errorf("the first runner ran on after losing its lease: %v", err)
	}
	if got := db.One(`SELECT count(*) FROM shepherd_log WHERE actor = 'a' AND phase = 'add-column'`); got != "0" {
		t.Errorf("the first runner logged %s rows after losing its lease", got)
	}
	// The other runner finishes: the first stays stopped.
	b.Close()
	if err := a.lock.held(ctx); !errors.As(err, &lost) {
		t.Errorf("a released lease reads as held: %v", err)
	}
	// Gone altogether (another runner took it and finished): noticed too.
	c, _ := session(t, db, plan, Options{Operator: "c"})
	db.Exec(`UPDATE shepherd_lock SET host = 'elsewhere', expires_at = '2000-01-01T00:00:00Z'`)
	d, err := eng.Start(ctx, plan, Options{Operator: "d"})
	if err != nil {
		t.Fatalf("an expired lease elsewhere was not taken over: %v", err)
	}
	d.Close()
	if err := c.lock.held(ctx); !errors.As(err, &lost) || !strings.Contains(err.Error(), "is gone") {
		t.Errorf("a released lease reads as held: %v", err)
	}
}
