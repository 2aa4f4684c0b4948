// Package demo makes the local SQLite database that `shepherd demo` and the
// README's quick start work on: a users table and an orders table, with
// enough rows for a backfill's progress to be seen, a few orders that break
// the example constraint, an index and a column for the drop examples.
package demo

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver

	"github.com/shepherd-db/shepherd/examples"
)

// Users is how many users a new demo database has; each has about 2.5
// orders.
const Users = 20_000

const schema = `
CREATE TABLE users (
  id         INTEGER PRIMARY KEY,
  username   TEXT NOT NULL UNIQUE,
  name       TEXT NOT NULL,
  created_at TEXT NOT NULL DEFAULT (datetime('now')),
  nickname   TEXT -- no longer used by the code: the drop-column example drops it
);
CREATE TABLE orders (
  id      INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users (id),
  amount  INTEGER NOT NULL,
  status  TEXT NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'paid', 'shipped'))
);
CREATE INDEX orders_user ON orders (user_id);
`

// Create makes the demo database at path with n users, unless a file is
// already there (then it is reused as it is). It reports whether it made one.
func Create(ctx context.Context, path string, n int) (created bool, err error) {
	if _, err := os.Stat(path); err == nil {
		return false, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return false, err
	}
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		return false, err
	}
	defer db.Close()
	if err := seed(ctx, db, n); err != nil {
		db.Close()
		os.Remove(path)
		return false, fmt.Errorf("create the demo database %s: %w", path, err)
	}
	return true, nil
}

func seed(ctx context.Context, db *sql.DB, n int) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, schema); err != nil {
		return err
	}
	first := []string{"Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim"}
	last := []string{"Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Perlman", "Berners-Lee"}
	user, err := tx.PrepareContext(ctx, `INSERT INTO users (id, username, name, nickname) VALUES (?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	order, err := tx.PrepareContext(ctx, `INSERT INTO orders (user_id, amount, status) VALUES (?, ?, ?)`)
	if err != nil {
		return err
	}
	statuses := []string{"new", "paid", "shipped"}
	for i := 1; i <= n; i++ {
		f, l := first[i%len(first)], last[(i/len(first))%len(last)]
		if _, err := user.ExecContext(ctx, i, fmt.Sprintf("%s%s%d", f, l, i), f+" "+l, f); err != nil {
			return err
		}
		for j := 0; j < 2+i%2; j++ {
			amount := 100 + (i*37+j*11)%9900
			if (i+j)%97 == 0 {
				amount = -amount // a refund booked with the wrong sign: the constraint's violators
			}
			if _, err := order.ExecContext(ctx, i, amount, statuses[(i+j)%3]); err != nil {
				return err
			}
		}
	}
	return tx.Commit()
}

// WritePlans copies the example plans into dir (existing files are kept),
// and returns their paths.
func WritePlans(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	entries, err := fs.ReadDir(examples.Plans, ".")
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		paths = append(paths, path)
		if _, err := os.Stat(path); err == nil {
			continue
		}
		data, err := examples.Plans.ReadFile(e.Name())
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return nil, err
		}
	}
	return paths, nil
}
