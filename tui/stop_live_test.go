package tui

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/shepherd-db/shepherd/engine"
)

// q mid-backfill on a real SQLite database: the engine stops after the
// batch in flight, and the TUI keeps what stopped for the command to
// report: the phase, its rows and checkpoint as the database records them,
// and how to resume.
func TestLiveQuitMidBackfillReportsWhereItStopped(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	ctx := context.Background()
	f := newLiveFixture(ctx, t, 3000)
	eng, db, plan, file := f.eng, f.db, f.plan, f.file

	h := &harness{t: t}
	h.m = New(ctx, Config{Engine: Live(eng), Open: plan, Options: engine.Options{BatchSize: 100, MaxRate: 1000}})
	h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	h.pump(h.send(openPlanMsg{}), func() bool { return h.m.plan.viewed && h.m.plan.op == opNone })

	cmd := h.key("r")
	answered := make(chan []tea.Msg)
	go func() { answered <- collect(cmd, time.Minute) }()
	rowsDone := func() (n int64, cp string) {
		var c sql.NullString
		if err := db.QueryRow(`SELECT rows_done, checkpoint FROM shepherd_state WHERE plan = 'users-email' AND phase = 'backfill'`).Scan(&n, &c); err != nil {
			t.Fatal(err)
		}
		return n, c.String
	}
	waitUntil(t, func() bool { n, _ := rowsDone(); return n >= 200 })
	if q := h.key("q"); q != nil {
		t.Fatal("q mid-backfill quit at once: it must wait for the engine to stop")
	}
	var quit bool
	for _, m := range <-answered {
		if c := h.send(m); c != nil {
			_, quit = c().(tea.QuitMsg)
		}
	}
	if !quit {
		t.Fatal("the engine's answer did not quit")
	}
	n, cp := rowsDone()
	if n >= 3000 || cp == "" {
		t.Fatalf("the backfill finished (%d rows, checkpoint %q): the test did not quit mid-way", n, cp)
	}
	stop := h.m.track.stopped.get()
	if stop == nil {
		t.Fatal("quitting mid-backfill left nothing for the command to report")
	}
	var ie *engine.InterruptedError
	if !errors.As(stop, &ie) || stop.Phase != "backfill" || stop.RowsDone != n || ie.Checkpoint != "id "+cp {
		t.Fatalf("stopped %s at %v with %d rows; the database records %d rows, checkpoint %s", stop.Phase, stop.Err, stop.RowsDone, n, cp)
	}
	for _, want := range []string{"backfill of users-email stopped at id " + cp, "rows done",
		"the checkpoint is kept, and shepherd run " + file + " on the same database (--db or SHEPHERD_DB) resumes from it"} {
		if !strings.Contains(stop.Error(), want) {
			t.Errorf("the summary %q does not say %q", stop.Error(), want)
		}
	}
}
