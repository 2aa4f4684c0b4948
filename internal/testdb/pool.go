package testdb

import (
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// PostgreSQL test databases come from a pool kept on the server, because
// making and dropping a database there is what a test would spend most of
// its time on: CREATE DATABASE writes the whole template to the WAL and
// DROP DATABASE waits for a checkpoint (seconds each on a busy machine).
// A test claims a slot, shepherd_t_pool_N, by an exclusive lock on a file
// of this machine (released by the kernel when the test process ends,
// however it ends), and empties the database before using it: every
// schema dropped, public made again as a new database has it, the
// database's settings reset, any connection a killed process left behind
// ended. The pool lasts between runs, so a run makes no database once the
// pool is as large as the run's peak of tests at once.
//
// The lock files are in the system's temporary directory: test processes
// sharing one server must run on one machine (as the README's command
// and CI do).

// poolSlot is a claimed database: its name, the file lock that holds it,
// and the pool that emptied it, which the test goes on with (one server
// process fewer per test: on a loaded machine a PostgreSQL connection costs
// tens of milliseconds of the server's CPU).
type poolSlot struct {
	name string
	lock *os.File
	pool *sql.DB
}

func (s *poolSlot) release() { s.lock.Close() } // closing drops the lock

// claimPostgres claims a free slot of the pool on the server base names,
// makes its database if it is not there yet and empties it.
func claimPostgres(ctx context.Context, admin *sql.DB, base string) (*poolSlot, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	h := fnv.New32a()
	h.Write([]byte(u.Host))
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("shepherd-testdb-pool-%08x", h.Sum32()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	for n := 0; n < 1000; n++ {
		f, err := lockSlotFile(filepath.Join(dir, fmt.Sprintf("slot-%d.lock", n))) // slotlock_*.go
		if err != nil {
			return nil, err
		}
		if f == nil {
			continue // another test holds this slot
		}
		slot := &poolSlot{name: fmt.Sprintf("shepherd_t_pool_%d", n), lock: f}
		if slot.pool, err = preparePostgres(ctx, admin, base, slot.name); err != nil {
			slot.release()
			return nil, fmt.Errorf("pool database %s: %w", slot.name, err)
		}
		return slot, nil
	}
	return nil, fmt.Errorf("every one of 1000 pool slots in %s is taken", dir)
}

// preparePostgres leaves database name empty and as a new one, making it
// if need be (what cannot be emptied is dropped and made again), and
// returns a pool on it.
func preparePostgres(ctx context.Context, admin *sql.DB, base, name string) (*sql.DB, error) {
	var exists bool
	if err := admin.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return nil, err
	}
	if exists {
		if pool, err := emptyPostgres(ctx, admin, base, name); err == nil {
			return pool, nil
		}
		// Something a test left could not be undone: start afresh.
		if _, err := admin.ExecContext(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			return nil, err
		}
	}
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return nil, err
	}
	// Test databases need not survive a crash of the server: commits that
	// do not wait for the disk keep the suite fast.
	if _, err := admin.ExecContext(ctx, "ALTER DATABASE "+name+" SET synchronous_commit = off"); err != nil {
		return nil, err
	}
	return openDSN("postgres", withDatabase(base, name))
}

// emptyPostgres undoes what the last test of the slot did to its database,
// through the pool it returns.
func emptyPostgres(ctx context.Context, admin *sql.DB, base, name string) (pool *sql.DB, err error) {
	// Connections a killed test or shepherd process left open.
	if _, err := admin.ExecContext(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, name); err != nil {
		return nil, err
	}
	// The database's own settings, unless they are as a slot leaves them
	// already: each ALTER DATABASE leaves a dead row in a shared catalog
	// that every new connection reads (and the test server may run
	// without autovacuum).
	var asLeft bool
	if err := admin.QueryRowContext(ctx, `SELECT d.datallowconn AND d.datconnlimit = -1 AND coalesce(s.setconfig = ARRAY['synchronous_commit=off'], false)
		FROM pg_database d LEFT JOIN pg_db_role_setting s ON s.setdatabase = d.oid AND s.setrole = 0 WHERE d.datname = $1`, name).Scan(&asLeft); err != nil {
		return nil, err
	}
	if !asLeft {
		for _, st := range []string{
			`ALTER DATABASE ` + name + ` WITH ALLOW_CONNECTIONS true CONNECTION LIMIT -1`,
			`ALTER DATABASE ` + name + ` RESET ALL`,
			`ALTER DATABASE ` + name + ` SET synchronous_commit = off`,
		} {
			if _, err := admin.ExecContext(ctx, st); err != nil {
				return nil, err
			}
		}
	}
	db, err := openDSN("postgres", withDatabase(base, name))
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			db.Close()
		}
	}()
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close() // back to db's pool, for the test
	rows, err := conn.QueryContext(ctx, `SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\_%' AND nspname <> 'information_schema'`)
	if err != nil {
		return nil, err
	}
	var schemas []string
	for rows.Next() {
		var s string
		if err = rows.Scan(&s); err != nil {
			rows.Close()
			return nil, err
		}
		schemas = append(schemas, s)
	}
	rows.Close()
	if err = rows.Err(); err != nil {
		return nil, err
	}
	stmts := []string{}
	for _, s := range schemas {
		stmts = append(stmts, `DROP SCHEMA "`+strings.ReplaceAll(s, `"`, `""`)+`" CASCADE`)
	}
	// public as CREATE DATABASE makes it in PostgreSQL 15 and later.
	stmts = append(stmts,
		`CREATE SCHEMA public`,
		`ALTER SCHEMA public OWNER TO pg_database_owner`,
		`GRANT USAGE ON SCHEMA public TO PUBLIC`,
	)
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for _, st := range stmts {
		if _, err = conn.ExecContext(ctx, st); err != nil {
			return nil, fmt.Errorf("%s: %w", st, err)
		}
	}
	// Each test's tables leave dead rows in the catalogs when dropped, and
	// the test server may run without autovacuum: every catalog read of
	// every later connection to the slot walks past them. Once there are
	// many, a VACUUM of the (now empty) database clears them in a moment.
	var dead int64
	if err = conn.QueryRowContext(ctx, `SELECT coalesce(sum(n_dead_tup), 0) FROM pg_stat_sys_tables`).Scan(&dead); err != nil {
		return nil, err
	}
	if dead > 5000 {
		if _, err = conn.ExecContext(ctx, `VACUUM`); err != nil {
			return nil, fmt.Errorf("VACUUM: %w", err)
		}
	}
	return db, nil
}

// withDatabase is the DSN base with its database replaced by name.
func withDatabase(base, name string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	u.Path = "/" + name
	return u.String()
}
