package engine

import (
	"context"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/shepherd-db/shepherd/internal/testdb"
)

// The database unreachable for longer than the backfill retries (a long
// outage): the run fails saying what happened (the connection was lost and
// the database stayed unreachable, through every try over how long) and
// that a rerun resumes from the checkpoint; never to fix the rows, which
// are not at fault. Once the database is back, a rerun resumes there and
// finishes, every row updated once.
func TestOutageOutlastingTheRetries(t *testing.T) {
	for _, dialect := range []string{"postgres", "mysql"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			db := testdb.New(t, dialect)
			db.Seed(1000)
			u, err := url.Parse(db.DSN)
			if err != nil {
				t.Fatal(err)
			}
			proxy := newOutage(t, u.Host)
			u.Host = proxy.addr
			// Down for good after the first batch, until the run gives up.
			var cuts atomic.Int64
			hook := func(point string) {
				if point == "backfill:batch-done" && cuts.Add(1) == 1 {
					proxy.down()
				}
			}
			// Every try is made, its pause (and the deadline of the
			// failure's lock check) a tenth of production's: the outage
			// outlasts them all the same.
			ctx := withWaits(context.Background(), waits{retryScale: 0.1})
			eng, err := Open(ctx, u.String())
			if err != nil {
				t.Fatal(err)
			}
			defer eng.Close()
			s, err := eng.Start(ctx, mustPlan(t, usersEmailPlan), Options{BatchSize: 100, Failpoint: hook})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Run(ctx, "add-column", nil); err != nil {
				t.Fatal(err)
			}
			for _, st := range countUpdates[dialect] {
				db.Exec(st)
			}
			_, runErr := s.Run(ctx, "backfill", map[string]bool{"deploy-readers": true})
			proxy.cut(0) // back
			s.Close()
			if runErr == nil {
				t.Fatal("the backfill went on without its database")
			}
			text := runErr.Error()
			for _, want := range []string{"the connection to the database was lost, and the database stayed unreachable through every try over",
				"nothing is wrong with the rows", "the run resumes from the checkpoint"} {
				if !strings.Contains(text, want) {
					t.Errorf("the failure does not say %q:\n%s", want, text)
				}
			}
			if strings.Contains(text, "fix the rows") {
				t.Errorf("the failure says to fix the rows, which are not at fault:\n%s", text)
			}
			if got := db.One(`SELECT checkpoint FROM ` + stateTableOf(db) + ` WHERE plan = 'users-email' AND phase = 'backfill'`); got != "100" {
				t.Errorf("the checkpoint is %s, want the first batch's 100", got)
			}

			s2, rec := session(t, db, mustPlan(t, usersEmailPlan), Options{BatchSize: 100})
			if _, err := s2.Run(context.Background(), "backfill", nil); err != nil {
				t.Fatalf("the rerun once the database is back: %v", err)
			}
			if rec.notices("resuming from the checkpoint id 100") != 1 {
				t.Errorf("the rerun did not resume from id 100: %v", rec.of(EventNotice))
			}
			backfilledOnce(t, db, 1000)
		})
	}
}
