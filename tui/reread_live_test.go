package tui

import (
	"context"
	"errors"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/phases"
)

// The real engine on a real SQLite database, with the plan file edited
// between two actions of an open TUI: an edit `shepherd run` refuses is
// refused on screen and runs nothing; an edit it accepts (backfill:, before
// the backfill is done) is what the backfill writes.
func TestLiveTUIReadsTheEditedPlanFile(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	ctx := context.Background()
	const users = 300
	f := newLiveFixture(ctx, t, users)
	eng, db, plan, file := f.eng, f.db, f.plan, f.file
	count := func(q string) int {
		t.Helper()
		var n int
		if err := db.QueryRow(q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}

	h := &harness{t: t}
	h.m = New(ctx, Config{Engine: Live(eng), Open: plan, Options: engine.Options{Operator: "operator@tui"}})
	h.send(tea.WindowSizeMsg{Width: 100, Height: 30})
	h.pump(h.send(openPlanMsg{}), func() bool { return h.m.plan.viewed && h.m.plan.op == opNone })
	h.contains("r run backfill")
	plans := count(`SELECT count(*) FROM shepherd_log WHERE event = 'plan'`)

	// An edit the CLI refuses: the column's type, once add-column is done.
	edit(t, file, "sqlite: text}", "sqlite: varchar(50)}")
	edited, err := phases.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	var changed *engine.PlanChangedError
	if _, err := eng.Start(ctx, edited, engine.Options{}); !errors.As(err, &changed) {
		t.Fatalf("the CLI's check accepts the type's edit (%v): the test needs an edit it refuses", err)
	}
	h.pump(h.key("r"), func() bool { return h.m.plan.op == opNone })
	h.contains("the plan file changed since it started in this database", "nothing ran", "Closed")
	if n := count(`SELECT count(*) FROM users WHERE email IS NOT NULL`); n != 0 {
		t.Fatalf("the refused edit ran the backfill: %d rows have an email", n)
	}
	if n := count(`SELECT count(*) FROM shepherd_state WHERE plan = 'users-email' AND phase = 'backfill' AND status = 'pending'`); n != 1 {
		t.Fatal("the refused edit moved the backfill on")
	}
	if n := count(`SELECT count(*) FROM shepherd_log WHERE event = 'plan'`); n != plans {
		t.Fatal("the refused plan was recorded")
	}

	// The type as it was, and another backfill: an edit the CLI accepts.
	// R reads the file and the database again and shows it.
	edit(t, file, "sqlite: varchar(50)}", "sqlite: text}")
	edit(t, file, sqliteBackfill, `sqlite: "upper(username) || '@m'"`)
	h.pump(h.key("R"), func() bool { return h.m.plan.op == opNone })
	h.lacks("Closed")
	h.contains("upper(username) || '@m'")

	h.pump(h.key("r"), func() bool { return h.m.plan.op == opNone })
	h.contains("✓ backfill done")
	if n := count(`SELECT count(*) FROM users WHERE email = upper(username) || '@m'`); n != users {
		t.Fatalf("%d of %d rows have the edited backfill's value", n, users)
	}
	if n := count(`SELECT count(*) FROM shepherd_log WHERE event = 'edit' AND detail LIKE '%backfill%allowed%'`); n != 1 {
		t.Fatalf("%d edit rows in the log: the accepted edit should be recorded once", n)
	}
}
