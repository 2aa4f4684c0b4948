package tui

import (
	"testing"
	"time"

	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/phases"
)

// A pause or a tune from another machine (`shepherd pause`, `shepherd
// tune`) shows in the TUI when the engine reports it: the same held state
// as the TUI's own p, with who asked and how it goes on, and the retune in
// the message line and the phase's activity.
func TestRemotePauseAndRetuneShow(t *testing.T) {
	plan := example(t, "users-email")
	h := openPlan(t, plan, infos(plan, map[string]phases.Status{"add-column": phases.Done, "deploy-readers": phases.Done}))
	h.sess().blockRun = make(chan struct{})
	cmd := h.key("r")
	answered := make(chan struct{})
	go func() { collect(cmd, 10*time.Second); close(answered) }()
	waitUntil(t, h.sess().Locked)

	bus := h.m.plan.bus
	ev := func(e engine.Event) { h.send(engineEventMsg{bus: bus, ev: e}) }
	ev(engine.Event{Event: engine.EventProgress, Phase: "backfill", RowsDone: ptr(int64(8000)), RowsTotal: ptr(int64(20000)), RowsPerSec: 5283, BatchSize: 250, Checkpoint: "8000"})
	h.contains("batch 250")

	ev(engine.Event{Event: engine.EventPaused, Phase: "backfill", Checkpoint: "8000", By: "alice@ops",
		Message: "paused by alice@ops at 2026-12-05 23:46:17 UTC: holding between batches, no transaction open on users, until `shepherd resume users-email`"})
	h.contains("⏸ paused by alice@ops at key 8000 (shepherd resume)", "paused by alice@ops at 2026-12-05 23:46:17 UTC")
	h.lacks("p resumes")
	if h.m.plan.pause.Paused() {
		t.Fatal("a remote pause flipped the TUI's own pause switch")
	}

	ev(engine.Event{Event: engine.EventNotice, Level: engine.LevelInfo, Phase: "backfill", By: "carol@ops", Message: "tuned by carol@ops: batch time 20ms, max rate 500 rows/s"})
	h.contains("tuned by carol@ops: batch time 20ms, max rate 500 rows/s")

	ev(engine.Event{Event: engine.EventResumed, Phase: "backfill", By: "bob@ops", Message: "resumed after 3s by bob@ops"})
	h.lacks("⏸ paused")

	// The TUI's own pause after it has no remote name.
	h.key("p")
	ev(engine.Event{Event: engine.EventPaused, Phase: "backfill", Checkpoint: "8250"})
	h.contains("⏸ paused at key 8250 · p resumes")
	h.lacks("paused by alice")

	h.key("q")
	select {
	case <-answered:
	case <-time.After(10 * time.Second):
		t.Fatal("the run did not stop on q")
	}
}
