// Package testdb gives each test a fresh, empty database of its own on each
// dialect: an SQLite file in the test's temporary directory, a new MySQL
// database dropped when the test ends, or an emptied PostgreSQL database
// of a pool kept on the server (pool.go), on the servers named by
// SHEPHERD_TEST_POSTGRES / SHEPHERD_TEST_MYSQL.
// Tests of a dialect whose variable is unset are skipped, and say so.
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mysqldrv "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	_ "modernc.org/sqlite"             // registers "sqlite"
)

// Env names the variables that point the tests at real servers.
const (
	EnvPostgres = "SHEPHERD_TEST_POSTGRES"
	EnvMySQL    = "SHEPHERD_TEST_MYSQL"
)

// Dialects lists every dialect; DB skips those without a server.
func Dialects() []string { return []string{"sqlite", "postgres", "mysql"} }

// DB is one fresh database.
type DB struct {
	Dialect string
	// DSN is how shepherd reaches it (sqlite:…, postgres://…, mysql://…).
	DSN string
	// SQL is a pool for the test's own setup and assertions.
	SQL *sql.DB
	t   testing.TB
}

// New makes a fresh database for the test on a dialect, or skips the test
// when that dialect's server is not configured.
func New(t testing.TB, dialect string) *DB {
	t.Helper()
	if ok, why := Available(dialect); !ok {
		t.Skip(why)
	}
	db, cleanup, err := Create(dialect, t.TempDir())
	if err != nil {
		t.Fatalf("testdb: %s: %v", dialect, err)
	}
	t.Cleanup(cleanup)
	db.t = t
	return db
}

// Create makes a fresh database without a testing.TB (for testscript); the
// caller runs cleanup when done. dir holds the SQLite file.
func Create(dialect, dir string) (*DB, func(), error) {
	switch dialect {
	case "sqlite":
		return newSQLite(dir)
	case "postgres":
		return newServer(dialect, EnvPostgres)
	case "mysql":
		return newServer(dialect, EnvMySQL)
	}
	return nil, nil, fmt.Errorf("unknown dialect %q", dialect)
}

// Available reports whether a dialect's server is configured, and if not,
// why.
func Available(dialect string) (bool, string) {
	switch dialect {
	case "postgres":
		if os.Getenv(EnvPostgres) == "" {
			return false, EnvPostgres + " is not set: PostgreSQL tests skipped (set it to a DSN such as postgres://postgres@127.0.0.1:5432/test?sslmode=disable)"
		}
	case "mysql":
		if os.Getenv(EnvMySQL) == "" {
			return false, EnvMySQL + " is not set: MySQL/MariaDB tests skipped (set it to a DSN such as mysql://root@127.0.0.1:3306/test)"
		}
	}
	return true, ""
}

func newSQLite(dir string) (*DB, func(), error) {
	path := filepath.Join(dir, "test.db")
	pool, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, nil, err
	}
	pool.SetMaxOpenConns(1) // the test's own writes never race each other
	if err := pool.Ping(); err != nil {
		return nil, nil, err
	}
	return &DB{Dialect: "sqlite", DSN: "sqlite:" + path, SQL: pool}, func() { pool.Close() }, nil
}

func newServer(dialect, env string) (*DB, func(), error) {
	base := os.Getenv(env)
	if base == "" {
		_, why := Available(dialect)
		return nil, nil, fmt.Errorf("%s", why)
	}
	admin, err := adminOf(dialect, base)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		return nil, nil, fmt.Errorf("%s names a server that does not answer: %w", env, err)
	}
	var name string
	var pool *sql.DB
	var release func() // after the test's pool is closed
	if dialect == "postgres" {
		slot, err := claimPostgres(ctx, admin, base)
		if err != nil {
			return nil, nil, err
		}
		name, pool, release = slot.name, slot.pool, slot.release
	} else {
		// A MySQL database is a directory: made and dropped quickly.
		name = "shepherd_t_" + randomHex(6)
		if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
			return nil, nil, fmt.Errorf("create database %s: %w", name, err)
		}
		release = func() { dropDatabase(dialect, base, name) }
		if pool, err = openDSN(dialect, withDatabase(base, name)); err != nil {
			release()
			return nil, nil, err
		}
	}
	cleanup := func() {
		pool.Close()
		release()
	}
	return &DB{Dialect: dialect, DSN: withDatabase(base, name), SQL: pool}, cleanup, nil
}

// admins are the test process's pools on each server's own database, for
// making and emptying test databases: kept for the process, so that a test
// does not start a server process of its own for it (PostgreSQL's are the
// costliest part of a small test on a loaded machine).
var admins sync.Map // dialect + " " + base DSN -> *sql.DB

func adminOf(dialect, base string) (*sql.DB, error) {
	key := dialect + " " + base
	if db, ok := admins.Load(key); ok {
		return db.(*sql.DB), nil
	}
	db, err := openDSN(dialect, base)
	if err != nil {
		return nil, err
	}
	if prev, loaded := admins.LoadOrStore(key, db); loaded {
		db.Close()
		return prev.(*sql.DB), nil
	}
	return db, nil
}

func dropDatabase(dialect, base, name string) {
	admin, err := adminOf(dialect, base)
	if err != nil {
		return
	}
	if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name); err != nil {
		fmt.Fprintf(os.Stderr, "testdb: drop %s: %v\n", name, err)
	}
}

// openDSN opens a shepherd-style DSN with the dialect's driver.
func openDSN(dialect, dsn string) (*sql.DB, error) {
	switch dialect {
	case "postgres":
		return sql.Open("pgx", dsn)
	case "mysql":
		u, err := url.Parse(dsn)
		if err != nil {
			return nil, err
		}
		cfg := mysqldrv.NewConfig()
		cfg.Net, cfg.Addr, cfg.DBName = "tcp", u.Host, strings.TrimPrefix(u.Path, "/")
		if !strings.Contains(cfg.Addr, ":") {
			cfg.Addr += ":3306"
		}
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
		cfg.MultiStatements = true // test fixtures only
		return sql.Open("mysql", cfg.FormatDSN())
	}
	return nil, fmt.Errorf("no server dialect %q", dialect)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Exec runs statements separated by ";\n" (fixture SQL), failing the test on
// error.
func (db *DB) Exec(stmts string) {
	db.t.Helper()
	if err := db.ExecE(stmts); err != nil {
		db.t.Fatal(err)
	}
}

// ExecE is Exec returning the error.
func (db *DB) ExecE(stmts string) error {
	for _, st := range strings.Split(stmts, ";\n") {
		if strings.TrimSpace(st) == "" {
			continue
		}
		if _, err := db.SQL.Exec(st); err != nil {
			return fmt.Errorf("testdb: %s: %v\n%s", db.Dialect, err, st)
		}
	}
	return nil
}

// Query returns every row as strings (NULL is "NULL"), failing the test on
// error.
func (db *DB) Query(query string, args ...any) [][]string {
	db.t.Helper()
	rows, err := db.QueryE(query, args...)
	if err != nil {
		db.t.Fatal(err)
	}
	return rows
}

// QueryE is Query returning the error.
func (db *DB) QueryE(query string, args ...any) ([][]string, error) {
	rows, err := db.SQL.Query(query, args...)
	if err != nil {
		return nil, fmt.Errorf("testdb: %s: %v\n%s", db.Dialect, err, query)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			switch x := v.(type) {
			case nil:
				row[i] = "NULL"
			case []byte:
				row[i] = string(x)
			default:
				row[i] = fmt.Sprint(x)
			}
		}
		out = append(out, row)
	}
	return out, rows.Err()
}

// One returns the single value of a one-row, one-column query.
func (db *DB) One(query string, args ...any) string {
	db.t.Helper()
	rows := db.Query(query, args...)
	if len(rows) != 1 || len(rows[0]) != 1 {
		db.t.Fatalf("testdb: %s: want one value, got %v\n%s", db.Dialect, rows, query)
	}
	return rows[0][0]
}

// Seed creates the users table the tests share, with n rows: id 1..n,
// username user<id>, name "Name <id>".
func (db *DB) Seed(n int) {
	db.t.Helper()
	db.Exec(`CREATE TABLE users (id integer PRIMARY KEY, username varchar(100) NOT NULL, name varchar(100) NOT NULL)`)
	db.SeedRows("users", n)
}

// SeedRows inserts users-shaped rows id 1..n (in chunks, portable SQL).
func (db *DB) SeedRows(table string, n int) {
	db.t.Helper()
	if err := db.SeedRowsE(table, n); err != nil {
		db.t.Fatal(err)
	}
}

// SeedRowsE is SeedRows returning the error.
func (db *DB) SeedRowsE(table string, n int) error {
	const chunk = 500
	for lo := 1; lo <= n; lo += chunk {
		var vals []string
		for i := lo; i < lo+chunk && i <= n; i++ {
			vals = append(vals, fmt.Sprintf("(%d, 'user%d', 'Name %d')", i, i, i))
		}
		if err := db.ExecE(fmt.Sprintf("INSERT INTO %s (id, username, name) VALUES %s", table, strings.Join(vals, ", "))); err != nil {
			return err
		}
	}
	return nil
}

// Durable undoes the test-speed setting of a PostgreSQL test database
// (synchronous_commit = off) and reopens the test's pool, so that commits
// wait for the disk as they do in production: benchmarks measure with it.
// Connections opened from now on get the server's default.
func (db *DB) Durable() {
	db.t.Helper()
	if db.Dialect != "postgres" {
		return
	}
	name := db.One("SELECT current_database()")
	db.Exec(`ALTER DATABASE "` + name + `" RESET synchronous_commit`)
	pool, err := openDSN(db.Dialect, db.DSN)
	if err != nil {
		db.t.Fatal(err)
	}
	db.SQL.Close()
	db.SQL = pool
	db.t.Cleanup(func() { pool.Close() }) // before the database is dropped
	if got := db.One("SHOW synchronous_commit"); got != "on" {
		db.t.Fatalf("testdb: synchronous_commit is %s after the reset; the server's default is not on", got)
	}
}
