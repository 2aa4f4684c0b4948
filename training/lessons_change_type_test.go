package training

import (
	"context"
	"testing"
)

// scoreTypes counts users' rows by the SQLite type of score, and says
// whether the old column is still there.
func scoreTypes(t *testing.T, r *Run) (types map[string]int, oldThere bool) {
	t.Helper()
	rows, err := r.app.Query(`SELECT typeof(score), count(*) FROM users GROUP BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	types = map[string]int{}
	for rows.Next() {
		var typ string
		var n int
		if err := rows.Scan(&typ, &n); err != nil {
			t.Fatal(err)
		}
		types[typ] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := r.app.QueryRow(`SELECT count(*) FROM pragma_table_info('users') WHERE name = 'score_shepherd_old'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return types, n == 1
}

// The safe order ends with score an integer in every row, the old column
// and the triggers gone, and every score the fleet wrote readable as the
// user saved it (the safe-sequence test proves no read saw otherwise).
func TestChangeTypeSafeOrderConvertsEveryRow(t *testing.T) {
	r, _, incidents := runLesson(t, "change-column-type", mustFind("change-column-type").Safe)
	if len(incidents) != 0 {
		t.Fatalf("incidents: %+v", incidents)
	}
	types, old := scoreTypes(t, r)
	if old || len(types) != 1 || types["integer"] == 0 {
		t.Fatalf("after the safe order: score's types %v, score_shepherd_old there: %v; want integers only and no old column", types, old)
	}
	var triggers int
	if err := r.app.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = 'users'`).Scan(&triggers); err != nil || triggers != 0 {
		t.Fatalf("%d triggers left on users (%v)", triggers, err)
	}
	// Each row the fleet wrote holds the number it saved.
	checked := 0
	for id, truth := range r.fleet.truth {
		want, ok := truth.vals["score"]
		if !ok {
			continue
		}
		var got string
		if err := r.app.QueryRow(`SELECT printf('%04d', score) FROM users WHERE id = ?`, id).Scan(&got); err != nil || got != want {
			t.Errorf("row %d: score %q (%v), the fleet last wrote %q", id, got, err, want)
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("the fleet wrote no score")
	}
}

// Before the drop, the way back is there: shepherd rollback swaps back,
// score is the zero-padded text again in every row (the triggers wrote
// v2's and the swap's values back through reverse:), and v1, rolled back
// to, reads what every user saved.
func TestChangeTypeSwapBackBeforeTheDrop(t *testing.T) {
	r, results, incidents := runLesson(t, "change-column-type",
		[]string{"add-shadow", "backfill", "deploy-readers", "swap", "rollback", "roll-back-to-v1"})
	if len(incidents) != 0 {
		t.Fatalf("incidents: %+v", incidents)
	}
	for _, res := range results {
		if !res.OK {
			t.Fatalf("step %s: %s", res.Action, res.Error)
		}
	}
	types, _ := scoreTypes(t, r)
	if len(types) != 1 || types["text"] == 0 {
		t.Fatalf("after swapping back: score's types %v, want text only", types)
	}
	var odd int
	if err := r.app.QueryRow(`SELECT count(*) FROM users WHERE length(score) != 4`).Scan(&odd); err != nil || odd != 0 {
		t.Fatalf("%d scores are not four digits after swapping back (%v)", odd, err)
	}
}

// The early drop breaks no request by itself (nothing names the old
// column, and the integer column takes v2's text); the step says so, and
// after it shepherd can no longer swap back.
func TestChangeTypeEarlyDropLosesTheWayBack(t *testing.T) {
	r, results, incidents := runLesson(t, "change-column-type", []string{"add-shadow", "backfill", "deploy-readers", "swap", "deploy-and-drop"})
	if len(incidents) != 0 {
		t.Fatalf("incidents: %+v", incidents)
	}
	last := results[len(results)-1]
	if !last.OK || !contains(last.Messages, "drop-old-column done: users.score_shepherd_old and the triggers are gone; score holds the data") {
		t.Fatalf("deploy-and-drop: %+v", last)
	}
	if err := r.Step(context.Background(), "rollback"); err != nil {
		t.Fatal(err)
	}
	if res, _ := r.Current(); res.OK || !res.Refused {
		t.Fatalf("rollback after the drop: %+v, want refused", res)
	}
	if types, old := scoreTypes(t, r); old || types["text"] != 0 {
		t.Fatalf("after the refused rollback: types %v, old column %v", types, old)
	}
}
