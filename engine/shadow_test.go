package engine

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shepherd-db/shepherd/internal/testdb"
	"github.com/shepherd-db/shepherd/phases"
)

// mariaDB is a fresh MariaDB database for a test of the backfill by a copy
// (shadow.go), which only MariaDB has; on MySQL the test is skipped, saying
// so (CI runs MariaDB).
func mariaDB(t *testing.T) *testdb.DB {
	t.Helper()
	t.Parallel()
	db := testdb.New(t, "mysql")
	if v := db.One(`SELECT VERSION()`); !strings.Contains(strings.ToLower(v), "mariadb") {
		t.Skipf("the server is %s: the backfill copies the table on MariaDB only", v)
	}
	return db
}

// copyUsers makes the table the copy tests share: a key the application
// gives (an AUTO_INCREMENT one rules the copy out), a UNIQUE column the
// application changes, and a last-modified time the database sets on
// update.
func copyUsers(t *testing.T, db *testdb.DB, n int) {
	t.Helper()
	db.Exec(`CREATE TABLE users (id bigint PRIMARY KEY, username varchar(100) NOT NULL, name varchar(100) NOT NULL,
		touched timestamp(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6), UNIQUE KEY users_username (username))`)
	db.SeedRows("users", n)
}

// runThrough runs the plan's phases up to and including last, confirming gates.
func runThrough(t *testing.T, s *Session, last string) {
	t.Helper()
	ctx := context.Background()
	for _, ph := range s.pb.Phases {
		if s.progress().Of(ph.ID) == phases.Done {
			continue
		}
		if err := s.Arrive(ctx, ph.ID); err != nil {
			t.Fatalf("arrive at %s: %v", ph.ID, err)
		}
		if err := s.RunPhase(ctx, ph.ID); err != nil {
			t.Fatalf("%s: %v", ph.ID, err)
		}
		if ph.ID == last {
			return
		}
	}
}

// copyLeft lists what of the copy is in the database: its tables and its
// triggers.
func copyLeft(db *testdb.DB) []string {
	var left []string
	for _, r := range db.Query(`SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE '\_users\_shepherd\_%'`) {
		left = append(left, r[0])
	}
	for _, r := range db.Query(`SELECT trigger_name FROM information_schema.triggers WHERE trigger_schema = DATABASE()`) {
		left = append(left, r[0])
	}
	return left
}

// The copy under the application's writes: old code inserts (no email),
// renames users and deletes them while the backfill copies the table.
// None of its writes fails, none is lost (the table holds exactly the rows
// and usernames the application left), every row the copy passed is
// filled, the application's last-modified times are the ones it left, and
// its statistics count its rows.
func TestCopyUnderWrites(t *testing.T) {
	db := mariaDB(t)
	copyUsers(t, db, 3000)
	touched := db.One(`SELECT max(touched) FROM users`)
	app := startCopyWriters(db, 3000, false)
	s := copyUnderWriters(t, db, app)
	cp := db.One(`SELECT ` + "`checkpoint`" + ` FROM shepherd_state WHERE phase = 'backfill'`)
	if n := db.One(`SELECT count(*) FROM users WHERE email IS NULL AND id <= ` + cp); n != "0" {
		t.Errorf("%s rows up to the copy's last key %s are NULL", n, cp)
	}
	// A row the copy filled and the application did not touch has its
	// expression's value, and its last-modified time.
	if n := db.One(`SELECT count(*) FROM users WHERE username LIKE 'user%' AND (email <> lower(username) OR touched > ?)`, touched); n != "0" {
		t.Errorf("%s untouched rows have another email than lower(username), or a new last-modified time", n)
	}
	// The statistics were taken before the swap: the table is not planned
	// as one of no rows.
	if n, _ := strconv.Atoi(db.One(`SELECT table_rows FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'users'`)); n < 1000 {
		t.Errorf("the statistics of the new table count %d rows", n)
	}
	runThrough(t, s, "enforce")
	if n := db.One(`SELECT count(*) FROM users WHERE email IS NULL`); n != "0" {
		t.Errorf("%s rows NULL after enforce", n)
	}
}

// A copy stopped anywhere resumes: after the copy is made, after its
// triggers, during the walk, after the swap. The rerun finishes the copy
// (or the drop of the old table) and the backfill's rows are all there and
// filled, with nothing of the copy left.
func TestCopyResumesWhereItStopped(t *testing.T) {
	for _, point := range []string{"backfill:copy-made", "backfill:copy-trigger", "backfill:copy-triggers", "backfill:batch-done", "backfill:copy-swapped"} {
		t.Run(point, func(t *testing.T) {
			db := mariaDB(t)
			copyUsers(t, db, 1000)
			plan := mustPlan(t, usersEmailPlan)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			hits := 0
			s, _ := sessionWith(context.Background(), t, db, plan, Options{BatchSize: 100, Failpoint: func(p string) {
				if p == point {
					if hits++; hits == 3 || point != "backfill:batch-done" {
						cancel()
					}
				}
			}})
			for _, id := range []string{"add-column", "deploy-readers", "backfill"} {
				if err := s.Arrive(ctx, id); err != nil {
					t.Fatalf("arrive at %s: %v", id, err)
				}
				err := s.RunPhase(ctx, id)
				if id != "backfill" && err != nil {
					t.Fatalf("%s: %v", id, err)
				}
				if id == "backfill" && err == nil {
					t.Fatalf("the backfill went through its stop at %s", point)
				}
			}
			s.Close()
			db.Exec(`INSERT INTO users (id, username, name) VALUES (5000, 'between', 'x')`)
			again, rec := session(t, db, plan, Options{BatchSize: 100})
			if err := again.RunPhase(context.Background(), "backfill"); err != nil {
				t.Fatalf("rerun: %v", err)
			}
			if left := copyLeft(db); len(left) > 0 {
				t.Errorf("the copy left %v", left)
			}
			if n := db.One(`SELECT count(*) FROM users`); n != "1001" {
				t.Errorf("users holds %s rows, want 1001", n)
			}
			// The row inserted between the runs is past the walk when the
			// stop came after the swap: switch-writes' catch-up fills it.
			cp := db.One("SELECT `checkpoint` FROM shepherd_state WHERE phase = 'backfill'")
			if n := db.One(`SELECT count(*) FROM users WHERE (email IS NULL OR email <> lower(username)) AND id <= ` + cp); n != "0" {
				t.Errorf("%s rows up to %s are not filled", n, cp)
			}
			if point == "backfill:batch-done" && rec.notices("resuming the copy of users") != 1 {
				t.Errorf("the rerun did not resume the copy; notices: %v", rec.of(EventNotice))
			}
		})
	}
}

// A table the copy would not keep whole is filled in place, saying why: a
// trigger of the application's, a foreign key to it; and --in-place asks
// for it.
func TestCopyRuledOut(t *testing.T) {
	cases := []struct {
		name, setup string
		opts        Options
		why         string
	}{
		{"trigger", `CREATE TRIGGER users_audit AFTER INSERT ON users FOR EACH ROW SET @x = 1`, Options{}, "a trigger (users_audit)"},
		{"foreign key", `CREATE TABLE orders (id int PRIMARY KEY, user_id bigint, FOREIGN KEY (user_id) REFERENCES users (id))`, Options{}, "a foreign key from another table"},
		{"in-place", ``, Options{InPlace: true}, "--in-place"},
		{"auto-increment", `ALTER TABLE users MODIFY id bigint NOT NULL AUTO_INCREMENT`, Options{}, "an AUTO_INCREMENT column (id, with innodb_autoinc_lock_mode 1, not 2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db := mariaDB(t)
			if c.name == "auto-increment" && db.One(`SELECT @@innodb_autoinc_lock_mode`) != "1" {
				t.Skip("the server's innodb_autoinc_lock_mode is not MariaDB's default, 1: TestCopyAutoIncrement copies such a table")
			}
			copyUsers(t, db, 300)
			if c.setup != "" {
				db.Exec(c.setup)
			}
			c.opts.BatchSize = 100
			s, rec := session(t, db, mustPlan(t, usersEmailPlan), c.opts)
			runThrough(t, s, "backfill")
			if rec.notices("copies users") != 0 {
				t.Errorf("the backfill copied the table")
			}
			if len(rec.find(EventNotice, "fills users in place.*"+regexpQuote(c.why))) != 1 {
				t.Errorf("no notice saying why the fill is in place (%s); notices: %v", c.why, rec.of(EventNotice))
			}
			if n := db.One(`SELECT count(*) FROM users WHERE email IS NULL`); n != "0" {
				t.Errorf("%s rows NULL", n)
			}
		})
	}
}

func regexpQuote(s string) string {
	r := strings.NewReplacer("(", `\(`, ")", `\)`, "-", `\-`, ".", `\.`)
	return r.Replace(s)
}

// Rolling back a copy stopped half way drops the copy and its triggers:
// the application's writes go on, and add-column's rollback then drops
// the column.
func TestCopyRollback(t *testing.T) {
	db := mariaDB(t)
	copyUsers(t, db, 1000)
	stopCopyMidWalk(t, db)
	s, _ := session(t, db, mustPlan(t, usersEmailPlan), Options{})
	rollBackAll(t, s, db)
	if n := db.One(`SELECT count(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'users' AND column_name = 'email'`); n != "0" {
		t.Errorf("the column is still there after the rollback")
	}
}

// A table named as shepherd's copy is not shepherd's when the backfill has
// not started: the backfill stops, saying so, and drops nothing.
func TestCopyNameTaken(t *testing.T) {
	db := mariaDB(t)
	copyUsers(t, db, 100)
	db.Exec(`CREATE TABLE _users_shepherd_copy (x int)`)
	s, _ := session(t, db, mustPlan(t, usersEmailPlan), Options{})
	ctx := context.Background()
	for _, id := range []string{"add-column", "deploy-readers"} {
		if err := s.Arrive(ctx, id); err != nil {
			t.Fatal(err)
		}
		if err := s.RunPhase(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Arrive(ctx, "backfill"); err != nil {
		t.Fatal(err)
	}
	err := s.RunPhase(ctx, "backfill")
	if err == nil || !strings.Contains(err.Error(), "_users_shepherd_copy") {
		t.Fatalf("backfill: %v, want a refusal naming _users_shepherd_copy", err)
	}
	if n := db.One(`SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = '_users_shepherd_copy'`); n != "1" {
		t.Errorf("the application's table _users_shepherd_copy is gone")
	}
}

// A copy whose first batch failed changed nothing in force: its rollback
// resets the backfill, and still drops the copy and its triggers, which
// name the column add-column's rollback then drops (they would fail the
// application's every write).
func TestCopyRollbackAfterFailedFirstBatch(t *testing.T) {
	db := mariaDB(t)
	copyUsers(t, db, 50)
	db.Exec(`UPDATE users SET name = '12'`)
	db.Exec(`UPDATE users SET name = 'oops' WHERE id = 3`)
	plan := mustPlan(t, "name: users-age\nplaybook: add-column\ntable: users\ncolumn: age\ntype: integer\nbackfill: \"CAST(name AS SIGNED)\"\n")
	s, _ := session(t, db, plan, Options{BatchSize: 10})
	ctx := context.Background()
	for _, id := range []string{"add-column", "deploy-readers", "backfill"} {
		if err := s.Arrive(ctx, id); err != nil {
			t.Fatal(err)
		}
		err := s.RunPhase(ctx, id)
		if id == "backfill" && err == nil {
			t.Fatal("the backfill went through a row its expression fails on")
		}
		if id != "backfill" && err != nil {
			t.Fatal(err)
		}
	}
	if left := copyLeft(db); len(left) != 4 {
		t.Fatalf("the failed copy left %v, want the copy and its three triggers", left)
	}
	rollBackAll(t, s, db)
}

// rollBackAll rolls the plan back to its start: nothing of the copy may
// be left, and the application's inserts go on (a trigger of the copy
// left behind would name the dropped column and fail them).
func rollBackAll(t *testing.T, s *Session, db *testdb.DB) {
	t.Helper()
	for {
		ph, err := s.Rollback(context.Background())
		if err != nil {
			t.Fatalf("rollback: %v", err)
		}
		if ph.ID == "add-column" {
			break
		}
	}
	if left := copyLeft(db); len(left) > 0 {
		t.Errorf("the rollback left %v", left)
	}
	db.Exec(`INSERT INTO users (id, username, name) VALUES (9000, 'after', 'x')`)
}

// An application's transaction that deleted a row ahead of the walk holds
// a gap lock in the copy (its trigger's DELETE found no row there). The
// next batch, which has locked its own rows, meets that gap as it
// inserts: it must not wait there, or the transaction's next write to one
// of the batch's rows deadlocks, and InnoDB rolls back the application's
// transaction, which has written less.
func TestCopyBatchDoesNotDeadlockAnApplicationTransaction(t *testing.T) {
	db := mariaDB(t)
	copyUsers(t, db, 1000)
	var once sync.Once
	appErr := make(chan error, 1)
	s, _ := session(t, db, mustPlan(t, usersEmailPlan), Options{BatchSize: 100, Failpoint: func(p string) {
		if p != "backfill:batch-done" {
			return
		}
		once.Do(func() {
			// A row of the next batch, in the copy already (its trigger
			// wrote it): the gap below starts there.
			db.Exec(`UPDATE users SET name = 'moved' WHERE id = 150`)
			tx, err := db.SQL.Begin()
			if err != nil {
				appErr <- err
				return
			}
			if _, err := tx.Exec(`DELETE FROM users WHERE id = 800`); err != nil {
				appErr <- err
				return
			}
			go func() {
				time.Sleep(150 * time.Millisecond) // the batch is at the gap
				if _, err := tx.Exec(`UPDATE users SET name = 'app' WHERE id = 120`); err != nil {
					_ = tx.Rollback()
					appErr <- err
					return
				}
				time.Sleep(100 * time.Millisecond)
				appErr <- tx.Commit()
			}()
		})
	}})
	runThrough(t, s, "backfill")
	if err := <-appErr; err != nil {
		t.Fatalf("the application's transaction failed: %v", err)
	}
	if got := db.One(`SELECT concat(name, ' ', email) FROM users WHERE id = 120`); got != "app user120" {
		t.Errorf("row 120 is %q, want the application's name and the fill", got)
	}
	if n := db.One(`SELECT count(*) FROM users WHERE id = 800`); n != "0" {
		t.Errorf("the application's delete of row 800 was lost")
	}
}

// A user without the right to make triggers (TRIGGER; or SUPER, where
// binary logging is on) gets the fill in place, saying why, with nothing
// of the copy left.
func TestCopyRefusedFillsInPlace(t *testing.T) {
	db := mariaDB(t)
	copyUsers(t, db, 300)
	name := db.One(`SELECT DATABASE()`)
	user := "nt_" + name[len(name)-12:]
	db.Exec(fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY 'no-triggers';\nGRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX, LOCK TABLES, CREATE TEMPORARY TABLES ON `%s`.* TO '%s'@'%%'", user, name, user))
	t.Cleanup(func() { db.SQL.Exec(fmt.Sprintf("DROP USER IF EXISTS '%s'@'%%'", user)) })
	limited := &testdb.DB{Dialect: db.Dialect, DSN: strings.Replace(db.DSN, "root@", user+":no-triggers@", 1), SQL: db.SQL}
	s, rec := session(t, limited, mustPlan(t, usersEmailPlan), Options{BatchSize: 100})
	runThrough(t, s, "backfill")
	if found := rec.find(EventNotice, "fills users in place, not by a copy of the table: the database refused to make the copy"); len(found) != 1 {
		t.Errorf("no notice of the fill in place; notices: %v", rec.of(EventNotice))
	} else {
		t.Log(found[0].Message)
	}
	if left := copyLeft(db); len(left) > 0 {
		t.Errorf("the refused copy left %v", left)
	}
	if n := db.One(`SELECT count(*) FROM users WHERE email IS NULL`); n != "0" {
		t.Errorf("%s rows NULL", n)
	}
}

// A transaction open on the table when the triggers are made: the lock,
// asked for with NOWAIT, is tried again until the transaction ends, and
// the application's transaction is not disturbed.
func TestCopyWaitsOutAnOpenTransaction(t *testing.T) {
	db := mariaDB(t)
	copyUsers(t, db, 200)
	appErr := make(chan error, 1)
	s, rec := session(t, db, mustPlan(t, usersEmailPlan), Options{BatchSize: 100, Failpoint: func(p string) {
		if p != "backfill:copy-made" {
			return
		}
		tx, err := db.SQL.Begin()
		if err == nil {
			_, err = tx.Exec(`UPDATE users SET name = 'open' WHERE id = 7`)
		}
		if err != nil {
			appErr <- err
			return
		}
		go func() {
			time.Sleep(300 * time.Millisecond)
			appErr <- tx.Commit()
		}()
	}})
	runThrough(t, s, "backfill")
	if err := <-appErr; err != nil {
		t.Fatalf("the application's transaction failed: %v", err)
	}
	if len(rec.find(EventNotice, "lock users to make the copy's triggers: done on try")) != 1 {
		t.Errorf("the lock was not tried again; notices: %v", rec.of(EventNotice))
	}
	if got := db.One(`SELECT concat(name, ' ', email) FROM users WHERE id = 7`); got != "open user7" {
		t.Errorf("row 7 is %q, want the application's name and the fill", got)
	}
}
