package training

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver, as the engine uses
)

// The sandbox is a fresh SQLite file per lesson, in a temporary folder that
// Close removes. It has the application's tables, as a production database
// would before the change: users (which add-column and rename-column change)
// and orders (which tighten-constraint changes), and the application's own
// migration table, which the multi-replica lesson's startup migrations use.

const sandboxUsers = 40

const sandboxSchema = `
PRAGMA journal_mode = WAL;
CREATE TABLE users (
  id       INTEGER PRIMARY KEY,
  username TEXT NOT NULL UNIQUE,
  name     TEXT NOT NULL
);
CREATE TABLE orders (
  id      INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL,
  amount  INTEGER NOT NULL
);
CREATE TABLE schema_migrations (
  version    TEXT PRIMARY KEY,
  applied_at TEXT NOT NULL
);
INSERT INTO schema_migrations (version, applied_at) VALUES ('0001_create_users_and_orders', '2024-01-01T00:00:00Z');
`

var firstNames = []string{"Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim"}
var lastNames = []string{"Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Perlman", "Lee"}

// personName is the seeded name of user i, and the pattern the fleet's
// writes follow.
func personName(i int) string {
	return firstNames[i%len(firstNames)] + " " + lastNames[(i/len(firstNames))%len(lastNames)]
}

// nickname is the nickname the fleet writes for a person: their first
// name, in lower case.
func nickname(name string) string {
	first, _, _ := strings.Cut(name, " ")
	return strings.ToLower(first)
}

// setupSandbox runs a lesson's own setup SQL on its sandbox, in one
// transaction: fixed text of the lesson's, no input.
func setupSandbox(ctx context.Context, path, setup string) error {
	if setup == "" {
		return nil
	}
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		return err
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("set up the lesson's sandbox: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, setup); err != nil {
		return fmt.Errorf("set up the lesson's sandbox: %w", err)
	}
	return tx.Commit()
}

// makeSandbox creates the sandbox database in dir and returns its path.
func makeSandbox(ctx context.Context, dir string) (string, error) {
	path := filepath.Join(dir, "sandbox.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		return "", err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, sandboxSchema); err != nil {
		return "", fmt.Errorf("create the sandbox: %w", err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return "", err
	}
	defer tx.Rollback()
	for i := 1; i <= sandboxUsers; i++ {
		if _, err := tx.ExecContext(ctx, `INSERT INTO users (id, username, name) VALUES (?, ?, ?)`,
			i, fmt.Sprintf("user%d", i), personName(i)); err != nil {
			return "", err
		}
	}
	// Orders: a few refunds were booked with the wrong sign, so they break
	// the rule the tighten-constraint lesson adds (amount > 0).
	for i := 1; i <= 60; i++ {
		amount := 100 + (i*37)%900
		if i%9 == 0 {
			amount = -amount
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO orders (id, user_id, amount) VALUES (?, ?, ?)`,
			i, 1+i%sandboxUsers, amount); err != nil {
			return "", err
		}
	}
	return path, tx.Commit()
}

// openApp is one application connection pool on the sandbox, as a replica
// would have: a short busy timeout, so that a request that meets a held
// write lock fails as an application's would, and write transactions that
// take the write lock at BEGIN.
func openApp(path string, busyMS int) (*sql.DB, error) {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyMS))
	// A throwaway sandbox: no fsync per request.
	q.Add("_pragma", "synchronous(OFF)")
	q.Set("_txlock", "immediate")
	return sql.Open("sqlite", "file:"+path+"?"+q.Encode())
}

// removeAll removes the sandbox's folder. Under load, one pass right after
// a signal left the folder behind (a file in it appeared while the pass
// ran; which closing writer created it is not pinned down), so it tries
// again, for up to a second, until the folder is gone.
func removeAll(dir string) {
	if dir == "" {
		return
	}
	for try := 0; try < 50; try++ {
		if err := os.RemoveAll(dir); err == nil {
			if _, err := os.Stat(dir); os.IsNotExist(err) {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
}
