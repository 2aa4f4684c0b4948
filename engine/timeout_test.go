package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// Statement timeouts (timeout.go). A statement timeout the database or the
// role carries for the application (150ms here) does not reach shepherd's
// statements: the counts, the validation and the DDL run with none, and a
// batch with shepherd's own bound. A batch that bound stops is reported as
// the server's cancellation, not as rows to fix.
//
// What is slow is made so on the test's own table, by an expression that
// sleeps on one row (a ghost user), so that the tests do not depend on the
// machine's speed: a statement that evaluates it there takes at least
// 300ms, twice the database's timeout, however fast the server is.

// slowEmail is, per dialect, what makes the ghost row slow: the backfill
// expression sleeps sleep seconds there, and gives NULL, so that the
// backfill's verification evaluates it again (a count of the NULLs it left
// and why). Every other row gets lower(username).
func slowEmail(t *testing.T, db *testdb.DB, sleep float64) string {
	t.Helper()
	switch db.Dialect {
	case "postgres":
		if _, err := db.SQL.Exec(fmt.Sprintf(`CREATE FUNCTION slow_email(name text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  IF name = 'ghost' THEN PERFORM pg_sleep(%g); RETURN NULL; END IF;
  RETURN lower(name);
END $$`, sleep)); err != nil {
			t.Fatal(err)
		}
		return "slow_email(username)"
	case "mysql":
		return fmt.Sprintf("IF(username = 'ghost', IF(SLEEP(%g) = 0, NULL, NULL), LOWER(username))", sleep)
	}
	t.Fatalf("no slow expression for %s", db.Dialect)
	return ""
}

// withStatementTimeout gives the test's database a statement timeout for
// every new session, as production databases often have, and returns the
// DSN shepherd connects with: PostgreSQL's ALTER DATABASE; on MariaDB a
// user of the test's own with MAX_STATEMENT_TIME (the server's global
// settings are never changed). It checks that a new session gets it.
func withStatementTimeout(t *testing.T, db *testdb.DB) string {
	t.Helper()
	name := db.One(map[string]string{"postgres": `SELECT current_database()`, "mysql": `SELECT DATABASE()`}[db.Dialect])
	dsn := db.DSN
	switch db.Dialect {
	case "postgres":
		db.Exec(`ALTER DATABASE "` + name + `" SET statement_timeout = '150ms'`)
	case "mysql":
		if !strings.Contains(strings.ToLower(db.One(`SELECT VERSION()`)), "mariadb") {
			t.Skip("MySQL has no per-user statement timeout, and its max_execution_time bounds SELECT only")
		}
		db.Exec(fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY 'timeout-test' WITH MAX_STATEMENT_TIME 0.15;\nGRANT ALL ON `%s`.* TO '%s'@'%%'", name, name, name))
		t.Cleanup(func() { db.SQL.Exec(fmt.Sprintf("DROP USER IF EXISTS '%s'@'%%'", name)) })
		dsn = strings.Replace(dsn, "root@", name+":timeout-test@", 1)
	}
	fresh := testdb.Attach(t, db.Dialect, dsn)
	got := fresh.One(map[string]string{"postgres": `SHOW statement_timeout`, "mysql": `SELECT @@max_statement_time`}[db.Dialect])
	if got != "150ms" && got != "0.15" && got != "0.150000" {
		t.Fatalf("a new session's statement timeout is %s, not 150ms: the test's premise does not hold", got)
	}
	return dsn
}

// The add-column plan completes under the database's 150ms statement
// timeout: its batches (one of which sleeps 300ms on the ghost row) and its
// verification counts (which evaluate the expression on the ghost row
// again) are not cancelled. Before, the batch failed with 57014 / 1969 and
// "fix the rows in that range".
func TestDatabaseStatementTimeoutDoesNotStopThePlan(t *testing.T) {
	for _, dialect := range []string{"postgres", "mysql"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			db := testdb.New(t, dialect)
			db.Seed(300)
			db.Exec(`UPDATE users SET username = 'ghost' WHERE id = 150`)
			expr := slowEmail(t, db, 0.3)
			dsn := withStatementTimeout(t, db)
			plan := mustPlan(t, fmt.Sprintf(`name: users-email
playbook: add-column
table: users
column: email
type: {postgres: text, mysql: varchar(200)}
backfill: "%s"
not_null: false
`, expr))
			s, rec := session(t, &testdb.DB{Dialect: dialect, DSN: dsn, SQL: db.SQL}, plan, Options{BatchSize: 100})
			runAll(t, s)
			if got := db.One(`SELECT count(*) FROM users WHERE email = lower(username)`); got != "299" {
				t.Errorf("%s rows backfilled, want 299", got)
			}
			if got := db.One(`SELECT coalesce(email, 'NULL') FROM users WHERE id = 150`); got != "NULL" {
				t.Errorf("the ghost row's email is %s, want NULL (its expression gives NULL)", got)
			}
			// The verification counted the ghost row, evaluating its
			// expression (300ms) under no statement timeout.
			if rec.notices("gives NULL for 1 rows") == 0 {
				t.Errorf("no notice of the row the expression gives NULL for: the verification did not evaluate it: %v", rec.of(EventNotice))
			}
			states := db.Query(`SELECT phase, status FROM ` + stateTableOf(db) + ` WHERE plan = 'users-email' AND status <> 'done'`)
			if len(states) > 0 {
				t.Errorf("phases not done: %v", states)
			}
		})
	}
}

// On PostgreSQL, tighten-constraint under the database's 150ms statement
// timeout: validate-in-app's and clean's counts, add-constraint's VALIDATE
// (which evaluates the CHECK on every row) and the verification all
// evaluate a CHECK that sleeps 300ms on one row, and none is cancelled.
func TestDatabaseStatementTimeoutDoesNotStopValidation(t *testing.T) {
	db := testdb.New(t, "postgres")
	db.Exec(`CREATE TABLE orders (id integer PRIMARY KEY, amount integer NOT NULL)`)
	db.Exec(`INSERT INTO orders SELECT g, g FROM generate_series(1, 200) AS g`)
	if _, err := db.SQL.Exec(`CREATE FUNCTION slow_positive(a integer) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  IF a = 150 THEN PERFORM pg_sleep(0.3); END IF;
  RETURN a > 0;
END $$`); err != nil {
		t.Fatal(err)
	}
	dsn := withStatementTimeout(t, db)
	plan := mustPlan(t, `name: orders-positive
playbook: tighten-constraint
table: orders
constraint: {name: orders_amount_positive, check: "slow_positive(amount)", violating: {amount: "-1"}}
`)
	s, _ := session(t, &testdb.DB{Dialect: "postgres", DSN: dsn, SQL: db.SQL}, plan, Options{})
	runAll(t, s)
	if got := db.One(`SELECT convalidated FROM pg_constraint WHERE conname = 'orders_amount_positive'`); got != "true" {
		t.Errorf("the CHECK is validated: %s, want true", got)
	}
	if err := db.ExecE(`INSERT INTO orders VALUES (1000, -5)`); err == nil || !strings.Contains(err.Error(), "orders_amount_positive") {
		t.Errorf("a negative amount is not refused by the CHECK: %v", err)
	}
}

// A batch that runs past shepherd's bound for a batch is cancelled by the
// server and reported as that: which statement, the bound, what to do,
// and that nothing is wrong with the rows. Never "fix the rows". The
// batches before it stay committed, the checkpoint stays at the last, and
// a rerun with the default bound resumes there and finishes.
func TestBatchCancelledByItsBound(t *testing.T) {
	for _, dialect := range []string{"postgres", "mysql"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			db := testdb.New(t, dialect)
			if dialect == "mysql" && !strings.Contains(strings.ToLower(db.One(`SELECT VERSION()`)), "mariadb") {
				t.Skip("MySQL cannot bound an UPDATE: max_execution_time is for SELECT only")
			}
			db.Seed(300)
			db.Exec(`UPDATE users SET username = 'ghost' WHERE id = 150`)
			plan := mustPlan(t, fmt.Sprintf(`name: users-email
playbook: add-column
table: users
column: email
type: {postgres: text, mysql: varchar(200)}
backfill: "%s"
not_null: false
`, slowEmail(t, db, 0.6)))
			s, rec := session(t, db, plan, Options{BatchSize: 100, BatchTimeout: 300 * time.Millisecond, InPlace: true})
			_, err := s.Run(context.Background(), "backfill", map[string]bool{"deploy-readers": true})
			if err == nil {
				t.Fatal("the backfill went through a batch of 600ms under a bound of 300ms")
			}
			var ce *CancelledError
			if !errors.As(err, &ce) || ce.kind != stmtBatch || ce.cause != cancelTimeout || ce.bound != 300*time.Millisecond {
				t.Fatalf("not a batch cancelled by its 300ms bound: %#v\n%v", ce, err)
			}
			if !errors.As(err, new(*BatchError)) {
				t.Errorf("not a *BatchError (which names the range and the checkpoint): %v", err)
			}
			text := err.Error()
			for _, want := range []string{"the batch id > 100 AND id <= 200", "the database cancelled the batch's UPDATE", "bound for it ran out (",
				" = 300ms: set by --batch-timeout)", "nothing is wrong with the rows", "the checkpoint stays at id 100", "--batch-size (10, a tenth of this batch's 100 rows), or a longer --batch-timeout"} {
				if !strings.Contains(text, want) {
					t.Errorf("the failure does not say %q:\n%s", want, text)
				}
			}
			if strings.Contains(text, "fix the rows") {
				t.Errorf("the failure says to fix the rows, which are not at fault:\n%s", text)
			}
			if failed := rec.of(EventPhaseFailed); len(failed) != 1 || !strings.Contains(failed[0].Error, "the database cancelled the batch's UPDATE") {
				t.Errorf("the phase_failed event does not say the batch was cancelled: %v", failed)
			}
			// The first batch committed; the cancelled one rolled back
			// with its checkpoint.
			if got := db.One(`SELECT count(*) FROM users WHERE email IS NOT NULL`); got != "100" {
				t.Errorf("%s rows filled after the cancelled batch, want the first batch's 100", got)
			}
			if got := fmt.Sprint(db.Query(`SELECT status, checkpoint, rows_done FROM ` + stateTableOf(db) + ` WHERE plan = 'users-email' AND phase = 'backfill'`)); got != "[[failed 100 100]]" {
				t.Errorf("backfill's state: %s, want [[failed 100 100]]", got)
			}

			// With the default bound (10s), the rerun resumes at id 100.
			s.Close()
			s2, rec2 := session(t, db, plan, Options{BatchSize: 100, InPlace: true})
			if _, err := s2.Run(context.Background(), "backfill", nil); err != nil {
				t.Fatalf("the rerun with the default bound: %v", err)
			}
			if got := db.One(`SELECT count(*) FROM users WHERE email = lower(username)`); got != "299" {
				t.Errorf("%s rows backfilled after the rerun, want 299", got)
			}
			if rec2.notices("resuming from the checkpoint id 100") != 1 {
				t.Errorf("the rerun did not resume from id 100: %v", rec2.of(EventNotice))
			}
		})
	}
}

// A count that someone cancels (pg_cancel_backend, as a watchdog for long
// queries does) fails saying so: which statement, the cancel request, and
// that nothing is wrong with the rows; the phase is recorded failed, and a
// rerun finishes it.
func TestCountCancelledByARequest(t *testing.T) {
	db := testdb.New(t, "postgres")
	db.Exec(`CREATE TABLE orders (id integer PRIMARY KEY, amount integer NOT NULL)`)
	db.Exec(`INSERT INTO orders SELECT g, g FROM generate_series(1, 200) AS g`)
	db.Exec(`CREATE TABLE slow (on_row integer NOT NULL)`)
	db.Exec(`INSERT INTO slow VALUES (150)`)
	// The CHECK sleeps 30s on the row slow names, until it is cancelled.
	if _, err := db.SQL.Exec(`CREATE FUNCTION slow_positive(a integer) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  IF a = (SELECT on_row FROM slow) THEN PERFORM pg_sleep(30); END IF;
  RETURN a > 0;
END $$`); err != nil {
		t.Fatal(err)
	}
	plan := mustPlan(t, `name: orders-positive
playbook: tighten-constraint
table: orders
constraint: {name: orders_amount_positive, check: "slow_positive(amount)", violating: {amount: "-1"}}
`)
	s, _ := session(t, db, plan, Options{})
	// Cancel shepherd's count while the server runs it: while it sleeps
	// in the CHECK's function (a cancel that lands between the protocol's
	// messages of a statement is ignored, so it is sent until one lands).
	done := make(chan struct{})
	cancels := make(chan int, 1)
	go func() {
		n := 0
		defer func() { cancels <- n }()
		for {
			rows, err := db.QueryE(`SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'shepherd' AND wait_event = 'PgSleep' AND query LIKE 'SELECT count(*)%slow_positive%'`)
			if err == nil {
				n += len(rows)
			}
			select {
			case <-done:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	_, err := s.Run(context.Background(), "validate-in-app", map[string]bool{"validate-in-app": true})
	close(done)
	if n := <-cancels; n == 0 {
		t.Fatalf("shepherd's count was never seen running: %v", err)
	}
	if err == nil {
		t.Fatal("validate-in-app went through a count that was cancelled")
	}
	var ce *CancelledError
	if !errors.As(err, &ce) || ce.kind != stmtScan || ce.cause != cancelRequest {
		t.Fatalf("not a count cancelled on request: %#v\n%v", ce, err)
	}
	text := err.Error()
	for _, want := range []string{"validate-in-app: count violating rows:", "the database cancelled a count over the rows of orders on a cancel request",
		"nothing is wrong with the rows", "then rerun"} {
		if !strings.Contains(text, want) {
			t.Errorf("the failure does not say %q:\n%s", want, text)
		}
	}
	if got := db.One(`SELECT status FROM shepherd.shepherd_state WHERE plan = 'orders-positive' AND phase = 'validate-in-app'`); got != "failed" {
		t.Errorf("validate-in-app is %s, want failed", got)
	}
	db.Exec(`UPDATE slow SET on_row = 0`)
	if _, err := s.Run(context.Background(), "validate-in-app", map[string]bool{"validate-in-app": true}); err != nil {
		t.Fatalf("the rerun: %v", err)
	}
}

// The server's cancellations are classified from the drivers' typed
// errors: PostgreSQL's 57014 (a timeout or a cancel request, which its
// message tells), MariaDB's 1969, MySQL's 3024 and 1317; pgx's "conn
// closed" (a COMMIT on a connection that went away) is a lost connection.
func TestCancellationsAreClassified(t *testing.T) {
	for _, c := range []struct {
		d     dialect
		err   error
		kind  failureKind
		cause cancelCause
	}{
		{postgresDialect{}, &pgconn.PgError{Code: "57014", Message: "canceling statement due to statement timeout"}, failCancelled, cancelTimeout},
		{postgresDialect{}, &pgconn.PgError{Code: "57014", Message: "canceling statement due to user request"}, failCancelled, cancelRequest},
		{postgresDialect{}, &pgconn.PgError{Code: "57014", Message: "storniere Anfrage wegen Zeitüberschreitung"}, failCancelled, cancelUnknown},
		{&mysqlDialect{}, &mysql.MySQLError{Number: 1969, Message: "Query execution was interrupted (max_statement_time exceeded)"}, failCancelled, cancelTimeout},
		{&mysqlDialect{}, &mysql.MySQLError{Number: 3024, Message: "Query execution was interrupted, maximum statement execution time exceeded"}, failCancelled, cancelTimeout},
		{&mysqlDialect{}, &mysql.MySQLError{Number: 1317, Message: "Query execution was interrupted"}, failCancelled, cancelRequest},
	} {
		if f := c.d.classify(c.err); f.kind != c.kind || f.cancel != c.cause {
			t.Errorf("%s: %v: kind %d cause %d, want %d and %d", c.d.name(), c.err, f.kind, f.cancel, c.kind, c.cause)
		}
	}
}
