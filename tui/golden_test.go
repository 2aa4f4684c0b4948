package tui

import (
	"path/filepath"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"gotest.tools/v3/assert"
	gold "gotest.tools/v3/golden"

	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/phases"
)

// golden compares the screen, as text at 80x24, with testdata/golden/NAME
// (gotest.tools/v3/golden: a difference is shown as a unified diff).
// go test ./tui -run Golden -update rewrites them; read the diff before
// committing it.
func golden(t *testing.T, h *harness, name string) {
	t.Helper()
	got := h.screen()
	lines := strings.Split(got, "\n")
	if len(lines) != 24 {
		t.Fatalf("%s: the screen has %d lines, want 24", name, len(lines))
	}
	// Trailing blanks are layout padding; the golden files keep none.
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	got = strings.Join(lines, "\n") + "\n"
	assert.Check(t, gold.String(got, filepath.Join("golden", name+".txt")))
}

func doneUpTo(plan *phases.Plan, last string, more map[string]phases.Status) map[string]phases.Status {
	st := map[string]phases.Status{}
	for _, ph := range plan.PlaybookDef().Phases {
		st[ph.ID] = phases.Done
		if ph.ID == last {
			break
		}
	}
	for id, s := range more {
		st[id] = s
	}
	return st
}

func TestGoldenPending(t *testing.T) {
	plan := example(t, "users-email")
	h := openPlan(t, plan, infos(plan, nil))
	golden(t, h, "pending")
}

func TestGoldenBackfillRunning(t *testing.T) {
	plan := example(t, "users-email")
	h := openPlan(t, plan, infos(plan, doneUpTo(plan, "deploy-readers", nil)))
	h.key("r")
	h.send(engineEventMsg{bus: h.m.plan.bus, ev: engine.Event{Event: engine.EventProgress, Phase: "backfill",
		RowsDone: ptr(int64(8250)), RowsTotal: ptr(int64(20000)), RowsPerSec: 5283, BatchSize: 250, Checkpoint: "8250"}})
	golden(t, h, "backfill-running")
	h.key("p")
	h.send(engineEventMsg{bus: h.m.plan.bus, ev: engine.Event{Event: engine.EventPaused, Phase: "backfill", Checkpoint: "8250"}})
	golden(t, h, "backfill-paused")
}

func TestGoldenBackfillStopped(t *testing.T) {
	plan := example(t, "users-email")
	snap := infos(plan, doneUpTo(plan, "deploy-readers", map[string]phases.Status{"backfill": phases.Failed}))
	snap[2].Detail = (&engine.InterruptedError{Phase: "backfill", Checkpoint: "id 11000"}).Error()
	snap[2].Checkpoint, snap[2].RowsDone = "11000", 11000
	h := openPlan(t, plan, snap)
	golden(t, h, "backfill-stopped")
}

func TestGoldenWaitingGate(t *testing.T) {
	plan := example(t, "users-email")
	h := openPlan(t, plan, infos(plan, doneUpTo(plan, "backfill", map[string]phases.Status{"switch-writes": phases.Waiting})))
	golden(t, h, "gate-waiting")
	h.key("c")
	golden(t, h, "gate-confirm")
}

func TestGoldenFailedVerification(t *testing.T) {
	plan := example(t, "users-email")
	h := openPlan(t, plan, infos(plan, doneUpTo(plan, "backfill", map[string]phases.Status{"switch-writes": phases.Waiting})))
	h.key("c")
	h.key("y")
	snap := infos(plan, doneUpTo(plan, "backfill", map[string]phases.Status{"switch-writes": phases.Failed}))
	h.send(phaseRanMsg{id: "switch-writes", infos: snap, err: &engine.VerifyError{
		Phase: "switch-writes", What: "email has no NULLs once writes are switched; the catch-up filled 0 rows where email was NULL",
		Count: 12, Sample: []string{"20001", "20002", "20003", "20004", "20005"},
		Hint: "code that does not write email is still running somewhere (is the deploy out everywhere?); confirm again to catch up and check again"}})
	golden(t, h, "verify-failed")
}

func TestGoldenDone(t *testing.T) {
	plan := example(t, "users-email")
	h := openPlan(t, plan, infos(plan, doneUpTo(plan, "enforce", nil)))
	golden(t, h, "done")
}

func TestGoldenTypedConfirmation(t *testing.T) {
	plan := example(t, "users-full-name")
	h := openPlan(t, plan, infos(plan, doneUpTo(plan, "stop-old-writes", map[string]phases.Status{"drop-old-column": phases.Waiting})))
	h.key("r")
	h.typeText("user")
	golden(t, h, "typed-confirm")
}

func TestGoldenRollbackConfirm(t *testing.T) {
	plan := example(t, "orders-amount-positive")
	h := openPlan(t, plan, infos(plan, doneUpTo(plan, "add-constraint", nil)))
	h.key("u")
	golden(t, h, "rollback-confirm")
}

func TestGoldenPlanList(t *testing.T) {
	email, rename := example(t, "users-email"), example(t, "users-full-name")
	var st []engine.PhaseStatus
	for _, in := range infos(email, doneUpTo(email, "add-column", map[string]phases.Status{"deploy-readers": phases.Waiting})) {
		st = append(st, engine.PhaseStatus{ID: in.ID, Status: in.Status})
	}
	var st2 []engine.PhaseStatus
	for _, in := range infos(rename, doneUpTo(rename, "dual-write", map[string]phases.Status{"backfill": phases.Failed})) {
		st2 = append(st2, engine.PhaseStatus{ID: in.ID, Status: in.Status, Detail: in.Detail})
	}
	eng := &fakeEngine{status: []engine.PlanStatus{
		{Name: "users-email", Playbook: "add-column", Table: "users", Phases: st},
		{Name: "users-full-name", Playbook: "rename-column", Table: "users", Phases: st2},
	}}
	h := &harness{t: t, eng: eng}
	h.m = New(t.Context(), Config{Engine: eng, Plans: []string{
		"../examples/orders-amount-positive.yaml", "../examples/users-email.yaml", "../examples/users-full-name.yaml"}, Label: "demo"})
	h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	h.run(h.m.Init())
	h.key("down")
	golden(t, h, "plan-list")
}
