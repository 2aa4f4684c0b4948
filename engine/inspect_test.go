package engine

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/shepherd-db/shepherd/internal/testdb"
	"github.com/shepherd-db/shepherd/phases"
)

// Inspect reads a plan without the runner lock and without writing: a
// screen open on a plan never keeps a runner out, and a fresh database
// stays untouched until a runner acts.
func TestInspectTakesNoLockAndWritesNothing(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		db.Seed(10)
		plan := mustPlan(t, usersEmailPlan)
		ctx := context.Background()
		eng, err := Open(ctx, db.DSN)
		if err != nil {
			t.Fatal(err)
		}
		defer eng.Close()

		v, err := eng.Inspect(ctx, plan, Options{})
		if err != nil {
			t.Fatalf("inspect a plan that never ran: %v", err)
		}
		if ok, err := eng.stateExists(ctx); err != nil || ok {
			t.Fatalf("inspect created shepherd's tables (exists %v, %v): it must write nothing", ok, err)
		}
		for _, in := range v.Phases() {
			if in.Status != phases.Pending {
				t.Fatalf("%s is %s in a database where nothing ran", in.ID, in.Status)
			}
		}
		if len(v.Previews()) != 5 {
			t.Fatalf("%d previews, want 5", len(v.Previews()))
		}

		// A runner starts and runs while the view is open.
		s, err := eng.Start(ctx, plan, Options{Operator: "release-job"})
		if err != nil {
			t.Fatalf("a runner was kept out by an open view: %v", err)
		}
		if err := s.RunPhase(ctx, "add-column"); err != nil {
			t.Fatal(err)
		}
		// Viewing while the runner holds the lock works too, and shows
		// what it did.
		v, err = eng.Inspect(ctx, plan, Options{})
		if err != nil {
			t.Fatalf("inspect while another runner holds the lock: %v", err)
		}
		if got := infoOf(v.Phases(), "add-column").Status; got != phases.Done {
			t.Fatalf("add-column is %s in the view, want done", got)
		}
		if _, err := v.Reverify(ctx, "add-column"); err != nil {
			t.Fatalf("re-verify on a view: %v", err)
		}
		// Acting still needs the lock: a second Start is refused.
		var held *LockHeldError
		if _, err := eng.Start(ctx, plan, Options{Operator: "tui"}); !errors.As(err, &held) || held.Holder != "release-job" {
			t.Fatalf("a second runner: %v, want *LockHeldError naming release-job", err)
		}
		s.Close()
	})
}

// A plan edited after it started cannot be viewed as if it described the
// recorded progress: Inspect refuses it as Start does.
func TestInspectRefusesAChangedPlan(t *testing.T) {
	db := testdb.New(t, "sqlite")
	db.Seed(10)
	s, _ := session(t, db, mustPlan(t, emailPlan), Options{})
	ctx := context.Background()
	if err := s.RunPhase(ctx, "add-column"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	var changed *PlanChangedError
	// The type of a column that exists cannot change (backfill: could: no
	// phase that uses it is done).
	if _, err := s.Engine.Inspect(ctx, mustPlan(t, strings.Replace(emailPlan, "type: text", "type: integer", 1)), Options{}); !errors.As(err, &changed) {
		t.Fatalf("inspect of an edited plan: %v, want *PlanChangedError", err)
	}
}

// The failure path's proof writes: a view refuses to re-verify it.
func TestViewRefusesToWrite(t *testing.T) {
	v := &View{}
	var usage *UsageError
	if _, err := v.Reverify(context.Background(), "verify-failure-path"); !errors.As(err, &usage) {
		t.Fatalf("re-verify of verify-failure-path on a view: %v, want a refusal", err)
	}
}

func infoOf(infos []PhaseInfo, id string) PhaseInfo {
	for _, in := range infos {
		if in.ID == id {
			return in
		}
	}
	return PhaseInfo{}
}
