package engine

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/shepherd-db/shepherd/internal/testdb"
	"github.com/shepherd-db/shepherd/phases"
	"github.com/shepherd-db/shepherd/templates"
)

// MySQL/MariaDB tests run against the server SHEPHERD_TEST_MYSQL names, on a
// fresh database each; without it they are skipped (the ones that need no
// server still run).

const ordersCheckPlan = `name: orders-positive
playbook: tighten-constraint
table: orders
constraint: {name: orders_positive, check: "amount > 0"}
clean:
  set:
    amount: "abs(amount)"
`

const usersUniquePlan = `name: users-username-unique
playbook: tighten-constraint
table: users
constraint: {name: users_username_key, unique: [username]}
`

func mysqlTestDB(t *testing.T) *testdb.DB {
	t.Helper()
	t.Parallel()
	return testdb.New(t, "mysql")
}

// startSession opens an engine on db and starts plan; both close with the test.
func startSession(t *testing.T, db *testdb.DB, plan *phases.Plan, opts Options) (*Engine, *Session) {
	t.Helper()
	ctx := context.Background()
	e, err := Open(ctx, db.DSN)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	if opts.Operator == "" {
		opts.Operator = "tester@test"
	}
	s, err := e.Start(ctx, plan, opts)
	if err != nil {
		t.Fatalf("start %s: %v", plan.Name, err)
	}
	t.Cleanup(s.Close)
	return e, s
}

func databaseOf(t *testing.T, db *testdb.DB) string {
	u, err := url.Parse(db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(u.Path, "/")
}

// killLockHolder kills the connection that holds the runner lock of a
// table, as the server sees a runner die, and waits until the lock is free.
func killLockHolder(t *testing.T, db *testdb.DB, table string) {
	t.Helper()
	name := mysqlLockName(databaseOf(t, db) + "." + table)
	id := db.One("SELECT IS_USED_LOCK(?)", name)
	if id == "NULL" {
		t.Fatalf("nobody holds %s", name)
	}
	db.Exec("KILL CONNECTION " + id)
	for i := 0; db.One("SELECT IS_USED_LOCK(?)", name) != "NULL"; i++ {
		if i > 100 {
			t.Fatalf("%s still held after its connection was killed", name)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func phaseStatus(t *testing.T, db *testdb.DB, plan, phase string) string {
	t.Helper()
	return db.One("SELECT status FROM shepherd_state WHERE plan = ? AND phase = ?", plan, phase)
}

// crashAfterDDL does what a runner that dies between a phase's ALTER and
// its state write leaves behind: the phase recorded running, its DDL
// committed (DDL autocommits on MySQL), and the runner's connections gone.
func crashAfterDDL(t *testing.T, db *testdb.DB, e *Engine, s *Session, phase string, script templates.Script) {
	t.Helper()
	ctx := context.Background()
	if err := s.moveNow(ctx, phase, phases.Start, ""); err != nil {
		t.Fatal(err)
	}
	ran := 0
	for _, step := range script {
		if step.Mode != templates.Own {
			continue
		}
		args, err := step.Args(nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.SQL.Exec(step.SQL, args...); err != nil {
			t.Fatalf("%s by hand: %v\n%s", phase, err, step.SQL)
		}
		ran++
	}
	if ran == 0 {
		t.Fatalf("%s: no DDL step to run (steps: %+v)", phase, script)
	}
	killLockHolder(t, db, s.plan.Table)
	e.Close()
	if got := phaseStatus(t, db, s.plan.Name, phase); got != "running" {
		t.Fatalf("after the crash %s is %s, want running", phase, got)
	}
}

// rerunSkips reruns a plan after a crash up to phase and checks that the
// phase completes with its DDL skipped as already applied.
func rerunSkips(t *testing.T, db *testdb.DB, plan *phases.Plan, phase, ddl string) {
	t.Helper()
	rec := &recorder{}
	_, s := startSession(t, db, plan, Options{Emit: rec.emit})
	defer s.Close()
	out, err := s.Run(context.Background(), phase, nil)
	if err != nil || out != Reached {
		t.Fatalf("rerun after the crash: %v (outcome %v)", err, out)
	}
	if got := phaseStatus(t, db, plan.Name, phase); got != "done" {
		t.Fatalf("%s is %s after the rerun, want done", phase, got)
	}
	if len(rec.find(EventNotice, `skipped, nothing to do: ALTER TABLE .*`+regexp.QuoteMeta(ddl))) == 0 {
		t.Errorf("no notice that %s was skipped as already applied; events: %+v", ddl, rec.events)
	}
	if steps := rec.find(EventStep, regexp.QuoteMeta(ddl)); len(steps) > 0 {
		t.Errorf("%s ran again on the rerun: %+v", ddl, steps)
	}
}

// (a) A crash between an ALTER and the state write is found on the rerun:
// the ALTER is skipped as already applied and the phase completes.
func TestMySQLCrashBetweenDDLAndState(t *testing.T) {
	ctx := context.Background()
	t.Run("add-column", func(t *testing.T) {
		db := mysqlTestDB(t)
		db.Seed(100)
		plan := mustPlan(t, usersEmailPlan)
		e, s := startSession(t, db, plan, Options{})
		script, err := s.builder().addColumn()
		if err != nil {
			t.Fatal(err)
		}
		crashAfterDDL(t, db, e, s, "add-column", script)
		rerunSkips(t, db, plan, "add-column", "ADD COLUMN `email`")
	})
	t.Run("enforce", func(t *testing.T) {
		db := mysqlTestDB(t)
		db.Seed(100)
		plan := mustPlan(t, usersEmailPlan)
		e, s := startSession(t, db, plan, Options{})
		if _, err := s.Run(ctx, "switch-writes", map[string]bool{"deploy-readers": true, "switch-writes": true}); err != nil {
			t.Fatal(err)
		}
		if err := s.refreshTable(ctx); err != nil {
			t.Fatal(err)
		}
		script, err := s.builder().setNotNull("email", true)
		if err != nil {
			t.Fatal(err)
		}
		crashAfterDDL(t, db, e, s, "enforce", script)
		rerunSkips(t, db, plan, "enforce", "MODIFY COLUMN `email`")
		if got := db.One("SELECT is_nullable FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'users' AND column_name = 'email'"); got != "NO" {
			t.Errorf("email is_nullable = %s, want NO", got)
		}
	})
	t.Run("add-constraint check", func(t *testing.T) {
		db := mysqlTestDB(t)
		db.Exec("CREATE TABLE orders (id integer PRIMARY KEY, amount integer NOT NULL);\nINSERT INTO orders VALUES (1, 10), (2, -5), (3, 7)")
		plan := mustPlan(t, ordersCheckPlan)
		e, s := startSession(t, db, plan, Options{})
		if _, err := s.Run(ctx, "clean", map[string]bool{"validate-in-app": true}); err != nil {
			t.Fatal(err)
		}
		script, err := s.builder().addConstraint()
		if err != nil {
			t.Fatal(err)
		}
		crashAfterDDL(t, db, e, s, "add-constraint", script)
		rerunSkips(t, db, plan, "add-constraint", "ADD CONSTRAINT `orders_positive`")
	})
	t.Run("add-constraint unique", func(t *testing.T) {
		db := mysqlTestDB(t)
		db.Seed(50)
		plan := mustPlan(t, usersUniquePlan)
		e, s := startSession(t, db, plan, Options{})
		if _, err := s.Run(ctx, "clean", map[string]bool{"validate-in-app": true}); err != nil {
			t.Fatal(err)
		}
		script, err := s.builder().addConstraint()
		if err != nil {
			t.Fatal(err)
		}
		crashAfterDDL(t, db, e, s, "add-constraint", script)
		rerunSkips(t, db, plan, "add-constraint", "ADD UNIQUE KEY `users_username_key`")
		// and the rest of the playbook proves it on the real table
		_, s2 := startSession(t, db, plan, Options{})
		if _, err := s2.Run(ctx, "", nil); err != nil {
			t.Fatal(err)
		}
		if got := phaseStatus(t, db, plan.Name, "verify-failure-path"); got != "done" {
			t.Errorf("verify-failure-path is %s", got)
		}
	})
}

// drop-old-column too: after a crash the old column is already gone, and
// the rerun must not mistake that for a plan that no longer fits.
func TestMySQLCrashAfterDropOldColumn(t *testing.T) {
	ctx := context.Background()
	db := mysqlTestDB(t)
	db.Seed(30)
	plan := mustPlan(t, `name: users-full-name
playbook: rename-column
table: users
column: name
to: full_name
`)
	e, s := startSession(t, db, plan, Options{})
	if _, err := s.Run(ctx, "stop-old-writes", map[string]bool{"dual-write": true, "switch-reads": true, "stop-old-writes": true}); err != nil {
		t.Fatal(err)
	}
	script, err := s.builder().dropColumn("name")
	if err != nil {
		t.Fatal(err)
	}
	crashAfterDDL(t, db, e, s, "drop-old-column", script)
	rec := &recorder{}
	_, s2 := startSession(t, db, plan, Options{Emit: rec.emit})
	if _, err := s2.Run(ctx, "", map[string]bool{"drop-old-column": true}); err != nil {
		t.Fatalf("rerun after the crash: %v", err)
	}
	if got := phaseStatus(t, db, plan.Name, "drop-old-column"); got != "done" {
		t.Fatalf("drop-old-column is %s", got)
	}
	if len(rec.find(EventNotice, "skipped, nothing to do: ALTER TABLE `users` DROP COLUMN `name`")) == 0 {
		t.Errorf("the DROP COLUMN was not skipped as already applied: %+v", rec.events)
	}
}

// (b) An application transaction that read the table holds a metadata
// lock: the ALTER gives up after lock_wait_timeout instead of queueing every
// other query behind it, is retried, and goes through once the transaction
// ends.
func TestMySQLDDLWaitsForMetadataLock(t *testing.T) {
	db := mysqlTestDB(t)
	db.Seed(100)
	ctx := context.Background()
	conn, err := db.SQL.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM users").Scan(&n); err != nil {
		t.Fatal(err)
	}
	retries := make(chan struct{}, 16)
	rec := &recorder{on: func(e Event) {
		if e.Event == EventNotice && strings.Contains(e.Message, "lock wait over") {
			retries <- struct{}{}
		}
	}}
	plan := mustPlan(t, usersEmailPlan)
	_, s := startSession(t, db, plan, Options{LockTimeout: 300 * time.Millisecond, Emit: rec.emit})
	ended := make(chan time.Time, 1)
	go func() {
		// Let the ALTER time out twice, then end the transaction.
		<-retries
		<-retries
		ended <- time.Now()
		tx.Rollback()
	}()
	start := time.Now()
	if _, err := s.Run(ctx, "add-column", nil); err != nil {
		t.Fatalf("add-column: %v", err)
	}
	endedAt := <-ended
	if got := phaseStatus(t, db, plan.Name, "add-column"); got != "done" {
		t.Fatalf("add-column is %s", got)
	}
	notices := rec.find(EventNotice, `lock wait over 300ms; retry \d of 9`)
	if len(notices) < 2 {
		t.Fatalf("want at least two retry notices, got %+v", rec.events)
	}
	// The statement is shown once; the retries are notices.
	if steps := rec.steps("add-column"); len(steps) != 1 {
		t.Errorf("the ALTER was shown %d times over %d retries, want once: %+v", len(steps), len(notices), steps)
	}
	// lock_wait_timeout is in whole seconds: 300ms waits 1s per attempt.
	if waited := endedAt.Sub(start); waited < 2*time.Second {
		t.Errorf("two attempts gave up after %s in all: lock_wait_timeout should be 1s each", waited)
	}
	if got := db.One("SELECT count(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'users' AND column_name = 'email'"); got != "1" {
		t.Errorf("email not added")
	}
}

// (c) NOT NULL is a MODIFY that restates the column: its type, default,
// character set, collation, comment and (MariaDB) column CHECK survive, and
// so they do when rollback makes it nullable again.
func TestMySQLNotNullKeepsColumnDefinition(t *testing.T) {
	db := mysqlTestDB(t)
	db.Exec(`CREATE TABLE people (
  id integer PRIMARY KEY,
  nick varchar(50) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL DEFAULT 'it''s me' COMMENT 'shown to others, it''s public' CHECK (nick <> ''),
  note text
) DEFAULT CHARSET=latin1;
INSERT INTO people (id, nick) VALUES (1, 'ann'), (2, 'bob'), (3, DEFAULT)`)
	definition := func() string {
		return strings.Join(db.Query(`SELECT column_type, coalesce(column_default, 'none'), character_set_name, collation_name, column_comment
FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'people' AND column_name = 'nick'`)[0], " | ")
	}
	checks := func() string {
		return db.One("SELECT count(*) FROM information_schema.table_constraints WHERE table_schema = DATABASE() AND table_name = 'people' AND constraint_type = 'CHECK'")
	}
	nullable := func() string {
		return db.One("SELECT is_nullable FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'people' AND column_name = 'nick'")
	}
	before, checksBefore := definition(), checks()
	if !strings.Contains(before, "utf8mb4_bin") || !strings.Contains(before, "public") || checksBefore != "1" {
		t.Fatalf("fixture: %s, %s checks", before, checksBefore)
	}
	plan := mustPlan(t, `name: people-nick
playbook: tighten-constraint
table: people
constraint: {not_null: nick}
`)
	ctx := context.Background()
	_, s := startSession(t, db, plan, Options{})
	if _, err := s.Run(ctx, "", map[string]bool{"validate-in-app": true}); err != nil {
		t.Fatal(err)
	}
	if got := nullable(); got != "NO" {
		t.Fatalf("nick is_nullable = %s after add-constraint", got)
	}
	if after := definition(); after != before {
		t.Errorf("MODIFY … NOT NULL changed the column:\n before %s\n after  %s", before, after)
	}
	if got := checks(); got != checksBefore {
		t.Errorf("MODIFY … NOT NULL dropped the column's CHECK: %s checks, want %s", got, checksBefore)
	}
	if err := db.ExecE("INSERT INTO people (id, nick) VALUES (4, '')"); err == nil {
		t.Errorf("the column CHECK no longer rejects ''")
	}
	if got := db.One("SELECT nick FROM people WHERE id = 3"); got != "it's me" {
		t.Errorf("default row holds %q", got)
	}
	// rollback: verify-failure-path, then add-constraint drops NOT NULL.
	for _, want := range []string{"verify-failure-path", "add-constraint"} {
		ph, err := s.Rollback(ctx)
		if err != nil || ph.ID != want {
			t.Fatalf("rollback: %v, %s (want %s)", err, ph.ID, want)
		}
	}
	if got := nullable(); got != "YES" {
		t.Fatalf("nick is_nullable = %s after rollback", got)
	}
	if after := definition(); after != before {
		t.Errorf("MODIFY … NULL changed the column:\n before %s\n after  %s", before, after)
	}
	if got := checks(); got != checksBefore {
		t.Errorf("MODIFY … NULL dropped the column's CHECK")
	}
}

// (d) The runner lock is GET_LOCK on a connection held for the session: a
// second session on the same table is refused with the holder named, and
// once the holder's connection dies the lock is free.
func TestMySQLRunnerLock(t *testing.T) {
	db := mysqlTestDB(t)
	db.Seed(10)
	ctx := context.Background()
	first := mustPlan(t, usersEmailPlan)
	_, s1 := startSession(t, db, first, Options{Operator: "alice@test"})
	_ = s1

	second := mustPlan(t, strings.ReplaceAll(strings.ReplaceAll(usersEmailPlan, "users-email", "users-nick"), "email", "nick"))
	e2, err := Open(ctx, db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Close()
	_, err = e2.Start(ctx, second, Options{Operator: "bob@test"})
	var held *LockHeldError
	if !errors.As(err, &held) {
		t.Fatalf("second session on users: %v, want *LockHeldError", err)
	}
	host, _ := os.Hostname()
	if held.PID != int64(os.Getpid()) || held.Holder != "alice@test" || held.Plan != "users-email" || held.Host != host {
		t.Errorf("holder: %+v, want alice@test, pid %d on %s, plan users-email", held, os.Getpid(), host)
	}
	if held.Since.IsZero() || time.Since(held.Since) > time.Minute || time.Since(held.Since) < 0 {
		t.Errorf("holder since %s", held.Since)
	}
	for _, want := range []string{"alice@test", fmt.Sprintf("pid %d", os.Getpid()), databaseOf(t, db) + ".users"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not name %s", err, want)
		}
	}
	// Nothing was touched for the refused plan.
	if got := db.One("SELECT count(*) FROM shepherd_state WHERE plan = 'users-nick'"); got != "0" {
		t.Errorf("the refused plan registered %s phases", got)
	}

	// The first runner dies: its connection, and with it the lock, is gone.
	killLockHolder(t, db, "users")
	s2, err := e2.Start(ctx, second, Options{Operator: "bob@test"})
	if err != nil {
		t.Fatalf("after the holder died: %v", err)
	}
	if got := db.One("SELECT holder FROM shepherd_lock WHERE scope = ?", databaseOf(t, db)+".users"); got != "bob@test" {
		t.Errorf("holder row says %s", got)
	}
	s2.Close()
	if got := db.One("SELECT count(*) FROM shepherd_lock"); got != "0" {
		t.Errorf("holder row left after Close: %s", got)
	}
	// The dead session closes without hanging.
	done := make(chan struct{})
	go func() { s1.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("closing the session whose lock connection died hangs")
	}
}

// (e) `shepherd plan --dialect mysql` has no server: it shows the
// least-locking forms and says what each locks.
func TestMySQLPreview(t *testing.T) {
	t.Parallel()
	steps := func(t *testing.T, plan, phase string) templates.Script {
		t.Helper()
		previews, err := Preview(mustPlan(t, plan), "mysql")
		if err != nil {
			t.Fatal(err)
		}
		for _, pv := range previews {
			if pv.Phase.ID == phase {
				return append(append(templates.Script{}, pv.Steps...), pv.Revert...)
			}
		}
		t.Fatalf("no phase %s", phase)
		return nil
	}
	type want struct{ sql, lock string }
	check := func(t *testing.T, script templates.Script, wants ...want) {
		t.Helper()
		if len(script) != len(wants) {
			t.Fatalf("%d steps, want %d: %+v", len(script), len(wants), script)
		}
		for i, w := range wants {
			st := script[i]
			if !strings.Contains(st.SQL, w.sql) || !strings.Contains(st.Lock, w.lock) {
				t.Errorf("step %d:\n %s\n locks: %s\nwant %q, locks %q", i, st.SQL, st.Lock, w.sql, w.lock)
			}
			if st.Mode != templates.Own || st.Applied == nil || !strings.Contains(st.Applied.SQL, "information_schema") {
				t.Errorf("step %d is not its own step with an information_schema probe: %+v", i, st)
			}
		}
	}
	t.Run("add-column", func(t *testing.T) {
		check(t, steps(t, usersEmailPlan, "add-column"),
			want{"ALTER TABLE `users` ADD COLUMN `email` varchar(200), ALGORITHM=INSTANT", "INSTANT where the server allows it, else INPLACE, LOCK=NONE"},
			want{"ALTER TABLE `users` DROP COLUMN `email`, ALGORITHM=INSTANT", "INSTANT where the server allows it, else INPLACE, LOCK=NONE"})
	})
	t.Run("enforce", func(t *testing.T) {
		check(t, steps(t, usersEmailPlan, "enforce"),
			want{"MODIFY COLUMN `email` /* the type, CHARACTER SET, COLLATE, DEFAULT, ON UPDATE and COMMENT of email", "ALGORITHM=INPLACE, LOCK=NONE: the table is rebuilt in place"},
			want{"NULL, ALGORITHM=INPLACE, LOCK=NONE", "reads and writes go on"})
		if s := steps(t, usersEmailPlan, "enforce"); !strings.HasSuffix(s[0].SQL, " NOT NULL, ALGORITHM=INPLACE, LOCK=NONE") {
			t.Errorf("enforce: %s", s[0].SQL)
		}
	})
	t.Run("check", func(t *testing.T) {
		check(t, steps(t, ordersCheckPlan, "add-constraint"),
			want{"ADD CONSTRAINT `orders_positive` CHECK (amount > 0), ALGORITHM=COPY, LOCK=SHARED", "a copying, validating ALTER: writes to the table are blocked (reads go on)"},
			want{"DROP CONSTRAINT `orders_positive`", "only metadata changes"})
	})
	t.Run("unique", func(t *testing.T) {
		check(t, steps(t, usersUniquePlan, "add-constraint"),
			want{"ADD UNIQUE KEY `users_username_key` (`username`), ALGORITHM=INPLACE, LOCK=NONE", "while reads and writes go on"},
			want{"DROP INDEX `users_username_key`, ALGORITHM=INPLACE, LOCK=NONE", "reads and writes go on"})
	})
}

// What a live server decides: INSTANT where it has it, else INPLACE.
func TestMySQLServerAlgorithms(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		version           string
		add, drop, checks bool
		dropCheck         string
	}{
		{"10.11.6-MariaDB-0+deb12u1", true, true, true, "DROP CONSTRAINT"},
		{"5.5.5-10.3.39-MariaDB", true, false, true, "DROP CONSTRAINT"},
		{"10.1.48-MariaDB", false, false, false, "DROP CONSTRAINT"},
		{"8.0.36", true, true, true, "DROP CHECK"},
		{"8.0.20-log", true, false, true, "DROP CHECK"},
		{"5.7.44", false, false, false, "DROP CHECK"},
	} {
		d := &mysqlDialect{srv: parseMySQLVersion(c.version)}
		m := d.ddl()
		if got := m.AddColumn == "ALGORITHM=INSTANT"; got != c.add {
			t.Errorf("%s: add column %s", c.version, m.AddColumn)
		}
		if !c.add && (m.AddColumn != "ALGORITHM=INPLACE, LOCK=NONE" || !strings.Contains(m.AddColumnLock, "no INSTANT ADD COLUMN")) {
			t.Errorf("%s: add column %s (%s)", c.version, m.AddColumn, m.AddColumnLock)
		}
		if got := m.DropColumn == "ALGORITHM=INSTANT"; got != c.drop {
			t.Errorf("%s: drop column %s", c.version, m.DropColumn)
		}
		if d.srv.checks() != c.checks || m.DropCheck != c.dropCheck {
			t.Errorf("%s: checks %v, %s", c.version, d.srv.checks(), m.DropCheck)
		}
		err := d.prepare("add-check", &sqlData{}, &Table{})
		if (err == nil) != c.checks {
			t.Errorf("%s: add-check: %v", c.version, err)
		}
	}
}

func TestMySQLClassify(t *testing.T) {
	t.Parallel()
	d := &mysqlDialect{}
	for _, c := range []struct {
		err        error
		kind       failureKind
		constraint string
	}{
		{&mysql.MySQLError{Number: 1205, Message: "Lock wait timeout exceeded; try restarting transaction"}, failLockTimeout, ""},
		{&mysql.MySQLError{Number: 1213, Message: "Deadlock found when trying to get lock"}, failLockTimeout, ""},
		{&mysql.MySQLError{Number: 1048, Message: "Column 'email' cannot be null"}, failNotNull, "email"},
		{&mysql.MySQLError{Number: 1364, Message: "Field 'email' doesn't have a default value"}, failNotNull, "email"},
		{&mysql.MySQLError{Number: 3819, Message: "Check constraint 'orders_positive' is violated."}, failCheck, "orders_positive"},
		{&mysql.MySQLError{Number: 4025, Message: "CONSTRAINT `orders_positive` failed for `db`.`orders`"}, failCheck, "orders_positive"},
		{&mysql.MySQLError{Number: 1062, Message: "Duplicate entry 'user1' for key 'users.users_username_key'"}, failUnique, "users_username_key"},
		{&mysql.MySQLError{Number: 1062, Message: "Duplicate entry 'user1' for key 'users_username_key'"}, failUnique, "users_username_key"},
		{&mysql.MySQLError{Number: 2013, Message: "Lost connection to server during query"}, failConnection, ""},
		{&mysql.MySQLError{Number: 1054, Message: "Unknown column 'x' in 'field list'"}, failOther, ""},
		{fmt.Errorf("batch: %w", driver.ErrBadConn), failConnection, ""},
		{mysql.ErrInvalidConn, failConnection, ""},
		{&StepError{Phase: "enforce", Err: &dbError{msg: "x", err: &mysql.MySQLError{Number: 1205}}}, failLockTimeout, ""},
	} {
		f := d.classify(c.err)
		if f.kind != c.kind || f.constraint != c.constraint {
			t.Errorf("%v: kind %d constraint %q, want %d %q", c.err, f.kind, f.constraint, c.kind, c.constraint)
		}
	}
}

func TestMySQLLockName(t *testing.T) {
	t.Parallel()
	if got := mysqlLockName("shop.users"); got != "shepherd:shop.users" {
		t.Errorf("short scope: %s", got)
	}
	long := strings.Repeat("d", 64) + "." + strings.Repeat("t", 64)
	a, b := mysqlLockName(long), mysqlLockName(long+"x")
	if len(a) > 64 || !strings.HasPrefix(a, "shepherd:") || a == b {
		t.Errorf("long scopes: %s, %s", a, b)
	}
}

// Every template SQLite defines, MySQL defines too.
func TestMySQLTemplatesComplete(t *testing.T) {
	t.Parallel()
	text, err := os.ReadFile("../templates/sqlite.sql")
	if err != nil {
		t.Fatal(err)
	}
	set, err := templates.Load("mysql", (&mysqlDialect{}).quote, templates.Question)
	if err != nil {
		t.Fatal(err)
	}
	names := regexp.MustCompile(`\{\{define "([^"]+)"\}\}`).FindAllStringSubmatch(string(text), -1)
	if len(names) < 40 {
		t.Fatalf("found only %d templates in sqlite.sql", len(names))
	}
	// change-column-type's swap is SQLite's "swap" template, a rebuild;
	// MySQL's is steps of its own (swap-prepare, swap-lock, swap-cut).
	notYet := map[string]bool{"swap": true}
	for _, m := range names {
		if !set.Has(m[1]) && !notYet[m[1]] {
			t.Errorf("templates/mysql.sql does not define %q", m[1])
		}
	}
}

// The password never shows, even when the connection fails.
func TestMySQLOpenScrubsPassword(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, dsn := range []string{
		"mysql://shepherd:s3cr3t-pw@127.0.0.1:1/shop",
		"mysql://shepherd:s3cr3t-pw@127.0.0.1:1/",
		"mysql://shepherd:s3cr3t-pw@127.0.0.1:1/shop?sslmode=disable",
	} {
		_, err := Open(ctx, dsn)
		if err == nil {
			t.Fatalf("%s: connected", dsn)
		}
		if strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("error shows the password: %v", err)
		}
	}
	if ok, _ := testdb.Available("mysql"); !ok {
		return
	}
	u, _ := url.Parse(os.Getenv(testdb.EnvMySQL))
	u.User = url.UserPassword(u.User.Username(), "wr0ng-s3cr3t")
	_, err := Open(ctx, u.String())
	if err == nil || strings.Contains(err.Error(), "wr0ng-s3cr3t") {
		t.Errorf("wrong password: %v", err)
	}
}

// A backfill batch waiting on rows the application holds gives up after
// innodb_lock_wait_timeout (set on every pooled connection from
// --lock-timeout), is retried, and goes through once the rows are free.
func TestMySQLBatchWaitsForRowLock(t *testing.T) {
	db := mysqlTestDB(t)
	db.Seed(100)
	ctx := context.Background()
	plan := mustPlan(t, usersEmailPlan)
	retries := make(chan struct{}, 16)
	rec := &recorder{on: func(e Event) {
		if e.Event == EventNotice && strings.Contains(e.Message, "waited too long for a lock") {
			retries <- struct{}{}
		}
	}}
	_, s := startSession(t, db, plan, Options{LockTimeout: 300 * time.Millisecond, BatchSize: 40, Emit: rec.emit, InPlace: true})
	if _, err := s.Run(ctx, "add-column", nil); err != nil {
		t.Fatal(err)
	}
	conn, err := db.SQL.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The application holds row 50, in the second batch.
	if _, err := tx.ExecContext(ctx, "UPDATE users SET name = 'busy' WHERE id = 50"); err != nil {
		t.Fatal(err)
	}
	go func() {
		<-retries
		tx.Commit()
	}()
	done := make(chan error, 1)
	go func() {
		_, err := s.Run(ctx, "backfill", map[string]bool{"deploy-readers": true})
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("backfill: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the batch waited for the row lock far longer than --lock-timeout")
	}
	if len(rec.find(EventNotice, `batch id > 40 AND id <= 80 waited too long for a lock; retry 1`)) == 0 {
		t.Errorf("no retry notice for the blocked batch: %+v", rec.events)
	}
	if got := db.One("SELECT count(*) FROM users WHERE email IS NULL"); got != "0" {
		t.Errorf("%s rows left NULL", got)
	}
}

// Every connection of the pool waits for row locks --lock-timeout (in whole
// seconds, rounded up), including those opened before the session started.
func TestMySQLPoolLockWait(t *testing.T) {
	db := mysqlTestDB(t)
	db.Seed(1)
	ctx := context.Background()
	e, err := Open(ctx, db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	// connections opened before the session, with the default
	var conns []interface{ Close() error }
	for range 3 {
		c, err := e.db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for _, c := range conns {
		c.Close()
	}
	s, err := e.Start(ctx, mustPlan(t, usersEmailPlan), Options{LockTimeout: 1500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var held []*sql.Conn
	for range 4 {
		c, err := e.db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
		var wait, mode string
		if err := c.QueryRowContext(ctx, "SELECT @@SESSION.innodb_lock_wait_timeout, @@SESSION.sql_mode").Scan(&wait, &mode); err != nil {
			t.Fatal(err)
		}
		if wait != "2" || !strings.Contains(mode, "STRICT_TRANS_TABLES") {
			t.Errorf("a pooled connection has innodb_lock_wait_timeout %s, sql_mode %s; want 2 and strict", wait, mode)
		}
	}
	for _, c := range held {
		c.Close()
	}
}

// Duplicates are counted, cleaned in batches (the UPDATE reads the table it
// changes through a materialized derived table, which MySQL allows), the
// unique key is built, and a duplicate write is proven rejected.
func TestMySQLUniqueCleanAndProve(t *testing.T) {
	db := mysqlTestDB(t)
	db.Seed(60)
	db.Exec("UPDATE users SET username = 'dup' WHERE id IN (3, 7, 9, 55)")
	plan := mustPlan(t, usersUniquePlan+`clean:
  set:
    username: "concat(username, '-', id)"
`)
	rec := &recorder{}
	_, s := startSession(t, db, plan, Options{BatchSize: 20, Emit: rec.emit})
	if _, err := s.Run(context.Background(), "", map[string]bool{"validate-in-app": true}); err != nil {
		t.Fatal(err)
	}
	if len(rec.find(EventPhaseDone, `3 rows violate users_username_key .* \(keys 7, 9, 55\)`)) == 0 {
		t.Errorf("validate-in-app did not count the duplicates: %+v", rec.find(EventPhaseDone, ""))
	}
	if len(rec.find(EventPhaseDone, `^3 rows cleaned`)) == 0 {
		t.Errorf("clean: %+v", rec.find(EventPhaseDone, ""))
	}
	if len(rec.find(EventPhaseDone, `a violating write was rejected by users_username_key .*Duplicate entry`)) == 0 {
		t.Errorf("verify-failure-path: %+v", rec.find(EventPhaseDone, ""))
	}
	got := db.Query("SELECT id, username FROM users WHERE id IN (3, 7, 9, 55) ORDER BY id")
	if fmt.Sprint(got) != "[[3 dup] [7 dup-7] [9 dup-9] [55 dup-55]]" {
		t.Errorf("cleaned rows: %v", got)
	}
	if err := db.ExecE("UPDATE users SET username = 'dup' WHERE id = 1"); err == nil {
		t.Error("the unique key does not reject a duplicate")
	}
}

// schema: names another database than the DSN's: the table is changed
// there, the state stays in the DSN's database.
func TestMySQLPlanSchema(t *testing.T) {
	db := mysqlTestDB(t)
	other := databaseOf(t, db) + "_other"
	db.Exec("CREATE DATABASE " + other)
	t.Cleanup(func() { db.SQL.Exec("DROP DATABASE IF EXISTS " + other) })
	db.Exec("CREATE TABLE " + other + ".users (id integer PRIMARY KEY, username varchar(100) NOT NULL);\n" +
		"INSERT INTO " + other + ".users VALUES (1, 'A'), (2, 'B'), (3, 'C')")
	// a table of the same name in the DSN's database is left alone
	db.Seed(3)
	plan := mustPlan(t, "schema: "+other+"\n"+usersEmailPlan)
	_, s := startSession(t, db, plan, Options{})
	if _, err := s.Run(context.Background(), "", map[string]bool{"deploy-readers": true, "switch-writes": true}); err != nil {
		t.Fatal(err)
	}
	if got := db.Query("SELECT email FROM " + other + ".users ORDER BY id"); fmt.Sprint(got) != "[[a] [b] [c]]" {
		t.Errorf("%s.users: %v", other, got)
	}
	if got := db.One("SELECT is_nullable FROM information_schema.columns WHERE table_schema = ? AND table_name = 'users' AND column_name = 'email'", other); got != "NO" {
		t.Errorf("%s.users.email is_nullable %s", other, got)
	}
	if got := db.One("SELECT count(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'users' AND column_name = 'email'"); got != "0" {
		t.Errorf("the DSN's own users table was changed")
	}
	if got := db.One("SELECT count(*) FROM shepherd_state WHERE plan = 'users-email' AND status = 'done'"); got != "5" {
		t.Errorf("%s phases done in the DSN's database", got)
	}
}
