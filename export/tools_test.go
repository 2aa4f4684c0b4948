package export_test

// The exported files, applied by the real tools to real databases: goose's
// and golang-migrate's Go libraries on every dialect (the tools' own
// drivers: pgx for PostgreSQL, go-sql-driver for MySQL/MariaDB, modernc's
// pure-Go SQLite), and a runner of plain files as its headers say. Each
// test applies the first migration, sees the next one's guard refuse while
// the rows are not ready, does the data phase by hand, applies the rest,
// checks the schema, then goes down and checks it again.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	mysqldrv "github.com/go-sql-driver/mysql"
	"github.com/golang-migrate/migrate/v4"
	_ "github.com/golang-migrate/migrate/v4/database/mysql"
	_ "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	_ "github.com/golang-migrate/migrate/v4/database/sqlite"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite"

	"github.com/shepherd-db/shepherd/export"
	"github.com/shepherd-db/shepherd/internal/testdb"
	"github.com/shepherd-db/shepherd/phases"
)

// runner applies a folder of exported migrations with one tool.
type runner interface {
	// upTo applies the migrations up to and including version n; -1: all.
	upTo(t *testing.T, n int64) error
	// down reverts every migration applied.
	down(t *testing.T) error
	close()
}

// toolTest is one plan, exported and applied.
type toolTest struct {
	plan string // YAML
	// setup makes the table; ready makes the rows ready for the guarded
	// migration (the data phase, by hand); breakIt makes them not ready.
	setup, breakIt, ready func(db *testdb.DB)
	// first is how many migrations come before the guarded one.
	first int
	guard string // the guard's error
	// up and down check the schema after applying all and after going down.
	up, down func(t *testing.T, db *testdb.DB)
	// downFails is the error a down must fail with (the point of no return).
	downFails string
}

func formatsToApply() []string { return []string{export.Goose, export.GolangMigrate, export.Plain} }

func TestToolsApplyAddColumn(t *testing.T) {
	forEach(t, func(t *testing.T, dialect, format string) {
		plan := `
name: users-email
playbook: add-column
table: users
column: email
type: {postgres: text, mysql: varchar(320), sqlite: text}
backfill:
  postgres: "lower(username) || '@example.com'"
  mysql: "concat(lower(username), '@example.com')"
  sqlite: "lower(username) || '@example.com'"
`
		if dialect == "sqlite" {
			// SQLite cannot add NOT NULL in place (export refuses it; see
			// TestSQLiteEnforceIsRefused): the column stays nullable.
			plan += "not_null: false\n"
		}
		tt := toolTest{
			plan:  plan,
			setup: func(db *testdb.DB) { db.Seed(20) },
			first: 1,
			guard: "users.email has NULLs: backfill it first",
			ready: func(db *testdb.DB) { db.Exec("UPDATE users SET email = 'x@example.com'") },
			up: func(t *testing.T, db *testdb.DB) {
				wantColumn(t, db, "users", "email", true, dialect != "sqlite")
				if dialect != "sqlite" {
					if err := db.ExecE("INSERT INTO users (id, username, name) VALUES (1000, 'u', 'n')"); err == nil {
						t.Error("an insert without email succeeded: NOT NULL is not in force")
					}
				}
			},
			down: func(t *testing.T, db *testdb.DB) { wantColumn(t, db, "users", "email", false, false) },
		}
		if dialect == "sqlite" {
			tt.guard, tt.ready = "", nil
		}
		tt.run(t, dialect, format)
	})
}

func TestToolsApplyRenameColumn(t *testing.T) {
	forEach(t, func(t *testing.T, dialect, format string) {
		tt := toolTest{
			plan: `
name: users-full-name
playbook: rename-column
table: users
column: name
to: full_name
type: {postgres: varchar(100), mysql: varchar(100), sqlite: text}
`,
			setup: func(db *testdb.DB) { db.Seed(20) },
			first: 1,
			guard: "users.full_name lacks values of name: backfill first",
			ready: func(db *testdb.DB) { db.Exec("UPDATE users SET full_name = name") },
			up: func(t *testing.T, db *testdb.DB) {
				wantColumn(t, db, "users", "name", false, false)
				wantColumn(t, db, "users", "full_name", true, false)
				if got := db.One("SELECT full_name FROM users WHERE id = 7"); got != "Name 7" {
					t.Errorf("full_name of row 7 = %q, want the old name", got)
				}
			},
			downFails: "point of no return: users.name cannot be restored",
		}
		tt.run(t, dialect, format)
	})
}

func TestToolsApplyUnique(t *testing.T) {
	forEach(t, func(t *testing.T, dialect, format string) {
		tt := toolTest{
			plan: `
name: users-username-unique
playbook: tighten-constraint
table: users
constraint: {name: users_username_key, unique: [username]}
`,
			setup:   func(db *testdb.DB) { db.Seed(20) },
			breakIt: func(db *testdb.DB) { db.Exec("UPDATE users SET username = 'user1' WHERE id = 2") },
			guard:   "duplicates break users_username_key: clean them first",
			ready:   func(db *testdb.DB) { db.Exec("UPDATE users SET username = 'user2' WHERE id = 2") },
			up: func(t *testing.T, db *testdb.DB) {
				if err := db.ExecE("UPDATE users SET username = 'user1' WHERE id = 3"); err == nil {
					t.Error("a duplicate username was written: the constraint is not in force")
				}
				wantIndex(t, db, "users_username_key", true)
			},
			down: func(t *testing.T, db *testdb.DB) {
				wantIndex(t, db, "users_username_key", false)
				db.Exec("UPDATE users SET username = 'user1' WHERE id = 3")
			},
		}
		tt.run(t, dialect, format)
	})
}

func TestToolsApplyCheck(t *testing.T) {
	forEach(t, func(t *testing.T, dialect, format string) {
		if dialect == "sqlite" {
			t.Skip("SQLite adds a CHECK by rebuilding the table from its live definition: export refuses it (TestSQLiteEnforceIsRefused)")
		}
		tt := toolTest{
			plan: `
name: orders-amount-positive
playbook: tighten-constraint
table: orders
constraint: {name: orders_amount_positive, check: "amount > 0"}
clean: {set: {amount: "abs(amount)"}}
`,
			setup: func(db *testdb.DB) {
				db.Exec("CREATE TABLE orders (id integer PRIMARY KEY, amount integer NOT NULL)")
				db.Exec("INSERT INTO orders (id, amount) VALUES (1, 5), (2, 7)")
			},
			breakIt: func(db *testdb.DB) { db.Exec("INSERT INTO orders (id, amount) VALUES (3, -4)") },
			guard:   "rows break orders_amount_positive: clean them first",
			ready:   func(db *testdb.DB) { db.Exec("UPDATE orders SET amount = abs(amount)") },
			up: func(t *testing.T, db *testdb.DB) {
				if err := db.ExecE("INSERT INTO orders (id, amount) VALUES (9, -1)"); err == nil {
					t.Error("a negative amount was written: the CHECK is not in force")
				}
			},
			down: func(t *testing.T, db *testdb.DB) { db.Exec("INSERT INTO orders (id, amount) VALUES (9, -1)") },
		}
		tt.run(t, dialect, format)
	})
}

// A foreign key exports on PostgreSQL only: the NOT VALID constraint and
// its VALIDATE, each a migration, behind a guard that counts the rows
// without a parent.
func TestToolsApplyForeignKey(t *testing.T) {
	forEach(t, func(t *testing.T, dialect, format string) {
		switch dialect {
		case "sqlite":
			t.Skip("SQLite adds a foreign key by rebuilding the table from its live definition: export refuses it (TestRefusals)")
		case "mysql":
			t.Skip("MySQL adds a foreign key in place only unchecked, which shepherd makes up for at run time: export refuses it (TestRefusals)")
		}
		tt := toolTest{
			plan: `
name: orders-user-fk
playbook: tighten-constraint
table: orders
constraint: {name: orders_user_fk, foreign_key: [user_id], references: {table: users, columns: [id]}}
clean: {set: {user_id: "NULL"}}
`,
			setup: func(db *testdb.DB) {
				db.Seed(5)
				db.Exec("CREATE TABLE orders (id integer PRIMARY KEY, user_id integer)")
				db.Exec("INSERT INTO orders (id, user_id) VALUES (1, 1), (2, NULL), (3, 5)")
			},
			breakIt: func(db *testdb.DB) { db.Exec("INSERT INTO orders (id, user_id) VALUES (4, 99)") },
			guard:   "rows of orders have no parent in users: clean them first",
			ready:   func(db *testdb.DB) { db.Exec("UPDATE orders SET user_id = NULL WHERE id = 4") },
			up: func(t *testing.T, db *testdb.DB) {
				if got := db.One("SELECT convalidated FROM pg_constraint WHERE conname = 'orders_user_fk'"); got != "true" {
					t.Errorf("orders_user_fk validated = %s, want true", got)
				}
				if err := db.ExecE("INSERT INTO orders (id, user_id) VALUES (9, 99)"); err == nil {
					t.Error("a row without a parent was written: the foreign key is not in force")
				}
			},
			down: func(t *testing.T, db *testdb.DB) { db.Exec("INSERT INTO orders (id, user_id) VALUES (9, 99)") },
		}
		tt.run(t, dialect, format)
	})
}

// forEach runs a test on every dialect with a server and every format a Go
// test can apply (drizzle's runs under Node: drizzle_test.go).
func forEach(t *testing.T, f func(t *testing.T, dialect, format string)) {
	for _, d := range testdb.Dialects() {
		for _, format := range formatsToApply() {
			t.Run(d+"/"+format, func(t *testing.T) {
				if ok, why := testdb.Available(d); !ok {
					t.Skip(why)
				}
				t.Parallel()
				f(t, d, format)
			})
		}
	}
}

func (tt toolTest) run(t *testing.T, dialect, format string) {
	db := testdb.New(t, dialect)
	tt.setup(db)
	plan := loadPlan(t, tt.plan)
	dir := filepath.Join(t.TempDir(), "migrations")
	files := exportTo(t, plan, dialect, format, dir)
	versions := versionsOf(t, files, format)
	r := newRunner(t, db, dialect, format, dir)
	defer r.close()

	if tt.first > 0 {
		if err := r.upTo(t, versions[tt.first-1]); err != nil {
			t.Fatalf("up to %d: %v", versions[tt.first-1], err)
		}
	}
	if tt.breakIt != nil {
		tt.breakIt(db)
	}
	if tt.guard != "" {
		// Applying everything now is what a careless release job does: the
		// guard stops it before the guarded migration changes anything.
		err := r.upTo(t, -1)
		if err == nil || !strings.Contains(err.Error(), tt.guard) {
			t.Fatalf("applying everything before the rows are ready: got %v, want the guard's error %q", err, tt.guard)
		}
		if format == export.GolangMigrate {
			r.(*migrateRunner).force(t, versions, tt.first)
		}
		tt.ready(db)
	}
	if err := r.upTo(t, -1); err != nil {
		t.Fatalf("up: %v", err)
	}
	tt.up(t, db)
	err := r.down(t)
	if tt.downFails != "" {
		if err == nil || !strings.Contains(err.Error(), tt.downFails) {
			t.Fatalf("down past the point of no return: got %v, want it refused with %q", err, tt.downFails)
		}
		return
	}
	if err != nil {
		t.Fatalf("down: %v", err)
	}
	tt.down(t, db)
}

func loadPlan(t *testing.T, text string) *phases.Plan {
	t.Helper()
	path := filepath.Join(t.TempDir(), "plan.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := phases.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// exportTo exports a plan into dir and returns the files written.
func exportTo(t *testing.T, plan *phases.Plan, dialect, format, dir string) []string {
	t.Helper()
	ex, err := export.ReadDir(dir, format, plan)
	if err != nil {
		t.Fatal(err)
	}
	files, err := export.Render(export.Options{Plan: plan, PlanFile: "plan.yaml", Dialect: dialect, Format: format, Now: time.Now(), Existing: ex})
	if err != nil {
		t.Fatal(err)
	}
	w, err := export.Write(dir, ex, files, false)
	if err != nil {
		t.Fatal(err)
	}
	return w.Wrote
}

var versionRe = regexp.MustCompile(`^(\d+)_`)

// versionsOf lists the versions of the up migrations, in order.
func versionsOf(t *testing.T, files []string, format string) []int64 {
	var vs []int64
	for _, f := range files {
		if strings.HasSuffix(f, ".down.sql") || !strings.HasSuffix(f, ".sql") {
			continue
		}
		m := versionRe.FindStringSubmatch(f)
		if m == nil {
			t.Fatalf("%s: no version", f)
		}
		v, _ := strconv.ParseInt(m[1], 10, 64)
		vs = append(vs, v)
	}
	slices.Sort(vs)
	return vs
}

func newRunner(t *testing.T, db *testdb.DB, dialect, format, dir string) runner {
	t.Helper()
	switch format {
	case export.Goose:
		return newGooseRunner(t, db, dialect, dir)
	case export.GolangMigrate:
		return newMigrateRunner(t, db, dialect, dir)
	}
	return &plainRunner{db: openTool(t, db, dialect, false), dir: dir}
}

// openTool opens a pool of its own on the test's database, as a tool's
// user would, with the tool's driver.
func openTool(t *testing.T, db *testdb.DB, dialect string, multi bool) *sql.DB {
	t.Helper()
	var pool *sql.DB
	var err error
	switch dialect {
	case "postgres":
		pool, err = sql.Open("pgx", db.DSN)
	case "mysql":
		pool, err = sql.Open("mysql", mysqlDSN(t, db.DSN, multi))
	default:
		pool, err = sql.Open("sqlite", "file:"+strings.TrimPrefix(db.DSN, "sqlite:")+"?_pragma=busy_timeout(5000)")
	}
	if err != nil {
		t.Fatal(err)
	}
	return pool
}

// mysqlDSN turns mysql://user@host:port/db into go-sql-driver's form.
func mysqlDSN(t *testing.T, dsn string, multi bool) string {
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg := mysqldrv.NewConfig()
	cfg.Net, cfg.Addr, cfg.DBName = "tcp", u.Host, strings.TrimPrefix(u.Path, "/")
	cfg.User = u.User.Username()
	cfg.Passwd, _ = u.User.Password()
	cfg.MultiStatements = multi
	return cfg.FormatDSN()
}

// ---------- goose ----------

type gooseRunner struct {
	db *sql.DB
	p  *goose.Provider
}

func newGooseRunner(t *testing.T, db *testdb.DB, dialect, dir string) *gooseRunner {
	t.Helper()
	pool := openTool(t, db, dialect, false)
	gd := map[string]goose.Dialect{"postgres": goose.DialectPostgres, "mysql": goose.DialectMySQL, "sqlite": goose.DialectSQLite3}[dialect]
	p, err := goose.NewProvider(gd, pool, os.DirFS(dir))
	if err != nil {
		t.Fatalf("goose reads the folder: %v", err)
	}
	return &gooseRunner{db: pool, p: p}
}

func (g *gooseRunner) upTo(t *testing.T, n int64) error {
	var err error
	if n < 0 {
		_, err = g.p.Up(context.Background())
	} else {
		_, err = g.p.UpTo(context.Background(), n)
	}
	return err
}

func (g *gooseRunner) down(t *testing.T) error {
	_, err := g.p.DownTo(context.Background(), 0)
	return err
}

func (g *gooseRunner) close() { g.db.Close() }

// ---------- golang-migrate ----------

type migrateRunner struct{ m *migrate.Migrate }

func newMigrateRunner(t *testing.T, db *testdb.DB, dialect, dir string) *migrateRunner {
	t.Helper()
	src, err := iofs.New(os.DirFS(dir), ".")
	if err != nil {
		t.Fatalf("golang-migrate reads the folder: %v", err)
	}
	var dbURL string
	switch dialect {
	case "postgres":
		dbURL = "pgx5" + strings.TrimPrefix(db.DSN, "postgres")
	case "mysql":
		// the driver's DSN, with multiStatements=true as the files say
		dbURL = "mysql://" + mysqlDSN(t, db.DSN, true)
	default:
		dbURL = "sqlite://" + strings.TrimPrefix(db.DSN, "sqlite:")
	}
	m, err := migrate.NewWithSourceInstance("iofs", src, dbURL)
	if err != nil {
		t.Fatalf("golang-migrate opens the database: %v", err)
	}
	return &migrateRunner{m: m}
}

func (r *migrateRunner) upTo(t *testing.T, n int64) error {
	if n < 0 {
		return noChange(r.m.Up())
	}
	return noChange(r.m.Migrate(uint(n)))
}

func (r *migrateRunner) down(t *testing.T) error { return noChange(r.m.Down()) }

// noChange: golang-migrate reports "nothing to do" as an error.
func noChange(err error) error {
	if errors.Is(err, migrate.ErrNoChange) {
		return nil
	}
	return err
}

// force marks the database clean at the version before the guarded
// migration, as an operator does after a failed golang-migrate run: the
// guard failed before anything changed.
func (r *migrateRunner) force(t *testing.T, versions []int64, first int) {
	t.Helper()
	v := -1
	if first > 0 {
		v = int(versions[first-1])
	}
	if err := r.m.Force(v); err != nil {
		t.Fatal(err)
	}
}

func (r *migrateRunner) close() { r.m.Close() }

// ---------- plain files ----------

// plainRunner applies plain files as their headers say: a file in one
// transaction, or its statement alone; statements end with ";" at the end
// of a line. It keeps the applied versions in memory.
type plainRunner struct {
	db      *sql.DB
	dir     string
	applied []string // up files, in order
}

func (r *plainRunner) upTo(t *testing.T, n int64) error {
	ups, _ := filepath.Glob(filepath.Join(r.dir, "*.up.sql"))
	slices.Sort(ups)
	for _, f := range ups {
		v, _ := strconv.ParseInt(versionRe.FindStringSubmatch(filepath.Base(f))[1], 10, 64)
		if slices.Contains(r.applied, f) || n >= 0 && v > n {
			continue
		}
		if err := r.apply(f); err != nil {
			return err
		}
		r.applied = append(r.applied, f)
	}
	return nil
}

func (r *plainRunner) down(t *testing.T) error {
	for len(r.applied) > 0 {
		f := r.applied[len(r.applied)-1]
		if err := r.apply(strings.TrimSuffix(f, ".up.sql") + ".down.sql"); err != nil {
			return err
		}
		r.applied = r.applied[:len(r.applied)-1]
	}
	return nil
}

func (r *plainRunner) apply(file string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	text := string(data)
	var stmts []string
	var cur []string
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "--") || strings.TrimSpace(line) == "" && len(cur) == 0 {
			continue
		}
		cur = append(cur, line)
		if strings.HasSuffix(strings.TrimSpace(line), ";") {
			stmts = append(stmts, strings.TrimSuffix(strings.TrimSpace(strings.Join(cur, "\n")), ";"))
			cur = nil
		}
	}
	ctx := context.Background()
	if !strings.Contains(text, "Run this file in one transaction.") {
		for _, st := range stmts {
			if _, err := r.db.ExecContext(ctx, st); err != nil {
				return fmt.Errorf("%s: %w", filepath.Base(file), err)
			}
		}
		return nil
	}
	conn, err := r.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	for _, st := range stmts {
		if _, err := tx.ExecContext(ctx, st); err != nil {
			return errors.Join(fmt.Errorf("%s: %w", filepath.Base(file), err), tx.Rollback())
		}
	}
	return tx.Commit()
}

func (r *plainRunner) close() { r.db.Close() }

// ---------- schema checks ----------

// wantColumn checks whether table has column, and whether it is NOT NULL.
func wantColumn(t *testing.T, db *testdb.DB, table, column string, exists, notNull bool) {
	t.Helper()
	var q string
	switch db.Dialect {
	case "postgres":
		q = fmt.Sprintf("SELECT CASE WHEN attnotnull THEN 'NOT NULL' ELSE 'NULL' END FROM pg_attribute WHERE attrelid = '%s'::regclass AND attname = '%s' AND NOT attisdropped", table, column)
	case "mysql":
		q = fmt.Sprintf("SELECT CASE WHEN is_nullable = 'NO' THEN 'NOT NULL' ELSE 'NULL' END FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = '%s' AND column_name = '%s'", table, column)
	default:
		q = fmt.Sprintf("SELECT CASE WHEN \"notnull\" = 1 THEN 'NOT NULL' ELSE 'NULL' END FROM pragma_table_info('%s') WHERE name = '%s'", table, column)
	}
	rows := db.Query(q)
	switch {
	case !exists && len(rows) > 0:
		t.Errorf("%s.%s exists, and should not", table, column)
	case exists && len(rows) == 0:
		t.Errorf("%s.%s does not exist, and should", table, column)
	case exists && notNull && rows[0][0] != "NOT NULL":
		t.Errorf("%s.%s is nullable, and should be NOT NULL", table, column)
	case exists && !notNull && rows[0][0] != "NULL":
		t.Errorf("%s.%s is NOT NULL, and should be nullable", table, column)
	}
}

// wantIndex checks whether a unique index of that name exists.
func wantIndex(t *testing.T, db *testdb.DB, name string, exists bool) {
	t.Helper()
	var q string
	switch db.Dialect {
	case "postgres":
		q = fmt.Sprintf("SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = '%s' AND i.indisunique AND i.indisvalid", name)
	case "mysql":
		q = fmt.Sprintf("SELECT count(DISTINCT index_name) FROM information_schema.statistics WHERE table_schema = DATABASE() AND index_name = '%s' AND non_unique = 0", name)
	default:
		q = fmt.Sprintf("SELECT count(*) FROM pragma_index_list('users') WHERE name = '%s' AND \"unique\" = 1", name)
	}
	got := db.One(q)
	if want := map[bool]string{true: "1", false: "0"}[exists]; got != want {
		t.Errorf("unique index %s: found %s, want %s", name, got, want)
	}
}
