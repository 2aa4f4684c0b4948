package testdb

import "testing"

// Attach wraps a database the test made itself (a private server, say) in a
// DB, for the same helpers: the test owns the database and drops nothing;
// the pool is closed when the test ends.
func Attach(t testing.TB, dialect, dsn string) *DB {
	t.Helper()
	pool, err := openDSN(dialect, dsn)
	if err != nil {
		t.Fatalf("testdb: %s: %v", dialect, err)
	}
	t.Cleanup(func() { pool.Close() })
	return &DB{Dialect: dialect, DSN: dsn, SQL: pool, t: t}
}
