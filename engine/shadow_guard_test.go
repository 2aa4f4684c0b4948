package engine

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

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

// DDL outside shepherd while a copy is stopped (an index added to the
// table) would be undone by the swap: the swap is refused, saying what
// differs, and the copy is dropped; the rerun copies the table as it is,
// and the index is still there after the swap.
func TestCopySwapRefusedAfterOutsideDDL(t *testing.T) {
	db := mariaDB(t)
	copyUsers(t, db, 1000)
	stopCopyMidWalk(t, db)
	db.Exec(`CREATE INDEX users_name_outside ON users (name)`)

	s, _ := session(t, db, mustPlan(t, usersEmailPlan), Options{BatchSize: 100})
	err := s.RunPhase(context.Background(), "backfill")
	var verr *VerifyError
	if !errors.As(err, &verr) || !strings.Contains(err.Error(), "users_name_outside") {
		t.Fatalf("the resumed copy: %v, want a VerifyError naming users_name_outside", err)
	}
	if left := copyLeft(db); len(left) > 0 {
		t.Errorf("the refused swap left %v", left)
	}
	s.Close()
	again, _ := session(t, db, mustPlan(t, usersEmailPlan), Options{BatchSize: 100})
	runThrough(t, again, "backfill")
	if n := db.One(`SELECT count(*) FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = 'users' AND index_name = 'users_name_outside'`); n != "1" {
		t.Errorf("the index added outside is gone after the swap")
	}
	if n := db.One(`SELECT count(*) FROM users WHERE email IS NULL OR email <> lower(username)`); n != "0" {
		t.Errorf("%s rows not filled", n)
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
