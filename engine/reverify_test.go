package engine_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/internal/testdb"
	"github.com/shepherd-db/shepherd/phases"
)

func TestReverifyIsReadOnlyAndFindsBrokenRows(t *testing.T) {
	for _, dialect := range testdb.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			db, sess := startAt(t, dialect, 500, emailPlan, "switch-writes", engine.Options{BatchSize: 100})
			logTable := "shepherd_log"
			if dialect == "postgres" {
				logTable = "shepherd.shepherd_log"
			}
			logBefore := db.One(`SELECT count(*) FROM ` + logTable)
			before := sess.Phases()

			for _, id := range []string{"add-column", "deploy-readers", "backfill"} {
				detail, err := sess.Reverify(ctx, id)
				if err != nil || detail == "" {
					t.Fatalf("Reverify(%s) = %q, %v; want a detail and no error", id, detail, err)
				}
			}

			// Code that does not know the column wipes two values.
			db.Exec(`UPDATE users SET email = NULL WHERE id IN (7, 9)`)
			_, err := sess.Reverify(ctx, "backfill")
			var ve *engine.VerifyError
			if !errors.As(err, &ve) || ve.Count != 2 || !reflect.DeepEqual(ve.Sample, []string{"7", "9"}) {
				t.Fatalf("Reverify(backfill) = %v; want a VerifyError counting 2 rows, keys 7 and 9", err)
			}

			// A phase that is not done is refused.
			var ue *engine.UsageError
			if _, err := sess.Reverify(ctx, "enforce"); !errors.As(err, &ue) {
				t.Fatalf("Reverify(enforce) on a pending phase = %v, want a UsageError", err)
			}

			// Nothing was written: no log entry, no state change.
			if got := db.One(`SELECT count(*) FROM ` + logTable); got != logBefore {
				t.Fatalf("shepherd_log grew from %s to %s rows", logBefore, got)
			}
			if after := sess.Phases(); !reflect.DeepEqual(before, after) {
				t.Fatalf("the phases changed:\nbefore %+v\nafter  %+v", before, after)
			}
			if st := sess.Progress().Of("backfill"); st != phases.Done {
				t.Fatalf("backfill is %s after a failed re-verification, want it still done", st)
			}
		})
	}
}

func TestPreviewsFallBackPhaseByPhase(t *testing.T) {
	for _, dialect := range testdb.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			_, sess := startAt(t, dialect, 10, emailPlan, "add-column", engine.Options{})
			pvs := sess.Previews()
			if len(pvs) != 5 {
				t.Fatalf("%d previews, want one per phase", len(pvs))
			}
			for _, pv := range pvs {
				if pv.Phase.ID == "add-column" && len(pv.Steps) == 0 {
					t.Fatal("add-column has no statements")
				}
				if pv.Phase.ID == "enforce" && len(pv.Steps) == 0 {
					t.Fatalf("enforce has no statements before the column exists: %v", pv.Notes)
				}
			}
		})
	}
}
