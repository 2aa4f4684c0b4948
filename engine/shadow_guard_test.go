package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// usersPhonePlan is a second add-column plan on users.
const usersPhonePlan = `name: users-phone
playbook: add-column
table: users
column: phone
type: varchar(40)
backfill: "concat('+1-', id)"
`

// stopCopyMidWalk runs users-email up to its backfill, which copies the
// table, and stops it after its third batch: the copy and its triggers are
// left on users.
func stopCopyMidWalk(t *testing.T, db *testdb.DB) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hits := 0
	s, _ := sessionWith(context.Background(), t, db, mustPlan(t, usersEmailPlan), Options{BatchSize: 100, Failpoint: func(p string) {
		if p == "backfill:batch-done" {
			if hits++; hits == 3 {
				cancel()
			}
		}
	}})
	defer s.Close()
	for _, id := range []string{"add-column", "deploy-readers", "backfill"} {
		if err := s.Arrive(ctx, id); err != nil {
			t.Fatalf("arrive at %s: %v", id, err)
		}
		if err := s.RunPhase(ctx, id); err != nil && id != "backfill" {
			t.Fatalf("%s: %v", id, err)
		}
	}
	if left := copyLeft(db); len(left) != 4 {
		t.Fatalf("the stopped copy left %v, want the copy and three triggers", left)
	}
}

// Another plan on a table that carries an unfinished copy is refused,
// naming the plan whose copy it is, and changes nothing: its DDL would
// break the copy's triggers (and so the application's writes) or be
// undone by the swap. Once the copy is finished, the plan runs.
func TestCopyKeepsOtherPlansOff(t *testing.T) {
	db := mariaDB(t)
	copyUsers(t, db, 1000)
	stopCopyMidWalk(t, db)

	other, _ := session(t, db, mustPlan(t, usersNameIndexPlan), Options{})
	if !slices.ContainsFunc(other.Warnings(), func(w string) bool { return strings.Contains(w, "unfinished copy") }) {
		t.Errorf("the other plan's warnings do not say the table carries a copy: %v", other.Warnings())
	}
	_, err := other.Run(context.Background(), "", map[string]bool{})
	var inUse *CopyInUseError
	if !errors.As(err, &inUse) {
		t.Fatalf("the other plan's run: %v, want a CopyInUseError", err)
	}
	if !slices.Equal(inUse.Owners, []string{"users-email"}) || !strings.Contains(err.Error(), "plan users-email's backfill") {
		t.Errorf("the refusal names %v: %v", inUse.Owners, err)
	}
	if n := db.One(`SELECT count(*) FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = 'users' AND index_name = 'users_name_idx'`); n != "0" {
		t.Errorf("the refused plan built its index")
	}
	if n := db.One(`SELECT count(*) FROM shepherd_state WHERE plan = 'users-name-idx' AND status <> 'pending'`); n != "0" {
		t.Errorf("the refused plan recorded %s phases as begun", n)
	}
	other.Close()
	db.Exec(`INSERT INTO users (id, username, name) VALUES (5000, 'between', 'x')`)

	// A foreign key to users from another table, which the swap would
	// leave on the old table; another add-column plan on users.
	db.Exec(`CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint, amount int NOT NULL)`)
	for plan, confirm := range map[string]string{ordersUserFKPlan: "validate-in-app", usersPhonePlan: "deploy-readers"} {
		p, _ := session(t, db, mustPlan(t, plan), Options{})
		_, err := p.Run(context.Background(), "", map[string]bool{confirm: true})
		if !errors.As(err, &inUse) || inUse.Table != "users" || !slices.Equal(inUse.Owners, []string{"users-email"}) {
			t.Errorf("%s: %v, want a CopyInUseError on users naming users-email", p.plan.Name, err)
		}
		p.Close()
	}
	if n := db.One(`SELECT count(*) FROM information_schema.referential_constraints WHERE constraint_schema = DATABASE()`); n != "0" {
		t.Errorf("the refused plan added its foreign key")
	}
	if columnThere(db, "phone") {
		t.Errorf("the refused plan added its column")
	}

	s, _ := session(t, db, mustPlan(t, usersEmailPlan), Options{BatchSize: 100})
	if err := s.RunPhase(context.Background(), "backfill"); err != nil {
		t.Fatalf("the copy resumed: %v", err)
	}
	s.Close()
	again, _ := session(t, db, mustPlan(t, usersNameIndexPlan), Options{})
	if _, err := again.Run(context.Background(), "", map[string]bool{}); err != nil {
		t.Fatalf("the other plan after the copy: %v", err)
	}
}

// DDL outside shepherd while a copy is stopped would be undone by the
// swap (an index added, columns reordered), or left on the old table and
// dropped with it (a trigger of the application's): the swap is refused,
// saying what differs, and the copy is dropped; the rerun makes a new
// copy of the table as it is (or fills in place, where the DDL now rules
// the copy out), and what the DDL made is still there after it.
func TestCopySwapRefusedAfterOutsideDDL(t *testing.T) {
	cases := []struct {
		name, ddl, refusal, after string
	}{
		{"index", `CREATE INDEX users_name_outside ON users (name)`, "users_name_outside",
			`SELECT count(*) FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = 'users' AND index_name = 'users_name_outside'`},
		{"trigger", `CREATE TRIGGER users_audit AFTER INSERT ON users FOR EACH ROW SET @audited = 1`, "a trigger (users_audit)",
			`SELECT count(*) FROM information_schema.triggers WHERE trigger_schema = DATABASE() AND trigger_name = 'users_audit'`},
		{"column order", `ALTER TABLE users MODIFY name varchar(100) NOT NULL AFTER id`, "another order",
			`SELECT count(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'users' AND column_name = 'name' AND ordinal_position = 2`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db := mariaDB(t)
			copyUsers(t, db, 1000)
			stopCopyMidWalk(t, db)
			db.Exec(c.ddl)

			s, _ := session(t, db, mustPlan(t, usersEmailPlan), Options{BatchSize: 100})
			err := s.RunPhase(context.Background(), "backfill")
			var verr *VerifyError
			if !errors.As(err, &verr) || !strings.Contains(err.Error(), c.refusal) {
				t.Fatalf("the resumed copy: %v, want a VerifyError saying %q", err, c.refusal)
			}
			if left := copyLeft(db); slices.ContainsFunc(left, func(n string) bool { return strings.Contains(n, "shepherd") }) {
				t.Errorf("the refused swap left %v", left)
			}
			s.Close()
			again, _ := session(t, db, mustPlan(t, usersEmailPlan), Options{BatchSize: 100})
			runThrough(t, again, "backfill")
			if n := db.One(c.after); n != "1" {
				t.Errorf("what the DDL made is gone after the backfill (%s gives %s)", c.after, n)
			}
			if n := db.One(`SELECT count(*) FROM users WHERE email IS NULL OR email <> lower(username)`); n != "0" {
				t.Errorf("%s rows not filled", n)
			}
		})
	}
}

// New code that clears the new column during the copy (a NULL written
// over a value) is not undone by the copy's value: as in place, the row
// is NULL until the backfill's pass behind the walk fills it from the
// expression.
func TestCopyKeepsANullWrittenOverAValue(t *testing.T) {
	db := mariaDB(t)
	copyUsers(t, db, 1000)
	cleared := false
	s, _ := session(t, db, mustPlan(t, usersEmailPlan), Options{BatchSize: 100, Failpoint: func(p string) {
		if p == "backfill:batch-done" && !cleared {
			cleared = true
			db.Exec(`UPDATE users SET email = NULL WHERE id = 7`)
		}
	}})
	runThrough(t, s, "add-column")
	db.Exec(`UPDATE users SET email = 'kept@example.com' WHERE id = 7`)
	runThrough(t, s, "backfill")
	if !cleared {
		t.Fatal("the backfill ran no batch")
	}
	if got := db.One(`SELECT email FROM users WHERE id = 7`); got != "user7" {
		t.Errorf("row 7's email is %q after new code cleared it during the copy, want the expression's user7", got)
	}
}

// CREATE TABLE … LIKE does not copy everything of a table's definition
// (DATA DIRECTORY): a copy unlike the table from the start would walk the
// whole table only to be refused at the swap. The copy is dropped at
// once, and the fill is in place, saying why.
func TestCopyUnlikeTheTableFillsInPlace(t *testing.T) {
	db := mariaDB(t)
	dir := t.TempDir()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o777); err != nil { // the server's user writes there
			t.Fatal(err)
		}
	}
	db.Exec(`CREATE TABLE users (id bigint PRIMARY KEY, username varchar(100) NOT NULL, name varchar(100) NOT NULL) DATA DIRECTORY = '` + dir + `'`)
	db.SeedRows("users", 300)
	s, rec := session(t, db, mustPlan(t, usersEmailPlan), Options{BatchSize: 100})
	runThrough(t, s, "backfill")
	if len(rec.find(EventNotice, "fills users in place.*LIKE made a copy unlike users.*DATA DIRECTORY")) != 1 {
		t.Errorf("no notice that the copy was unlike the table; notices: %v", rec.of(EventNotice))
	}
	if left := copyLeft(db); len(left) > 0 {
		t.Errorf("the unlike copy left %v", left)
	}
	if n := db.One(`SELECT count(*) FROM users WHERE email IS NULL`); n != "0" {
		t.Errorf("%s rows NULL", n)
	}
	if !strings.Contains(db.Query(`SHOW CREATE TABLE users`)[0][1], "DATA DIRECTORY") {
		t.Errorf("users lost its DATA DIRECTORY")
	}
}
