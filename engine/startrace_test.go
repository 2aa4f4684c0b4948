package engine

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// Two runners started at once: the one that does not get the runner lock
// is refused with a *LockHeldError (exit 4, nothing touched), wherever the
// other one is in its work when it looks.

// The loser reads the state before the winner's add-column commits and the
// table after it: the column is there, but the state says add-column has
// not run. That is the winner at work, not a left-over column to drop.
func TestStartRaceLoserIsRefusedWhileTheWinnerHoldsTheLock(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		db.Seed(50)
		ctx := context.Background()
		plan := mustPlan(t, usersEmailPlan)
		var winner *Session
		hook := func(point string) {
			if point != "start:state-read" || winner != nil {
				return
			}
			winner, _ = session(t, db, plan, Options{Operator: "winner"})
			if _, err := winner.Run(ctx, "add-column", nil); err != nil {
				t.Errorf("the winner: %v", err)
			}
		}
		eng, err := Open(ctx, db.DSN)
		if err != nil {
			t.Fatal(err)
		}
		defer eng.Close()
		s, err := eng.Start(ctx, plan, Options{Operator: "loser", Failpoint: hook})
		if winner == nil {
			t.Fatal("the failpoint was not reached")
		}
		if err == nil {
			s.Close()
			t.Fatal("the loser started while the winner holds the lock")
		}
		var held *LockHeldError
		if !errors.As(err, &held) {
			t.Fatalf("the loser got %v, want a *LockHeldError (exit 4)", err)
		}
		if held.Holder != "winner" || !strings.Contains(err.Error(), "another runner holds") {
			t.Errorf("the refusal does not name the winner: %v", err)
		}
		_, log, _ := shepherdTables(db)
		if got := db.One(`SELECT count(*) FROM ` + log + ` WHERE actor = 'loser'`); got != "0" {
			t.Errorf("the loser wrote %s log rows", got)
		}
	})
}

// The same read, but the winner is done and has released the lock by the
// time the loser looks: the loser reads the state and the table again and
// starts, on what the winner left; add-column is not run twice.
func TestStartRaceAfterTheWinnerFinishedReadsAgain(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		db.Seed(50)
		ctx := context.Background()
		plan := mustPlan(t, usersEmailPlan)
		ran := false
		hook := func(point string) {
			if point != "start:state-read" || ran {
				return
			}
			ran = true
			winner, _ := session(t, db, plan, Options{Operator: "winner"})
			if _, err := winner.Run(ctx, "add-column", nil); err != nil {
				t.Errorf("the winner: %v", err)
			}
			winner.Close()
		}
		eng, err := Open(ctx, db.DSN)
		if err != nil {
			t.Fatal(err)
		}
		defer eng.Close()
		s, err := eng.Start(ctx, plan, Options{Operator: "later", Failpoint: hook})
		if !ran {
			t.Fatal("the failpoint was not reached")
		}
		if err != nil {
			t.Fatalf("the later runner: %v", err)
		}
		defer s.Close()
		out, err := s.Run(ctx, "", nil)
		if err != nil || out != AtGate {
			t.Fatalf("the later runner's run: %v, %v; want it at the deploy-readers gate", out, err)
		}
		_, log, _ := shepherdTables(db)
		if got := db.Query(`SELECT actor FROM ` + log + ` WHERE phase = 'add-column' AND event = 'finish'`); len(got) != 1 || got[0][0] != "winner" {
			t.Errorf("add-column was finished by %v, want once, by the winner", got)
		}
	})
}
