package engine

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// Live traffic: while each safe playbook runs start to finish, a simulated
// application writes and reads the table continuously, deploying the code
// version each gate stands for. The application must see zero errors, and
// no write may be lost.

// app is the simulated application: writers that insert and update rows
// with the SQL of the deployed version, and a reader. The writers run
// concurrently, as the replicas of a fleet do; only two writes to the same
// row wait for each other (the database would order them anyway, and the
// test must know which one was last).
type app struct {
	db      *testdb.DB
	version atomic.Value // string: the code version deployed
	// deploying is held by each operation, from reading the version to its
	// last statement, and taken whole by a deploy: once deploy returns, no
	// operation of the old version is still running ("the deploy is out
	// everywhere"), however late the machine schedules a writer.
	deploying sync.RWMutex
	phase     atomic.Value // string: the phase shepherd runs, for messages
	nextID    atomic.Int64
	rows      sync.Map         // int64 -> *sync.Mutex: one write per row at a time
	mu        sync.Mutex       // guards last and errs, never held across SQL
	last      map[int64]string // the value each row's text column last got
	errs      []string
	ops       atomic.Int64
	// writing counts the writes in flight; overlap is the most seen at
	// once, which shows the writers did run concurrently.
	writing, overlap atomic.Int64
	stop             chan struct{}
	wg               sync.WaitGroup
	// sqlFor returns the statement and args the deployed version uses.
	write func(version string, id int64, insert bool, value string) (string, []any)
	read  func(version string) string
}

// newApp is the application on db, whose rows so far have ids 1..rows, with
// code version v1 deployed.
func newApp(db *testdb.DB, rows int64) *app {
	a := &app{db: db, last: map[int64]string{}}
	a.nextID.Store(rows)
	a.deploy("v1")
	return a
}

func (a *app) deploy(v string) {
	a.deploying.Lock()
	defer a.deploying.Unlock()
	a.version.Store(v)
}

func (a *app) start(writers int) {
	a.stop = make(chan struct{})
	for w := 0; w < writers; w++ {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			for {
				select {
				case <-a.stop:
					return
				default:
				}
				a.step()
				time.Sleep(time.Duration(2+rand.IntN(4)) * time.Millisecond)
			}
		}()
	}
}

func (a *app) step() {
	a.deploying.RLock()
	defer a.deploying.RUnlock()
	v := a.version.Load().(string)
	insert := rand.IntN(3) == 0
	var id int64
	if insert {
		id = a.nextID.Add(1)
	} else {
		id = 1 + rand.Int64N(a.nextID.Load())
	}
	value := fmt.Sprintf("w%d-%d", id, a.ops.Add(1))
	// One write per row at a time, so "last" is the row's last write;
	// writes to other rows go on meanwhile.
	m, _ := a.rows.LoadOrStore(id, &sync.Mutex{})
	m.(*sync.Mutex).Lock()
	defer m.(*sync.Mutex).Unlock()
	if n := a.writing.Add(1); n > a.overlap.Load() {
		a.overlap.Store(n) // racy max: a lower bound is enough
	}
	defer a.writing.Add(-1)
	q, args := a.write(v, id, insert, value)
	res, err := a.db.SQL.Exec(q, args...)
	if err != nil {
		a.fail(fmt.Sprintf("%s %s: %v", v, q, err))
		return
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return // no such row (an insert of it failed): nothing written
	}
	a.mu.Lock()
	a.last[id] = value
	a.mu.Unlock()
	if rows, err := a.db.SQL.Query(a.read(v), id); err != nil {
		a.fail(fmt.Sprintf("%s read: %v", v, err))
	} else {
		for rows.Next() {
			var got sql.NullString
			rows.Scan(&got)
			if got.String != value {
				a.fail(fmt.Sprintf("%s read row %d: got %q, just wrote %q", v, id, got.String, value))
			}
		}
		rows.Close()
	}
}

// await waits until the application has done n more operations: the
// traffic overlaps each phase by what it did, not by a time that a slow
// machine would spend on fewer operations.
func (a *app) await(t *testing.T, n int64) {
	t.Helper()
	want := a.ops.Load() + n
	deadline := time.Now().Add(time.Minute)
	for a.ops.Load() < want {
		if time.Now().After(deadline) {
			t.Fatalf("the application did %d operations of %d in a minute: its writes are stuck", a.ops.Load(), want)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (a *app) fail(msg string) {
	if ph, ok := a.phase.Load().(string); ok {
		msg = "during " + ph + ": " + msg
	}
	a.mu.Lock()
	a.errs = append(a.errs, msg)
	a.mu.Unlock()
}

func (a *app) halt(t *testing.T) {
	close(a.stop)
	a.wg.Wait()
	if len(a.errs) > 0 {
		n := len(a.errs)
		if n > 10 {
			a.errs = a.errs[:10]
		}
		t.Errorf("the application hit %d errors in %d operations:\n%s", n, a.ops.Load(), strings.Join(a.errs, "\n"))
	}
	if a.ops.Load() < 50 {
		t.Errorf("only %d application operations ran: the traffic did not overlap the phases", a.ops.Load())
	}
	if a.overlap.Load() < 2 {
		t.Errorf("the writers never wrote at the same time: the fleet was serialized")
	}
	t.Logf("%d application operations, up to %d writes at once, %d errors", a.ops.Load(), a.overlap.Load(), len(a.errs))
}

// checkNoLostWrites compares every row's column with the application's last
// write to it.
func (a *app) checkNoLostWrites(t *testing.T, col string) {
	t.Helper()
	got := map[int64]string{}
	for _, r := range a.db.Query("SELECT id, " + col + " FROM users") {
		var id int64
		fmt.Sscan(r[0], &id)
		got[id] = r[1]
	}
	lost := 0
	for id, want := range a.last {
		if got[id] != want {
			if lost < 5 {
				t.Errorf("row %d: %s = %q, the application last wrote %q", id, col, got[id], want)
			}
			lost++
		}
	}
	if lost > 0 {
		t.Errorf("%d writes lost of %d rows written", lost, len(a.last))
	}
}

// runWithTraffic walks a plan phase by phase as a release pipeline does,
// while the application's writers write all along: it runs to each gate
// (which may prepare the database for the deploy), deploys the version the
// gate stands for, then confirms it. It then stops the writers and checks
// that no write to col was lost.
func runWithTraffic(t *testing.T, a *app, plan string, writers int, deployAt map[string]string, col string) {
	t.Helper()
	ctx := context.Background()
	p := mustPlan(t, plan)
	opts := Options{BatchSize: 300}
	if p.Tighten != nil && p.Tighten.Constraint.Kind() == "check" {
		opts.AllowLock = "shared" // MySQL copies the table to add a CHECK, blocking writes for as long
	}
	s, _ := session(t, a.db, p, opts)
	a.start(writers)
	for {
		ph, more := s.pb.Next(s.progress())
		if !more {
			break
		}
		if ph.Gate || ph.Confirm {
			if err := s.Arrive(ctx, ph.ID); err != nil {
				t.Fatalf("arrive at %s: %v", ph.ID, err)
			}
		}
		if v, ok := deployAt[ph.ID]; ok {
			a.deploy(v)
			a.await(t, 10) // the deploy is out everywhere: its writes are running
		}
		a.phase.Store(ph.ID)
		if err := s.RunPhase(ctx, ph.ID); err != nil {
			t.Fatalf("%s: %v", ph.ID, err)
		}
		a.phase.Store("after " + ph.ID)
		a.await(t, 10) // the application writes between phases too
	}
	// A short playbook (add-index has two phases) still gets the floor of
	// operations halt checks for.
	a.await(t, max(10, 50-a.ops.Load()))
	a.halt(t)
	a.checkNoLostWrites(t, col)
}

func TestLiveTrafficAddColumn(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		db.Seed(3000)
		a := newApp(db, 3000)
		a.write = func(v string, id int64, insert bool, value string) (string, []any) {
			q := func(s string) string { return placeholders(db.Dialect, s) }
			switch {
			case v == "v3" && insert: // writes email
				return q("INSERT INTO users (id, username, name, email) VALUES (?, ?, ?, lower(?))"), []any{id, fmt.Sprintf("User%d", id), value, fmt.Sprintf("User%d", id)}
			case insert: // old code and readers: no email
				return q("INSERT INTO users (id, username, name) VALUES (?, ?, ?)"), []any{id, fmt.Sprintf("User%d", id), value}
			}
			return q("UPDATE users SET name = ? WHERE id = ?"), []any{value, id}
		}
		a.read = func(v string) string {
			if v == "v1" {
				return placeholders(db.Dialect, "SELECT name FROM users WHERE id = ?")
			}
			return placeholders(db.Dialect, "SELECT name FROM users WHERE id = ? AND (email IS NULL OR email <> '')")
		}
		runWithTraffic(t, a, usersEmailPlan, 3, map[string]string{"deploy-readers": "v2", "switch-writes": "v3"}, "name")
		if got := db.One("SELECT count(*) FROM users WHERE email IS NULL OR email <> lower(username)"); got != "0" {
			t.Errorf("%s rows have a wrong email", got)
		}
	})
}

func TestLiveTrafficRenameColumn(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		db.Seed(3000)
		a := newApp(db, 3000)
		q := func(s string) string { return placeholders(db.Dialect, s) }
		a.write = func(v string, id int64, insert bool, value string) (string, []any) {
			user := fmt.Sprintf("User%d", id)
			switch {
			case v == "v1" && insert: // old: name only
				return q("INSERT INTO users (id, username, name) VALUES (?, ?, ?)"), []any{id, user, value}
			case v == "v1":
				return q("UPDATE users SET name = ? WHERE id = ?"), []any{value, id}
			case (v == "v2" || v == "v3") && insert: // dual-write
				return q("INSERT INTO users (id, username, name, full_name) VALUES (?, ?, ?, ?)"), []any{id, user, value, value}
			case v == "v2" || v == "v3":
				return q("UPDATE users SET name = ?, full_name = ? WHERE id = ?"), []any{value, value, id}
			case insert: // v4: new column only
				return q("INSERT INTO users (id, username, full_name) VALUES (?, ?, ?)"), []any{id, user, value}
			}
			return q("UPDATE users SET full_name = ? WHERE id = ?"), []any{value, id}
		}
		a.read = func(v string) string {
			if v == "v1" || v == "v2" {
				return q("SELECT name FROM users WHERE id = ?")
			}
			return q("SELECT full_name FROM users WHERE id = ?")
		}
		runWithTraffic(t, a, `
name: users-full-name
playbook: rename-column
table: users
column: name
to: full_name
`, 3, map[string]string{"dual-write": "v2", "switch-reads": "v3", "stop-old-writes": "v4"}, "full_name")
	})
}

func TestLiveTrafficTightenConstraint(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		usersWith(db, "amount integer NOT NULL", func(i int) string {
			amount := i % 50
			if i%37 == 0 {
				amount = -amount
			}
			return fmt.Sprint(amount)
		})
		a := newApp(db, 2000)
		q := func(s string) string { return placeholders(db.Dialect, s) }
		a.write = func(v string, id int64, insert bool, value string) (string, []any) {
			amount := int(id%40) + 1
			if v == "v1" && id%5 == 0 {
				amount = -amount // old code does not validate
			}
			if insert {
				return q("INSERT INTO users (id, username, name, amount) VALUES (?, ?, ?, ?)"), []any{id, fmt.Sprintf("u%d", id), value, amount}
			}
			return q("UPDATE users SET name = ?, amount = ? WHERE id = ?"), []any{value, amount, id}
		}
		a.read = func(string) string { return q("SELECT name FROM users WHERE id = ?") }
		runWithTraffic(t, a, `
name: users-amount-positive
playbook: tighten-constraint
table: users
constraint: {name: users_amount_positive, check: "amount > 0"}
clean: {set: {amount: "abs(amount) + 1"}}
`, 3, map[string]string{"validate-in-app": "v2"}, "name")
		if got := db.One("SELECT count(*) FROM users WHERE amount <= 0"); got != "0" {
			t.Errorf("%s rows violate the constraint", got)
		}
	})
}

// TestLiveTrafficTightenUnique: a UNIQUE constraint (on PostgreSQL built
// CONCURRENTLY) added while the fleet writes: old code writes duplicates,
// code that validates writes unique values, clean fixes the old ones.
func TestLiveTrafficTightenUnique(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		usersWith(db, "email varchar(100) NOT NULL", func(i int) string {
			if i%41 == 0 {
				return "'dup@x.example'"
			}
			return fmt.Sprintf("'e%d@x.example'", i)
		})
		a := newApp(db, 2000)
		q := func(s string) string { return placeholders(db.Dialect, s) }
		a.write = func(v string, id int64, insert bool, value string) (string, []any) {
			email := fmt.Sprintf("e%d@x.example", id)
			if v == "v1" && id%7 == 0 {
				email = "old-dup@x.example" // old code does not check
			}
			if insert {
				return q("INSERT INTO users (id, username, name, email) VALUES (?, ?, ?, ?)"), []any{id, fmt.Sprintf("u%d", id), value, email}
			}
			return q("UPDATE users SET name = ? WHERE id = ?"), []any{value, id}
		}
		a.read = func(string) string { return q("SELECT name FROM users WHERE id = ?") }
		runWithTraffic(t, a, `
name: users-email-unique
playbook: tighten-constraint
table: users
constraint: {name: users_email_key, unique: [email]}
clean: {set: {email: "concat(email, '-', id)"}}
`, 4, map[string]string{"validate-in-app": "v2"}, "name")
		if got := db.One("SELECT count(*) FROM (SELECT email FROM users GROUP BY email HAVING count(*) > 1) d"); got != "0" {
			t.Errorf("%s emails are duplicated", got)
		}
		if err := db.ExecE("UPDATE users SET email = 'e1@x.example' WHERE id = 2"); err == nil {
			t.Error("the unique constraint is not in force")
		}
	})
}

// TestLiveTrafficTightenNotNull: NOT NULL on an existing column while the
// fleet writes (PostgreSQL's validated check, MySQL's in-place MODIFY,
// SQLite's rebuild): old code leaves it NULL, code that validates fills it.
func TestLiveTrafficTightenNotNull(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		usersWith(db, "nick varchar(100)", func(i int) string {
			if i%23 == 0 {
				return "NULL"
			}
			return fmt.Sprintf("'k%d'", i)
		})
		a := newApp(db, 2000)
		q := func(s string) string { return placeholders(db.Dialect, s) }
		a.write = func(v string, id int64, insert bool, value string) (string, []any) {
			switch {
			case insert && v == "v1": // old code does not write nick
				return q("INSERT INTO users (id, username, name) VALUES (?, ?, ?)"), []any{id, fmt.Sprintf("u%d", id), value}
			case insert:
				return q("INSERT INTO users (id, username, name, nick) VALUES (?, ?, ?, ?)"), []any{id, fmt.Sprintf("u%d", id), value, fmt.Sprintf("k%d", id)}
			}
			return q("UPDATE users SET name = ? WHERE id = ?"), []any{value, id}
		}
		a.read = func(string) string { return q("SELECT name FROM users WHERE id = ?") }
		runWithTraffic(t, a, `
name: users-nick-not-null
playbook: tighten-constraint
table: users
constraint: {not_null: nick}
clean: {set: {nick: "concat('k', id)"}}
`, 4, map[string]string{"validate-in-app": "v2"}, "name")
		if got := db.One("SELECT count(*) FROM users WHERE nick IS NULL OR nick <> concat('k', id)"); got != "0" {
			t.Errorf("%s rows have a wrong nick", got)
		}
		if err := db.ExecE("UPDATE users SET nick = NULL WHERE id = 2"); err == nil {
			t.Error("NOT NULL is not in force")
		}
	})
}

// usersWith creates users with a fourth column (col is its definition) and
// rows 1..2000; val gives row i's value of it, as an SQL literal.
func usersWith(db *testdb.DB, col string, val func(i int) string) {
	db.Exec("CREATE TABLE users (id integer PRIMARY KEY, username varchar(100) NOT NULL, name varchar(100) NOT NULL, " + col + ")")
	var vals []string
	for i := 1; i <= 2000; i++ {
		vals = append(vals, fmt.Sprintf("(%d, 'u%d', 'n%d', %s)", i, i, i, val(i)))
	}
	db.Exec("INSERT INTO users (id, username, name, " + strings.Fields(col)[0] + ") VALUES " + strings.Join(vals, ", "))
}

// placeholders rewrites ? into $n for PostgreSQL.
func placeholders(dialect, q string) string {
	if dialect != "postgres" {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
