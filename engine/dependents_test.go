package engine

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

const loginPlan = `name: accounts-login
playbook: rename-column
table: accounts
column: username
to: login
`

// A UNIQUE constraint, a CHECK and another table's foreign key on the old
// column: each is listed with what to do, drop-old-column refuses before any
// DDL, and once the new column has them the old one goes, and the
// uniqueness holds on the new column.
func TestRenameDependents(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		switch db.Dialect {
		case "postgres":
			db.Exec(`CREATE TABLE accounts (id integer PRIMARY KEY, username text NOT NULL UNIQUE, score integer CHECK (score > 0 AND length(username) > 1));
CREATE TABLE orders (id integer PRIMARY KEY, uname text REFERENCES accounts (username))`)
		case "mysql":
			db.Exec(`CREATE TABLE accounts (id integer PRIMARY KEY, username varchar(50) NOT NULL UNIQUE, score integer, CONSTRAINT accounts_check CHECK (score > 0 AND length(username) > 1))`)
			db.Exec(`CREATE TABLE orders (id integer PRIMARY KEY, uname varchar(50), CONSTRAINT orders_uname_fkey FOREIGN KEY (uname) REFERENCES accounts (username))`)
		case "sqlite":
			db.Exec(`CREATE TABLE accounts (id integer PRIMARY KEY, username text NOT NULL UNIQUE, score integer);
CREATE TABLE orders (id integer PRIMARY KEY, uname text REFERENCES accounts (username))`)
		}
		db.Exec(`INSERT INTO accounts (id, username, score) VALUES (1, 'ann', 1), (2, 'bob', 2)`)
		db.Exec(`INSERT INTO orders (id, uname) VALUES (1, 'ann')`)
		ctx := context.Background()
		s, rec := session(t, db, mustPlan(t, loginPlan), Options{})
		if n := len(rec.find(EventNotice, `^warning: accounts.username is used by what login lacks`)); n != 1 {
			t.Errorf("%d warnings at the start, want 1: %+v", n, rec.of(EventNotice))
		}
		out, err := s.Run(ctx, "", confirm("dual-write", "switch-reads", "stop-old-writes"))
		if err != nil || out != AtGate {
			t.Fatalf("run to the drop: %v %v", out, err)
		}
		s.touched = map[string]time.Time{} // a later release
		_, err = s.Run(ctx, "", confirm("drop-old-column"))
		var de *DependentsError
		if !errors.As(err, &de) {
			t.Fatalf("drop-old-column: %v (%T), want a *DependentsError", err, err)
		}
		text := err.Error()
		wants := map[string][]string{
			"postgres": {
				`unique index accounts_username_key (username): create one on (login): CREATE UNIQUE INDEX CONCURRENTLY "accounts_login_key" ON "accounts" ("login")`,
				`CHECK constraint accounts_check (CHECK (((score > 0) AND (length(username) > 1)))): add it on login: ALTER TABLE "accounts" ADD CONSTRAINT "accounts_check_login" CHECK (((score > 0) AND (length(login) > 1))) NOT VALID; ALTER TABLE "accounts" VALIDATE CONSTRAINT "accounts_check_login", then drop accounts_check`,
				`orders's foreign key orders_uname_fkey references accounts.username: make it reference accounts.login`,
			},
			"mysql": {
				"unique index username (username): create one on (login): ALTER TABLE `accounts` ADD UNIQUE KEY `login` (`login`), ALGORITHM=INPLACE, LOCK=NONE",
				"CHECK constraint accounts_check (CHECK (",
				"add it on login: ALTER TABLE `accounts` ADD CONSTRAINT `accounts_check_login` CHECK (",
				"orders's foreign key orders_uname_fkey references accounts.username",
			},
			"sqlite": {
				"a UNIQUE constraint in accounts's definition covers username (sqlite_autoindex_accounts_1): the database cannot drop a column such a constraint covers without rebuilding the table",
				"orders's foreign key foreign key 0 references accounts.username",
			},
		}[db.Dialect]
		for _, w := range wants {
			if !strings.Contains(text, w) {
				t.Errorf("the refusal does not say %q:\n%s", w, text)
			}
		}
		if got := db.One("SELECT count(*) FROM accounts WHERE username IS NOT NULL"); got != "2" {
			t.Fatalf("username lost its values: %s", got)
		}
		if db.Dialect == "sqlite" {
			return // SQLite keeps a UNIQUE column until the table is rebuilt
		}
		// Give login what username has; the foreign key moves to login.
		switch db.Dialect {
		case "postgres":
			db.Exec(`CREATE UNIQUE INDEX accounts_login_key ON accounts (login);
ALTER TABLE accounts ADD CONSTRAINT accounts_check_login CHECK (score > 0 AND length(login) > 1);
ALTER TABLE orders DROP CONSTRAINT orders_uname_fkey;
ALTER TABLE orders ADD CONSTRAINT orders_uname_fkey FOREIGN KEY (uname) REFERENCES accounts (login)`)
		case "mysql":
			db.Exec("ALTER TABLE accounts ADD UNIQUE KEY accounts_login_key (login)")
			db.Exec("ALTER TABLE accounts ADD CONSTRAINT accounts_check_login CHECK (score > 0 AND length(login) > 1)")
			db.Exec("ALTER TABLE orders DROP FOREIGN KEY orders_uname_fkey")
			db.Exec("ALTER TABLE orders ADD CONSTRAINT orders_uname_fkey FOREIGN KEY (uname) REFERENCES accounts (login)")
		}
		if _, err := s.Run(ctx, "", confirm("drop-old-column")); err != nil {
			t.Fatalf("after the fixes, drop-old-column: %v", err)
		}
		if _, err := db.SQL.Exec("INSERT INTO accounts (id, login, score) VALUES (3, 'ann', 3)"); err == nil {
			t.Error("a duplicate login was accepted: the uniqueness did not move")
		}
		if _, err := db.SQL.Exec("INSERT INTO orders (id, uname) VALUES (2, 'nobody')"); err == nil {
			t.Error("an order for no account was accepted: the foreign key did not move")
		}
	})
}

func TestDependentText(t *testing.T) {
	for _, c := range []struct {
		text, col string
		want      bool
	}{
		{"SET NEW.name = trim(NEW.name)", "name", true},
		{"select `db`.`users`.`name` AS `name` from `db`.`users`", "name", true},
		{`CREATE VIEW v AS SELECT "Name" FROM users`, "name", true},
		{"SET NEW.username = 1", "name", false},
		{"SELECT full_name FROM users", "name", false},
		{"name_lower", "name", false},
	} {
		if got := namesColumn(c.text, c.col); got != c.want {
			t.Errorf("namesColumn(%q, %q) = %v", c.text, c.col, got)
		}
	}
	if got := replaceWord("CHECK ((length(username) > 1) AND (usernames > 0))", "username", "login"); got != "CHECK ((length(login) > 1) AND (usernames > 0))" {
		t.Errorf("replaceWord: %s", got)
	}
	if normDef("CHECK (`a` > 0)") != normDef(`check ("a">0)`) {
		t.Error("normDef differs on quotes, case or spaces")
	}
}
