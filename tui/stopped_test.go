package tui

import (
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/phases"
)

// An interrupted phase reads as one sentence wherever the TUI shows it,
// said from its typed state (PhaseInfo.Interrupted, the checkpoint, the rows
// done), never "Stopped" followed by the engine's "interrupted …".
func TestAnInterruptedPhaseReadsAsASentence(t *testing.T) {
	plan := example(t, "users-email")
	interrupted := (&engine.InterruptedError{Phase: "backfill", Checkpoint: "id 11000"}).Error()

	// Recorded in an earlier session, with its checkpoint.
	snap := infos(plan, doneUpTo(plan, "deploy-readers", map[string]phases.Status{"backfill": phases.Failed}))
	snap[2].Detail, snap[2].Checkpoint, snap[2].RowsDone = interrupted, "11000", 11000
	h := openPlan(t, plan, snap)
	h.contains("Stopped at key 11000, with 11,000 rows done: the", "checkpoint is kept, and r resumes from it.")
	h.lacks("Stopped interrupted", "Stopped backfill: interrupted")

	// As status records it (no checkpoint column): the plan cannot open.
	started := at.Add(-10 * time.Minute)
	eng := &fakeEngine{inspectErr: &engine.PlanChangedError{File: "plans/users-email.yaml", Plan: "users-email"},
		status: []engine.PlanStatus{{Name: "users-email", Playbook: "add-column", Table: "users", Phases: []engine.PhaseStatus{
			{ID: "add-column", Status: phases.Done, FinishedAt: &started},
			{ID: "deploy-readers", Status: phases.Done, FinishedAt: &started},
			{ID: "backfill", Status: phases.Failed, RowsDone: 11000, Detail: interrupted},
		}}}}
	h = openOn(t, eng, Config{Open: plan})
	h.send(tea.WindowSizeMsg{Width: 150, Height: 40})
	for h.m.plan.timeline.Selected().ID != "backfill" {
		h.key("up")
	}
	h.contains("Stopped at its checkpoint, with 11,000 rows done: a run resumes from it once the plan opens.")
	h.lacks("Stopped backfill: interrupted")

	// Interrupted in this session: the answer says so before a fresh look.
	h = openPlan(t, plan, infos(plan, doneUpTo(plan, "deploy-readers", nil)))
	h.key("r")
	h.send(phaseRanMsg{id: "backfill", err: &engine.InterruptedError{Phase: "backfill", Checkpoint: "id 8000"}})
	h.contains("⏸ backfill stopped at id 8000: the checkpoint is kept, and r resumes",
		"Stopped at id 8000: the checkpoint is kept, and r")
	h.lacks("interrupted;")

	// Interrupted before its first batch committed.
	h = openPlan(t, plan, infos(plan, doneUpTo(plan, "deploy-readers", nil)))
	h.key("r")
	h.send(phaseRanMsg{id: "backfill", err: &engine.InterruptedError{Phase: "backfill"}})
	h.contains("⏸ backfill stopped before its first batch committed: r starts it", "Stopped before its first batch committed: r starts")
	h.lacks("interrupted;")
}
