package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shepherd-db/shepherd/examples"
	"github.com/shepherd-db/shepherd/internal/testdb"
	"github.com/shepherd-db/shepherd/phases"
	"github.com/shepherd-db/shepherd/templates"
)

// PostgreSQL tests: each runs on a fresh database of its own on the server
// SHEPHERD_TEST_POSTGRES names, and is skipped when it is unset.

func openPG(t *testing.T, dsn string) *Engine {
	t.Helper()
	eng, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { eng.Close() })
	return eng
}

// startPG opens an engine on the database and starts a session on the plan,
// recording its events.
func startPG(t *testing.T, dsn, planYAML string, opts Options) (*Session, *recorder) {
	t.Helper()
	rec := &recorder{}
	opts.Emit = rec.emit
	s, err := openPG(t, dsn).Start(context.Background(), mustPlan(t, planYAML), opts)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(s.Close)
	return s, rec
}

func confirm(ids ...string) map[string]bool {
	m := map[string]bool{}
	for _, id := range ids {
		m[id] = true
	}
	return m
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// holdAccessShare begins a long transaction that holds an ACCESS SHARE lock
// on table, as a reader's does; the caller ends it.
func holdAccessShare(t *testing.T, db *testdb.DB, table string) *sql.Tx {
	t.Helper()
	tx, err := db.SQL.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("LOCK TABLE " + table + " IN ACCESS SHARE MODE"); err != nil {
		tx.Rollback()
		t.Fatal(err)
	}
	return tx
}

const checkPlan = `
name: orders-positive
playbook: tighten-constraint
table: orders
constraint: {name: orders_amount_positive, check: "amount > 0"}
`

// (a) A long transaction holds a lock on the table while add-constraint
// runs: the DDL gives up after lock_timeout and is retried, an application
// query meanwhile waits at most about lock_timeout (it is never stuck
// behind the DDL for as long as the long transaction lasts), and once the
// long transaction ends the phase completes.
func TestPostgresDDLLockTimeoutDoesNotBlockApp(t *testing.T) {
	t.Parallel()
	db := testdb.New(t, "postgres")
	db.Exec(`CREATE TABLE orders (id integer PRIMARY KEY, amount integer NOT NULL);
INSERT INTO orders SELECT g, g FROM generate_series(1, 200) AS g`)
	const lockTimeout = 300 * time.Millisecond
	s, rec := startPG(t, db.DSN, checkPlan, Options{LockTimeout: lockTimeout})
	ctx := context.Background()

	// The long transaction: a reader that keeps its ACCESS SHARE lock.
	tx := holdAccessShare(t, db, "orders")
	defer tx.Rollback()

	done := make(chan error, 1)
	go func() {
		_, err := s.Run(ctx, "", confirm("validate-in-app"))
		done <- err
	}()

	// A lock request waiting on orders: shepherd's ALTER TABLE in the queue.
	waiting := func() bool {
		var n int
		err := db.SQL.QueryRow(`SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'orders'::regclass AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&n)
		return err == nil && n > 0
	}
	var longest time.Duration
	for i := 0; i < 3; i++ {
		waitFor(t, "shepherd's DDL to wait for its lock", 15*time.Second, waiting)
		// The application's query arrives while the DDL waits: it queues
		// behind it, but only until lock_timeout ends the DDL's wait.
		start := time.Now()
		var n int
		if err := db.SQL.QueryRow("SELECT count(*) FROM orders").Scan(&n); err != nil {
			t.Fatal(err)
		}
		took := time.Since(start)
		t.Logf("an application query while shepherd's DDL waited took %s", took)
		if took > 2*lockTimeout {
			t.Fatalf("an application query took %s while shepherd's DDL waited for its lock; want under %s (2 x lock_timeout)", took, 2*lockTimeout)
		}
		longest = max(longest, took)
		waitFor(t, "shepherd's DDL to give up its wait and retry", 15*time.Second, func() bool { return rec.notices("lock wait over") > i })
	}
	// Else the queries never queued behind the DDL, and proved nothing.
	if longest < lockTimeout/4 {
		t.Fatalf("no application query waited behind the DDL (longest %s): the test did not exercise the lock queue", longest)
	}
	select {
	case err := <-done:
		t.Fatalf("the phase finished while the long transaction held its lock: %v", err)
	default:
	}
	if n := rec.notices("lock wait over"); n < 3 {
		t.Fatalf("want at least 3 lock-wait retries, got %d", n)
	}
	for _, e := range rec.all() {
		if e.Event == EventPhaseFailed {
			t.Fatalf("a phase failed while waiting: %s", e.Error)
		}
	}

	// The long transaction ends: the next retry gets the lock.
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the phase did not finish after the long transaction ended")
	}
	if got := db.One(`SELECT convalidated FROM pg_constraint WHERE conname = 'orders_amount_positive'`); got != "true" {
		t.Fatalf("constraint validated = %s, want true", got)
	}
	if st := s.st("add-constraint").Status; st != phases.Done {
		t.Fatalf("add-constraint is %s, want done", st)
	}
}

const uniquePlan = `
name: accounts-email
playbook: tighten-constraint
table: accounts
constraint: {name: accounts_email_key, unique: [email]}
`

// (b) An INVALID index with the constraint's name, left by a concurrent
// build that failed over duplicate rows, is found, dropped and rebuilt.
func TestPostgresInvalidUniqueIndexIsRebuilt(t *testing.T) {
	t.Parallel()
	db := testdb.New(t, "postgres")
	db.Exec(`CREATE TABLE accounts (id integer PRIMARY KEY, email text NOT NULL);
INSERT INTO accounts SELECT g, 'user' || g || '@example.com' FROM generate_series(1, 100) AS g`)
	s, rec := startPG(t, db.DSN, uniquePlan, Options{})
	ctx := context.Background()
	if _, err := s.Run(ctx, "clean", confirm("validate-in-app")); err != nil {
		t.Fatalf("run to clean: %v", err)
	}

	// A concurrent build over a duplicate fails and leaves its index INVALID.
	db.Exec(`INSERT INTO accounts VALUES (1000, 'user1@example.com')`)
	err := db.ExecE(`CREATE UNIQUE INDEX CONCURRENTLY accounts_email_key ON accounts (email)`)
	if err == nil || !strings.Contains(err.Error(), "could not create unique index") {
		t.Fatalf("the concurrent build over a duplicate should fail, got %v", err)
	}
	db.Exec(`DELETE FROM accounts WHERE id = 1000`)
	if got := db.One(`SELECT indisvalid FROM pg_index WHERE indexrelid = 'accounts_email_key'::regclass`); got != "false" {
		t.Fatalf("setup: the failed build's index is valid=%s, want false", got)
	}

	if err := s.RunPhase(ctx, "add-constraint"); err != nil {
		t.Fatalf("add-constraint: %v", err)
	}
	var sqls []string
	for _, e := range rec.steps("add-constraint") {
		sqls = append(sqls, e.SQL)
	}
	want := []string{
		`DROP INDEX CONCURRENTLY IF EXISTS "accounts_email_key"`,
		`CREATE UNIQUE INDEX CONCURRENTLY "accounts_email_key" ON "accounts" ("email")`,
		`ALTER TABLE "accounts" ADD CONSTRAINT "accounts_email_key" UNIQUE USING INDEX "accounts_email_key"`,
	}
	if strings.Join(sqls, "\n") != strings.Join(want, "\n") {
		t.Fatalf("add-constraint ran:\n%s\nwant:\n%s", strings.Join(sqls, "\n"), strings.Join(want, "\n"))
	}
	if got := db.Query(`SELECT c.relname, i.indisvalid, con.contype FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid
WHERE i.indrelid = 'accounts'::regclass AND NOT i.indisprimary`); fmt.Sprint(got) != "[[accounts_email_key true u]]" {
		t.Fatalf("indexes of accounts: %v, want one valid accounts_email_key owned by a UNIQUE constraint", got)
	}
	if err := s.RunPhase(ctx, "verify-failure-path"); err != nil {
		t.Fatalf("verify-failure-path: %v", err)
	}
}

// An INVALID index with the constraint's name that a failed concurrent
// build outside shepherd left is not "an index like any other": with
// exactly the definition the plan asks for, shepherd adopts it (drops and
// builds it again); with another, the plan is refused before anything
// changes, saying the index is INVALID and how to drop it.
func TestPostgresInvalidIndexLeftOutside(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, index string
		adopt       bool
	}{
		{"same definition", `CREATE UNIQUE INDEX CONCURRENTLY accounts_email_key ON accounts (email)`, true},
		{"other columns", `CREATE UNIQUE INDEX CONCURRENTLY accounts_email_key ON accounts (email, tenant)`, false},
		{"descending", `CREATE UNIQUE INDEX CONCURRENTLY accounts_email_key ON accounts (email DESC)`, false},
		{"another collation", `CREATE UNIQUE INDEX CONCURRENTLY accounts_email_key ON accounts (email COLLATE "C")`, false},
		{"an expression", `CREATE UNIQUE INDEX CONCURRENTLY accounts_email_key ON accounts (lower(email))`, false},
		{"partial", `CREATE UNIQUE INDEX CONCURRENTLY accounts_email_key ON accounts (email) WHERE id > 0`, false},
		{"not unique", `CREATE INDEX CONCURRENTLY accounts_email_key ON accounts (email) WHERE email::int > 0`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := testdb.New(t, "postgres")
			db.Exec(`CREATE TABLE accounts (id integer PRIMARY KEY, email text NOT NULL, tenant integer NOT NULL DEFAULT 1);
INSERT INTO accounts SELECT g, 'user' || g || '@example.com' FROM generate_series(1, 50) AS g;
INSERT INTO accounts VALUES (1000, 'user1@example.com')`)
			if err := db.ExecE(tc.index); err == nil {
				t.Fatalf("setup: %s should fail and leave an INVALID index", tc.index)
			}
			db.Exec(`DELETE FROM accounts WHERE id = 1000`)
			if got := db.One(`SELECT indisvalid FROM pg_index WHERE indexrelid = 'accounts_email_key'::regclass`); got != "false" {
				t.Fatalf("setup: the failed build's index is valid=%s, want false", got)
			}
			ctx := context.Background()
			rec := &recorder{}
			s, err := openPG(t, db.DSN).Start(ctx, mustPlan(t, uniquePlan), Options{Emit: rec.emit})
			if !tc.adopt {
				var se *SchemaError
				if !errors.As(err, &se) {
					t.Fatalf("start: got %v, want a SchemaError", err)
				}
				for _, want := range []string{
					`constraint.name: accounts already has an index "accounts_email_key" that is INVALID (a CREATE INDEX CONCURRENTLY that failed left it)`,
					`and it is not the index the plan asks for (UNIQUE on email)`,
					`drop it with DROP INDEX CONCURRENTLY "public"."accounts_email_key", or choose another name`,
				} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("the refusal does not say %q:\n%v", want, err)
					}
				}
				if got := db.One(`SELECT count(*) FROM pg_class WHERE relname = 'accounts_email_key'`); got != "1" {
					t.Errorf("the refused plan touched the index (%s left)", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("start: %v", err)
			}
			t.Cleanup(s.Close)
			if len(rec.find(EventNotice, `accounts_email_key is an INVALID index .* with exactly the definition the plan asks for: add-constraint drops it and builds it again`)) == 0 {
				t.Errorf("no notice that the INVALID index is adopted; events: %+v", rec.all())
			}
			if _, err := s.Run(ctx, "", confirm("validate-in-app")); err != nil {
				t.Fatalf("run: %v", err)
			}
			if steps := rec.find(EventStep, `DROP INDEX CONCURRENTLY IF EXISTS "accounts_email_key"`); len(steps) != 1 {
				t.Errorf("the INVALID index was not dropped before the build: %+v", rec.steps("add-constraint"))
			}
			if got := db.One(`SELECT i.indisvalid::text || ' ' || c.contype::text FROM pg_index i JOIN pg_constraint c ON c.conindid = i.indexrelid WHERE i.indexrelid = 'accounts_email_key'::regclass`); got != "true u" {
				t.Errorf("accounts_email_key: %s, want a valid index owned by a UNIQUE constraint", got)
			}
		})
	}
}

// (c) NOT NULL goes NOT VALID check -> VALIDATE -> SET NOT NULL -> drop the
// check; a rerun after the first step took effect skips it.
func TestPostgresNotNullThroughValidatedCheck(t *testing.T) {
	t.Parallel()
	db := testdb.New(t, "postgres")
	db.Seed(300)
	s, rec := startPG(t, db.DSN, emailPlan, Options{BatchSize: 70})
	ctx := context.Background()
	if _, err := s.Run(ctx, "switch-writes", confirm("deploy-readers", "switch-writes")); err != nil {
		t.Fatalf("run to switch-writes: %v", err)
	}
	// As if an earlier enforce stopped after its first step.
	db.Exec(`ALTER TABLE users ADD CONSTRAINT shepherd_nn_users_email CHECK (email IS NOT NULL) NOT VALID`)

	if _, err := s.Run(ctx, "", nil); err != nil {
		t.Fatalf("enforce: %v", err)
	}
	if rec.notices(`skipped, nothing to do: ALTER TABLE "users" ADD CONSTRAINT "shepherd_nn_users_email"`) != 1 {
		t.Fatalf("the check that was already there should be skipped; events: %+v", rec.all())
	}
	steps := rec.steps("enforce")
	want := []struct{ sql, lock string }{
		{`ALTER TABLE "users" VALIDATE CONSTRAINT "shepherd_nn_users_email"`, "SHARE UPDATE EXCLUSIVE on users while it scans"},
		{`ALTER TABLE "users" ALTER COLUMN "email" SET NOT NULL`, "ACCESS EXCLUSIVE on users for an instant"},
		{`ALTER TABLE "users" DROP CONSTRAINT "shepherd_nn_users_email"`, "ACCESS EXCLUSIVE on users"},
	}
	if len(steps) != len(want) {
		t.Fatalf("enforce ran %d statements, want %d: %+v", len(steps), len(want), steps)
	}
	for i, w := range want {
		if steps[i].SQL != w.sql || !strings.HasPrefix(steps[i].Lock, w.lock) {
			t.Errorf("step %d: %s (locks: %s)\nwant %s (locks: %s…)", i+1, steps[i].SQL, steps[i].Lock, w.sql, w.lock)
		}
	}
	if got := db.One(`SELECT count(*) FROM pg_constraint WHERE conname LIKE 'shepherd\_nn\_%'`); got != "0" {
		t.Fatalf("%s shepherd_nn_ checks remain, want 0", got)
	}
	if got := db.One(`SELECT attnotnull FROM pg_attribute WHERE attrelid = 'users'::regclass AND attname = 'email'`); got != "true" {
		t.Fatalf("users.email attnotnull = %s", got)
	}

	// From the start, on another column: all four statements, in order.
	s.Close() // the runner lock is per table
	db.Exec(`ALTER TABLE users ADD COLUMN nickname text;
UPDATE users SET nickname = username`)
	s2, rec2 := startPG(t, db.DSN, `
name: users-nickname
playbook: tighten-constraint
table: users
constraint: {not_null: nickname}
`, Options{})
	if _, err := s2.Run(ctx, "", confirm("validate-in-app")); err != nil {
		t.Fatalf("tighten nickname: %v", err)
	}
	var sqls []string
	for _, e := range rec2.steps("add-constraint") {
		sqls = append(sqls, e.SQL)
	}
	wantSQL := []string{
		`ALTER TABLE "users" ADD CONSTRAINT "shepherd_nn_users_nickname" CHECK ("nickname" IS NOT NULL) NOT VALID`,
		`ALTER TABLE "users" VALIDATE CONSTRAINT "shepherd_nn_users_nickname"`,
		`ALTER TABLE "users" ALTER COLUMN "nickname" SET NOT NULL`,
		`ALTER TABLE "users" DROP CONSTRAINT "shepherd_nn_users_nickname"`,
	}
	if strings.Join(sqls, "\n") != strings.Join(wantSQL, "\n") {
		t.Fatalf("add-constraint ran:\n%s\nwant:\n%s", strings.Join(sqls, "\n"), strings.Join(wantSQL, "\n"))
	}
	if got := db.One(`SELECT count(*) FROM pg_constraint WHERE conname LIKE 'shepherd\_nn\_%'`); got != "0" {
		t.Fatalf("%s shepherd_nn_ checks remain, want 0", got)
	}
	// The proof: a NULL write is refused by NOT NULL itself.
	if !strings.Contains(s2.st("verify-failure-path").Detail, "violates not-null constraint") {
		t.Fatalf("verify-failure-path: %s", s2.st("verify-failure-path").Detail)
	}
}

// (d) shepherd's tables live in schema shepherd, with timestamptz times.
func TestPostgresStateInShepherdSchema(t *testing.T) {
	t.Parallel()
	db := testdb.New(t, "postgres")
	db.Seed(10)
	s, _ := startPG(t, db.DSN, emailPlan, Options{Operator: "tester"})
	if _, err := s.Run(context.Background(), "add-column", nil); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(db.Query(`SELECT table_schema, table_name FROM information_schema.tables WHERE table_name LIKE 'shepherd%' ORDER BY 2`)); got != "[[shepherd shepherd_control] [shepherd shepherd_lock] [shepherd shepherd_log] [shepherd shepherd_state]]" {
		t.Fatalf("shepherd's tables: %s", got)
	}
	if got := fmt.Sprint(db.Query(`SELECT table_name, column_name FROM information_schema.columns
WHERE table_schema = 'shepherd' AND data_type = 'timestamp with time zone' ORDER BY 1, 2`)); got != "[[shepherd_control paused_at] [shepherd_control tuned_at] [shepherd_lock expires_at] [shepherd_lock since] [shepherd_log at] [shepherd_state finished_at] [shepherd_state started_at]]" {
		t.Fatalf("timestamptz columns: %s", got)
	}
	// The session's lock row names it while it runs.
	if got := fmt.Sprint(db.Query(`SELECT scope, holder, pid FROM shepherd.shepherd_lock`)); got != fmt.Sprintf("[[public.users tester %d]]", os.Getpid()) {
		t.Fatalf("lock row: %s", got)
	}
	plans, err := s.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ph := plans[0].Phases[0]
	if ph.ID != "add-column" || ph.Status != phases.Done || ph.StartedAt == nil || ph.FinishedAt == nil || time.Since(*ph.FinishedAt) > time.Minute {
		t.Fatalf("status: %+v", ph)
	}
	if got := db.One(`SELECT count(*) FROM shepherd.shepherd_log WHERE plan = 'users-email' AND sql_text LIKE 'ALTER TABLE%'`); got != "1" {
		t.Fatalf("logged DDL statements: %s", got)
	}
	if err := s.Ready(context.Background(), "users-email", "add-column"); err != nil {
		t.Fatalf("ready: %v", err)
	}
}

// (e) A plan with schema: works end to end on a table outside the default
// schema, and never touches the table of the same name in the default one.
func TestPostgresPlanSchema(t *testing.T) {
	t.Parallel()
	db := testdb.New(t, "postgres")
	db.Exec(`CREATE SCHEMA app;
CREATE TABLE app.users (id integer PRIMARY KEY, username varchar(100) NOT NULL, name varchar(100) NOT NULL);
INSERT INTO app.users SELECT g, 'user' || g, 'Name ' || g FROM generate_series(1, 250) AS g;
CREATE TABLE public.users (id integer PRIMARY KEY, username text CONSTRAINT users_username_key UNIQUE);
INSERT INTO public.users VALUES (1, 'public1'), (2, 'public2')`)
	ctx := context.Background()

	s, rec := startPG(t, db.DSN, "schema: app\n"+emailPlan, Options{BatchSize: 60})
	if _, err := s.Run(ctx, "", confirm("deploy-readers", "switch-writes")); err != nil {
		t.Fatalf("run: %v", err)
	}
	if got := db.One(`SELECT count(*) FROM app.users WHERE email = lower(username)`); got != "250" {
		t.Fatalf("app.users filled: %s, want 250", got)
	}
	if got := db.One(`SELECT attnotnull FROM pg_attribute WHERE attrelid = 'app.users'::regclass AND attname = 'email'`); got != "true" {
		t.Fatalf("app.users.email NOT NULL: %s", got)
	}
	if got := db.One(`SELECT count(*) FROM pg_attribute WHERE attrelid = 'public.users'::regclass AND attname = 'email'`); got != "0" {
		t.Fatal("public.users got an email column")
	}
	for _, e := range rec.steps("enforce") {
		if !strings.Contains(e.SQL, `"app"."users"`) {
			t.Fatalf("enforce ran on an unqualified table: %s", e.SQL)
		}
	}

	// UNIQUE on app.users, while public.users has a constraint of that name.
	s.Close() // the runner lock is per table
	s2, _ := startPG(t, db.DSN, `
name: app-username
schema: app
playbook: tighten-constraint
table: users
constraint: {name: users_username_key, unique: [username]}
`, Options{})
	if _, err := s2.Run(ctx, "", confirm("validate-in-app")); err != nil {
		t.Fatalf("unique: %v", err)
	}
	if got := fmt.Sprint(db.Query(`SELECT n.nspname, c.contype, i.indisvalid FROM pg_constraint c
JOIN pg_namespace n ON n.oid = c.connamespace JOIN pg_index i ON i.indexrelid = c.conindid
WHERE c.conname = 'users_username_key' ORDER BY 1`)); got != "[[app u true] [public u true]]" {
		t.Fatalf("users_username_key constraints: %s", got)
	}

	// A table missing from the schema is named with the schema's tables.
	_, err := openPG(t, db.DSN).Start(ctx, mustPlan(t, "schema: app\n"+strings.NewReplacer("table: users", "table: nope", "name: users-email", "name: nope-email").Replace(emailPlan)), Options{})
	var se *SchemaError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), `schema app has no table "nope" (tables: users)`) {
		t.Fatalf("missing table: %v", err)
	}
}

// (f) Two sessions on one table: the second is refused with the first's
// name and pid; when the first's connection dies, the lock is free.
func TestPostgresRunnerLock(t *testing.T) {
	t.Parallel()
	db := testdb.New(t, "postgres")
	db.Seed(10)
	db.Exec(`CREATE TABLE orders (id integer PRIMARY KEY, amount integer NOT NULL)`)
	ctx := context.Background()
	first, _ := startPG(t, db.DSN, emailPlan, Options{Operator: "first-runner"})

	start := func(plan, operator string) (*Session, *recorder, error) {
		rec := &recorder{}
		s, err := openPG(t, db.DSN).Start(ctx, mustPlan(t, plan), Options{Operator: operator, Emit: rec.emit})
		if err == nil {
			t.Cleanup(s.Close)
		}
		return s, rec, err
	}
	// Another plan on the same table is refused, naming the holder.
	_, _, err := start(strings.Replace(emailPlan, "name: users-email", "name: users-email-2", 1), "second-runner")
	var held *LockHeldError
	if !errors.As(err, &held) {
		t.Fatalf("second session: want *LockHeldError, got %v", err)
	}
	host, _ := os.Hostname()
	if held.PID != int64(os.Getpid()) || held.Holder != "first-runner" || held.Host != host || held.Plan != "users-email" ||
		held.Scope != "public.users" || time.Since(held.Since) > time.Minute {
		t.Fatalf("lock held by %+v", held)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("first-runner on host %s, pid %d", host, os.Getpid())) {
		t.Fatalf("message: %v", err)
	}
	// Another table is another lock.
	if _, _, err := start(checkPlan, "orders-runner"); err != nil {
		t.Fatalf("a plan on another table: %v", err)
	}

	// The first runner's connection dies (as when its process is killed).
	key := uint64(advisoryKey("public.users"))
	var pid int
	if err := db.SQL.QueryRow(`SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted
AND classid::bigint = $1 AND objid::bigint = $2 AND objsubid = 1
AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`, int64(key>>32), int64(key&0xffffffff)).Scan(&pid); err != nil {
		t.Fatalf("find the lock's backend: %v", err)
	}
	db.Exec(fmt.Sprintf("SELECT pg_terminate_backend(%d)", pid))
	var third *Session
	var rec *recorder
	waitFor(t, "the lock to be free", 20*time.Second, func() bool {
		third, rec, err = start(emailPlan, "third-runner")
		if err != nil {
			t.Logf("third runner: %v", err)
		}
		return err == nil
	})
	if rec.notices("took over the runner lock of public.users from first-runner") != 1 {
		t.Fatalf("no takeover notice: %+v", rec.all())
	}
	// The dead session's Close neither hangs nor frees the new holder's row.
	first.Close()
	if got := db.One(`SELECT holder FROM shepherd.shepherd_lock WHERE scope = 'public.users'`); got != "third-runner" {
		t.Fatalf("lock row names %s, want third-runner", got)
	}
	if _, _, err := start(emailPlan, "fourth-runner"); !errors.As(err, &held) || held.Holder != "third-runner" {
		t.Fatalf("while third-runner holds it: %v", err)
	}
	// Close releases the lock and its row at once.
	third.Close()
	if got := db.One(`SELECT count(*) FROM shepherd.shepherd_lock WHERE scope = 'public.users'`); got != "0" {
		t.Fatalf("lock rows after Close: %s", got)
	}
	if _, _, err := start(emailPlan, "fifth-runner"); err != nil {
		t.Fatalf("after Close: %v", err)
	}
}

// Batches walk keys of every common type: the checkpoint is text that reads
// back as the key, and integer keys bind as integers.
func TestPostgresBatchKeyTypes(t *testing.T) {
	t.Parallel()
	db := testdb.New(t, "postgres")
	db.Exec(`CREATE TABLE k_bigint (k bigint PRIMARY KEY, v text NOT NULL);
INSERT INTO k_bigint SELECT g::bigint * 1000000000, 'v' || g FROM generate_series(1, 100) AS g;
CREATE TABLE k_uuid (k uuid PRIMARY KEY DEFAULT gen_random_uuid(), v text NOT NULL);
INSERT INTO k_uuid (v) SELECT 'v' || g FROM generate_series(1, 100) AS g;
CREATE TABLE k_text (k text PRIMARY KEY, v text NOT NULL);
INSERT INTO k_text SELECT 'key ' || g || ' ''quoted''', 'v' || g FROM generate_series(1, 100) AS g;
CREATE TABLE k_time (k timestamptz PRIMARY KEY, v text NOT NULL);
INSERT INTO k_time SELECT timestamptz '2024-03-01 10:00:00.123456+01' + g * interval '1 hour 1 microsecond', 'v' || g FROM generate_series(1, 100) AS g`)
	for _, table := range []string{"k_bigint", "k_uuid", "k_text", "k_time"} {
		plan := fmt.Sprintf(`
name: %s-w
playbook: add-column
table: %s
column: w
type: text
backfill: "upper(v)"
`, table, table)
		s, _ := startPG(t, db.DSN, plan, Options{BatchSize: 7})
		if _, err := s.Run(context.Background(), "backfill", confirm("deploy-readers")); err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		if got := db.One(fmt.Sprintf(`SELECT count(*) FROM %s WHERE w = upper(v)`, table)); got != "100" {
			t.Errorf("%s: %s rows filled, want 100", table, got)
		}
		cp := s.st("backfill").Checkpoint
		if cp == nil {
			t.Fatalf("%s: no checkpoint", table)
		}
		// The last checkpoint is the last key, read back from its text.
		if got := db.One(fmt.Sprintf(`SELECT count(*) FROM %[1]s WHERE k = $1 AND k = (SELECT k FROM %[1]s ORDER BY k DESC LIMIT 1)`, table), *cp); got != "1" {
			t.Errorf("%s: checkpoint %q does not read back as a key", table, *cp)
		}
	}
	s := &Session{table: &Table{Columns: []Column{{Name: "id", Type: "bigint"}}}, key: "id"}
	if v, ok := s.keyArg("42").(int64); !ok || v != 42 {
		t.Errorf("keyArg of a bigint key: %#v", s.keyArg("42"))
	}
	if got := keyText([16]byte{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}); got != "12345678-9abc-def0-0123-456789abcdef" {
		t.Errorf("keyText of a uuid: %s", got)
	}
}

// No password appears in an error, an event or a state row.
func TestPostgresPasswordNeverShown(t *testing.T) {
	t.Parallel()
	db := testdb.New(t, "postgres")
	db.Seed(20)
	db.Exec(`UPDATE users SET name = 'not a number' WHERE id = 15`)
	const secret = "s3cr3t-pa55word"
	dsn := strings.Replace(db.DSN, "postgres://postgres@", "postgres://postgres:"+secret+"@", 1)
	if !strings.Contains(dsn, secret) {
		t.Fatalf("could not put a password in %s", db.DSN)
	}
	// Trust authentication ignores the password: shepherd connects.
	s, rec := startPG(t, dsn, `
name: users-age
playbook: add-column
table: users
column: age
type: integer
backfill: "CAST(name AS integer)"
`, Options{BatchSize: 5})
	_, err := s.Run(context.Background(), "", confirm("deploy-readers"))
	if err == nil {
		t.Fatal("the backfill should fail on row 15")
	}
	texts := []string{err.Error(), s.Engine.DSN()}
	for _, e := range rec.all() {
		texts = append(texts, e.Message, e.Error, e.SQL)
	}
	for _, row := range db.Query(`SELECT coalesce(detail, '') FROM shepherd.shepherd_state UNION ALL SELECT coalesce(detail, '') || coalesce(sql_text, '') FROM shepherd.shepherd_log`) {
		texts = append(texts, row...)
	}
	_, oerr := Open(context.Background(), strings.Replace(dsn, "/shepherd_t_", "/no_such_db_", 1))
	if oerr == nil {
		t.Fatal("opening a missing database should fail")
	}
	texts = append(texts, oerr.Error())
	for _, text := range texts {
		if strings.Contains(text, secret) {
			t.Fatalf("the password shows in %q", text)
		}
	}
}

func TestPostgresClassify(t *testing.T) {
	t.Parallel()
	d := postgresDialect{}
	for _, c := range []struct {
		err  error
		want failure
	}{
		{&pgconn.PgError{Code: "55P03"}, failure{kind: failLockTimeout}},
		{&pgconn.PgError{Code: "40P01"}, failure{kind: failLockTimeout}},
		{&pgconn.PgError{Code: "23502", ColumnName: "email"}, failure{kind: failNotNull}},
		{&pgconn.PgError{Code: "23514", ConstraintName: "orders_positive"}, failure{kind: failCheck, constraint: "orders_positive"}},
		{&StepError{Err: &dbError{err: &pgconn.PgError{Code: "23505", ConstraintName: "k"}}}, failure{kind: failUnique, constraint: "k"}},
		{&pgconn.PgError{Code: "57P01"}, failure{kind: failConnection}},
		{&pgconn.PgError{Code: "08006"}, failure{kind: failConnection}},
		{&pgconn.PgError{Code: "22P02"}, failure{kind: failOther}},
		{fmt.Errorf("exec: %w", sql.ErrConnDone), failure{kind: failConnection}},
		{errors.New("something else"), failure{kind: failOther}},
	} {
		if got := d.classify(c.err); got != c.want {
			t.Errorf("classify(%v) = %+v, want %+v", c.err, got, c.want)
		}
	}
	if got := d.connSetup(Options{LockTimeout: 1500 * time.Millisecond}); fmt.Sprint(got) != "[SET lock_timeout = '1500ms']" {
		t.Errorf("connSetup: %v", got)
	}
}

// Rolling back a phase that failed mid-way removes what it left: the NOT
// VALID check of an enforce that stopped after its first step (it would go
// on refusing NULLs), and the INVALID index of a failed concurrent build.
func TestPostgresRollbackAfterFailedDDL(t *testing.T) {
	t.Parallel()
	db := testdb.New(t, "postgres")
	db.Seed(50)
	ctx := context.Background()
	s, _ := startPG(t, db.DSN, emailPlan, Options{})
	if _, err := s.Run(ctx, "switch-writes", confirm("deploy-readers", "switch-writes")); err != nil {
		t.Fatal(err)
	}
	// An earlier enforce added its check; a NULL written before it makes
	// this one fail.
	db.Exec(`INSERT INTO users (id, username, name) VALUES (51, 'late', 'Late')`)
	db.Exec(`ALTER TABLE users ADD CONSTRAINT shepherd_nn_users_email CHECK (email IS NOT NULL) NOT VALID`)
	if _, err := s.Run(ctx, "", nil); err == nil || s.st("enforce").Status != phases.Failed {
		t.Fatalf("enforce should fail on the NULL: %v", err)
	}
	if _, err := s.Rollback(ctx); err != nil {
		t.Fatalf("rollback: %v", err)
	}
	if got := db.One(`SELECT count(*) FROM pg_constraint WHERE conname LIKE 'shepherd\_nn\_%'`); got != "0" {
		t.Fatalf("%s shepherd_nn_ checks remain after the rollback", got)
	}
	db.Exec(`INSERT INTO users (id, username, name) VALUES (52, 'nulls', 'Allowed')`)
	s.Close()

	s2, _ := startPG(t, db.DSN, `
name: users-username
playbook: tighten-constraint
table: users
constraint: {name: users_username_key, unique: [username]}
`, Options{})
	if _, err := s2.Run(ctx, "clean", confirm("validate-in-app")); err != nil {
		t.Fatal(err)
	}
	db.Exec(`UPDATE users SET username = 'user1' WHERE id = 2`) // a duplicate after clean
	// The failure counts the duplicate and drops the INVALID index the
	// failed concurrent build left (it used to stay, for a rollback).
	err := s2.RunPhase(ctx, "add-constraint")
	var ve *VerifyError
	if !errors.As(err, &ve) || ve.Count != 1 || strings.Join(ve.Sample, ",") != "2" {
		t.Fatalf("add-constraint over a duplicate: %v", err)
	}
	if got := db.One(`SELECT count(*) FROM pg_class WHERE relname = 'users_username_key'`); got != "0" {
		t.Fatalf("the failed build's index is still there (%s)", got)
	}
	if _, err := s2.Rollback(ctx); err != nil {
		t.Fatalf("rollback: %v", err)
	}
	if got := db.One(`SELECT count(*) FROM pg_class WHERE relname = 'users_username_key'`); got != "0" {
		t.Fatal("the failed build's index survived the rollback")
	}
	if st := s2.st("add-constraint").Status; st != phases.RolledBack {
		t.Fatalf("add-constraint is %s", st)
	}
}

// `shepherd plan --dialect postgres` renders every phase without a
// database, and every DDL statement says which PostgreSQL lock it takes.
func TestPostgresPreviewNamesLocks(t *testing.T) {
	t.Parallel()
	files, err := examples.Plans.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var plans []*phases.Plan
	for _, f := range files {
		data, _ := examples.Plans.ReadFile(f.Name())
		p, err := phases.Parse(f.Name(), data)
		if err != nil {
			t.Fatal(err)
		}
		plans = append(plans, p)
	}
	plans = append(plans, mustPlan(t, uniquePlan), mustPlan(t, "schema: app\n"+`
name: n
playbook: tighten-constraint
table: users
constraint: {not_null: email}
`))
	// "no table lock": a trigger function's DDL locks no table.
	locks := []string{"ACCESS EXCLUSIVE", "SHARE UPDATE EXCLUSIVE", "ROW EXCLUSIVE", "no table lock"}
	checked := 0
	for _, p := range plans {
		previews, err := Preview(p, "postgres")
		if err != nil {
			t.Fatalf("%s: %v", p.Name, err)
		}
		for _, pv := range previews {
			steps := append(append(templates.Script{}, pv.Steps...), pv.Revert...)
			for _, st := range steps {
				if strings.HasPrefix(st.SQL, "SELECT") || strings.Contains(st.SQL, "SAVEPOINT") || pv.Phase.ID == "verify-failure-path" {
					continue
				}
				checked++
				named := false
				for _, l := range locks {
					named = named || strings.Contains(st.Lock, l)
				}
				if !named {
					t.Errorf("%s/%s: %s\n  locks: %q names no PostgreSQL lock", p.Name, pv.Phase.ID, st.SQL, st.Lock)
				}
				if p.Schema == "app" && strings.Contains(st.SQL, "TABLE") && !strings.Contains(st.SQL, `"app"."users"`) {
					t.Errorf("%s: not schema-qualified: %s", p.Name, st.SQL)
				}
			}
		}
	}
	if checked < 20 {
		t.Fatalf("only %d statements checked", checked)
	}
}

// A batch that meets a row the application keeps locked gives up after the
// pool's lock_timeout (instead of holding its own row locks while it
// waits), is retried, and the backfill completes once the row is free.
func TestPostgresBatchRetriesOnRowLock(t *testing.T) {
	t.Parallel()
	db := testdb.New(t, "postgres")
	db.Seed(100)
	ctx := context.Background()
	s, rec := startPG(t, db.DSN, emailPlan, Options{BatchSize: 10})
	if _, err := s.Run(ctx, "add-column", nil); err != nil {
		t.Fatal(err)
	}
	var timeout string
	if err := s.db.QueryRowContext(ctx, "SHOW lock_timeout").Scan(&timeout); err != nil || timeout != "500ms" {
		t.Fatalf("the pool's lock_timeout is %q (%v), want 500ms", timeout, err)
	}
	app, err := db.SQL.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Rollback()
	if _, err := app.Exec(`UPDATE users SET name = 'Busy' WHERE id = 55`); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.Run(ctx, "backfill", confirm("deploy-readers"))
		done <- err
	}()
	waitFor(t, "a batch to give up on the locked row", 10*time.Second, func() bool {
		return rec.notices("batch id > 50 AND id <= 60 waited too long for a lock") > 0
	})
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("backfill: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the backfill did not finish once the row was free")
	}
	if got := db.One(`SELECT count(*) FROM users WHERE email = lower(username)`); got != "100" {
		t.Fatalf("%s rows filled, want 100", got)
	}
}

// Introspection reads columns, keys, indexes and constraints from the
// catalog.
func TestPostgresIntrospect(t *testing.T) {
	t.Parallel()
	db := testdb.New(t, "postgres")
	db.Exec(`CREATE TABLE parents (id bigint PRIMARY KEY);
CREATE TABLE things (
  a integer NOT NULL,
  b text DEFAULT 'x',
  c integer GENERATED ALWAYS AS (a * 2) STORED,
  parent bigint,
  "Odd ""Name""" numeric(10, 2),
  PRIMARY KEY (b, a)
);
ALTER TABLE things ADD CONSTRAINT things_parent_fk FOREIGN KEY (parent) REFERENCES parents (id) NOT VALID;
ALTER TABLE things ADD CONSTRAINT things_a_positive CHECK (a > 0);
ALTER TABLE things ADD CONSTRAINT things_a_parent_key UNIQUE (a, parent);
CREATE UNIQUE INDEX things_partial ON things (a) WHERE a > 10;
CREATE INDEX things_expr ON things (lower(b)) INCLUDE (a)`)
	eng := openPG(t, db.DSN)
	ctx := context.Background()
	tbl, err := eng.d.introspect(ctx, eng.db, eng.sql, "", "things")
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("%s | %v | %v", tbl.Schema, tbl.PrimaryKey, tbl.ColumnNames())
	if want := `public | [b a] | [a b c parent Odd "Name"]`; got != want {
		t.Errorf("table: %s\nwant   %s", got, want)
	}
	var cols []string
	for _, c := range tbl.Columns {
		d := "-"
		if c.Default != nil {
			d = *c.Default
		}
		cols = append(cols, fmt.Sprintf("%s %s notnull=%v default=%s generated=%v", c.Name, c.Type, c.NotNull, d, c.Generated))
	}
	if got, want := strings.Join(cols, "\n"), strings.Join([]string{
		"a integer notnull=true default=- generated=false",
		"b text notnull=true default='x'::text generated=false",
		"c integer notnull=false default=- generated=true",
		"parent bigint notnull=false default=- generated=false",
		`Odd "Name" numeric(10,2) notnull=false default=- generated=false`,
	}, "\n"); got != want {
		t.Errorf("columns:\n%s\nwant:\n%s", got, want)
	}
	if got, want := fmt.Sprint(tbl.Indexes), "[{things_a_parent_key true [a parent] false true } {things_expr false [] true true } {things_partial true [a] true true } {things_pkey true [b a] false true }]"; got != want {
		t.Errorf("indexes: %s\nwant     %s", got, want)
	}
	if got, want := fmt.Sprint(tbl.Constraints), "[{things_a_parent_key unique [a parent] true} {things_a_positive check [a] true} {things_parent_fk foreign-key [parent] false}]"; got != want {
		t.Errorf("constraints: %s\nwant         %s", got, want)
	}
	if _, err := eng.d.introspect(ctx, eng.db, eng.sql, "", "nothing"); !errors.Is(err, errNoTable) {
		t.Errorf("a missing table: %v", err)
	}
	db.Exec(`CREATE VIEW a_view AS SELECT 1 AS x`)
	if _, err := eng.d.introspect(ctx, eng.db, eng.sql, "", "a_view"); !errors.Is(err, errNoTable) {
		t.Errorf("a view: %v", err)
	}
}
