package engine

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// A row the application inserted with an id taken before the walk passed
// it, committed after (a sequence's value held by a slow transaction), is
// NULL behind the walk: the backfill walks again from it instead of
// failing its verification, under the traffic of any real table.
func TestBackfillWalksAgainOverLateCommits(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		db.Seed(300)
		db.Exec(`DELETE FROM users WHERE id BETWEEN 10 AND 20`)
		var once sync.Once
		s, rec := session(t, db, mustPlan(t, usersEmailPlan), Options{
			BatchSize: 100,
			Failpoint: func(point string) {
				if point == "backfill:batch-done" {
					// Old code's insert (no email) commits behind the walk.
					once.Do(func() {
						db.Exec(`INSERT INTO users (id, username, name) VALUES (15, 'Late15', 'Name 15')`)
					})
				}
			},
		})
		ctx := context.Background()
		for _, id := range []string{"add-column", "deploy-readers", "backfill"} {
			if err := s.Arrive(ctx, id); err != nil {
				t.Fatalf("arrive at %s: %v", id, err)
			}
			if err := s.RunPhase(ctx, id); err != nil {
				t.Fatalf("%s: %v", id, err)
			}
		}
		if got := db.One(`SELECT email FROM users WHERE id = 15`); got != "late15" {
			t.Errorf("the row committed behind the walk has email %s, want late15", got)
		}
		if got := db.One(`SELECT count(*) FROM users WHERE email IS NULL`); got != "0" {
			t.Errorf("%s rows are left NULL", got)
		}
		if got := db.One(`SELECT rows_changed FROM ` + stateTableOf(db) + ` WHERE phase = 'backfill'`); got != "290" {
			t.Errorf("the backfill records %s rows changed, want 290 (289 seeded, 1 late)", got)
		}
		if len(rec.find(EventNotice, "committed behind the walk")) != 1 {
			var texts []string
			for _, e := range rec.of(EventNotice) {
				texts = append(texts, e.Message)
			}
			t.Errorf("no notice of the walk again; notices:\n%s", strings.Join(texts, "\n"))
		}
	})
}

// Rows that keep landing behind the walk, whatever walks again, are not
// late commits: after behindWalkPasses walks again the verification fails
// naming them, and a rerun resumes.
func TestBackfillStopsWalkingAgainOverRowsThatKeepLanding(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		db.Seed(300)
		db.Exec(`DELETE FROM users WHERE id BETWEEN 10 AND 60`)
		next := 10
		s, rec := session(t, db, mustPlan(t, usersEmailPlan), Options{
			BatchSize: 100,
			Failpoint: func(point string) {
				if point == "backfill:batch-done" && next <= 60 {
					db.Exec(fmt.Sprintf(`INSERT INTO users (id, username, name) VALUES (%d, 'Late%d', 'Name')`, next, next))
					next++
				}
			},
		})
		ctx := context.Background()
		for _, id := range []string{"add-column", "deploy-readers"} {
			if err := s.Arrive(ctx, id); err != nil {
				t.Fatalf("arrive at %s: %v", id, err)
			}
			if err := s.RunPhase(ctx, id); err != nil {
				t.Fatalf("%s: %v", id, err)
			}
		}
		if err := s.Arrive(ctx, "backfill"); err != nil {
			t.Fatal(err)
		}
		err := s.RunPhase(ctx, "backfill")
		var ve *VerifyError
		if !errors.As(err, &ve) || ve.Phase != "backfill" || ve.Count == 0 {
			t.Fatalf("backfill = %v, want its verification to fail naming the rows behind the walk", err)
		}
		if got := len(rec.find(EventNotice, "committed behind the walk")); got != behindWalkPasses {
			t.Errorf("walked again %d times, want %d", got, behindWalkPasses)
		}
		if got := db.One(`SELECT count(*) FROM users WHERE email IS NULL`); got != strconv.FormatInt(ve.Count, 10) {
			t.Errorf("%s rows are NULL, the error names %d", got, ve.Count)
		}
	})
}
