package engine

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/shepherd-db/shepherd/templates"
)

// A table that does not allow ALGORITHM=INSTANT (ROW_FORMAT=COMPRESSED):
// the server refuses it (1845) and the ALTER runs INPLACE, LOCK=NONE, saying
// so; the log has the statement that ran. The same for the drop on rollback.
func TestMySQLInstantRefusedFallsBackInPlace(t *testing.T) {
	db := mysqlTestDB(t)
	db.Exec("CREATE TABLE docs (id int PRIMARY KEY, title varchar(100)) ROW_FORMAT=COMPRESSED")
	db.Exec("INSERT INTO docs VALUES (1, 'A'), (2, 'B')")
	plan := mustPlan(t, docsPlan)
	rec := &recorder{}
	_, s := startSession(t, db, plan, Options{Emit: rec.emit})
	ctx := context.Background()
	if _, err := s.Run(ctx, "add-column", nil); err != nil {
		t.Fatalf("add-column: %v", err)
	}
	if got := db.One("SELECT count(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'docs' AND column_name = 'email'"); got != "1" {
		t.Fatal("email was not added")
	}
	if n := len(rec.find(EventNotice, `refuses this form of the statement on docs \(Error 1845.*ALGORITHM=INSTANT is not supported.*\): falling back to ALGORITHM=INPLACE, LOCK=NONE$`)); n != 1 {
		t.Errorf("%d notices of the fallback, want 1: %+v", n, rec.of(EventNotice))
	}
	steps := rec.steps("add-column")
	if len(steps) != 2 || !strings.HasSuffix(steps[0].SQL, "ALGORITHM=INSTANT") || !strings.HasSuffix(steps[1].SQL, "ALGORITHM=INPLACE, LOCK=NONE") {
		t.Errorf("steps shown: %+v", steps)
	}
	logged := db.Query("SELECT event, sql_text FROM shepherd_log WHERE plan = 'docs-email' AND phase = 'add-column' AND sql_text IS NOT NULL ORDER BY id")
	if len(logged) != 2 || logged[0][0] != "refused" || !strings.HasSuffix(logged[0][1], "ALGORITHM=INSTANT") ||
		logged[1][0] != "sql" || !strings.HasSuffix(logged[1][1], "ALGORITHM=INPLACE, LOCK=NONE") {
		t.Errorf("the log has %q, want the refused INSTANT and the INPLACE that ran", logged)
	}
	// Rolled back, the drop falls back the same way.
	if _, err := s.Rollback(ctx); err != nil {
		t.Fatalf("rollback: %v", err)
	}
	if got := db.One("SELECT count(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'docs' AND column_name = 'email'"); got != "0" {
		t.Fatal("email was not dropped")
	}
	if got := db.One("SELECT sql_text FROM shepherd_log WHERE plan = 'docs-email' AND event = 'sql' ORDER BY id DESC LIMIT 1"); !strings.HasPrefix(got, "ALTER TABLE `docs` DROP COLUMN `email`") || !strings.HasSuffix(got, "ALGORITHM=INPLACE, LOCK=NONE") {
		t.Errorf("the drop that ran: %s", got)
	}
}

const docsPlan = `name: docs-email
playbook: add-column
table: docs
column: email
type: varchar(200)
backfill: "lower(title)"
`

// A table with a FULLTEXT index cannot be rebuilt with LOCK=NONE (1846):
// every ALTER that rebuilds it stops before changing anything, naming the
// lock it needs and the table's size, until --allow-lock shared allows it;
// reruns are idempotent, checked against information_schema.
func TestMySQLLockNoneRefusedNeedsAllowLock(t *testing.T) {
	db := mysqlTestDB(t)
	db.Exec("CREATE TABLE docs (id int PRIMARY KEY, title varchar(100), body text, FULLTEXT KEY ft (body)) ROW_FORMAT=COMPRESSED")
	db.Exec("INSERT INTO docs VALUES (1, 'A', 'hello world'), (2, 'B', 'x')")
	plan := mustPlan(t, docsPlan)
	ctx := context.Background()
	emailExists := func() string {
		return db.One("SELECT count(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'docs' AND column_name = 'email'")
	}
	mustNeedLock := func(err error, phase, what string) {
		t.Helper()
		var le *LockRequiredError
		if !errors.As(err, &le) {
			t.Fatalf("%s: %v (%T), want a *LockRequiredError", phase, err, err)
		}
		for _, part := range []string{
			phase + ": the database refuses LOCK=NONE for this statement on docs (Fulltext index creation requires a lock)",
			"it needs LOCK=SHARED: writes to docs wait (reads go on) for as long as the statement runs",
			"docs holds about ", "Nothing was changed", "rerun with --allow-lock shared", what, ", ALGORITHM=INPLACE, LOCK=SHARED\n",
		} {
			if !strings.Contains(err.Error(), part) {
				t.Errorf("%s: the error does not say %q:\n%s", phase, part, err)
			}
		}
		if got := phaseStatus(t, db, plan.Name, phase); got != "failed" {
			t.Errorf("%s is %s, want failed (and retryable)", phase, got)
		}
	}

	// add-column: refused without the opt-in; nothing changed.
	_, s := startSession(t, db, plan, Options{})
	_, err := s.Run(ctx, "add-column", nil)
	mustNeedLock(err, "add-column", "ALTER TABLE `docs` ADD COLUMN `email` varchar(200), ALGORITHM=INPLACE, LOCK=SHARED")
	if emailExists() != "0" {
		t.Fatal("the refused add-column added the column")
	}
	s.Close()

	// With --allow-lock shared it runs with LOCK=SHARED; a rerun skips it.
	rec := &recorder{}
	_, s = startSession(t, db, plan, Options{AllowLock: "shared", Emit: rec.emit})
	if _, err := s.Run(ctx, "add-column", nil); err != nil {
		t.Fatalf("add-column with --allow-lock shared: %v", err)
	}
	if emailExists() != "1" {
		t.Fatal("email was not added")
	}
	if n := len(rec.find(EventNotice, `running ALGORITHM=INPLACE, LOCK=SHARED, as --allow-lock shared allows`)); n != 1 {
		t.Errorf("%d notices of the shared lock, want 1", n)
	}
	if got := db.One("SELECT sql_text FROM shepherd_log WHERE plan = 'docs-email' AND phase = 'add-column' AND event = 'sql'"); !strings.HasSuffix(got, "ALGORITHM=INPLACE, LOCK=SHARED") {
		t.Errorf("the log says %q ran", got)
	}
	// Idempotent: the DDL took effect but the state says running (a crash
	// between them); the rerun finds the column and skips the ALTER.
	s.Close()
	db.Exec("UPDATE shepherd_state SET status = 'running' WHERE plan = 'docs-email' AND phase = 'add-column'")
	rec = &recorder{}
	_, s = startSession(t, db, plan, Options{Emit: rec.emit})
	if _, err := s.Run(ctx, "add-column", nil); err != nil {
		t.Fatalf("rerun of add-column: %v", err)
	}
	if n := rec.notices("skipped, nothing to do"); n != 1 {
		t.Errorf("the rerun did not skip the ALTER: %+v", rec.all())
	}

	// enforce: MODIFY … NOT NULL, LOCK=NONE is refused the same way.
	if _, err := s.Run(ctx, "switch-writes", confirm("deploy-readers", "switch-writes")); err != nil {
		t.Fatal(err)
	}
	_, err = s.Run(ctx, "", nil)
	mustNeedLock(err, "enforce", "ALTER TABLE `docs` MODIFY COLUMN `email` varchar(200) CHARACTER SET")
	if got := db.One("SELECT is_nullable FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'docs' AND column_name = 'email'"); got != "YES" {
		t.Fatal("the refused enforce changed the column")
	}
	s.Close()
	_, s = startSession(t, db, plan, Options{AllowLock: "exclusive"}) // exclusive allows shared too
	if _, err := s.Run(ctx, "", nil); err != nil {
		t.Fatalf("enforce with --allow-lock exclusive: %v", err)
	}
	if got := db.One("SELECT is_nullable FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'docs' AND column_name = 'email'"); got != "NO" {
		t.Fatal("NOT NULL is not in force")
	}
	s.Close()

	// Rolling enforce back needs the lock too.
	_, s = startSession(t, db, plan, Options{})
	_, err = s.Rollback(ctx)
	var le *LockRequiredError
	if !errors.As(err, &le) || le.Level != "shared" {
		t.Fatalf("rollback without --allow-lock: %v", err)
	}
	s.Close()
	_, s = startSession(t, db, plan, Options{AllowLock: "shared"})
	if _, err := s.Rollback(ctx); err != nil {
		t.Fatalf("rollback with --allow-lock shared: %v", err)
	}
	if got := db.One("SELECT is_nullable FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'docs' AND column_name = 'email'"); got != "YES" {
		t.Fatal("NOT NULL was not dropped")
	}
}

// ADD UNIQUE on a table the server cannot change in place (MyISAM: "Try
// ALGORITHM=COPY"): a copy blocks writes, so it needs --allow-lock shared,
// and then runs ALGORITHM=COPY, LOCK=SHARED.
func TestMySQLAddUniqueNeedsAllowLock(t *testing.T) {
	db := mysqlTestDB(t)
	db.Exec("CREATE TABLE accounts (id int PRIMARY KEY, email varchar(100)) ENGINE=MyISAM")
	db.Exec("INSERT INTO accounts VALUES (1, 'a'), (2, 'b')")
	plan := mustPlan(t, `name: accounts-email
playbook: tighten-constraint
table: accounts
constraint: {name: accounts_email_key, unique: [email]}
`)
	ctx := context.Background()
	_, s := startSession(t, db, plan, Options{})
	_, err := s.Run(ctx, "", confirm("validate-in-app"))
	var le *LockRequiredError
	if !errors.As(err, &le) || le.Level != "shared" || !strings.HasSuffix(le.SQL, "ALGORITHM=COPY, LOCK=SHARED") {
		t.Fatalf("add-constraint: %v, want a *LockRequiredError for ALGORITHM=COPY, LOCK=SHARED", err)
	}
	if got := db.One("SELECT count(*) FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = 'accounts' AND index_name = 'accounts_email_key'"); got != "0" {
		t.Fatal("the refused ADD UNIQUE added the index")
	}
	s.Close()
	_, s = startSession(t, db, plan, Options{AllowLock: "shared"})
	if _, err := s.Run(ctx, "add-constraint", nil); err != nil {
		t.Fatalf("add-constraint with --allow-lock shared: %v", err)
	}
	if got := db.One("SELECT sql_text FROM shepherd_log WHERE plan = 'accounts-email' AND phase = 'add-constraint' AND event = 'sql'"); !strings.HasSuffix(got, "ALGORITHM=COPY, LOCK=SHARED") {
		t.Errorf("the log says %q ran", got)
	}
	if _, err := db.SQL.Exec("UPDATE accounts SET email = 'a' WHERE id = 2"); err == nil {
		t.Error("the unique key is not in force")
	}
}

// What the server says when it refuses a form, read as the next form needs.
func TestMySQLClassifyRefusedForm(t *testing.T) {
	t.Parallel()
	d := &mysqlDialect{}
	for _, c := range []struct {
		msg                            string
		refused, reason, suggest, need string
	}{
		{"ALGORITHM=INSTANT is not supported for this operation. Try ALGORITHM=INPLACE", "ALGORITHM=INSTANT", "", "ALGORITHM=INPLACE", templates.LevelNone},
		{"LOCK=NONE is not supported. Reason: Fulltext index creation requires a lock. Try LOCK=SHARED", "LOCK=NONE", "Fulltext index creation requires a lock", "LOCK=SHARED", templates.LevelShared},
		{"LOCK=NONE is not supported. Reason: Do not support online operation on table with GIS index. Try LOCK=SHARED", "LOCK=NONE", "Do not support online operation on table with GIS index", "LOCK=SHARED", templates.LevelShared},
		{"ALGORITHM=INPLACE is not supported for this operation. Try ALGORITHM=COPY", "ALGORITHM=INPLACE", "", "ALGORITHM=COPY", templates.LevelShared},
		{"LOCK=SHARED is not supported. Reason: COPY algorithm requires a lock. Try LOCK=EXCLUSIVE", "LOCK=SHARED", "COPY algorithm requires a lock", "LOCK=EXCLUSIVE", templates.LevelExclusive},
	} {
		for _, n := range []uint16{1845, 1846} {
			f := d.classify(&mysql.MySQLError{Number: n, Message: c.msg})
			if f.kind != failRefusedForm || f.refused != c.refused || f.reason != c.reason || f.suggest != c.suggest || f.need != c.need {
				t.Errorf("%d %q: %+v", n, c.msg, f)
			}
		}
	}
}

// `plan --db` on a table the server is expected to refuse INSTANT or
// LOCK=NONE on says so, with the lock and the table's size; on a plain
// table it says nothing.
func TestMySQLPreviewExpectsPerTable(t *testing.T) {
	db := mysqlTestDB(t)
	db.Exec("CREATE TABLE docs (id int PRIMARY KEY, title varchar(100), body text, FULLTEXT KEY ft (body)) ROW_FORMAT=COMPRESSED")
	db.Exec("CREATE TABLE docs2 (id int PRIMARY KEY, title varchar(100)) ROW_FORMAT=COMPRESSED")
	db.Exec("CREATE TABLE plain (id int PRIMARY KEY, title varchar(100))")
	notes := func(table, phase string, forms int) string {
		t.Helper()
		e, err := Open(context.Background(), db.DSN)
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		s, err := e.Inspect(context.Background(), mustPlan(t, strings.ReplaceAll(docsPlan, "docs", table)), Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, pv := range s.Previews() {
			if pv.Phase.ID == phase {
				if len(pv.Steps) == 0 || len(pv.Steps[0].Else) != forms {
					t.Errorf("%s %s: the step has %d other forms, want %d", table, phase, len(pv.Steps[0].Else), forms)
				}
				var notes []string
				for _, n := range pv.Notes {
					notes = append(notes, n.Text)
				}
				return strings.Join(notes, "\n")
			}
		}
		t.Fatalf("no phase %s", phase)
		return ""
	}
	if got := notes("docs", "add-column", 5); !strings.Contains(got, "on docs (ROW_FORMAT=COMPRESSED, FULLTEXT index ft), MariaDB") && !strings.Contains(got, "on docs (ROW_FORMAT=COMPRESSED, FULLTEXT index ft), MySQL") ||
		!strings.Contains(got, "is expected to refuse ALGORITHM=INSTANT and LOCK=NONE for this ALTER: it needs LOCK=SHARED, so it runs only with --allow-lock shared, and writes to docs wait while it runs (docs holds about 0 rows") {
		t.Errorf("docs add-column notes:\n%s", got)
	}
	if got := notes("docs", "enforce", 4); !strings.Contains(got, "is expected to refuse LOCK=NONE for this ALTER: it needs LOCK=SHARED") {
		t.Errorf("docs enforce notes:\n%s", got)
	}
	if got := notes("docs2", "add-column", 5); !strings.Contains(got, "is expected to refuse ALGORITHM=INSTANT for this ALTER: it runs ALGORITHM=INPLACE, LOCK=NONE") {
		t.Errorf("docs2 add-column notes:\n%s", got)
	}
	if got := notes("plain", "add-column", 5); strings.Contains(got, "expected") {
		t.Errorf("plain add-column notes:\n%s", got)
	}
	// Inspect wrote nothing: no state table.
	if got := db.One("SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE 'shepherd%'"); got != "0" {
		t.Errorf("plan --db created %s shepherd tables", got)
	}
}
