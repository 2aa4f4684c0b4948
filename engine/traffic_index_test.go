package engine

import (
	"fmt"
	"testing"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// TestLiveTrafficAddIndex: the index is built while the fleet inserts and
// updates rows (PostgreSQL CONCURRENTLY, MySQL in place with LOCK=NONE,
// SQLite's short write lock, which writers wait out): no write fails, none
// is lost, and the index ends valid.
func TestLiveTrafficAddIndex(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		db.Seed(3000)
		a := newApp(db, 3000)
		q := func(s string) string { return placeholders(db.Dialect, s) }
		a.write = func(_ string, id int64, insert bool, value string) (string, []any) {
			if insert {
				return q("INSERT INTO users (id, username, name) VALUES (?, ?, ?)"), []any{id, fmt.Sprintf("u%d", id), value}
			}
			return q("UPDATE users SET name = ? WHERE id = ?"), []any{value, id}
		}
		a.read = func(string) string { return q("SELECT name FROM users WHERE id = ?") }
		runWithTraffic(t, a, usersNameIndexPlan, 3, nil, "name")
		if got := indexInCatalog(t, db, "users_name_idx"); got != "valid" {
			t.Errorf("users_name_idx is %s, want valid", got)
		}
	})
}

// TestLiveTrafficDropColumn: the fleet's old code writes nick (NOT NULL, no
// default); relax lets the new code insert without it; the new code is
// deployed at stop-using; the archive and the drop run while it writes.
// No write fails, none is lost, and the archive holds every old value.
func TestLiveTrafficDropColumn(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		usersWith(db, "nick varchar(100) NOT NULL", func(i int) string { return fmt.Sprintf("'k%d'", i) })
		a := newApp(db, 2000)
		q := func(s string) string { return placeholders(db.Dialect, s) }
		a.write = func(v string, id int64, insert bool, value string) (string, []any) {
			switch {
			case insert && v == "v1": // old code writes nick
				return q("INSERT INTO users (id, username, name, nick) VALUES (?, ?, ?, ?)"), []any{id, fmt.Sprintf("u%d", id), value, fmt.Sprintf("k%d", id)}
			case insert: // new code ignores it
				return q("INSERT INTO users (id, username, name) VALUES (?, ?, ?)"), []any{id, fmt.Sprintf("u%d", id), value}
			}
			return q("UPDATE users SET name = ? WHERE id = ?"), []any{value, id}
		}
		a.read = func(string) string { return q("SELECT name FROM users WHERE id = ?") }
		runWithTraffic(t, a, `name: users-drop-nick
playbook: drop-column
table: users
column: nick
archive: true
`, 3, map[string]string{"stop-using": "v2"}, "name")
		if columnThere(db, "nick") {
			t.Error("nick is still there")
		}
		if got := db.One("SELECT count(*) FROM users_nick_archive WHERE shepherd_key <= 2000 AND nick = concat('k', shepherd_key)"); got != "2000" {
			t.Errorf("the archive holds %s of the 2000 old values", got)
		}
	})
}
