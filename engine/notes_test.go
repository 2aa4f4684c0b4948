package engine

import (
	"strings"
	"testing"
)

// The notes other layers leave out or say their own way have a kind; their
// text is what `plan` always printed.
func TestPreviewNotesHaveKinds(t *testing.T) {
	pvs, err := Preview(mustPlan(t, "name: users-full-name\nplaybook: rename-column\ntable: users\ncolumn: name\nto: full_name\n"), "sqlite")
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]map[NoteKind][]Note{}
	for _, pv := range pvs {
		kinds[pv.Phase.ID] = map[NoteKind][]Note{}
		for _, n := range pv.Notes {
			kinds[pv.Phase.ID][n.Kind] = append(kinds[pv.Phase.ID][n.Kind], n)
		}
	}
	for id, want := range map[string]string{
		"drop-old-column": "point of no return: confirm it with --confirm drop-old-column, one release after stop-old-writes",
		"dual-write":      "a deploy the database cannot see: confirm it with --confirm dual-write",
	} {
		got := kinds[id][NoteConfirm]
		if len(got) != 1 || got[0].Text != want {
			t.Errorf("%s: confirm notes %q, want %q", id, got, want)
		}
	}
	if got := kinds["drop-old-column"][NoteConfirm][0].ConfirmedBy("confirm it with r"); got != "point of no return: confirm it with r, one release after stop-old-writes" {
		t.Errorf("ConfirmedBy: %q", got)
	}
	if got := kinds["backfill"][NoteTableKey]; len(got) != 1 || !strings.Contains(got[0].Text, `"id" stands for the table's primary key`) {
		t.Errorf("backfill: table-key notes %q", got)
	}
	if n := (Note{Kind: NoteInfo, Text: "x"}); n.ConfirmedBy("y") != "x" || n.String() != "x" {
		t.Errorf("an info note says %q, %q", n.ConfirmedBy("y"), n.String())
	}
}

// ProofWrite finds the failure path's violating write, and whether its
// value is guessed, in the preview's steps.
func TestProofWrite(t *testing.T) {
	for _, c := range []struct {
		plan    string
		guessed bool
	}{
		{"constraint: {name: users_name_long, check: \"length(name) > 2\"}\n", true},
		{"constraint: {name: users_name_long, check: \"length(name) > 2\", violating: {name: \"'x'\"}}\n", false},
		{"constraint: {name: users_name_nn, not_null: name}\n", false},
	} {
		pvs, err := Preview(mustPlan(t, "name: users-check\nplaybook: tighten-constraint\ntable: users\n"+c.plan), "postgres")
		if err != nil {
			t.Fatal(err)
		}
		for _, pv := range pvs {
			step, guessed, ok := pv.ProofWrite()
			if ok != (pv.Phase.ID == "verify-failure-path") {
				t.Errorf("%s: ProofWrite ok = %v", pv.Phase.ID, ok)
			}
			if !ok {
				continue
			}
			if sql := strings.TrimSpace(pv.Steps[step].SQL); !strings.HasPrefix(sql, "UPDATE") || guessed != c.guessed || guessed != strings.Contains(sql, GuessedValue) {
				t.Errorf("%s: step %d (%s), guessed %v, want %v", c.plan, step, sql, guessed, c.guessed)
			}
		}
	}
}
