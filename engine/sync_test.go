package engine

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// sync: database on rename-column: the triggers add-column installs keep
// the old and new columns in step for writers of either shape.

const accountsSyncPlan = `
name: accounts-handle
playbook: rename-column
table: accounts
column: nick
to: handle
sync: database
`

// accounts creates the table the sync tests share: a nullable old column
// (nick) and one neither shape of code cares about (note), rows 1..n.
func accounts(db *testdb.DB, n int) {
	db.Exec("CREATE TABLE accounts (id integer PRIMARY KEY, nick varchar(100), note varchar(100))")
	var vals []string
	for i := 1; i <= n; i++ {
		vals = append(vals, fmt.Sprintf("(%d, 'n%d')", i, i))
	}
	for len(vals) > 0 {
		k := min(len(vals), 500)
		db.Exec("INSERT INTO accounts (id, nick) VALUES " + strings.Join(vals[:k], ", "))
		vals = vals[k:]
	}
}

// syncObjects counts the sync triggers (and PostgreSQL's function) in the
// catalog.
func syncObjects(db *testdb.DB) string {
	switch db.Dialect {
	case "postgres":
		return db.One(`SELECT (SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'shepherd_sync_%') + (SELECT count(*) FROM pg_proc WHERE proname LIKE 'shepherd_sync_%')`)
	case "mysql":
		return db.One(`SELECT count(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() AND TRIGGER_NAME LIKE 'shepherd_sync_%'`)
	}
	return db.One(`SELECT count(*) FROM sqlite_schema WHERE type = 'trigger' AND name LIKE 'shepherd_sync_%'`)
}

func hasColumn(db *testdb.DB, col string) bool {
	return db.ExecE("SELECT "+col+" FROM accounts WHERE 1 = 0") == nil
}

func TestSyncTriggerSemantics(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		accounts(db, 3)
		s, _ := session(t, db, mustPlan(t, accountsSyncPlan), Options{})
		if err := s.RunPhase(context.Background(), "add-column"); err != nil {
			t.Fatal(err)
		}
		if got := syncObjects(db); got != "2" {
			t.Fatalf("%s sync objects after add-column, want 2", got)
		}
		for _, c := range []struct {
			name, sql string
			id        int
			want      string // nick:handle
		}{
			{"insert old only", "INSERT INTO accounts (id, nick) VALUES (10, 'a')", 10, "a:a"},
			{"insert new only", "INSERT INTO accounts (id, handle) VALUES (11, 'b')", 11, "b:b"},
			{"insert both", "INSERT INTO accounts (id, nick, handle) VALUES (12, 'c', 'd')", 12, "c:d"},
			{"insert neither", "INSERT INTO accounts (id, note) VALUES (13, 'x')", 13, "NULL:NULL"},
			{"update old only", "UPDATE accounts SET nick = 'a2' WHERE id = 10", 10, "a2:a2"},
			{"update old only, its case", "UPDATE accounts SET nick = 'A2' WHERE id = 10", 10, "A2:A2"},
			{"update new only", "UPDATE accounts SET handle = 'b2' WHERE id = 11", 11, "b2:b2"},
			{"update both", "UPDATE accounts SET nick = 'e', handle = 'f' WHERE id = 12", 12, "e:f"},
			{"update neither", "UPDATE accounts SET note = 'y' WHERE id = 1", 1, "n1:NULL"},
			{"update old to its own value", "UPDATE accounts SET nick = 'n2' WHERE id = 2", 2, "n2:NULL"},
			{"update new on a row not backfilled", "UPDATE accounts SET handle = 'h3' WHERE id = 3", 3, "h3:h3"},
			{"update old to NULL", "UPDATE accounts SET nick = NULL WHERE id = 11", 11, "NULL:NULL"},
		} {
			if err := db.ExecE(c.sql); err != nil {
				t.Errorf("%s: %v", c.name, err)
				continue
			}
			r := db.Query(fmt.Sprintf("SELECT nick, handle FROM accounts WHERE id = %d", c.id))
			if got := r[0][0] + ":" + r[0][1]; got != c.want {
				t.Errorf("%s: nick:handle = %s, want %s", c.name, got, c.want)
			}
		}
	})
}

// TestSyncRollbackAddColumn: rolling back add-column drops the triggers
// (and PostgreSQL's function) with the new column; the old column's
// writes work as before.
func TestSyncRollbackAddColumn(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		accounts(db, 10)
		ctx := context.Background()
		s, _ := session(t, db, mustPlan(t, accountsSyncPlan), Options{})
		if err := s.RunPhase(ctx, "add-column"); err != nil {
			t.Fatal(err)
		}
		db.Exec("UPDATE accounts SET nick = 'z' WHERE id = 4")
		if ph, err := s.Rollback(ctx); err != nil || ph.ID != "add-column" {
			t.Fatalf("rollback: %v, %v", ph.ID, err)
		}
		if got := syncObjects(db); got != "0" {
			t.Errorf("%s sync objects left after the rollback of add-column", got)
		}
		if hasColumn(db, "handle") {
			t.Error("handle is still there")
		}
		if err := db.ExecE("INSERT INTO accounts (id, nick) VALUES (99, 'q')"); err != nil {
			t.Errorf("an insert after the rollback: %v", err)
		}
		if err := db.ExecE("UPDATE accounts SET nick = 'w' WHERE id = 4"); err != nil {
			t.Errorf("an update after the rollback: %v", err)
		}
	})
}

// walk runs the plan's phases in order up to (not including) stop, as a
// release pipeline does.
func walk(t *testing.T, s *Session, stop string, each func(id string)) {
	t.Helper()
	ctx := context.Background()
	for {
		ph, more := s.pb.Next(s.progress())
		if !more || ph.ID == stop {
			return
		}
		if ph.Gate || ph.Confirm {
			if err := s.Arrive(ctx, ph.ID); err != nil {
				t.Fatalf("arrive at %s: %v", ph.ID, err)
			}
		}
		if each != nil {
			each(ph.ID)
		}
		if err := s.RunPhase(ctx, ph.ID); err != nil {
			t.Fatalf("%s: %v", ph.ID, err)
		}
	}
}

// TestSyncDropOldColumnKilled: drop-old-column removes the triggers and the
// column; a run killed after the triggers' removal and before the column's
// drop (MySQL has committed the former by then; PostgreSQL and SQLite roll
// it back) is finished by a rerun.
func TestSyncDropOldColumnKilled(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		accounts(db, 50)
		plan := mustPlan(t, accountsSyncPlan)
		s, _ := session(t, db, plan, Options{BatchSize: 20})
		walk(t, s, "drop-old-column", nil)
		s.Close()

		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		killed, _ := session(t, db, plan, Options{Failpoint: func(point string) {
			if point == "drop-old-column:step-2" { // the column's drop, after both trigger steps
				cancel()
			}
		}})
		if err := killed.Arrive(context.Background(), "drop-old-column"); err != nil {
			t.Fatal(err)
		}
		if err := killed.RunPhase(ctx, "drop-old-column"); err == nil {
			t.Fatal("drop-old-column ran through the kill")
		}
		if !hasColumn(db, "nick") {
			t.Fatal("nick was dropped before the kill point")
		}
		// Whatever the kill left, writes of either column still work.
		if err := db.ExecE("UPDATE accounts SET handle = 'late' WHERE id = 5"); err != nil {
			t.Errorf("a write between the kill and the rerun: %v", err)
		}
		killed.Close()

		s2, _ := session(t, db, plan, Options{})
		if err := s2.RunPhase(context.Background(), "drop-old-column"); err != nil {
			t.Fatalf("rerun of drop-old-column: %v", err)
		}
		if hasColumn(db, "nick") {
			t.Error("nick is still there after the rerun")
		}
		if got := syncObjects(db); got != "0" {
			t.Errorf("%s sync objects left after drop-old-column", got)
		}
		if got := db.One("SELECT handle FROM accounts WHERE id = 6"); got != "n6" {
			t.Errorf("handle of row 6 = %s, want n6", got)
		}
		if err := db.ExecE("INSERT INTO accounts (id, handle) VALUES (500, 'after')"); err != nil {
			t.Errorf("an insert after the drop: %v", err)
		}
	})
}

// TestSyncLiveTraffic is the done-when of sync: database: one writer runs
// old code (writes only nick), another new code (writes only handle),
// through every phase; no statement fails, and switch-reads' own check
// finds no row where the columns differ, without any help.
func TestSyncLiveTraffic(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		const rows = 2000
		accounts(db, rows)
		q := func(s string) string { return placeholders(db.Dialect, s) }
		var started bool // the new code's writer runs
		var (
			nextID  atomic.Int64
			ops     [2]atomic.Int64
			mu      sync.Mutex
			errs    []string
			stopOld = make(chan struct{})
			stopNew = make(chan struct{})
			wg      sync.WaitGroup
			phase   atomic.Value
		)
		nextID.Store(rows)
		phase.Store("start")
		writer := func(role int, col string, stop chan struct{}) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				val := fmt.Sprintf("%s-%d", col, i)
				var err error
				if i%3 == 0 {
					_, err = db.SQL.Exec(q("INSERT INTO accounts (id, "+col+") VALUES (?, ?)"), nextID.Add(1), val)
				} else {
					_, err = db.SQL.Exec(q("UPDATE accounts SET "+col+" = ? WHERE id = ?"), val, 1+(int64(i)*7919+int64(role)*104729)%nextID.Load())
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, fmt.Sprintf("during %v, writer of %s: %v", phase.Load(), col, err))
					mu.Unlock()
				}
				ops[role].Add(1)
				time.Sleep(time.Millisecond)
			}
		}
		await := func(n int64) {
			want := [2]int64{ops[0].Load() + n, ops[1].Load() + n}
			deadline := time.Now().Add(30 * time.Second)
			for (ops[0].Load() < want[0] && phase.Load() != "drop-old-column") || (ops[1].Load() < want[1] && started) {
				if time.Now().After(deadline) {
					t.Fatalf("the writers are stuck at %d, %d operations", ops[0].Load(), ops[1].Load())
				}
				time.Sleep(2 * time.Millisecond)
			}
		}
		diff := func() string {
			return db.One("SELECT count(*) FROM accounts WHERE " + diffCond(db.Dialect))
		}
		s, _ := session(t, db, mustPlan(t, accountsSyncPlan), Options{BatchSize: 300})
		var oldWG sync.WaitGroup
		oldWG.Add(1)
		wg.Add(1)
		go func() {
			defer oldWG.Done()
			writer(0, "nick", stopOld)
		}()
		walk(t, s, "", func(id string) {
			if !started && id != "add-column" {
				// New code runs from the moment its column is there.
				wg.Add(1)
				go writer(1, "handle", stopNew)
				started = true
			}
			switch id {
			case "switch-reads", "stop-old-writes", "drop-old-column":
				// From the backfill on, no row ever differs, while both
				// writers write; switch-reads' own check (its RunPhase)
				// must find none either.
				if n := diff(); n != "0" {
					t.Errorf("before %s, %s rows differ between nick and handle", id, n)
				}
			}
			if id == "drop-old-column" {
				// The old code is gone before its column, as a real
				// deploy (stop-old-writes) has it.
				close(stopOld)
				oldWG.Wait()
			}
			phase.Store(id)
			await(20)
		})
		await(20)
		close(stopNew)
		wg.Wait()
		if len(errs) > 0 {
			t.Errorf("%d writes failed:\n%s", len(errs), strings.Join(errs[:min(len(errs), 10)], "\n"))
		}
		if ops[0].Load() < 50 || ops[1].Load() < 50 {
			t.Errorf("the writers did %d and %d operations: the traffic did not overlap the phases", ops[0].Load(), ops[1].Load())
		}
		if hasColumn(db, "nick") {
			t.Error("nick is still there")
		}
		if got := db.One("SELECT count(*) FROM accounts WHERE handle IS NULL"); got != "0" {
			t.Errorf("%s rows lost their value", got)
		}
		t.Logf("old code: %d writes, new code: %d writes", ops[0].Load(), ops[1].Load())
	})
}

func diffCond(dialect string) string {
	if dialect == "sqlite" {
		return "handle IS NOT nick"
	}
	if dialect == "mysql" {
		return "NOT (CAST(handle AS BINARY) <=> CAST(nick AS BINARY))"
	}
	return "handle IS DISTINCT FROM nick"
}

// TestSyncOldNotNull: an old column NOT NULL without a default. PostgreSQL
// and MySQL check NOT NULL after their BEFORE triggers set it, so code that
// writes only the new column inserts; SQLite's triggers run after the
// write, so there the insert fails, and the run warns of it from its start.
func TestSyncOldNotNull(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		db.Exec("CREATE TABLE accounts (id integer PRIMARY KEY, nick varchar(100) NOT NULL, note varchar(100))")
		db.Exec("INSERT INTO accounts (id, nick) VALUES (1, 'a')")
		s, _ := session(t, db, mustPlan(t, accountsSyncPlan), Options{})
		warned := strings.Contains(strings.Join(s.Warnings(), "\n"), "the sync triggers set it only after a row is written")
		if err := s.RunPhase(context.Background(), "add-column"); err != nil {
			t.Fatal(err)
		}
		err := db.ExecE("INSERT INTO accounts (id, handle) VALUES (2, 'b')")
		if db.Dialect == "sqlite" {
			if err == nil || !warned {
				t.Errorf("SQLite: insert of the new column only: %v, warned %v; want a NOT NULL failure, warned", err, warned)
			}
			return
		}
		if err != nil || warned {
			t.Fatalf("insert of the new column only: %v (warned %v)", err, warned)
		}
		if got := db.One("SELECT nick FROM accounts WHERE id = 2"); got != "b" {
			t.Errorf("nick = %s, want b", got)
		}
	})
}

// TestSyncReverify: re-verifying add-column finds the triggers gone when
// something dropped them by hand.
func TestSyncReverify(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		accounts(db, 5)
		ctx := context.Background()
		s, _ := session(t, db, mustPlan(t, accountsSyncPlan), Options{})
		if err := s.RunPhase(ctx, "add-column"); err != nil {
			t.Fatal(err)
		}
		if msg, err := s.Reverify(ctx, "add-column"); err != nil || !strings.Contains(msg, "sync triggers are installed") {
			t.Fatalf("reverify: %q, %v", msg, err)
		}
		switch db.Dialect {
		case "postgres":
			db.Exec(`DROP TRIGGER "shepherd_sync_accounts-handle" ON accounts`)
		default:
			db.Exec("DROP TRIGGER `shepherd_sync_accounts-handle_upd`")
		}
		if _, err := s.Reverify(ctx, "add-column"); err == nil || !strings.Contains(err.Error(), "are missing") {
			t.Errorf("reverify with a trigger dropped: %v", err)
		}
	})
}

// TestSyncKeysAndType: the triggers find the row by a composite key (on
// SQLite by its rowid, or by the key's columns in a WITHOUT ROWID table),
// and a type: casts what they copy into the new column (SQLite: integer
// into text, stored as text).
func TestSyncKeysAndType(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		tables := []string{"CREATE TABLE members (tenant integer NOT NULL, id integer NOT NULL, nick integer, PRIMARY KEY (tenant, id))"}
		if db.Dialect == "sqlite" {
			tables = append(tables, tables[0]+" WITHOUT ROWID")
		}
		for i, create := range tables {
			db.Exec("DROP TABLE IF EXISTS members")
			db.Exec(create)
			db.Exec("INSERT INTO members (tenant, id, nick) VALUES (1, 1, 7), (2, 1, 8)")
			s, _ := session(t, db, mustPlan(t, fmt.Sprintf(`
name: members-code-%d
playbook: rename-column
table: members
key: [tenant, id]
column: nick
to: code
type: {postgres: bigint, mysql: bigint, sqlite: text}
sync: database
`, i)), Options{})
			if err := s.RunPhase(context.Background(), "add-column"); err != nil {
				t.Fatal(err)
			}
			db.Exec("INSERT INTO members (tenant, id, nick) VALUES (1, 2, 42)")
			db.Exec("INSERT INTO members (tenant, id, code) VALUES (2, 2, 43)")
			db.Exec("UPDATE members SET nick = 9 WHERE tenant = 2 AND id = 1")
			db.Exec("UPDATE members SET code = 10 WHERE tenant = 1 AND id = 1")
			got := db.Query("SELECT tenant, id, nick, code FROM members ORDER BY tenant, id")
			var rows []string
			for _, r := range got {
				rows = append(rows, strings.Join(r, ":"))
			}
			if want := "1:1:10:10 1:2:42:42 2:1:9:9 2:2:43:43"; strings.Join(rows, " ") != want {
				t.Errorf("%s: rows %s, want %s", create, strings.Join(rows, " "), want)
			}
			if want := map[string]string{"postgres": "bigint", "sqlite": "text"}[db.Dialect]; want != "" {
				if typ := db.One("SELECT " + map[string]string{"postgres": "pg_typeof(code)::text", "sqlite": "typeof(code)"}[db.Dialect] + " FROM members WHERE tenant = 1 AND id = 2"); typ != want {
					t.Errorf("%s: code holds %s, want %s", create, typ, want)
				}
			}
			if _, err := s.Rollback(context.Background()); err != nil {
				t.Fatal(err)
			}
			s.Close()
		}
	})
}
