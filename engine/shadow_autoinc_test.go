package engine

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// On a server that gives AUTO_INCREMENT values without a table lock
// (innodb_autoinc_lock_mode 2, MySQL 8's default; MariaDB's is 1), a
// table with an AUTO_INCREMENT key is copied. The application inserts
// without keys during the copy, renames and deletes: none of its writes
// fails or is lost, and each row keeps the key the server gave it. A row
// whose key is 0 keeps it. After the swap the counter gives no key the
// table's counter had passed: it was raised above the rows before the
// copy, as deletes of the last rows leave it.
func TestCopyAutoIncrement(t *testing.T) {
	if ok, why := testdb.Available("mysql"); !ok {
		t.Skip(why)
	}
	t.Parallel()
	server, install := mariaDBPrograms(t, "the test starts a MariaDB of its own, with innodb_autoinc_lock_mode 2")
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	installMariaDB(t, install, dir, data)
	port := freePort(t)
	root := runMariaDB(t, server, dir, data, "autoinc", port, "--innodb-autoinc-lock-mode=2", "--innodb-flush-log-at-trx-commit=0")
	for _, st := range []string{"CREATE DATABASE test", "CREATE USER 'shep'@'127.0.0.1'", "GRANT ALL ON *.* TO 'shep'@'127.0.0.1'"} {
		if _, err := root.Exec(st); err != nil {
			t.Fatalf("%s: %v", st, err)
		}
	}
	db := testdb.Attach(t, "mysql", fmt.Sprintf("mysql://shep@127.0.0.1:%d/test", port))
	copyUsers(t, db, 3000)
	db.Exec(`ALTER TABLE users MODIFY id bigint NOT NULL AUTO_INCREMENT`)
	db.Exec(`SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_AUTO_VALUE_ON_ZERO')`)
	db.Exec(`INSERT INTO users (id, username, name) VALUES (0, 'zero', 'x')`)
	db.Exec(`ALTER TABLE users AUTO_INCREMENT = 5000`)

	app := startCopyWriters(db, 3000, true)
	app.mu.Lock()
	app.want[0] = "zero" // the writers leave it alone
	app.mu.Unlock()
	copyUnderWriters(t, db, app)
	if got := db.One(`SELECT username FROM users WHERE id = 0`); got != "zero" {
		t.Errorf("the row of key 0 is %q after the copy", got)
	}
	maxID, _ := strconv.ParseInt(db.One(`SELECT max(id) FROM users`), 10, 64)
	if maxID < 5000 {
		t.Fatalf("the application's inserts during the copy were given keys up to %d, not from 5000", maxID)
	}
	db.Exec(`DELETE FROM users WHERE id = ` + strconv.FormatInt(maxID, 10))
	db.Exec(`INSERT INTO users (username, name) VALUES ('after', 'x')`)
	if next, _ := strconv.ParseInt(db.One(`SELECT id FROM users WHERE username = 'after'`), 10, 64); next <= maxID {
		t.Errorf("after the swap the counter gave %d, a key the table had given (up to %d)", next, maxID)
	}
	if n := db.One(`SELECT count(*) FROM users WHERE email IS NULL AND id <= (SELECT ` + "`checkpoint`" + ` FROM shepherd_state WHERE phase = 'backfill')`); n != "0" {
		t.Errorf("%s rows up to the copy's last key are NULL", n)
	}

	// A table whose counter is past its rows, and no insert during the
	// copy: only the copy's counter, set from the table's when it is made
	// and raised to it right before the swap, keeps the next key past the
	// keys the table gave (here an ALTER raises the table's during the
	// copy).
	db.Exec(`CREATE TABLE items (id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY, username varchar(100) NOT NULL)`)
	db.Exec(`INSERT INTO items (username) SELECT username FROM users ORDER BY id LIMIT 100`)
	db.Exec(`ALTER TABLE items AUTO_INCREMENT = 1000`)
	raised := false
	items, rec := session(t, db, mustPlan(t, itemsEmailPlan), Options{BatchSize: 30, Failpoint: func(p string) {
		if p == "backfill:batch-done" && !raised {
			raised = true
			db.Exec(`ALTER TABLE items AUTO_INCREMENT = 2000`)
		}
	}})
	runThrough(t, items, "backfill")
	if rec.notices("copies items into _items_shepherd_copy") != 1 {
		t.Fatalf("the backfill did not copy items; notices: %v", rec.of(EventNotice))
	}
	db.Exec(`INSERT INTO items (username) VALUES ('after')`)
	if next := db.One(`SELECT id FROM items WHERE username = 'after'`); next != "2000" {
		t.Errorf("after the copy of items the counter gave %s, want 2000, where the table's was", next)
	}

	// A long UNIQUE (a hash index) beside an AUTO_INCREMENT column: the
	// copy's counter could move only by rebuilding the copy, so the fill
	// is in place, saying why.
	db.Exec(`CREATE TABLE notes (id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY, username varchar(100) NOT NULL, body text, UNIQUE KEY notes_body (body))`)
	db.Exec(`INSERT INTO notes (username, body) SELECT username, concat('note ', id) FROM users ORDER BY id LIMIT 50`)
	notes, rec := session(t, db, mustPlan(t, strings.ReplaceAll(itemsEmailPlan, "items", "notes")), Options{AllowLock: "shared"}) // a long UNIQUE rules out an instant ADD COLUMN too
	runThrough(t, notes, "backfill")
	if len(rec.find(EventNotice, "fills notes in place.*a long UNIQUE \\(notes_body")) != 1 {
		t.Errorf("no notice that the long UNIQUE rules the copy out; notices: %v", rec.of(EventNotice))
	}
}

const itemsEmailPlan = `name: items-email
playbook: add-column
table: items
column: email
type: varchar(200)
backfill: "lower(username)"
`
