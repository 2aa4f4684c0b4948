package tui

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/phases"
)

func TestOpenShowsEveryPhaseAndTheNextOne(t *testing.T) {
	plan := example(t, "users-email")
	h := openPlan(t, plan, infos(plan, nil))
	h.contains("users-email", "add-column on users", "Phases",
		"add-column", "deploy-readers", "backfill", "switch-writes", "enforce",
		"Does", "Adds email to users as a nullable column.",
		"ALTER TABLE `users` ADD COLUMN `email` text", "locks:",
		"r run add-column")
	if got := h.m.plan.timeline.Selected().ID; got != "add-column" {
		t.Fatalf("selected %s, want the next phase, add-column", got)
	}
	// Looking takes no lock.
	if n := h.eng.Starts(); n != 0 {
		t.Fatalf("opening the plan started %d sessions: looking must not take the runner lock", n)
	}
}

func TestRunKeyRunsTheNextPhaseAsACommand(t *testing.T) {
	plan := example(t, "users-email")
	h := openPlan(t, plan, infos(plan, nil))
	cmd := h.key("r")
	if h.m.plan.op != opRun || h.m.plan.opPhase != "add-column" {
		t.Fatalf("after r: op %v on %q, want a run of add-column", h.m.plan.op, h.m.plan.opPhase)
	}
	if len(h.sess().Calls()) != 0 {
		t.Fatal("Update called the engine itself: it must only return a command")
	}
	h.contains("running add-column…")
	// Other engine keys wait while a call is in flight.
	h.key("u")
	h.contains("wait: running add-column")

	h.sess().after = map[string][]engine.PhaseInfo{"run add-column": infos(plan, map[string]phases.Status{"add-column": phases.Done})}
	h.run(cmd)
	if got := h.sess().Calls(); !reflect.DeepEqual(got, []string{"run add-column"}) {
		t.Fatalf("engine calls %v, want [run add-column]", got)
	}
	if h.m.plan.op != opNone {
		t.Fatal("the call's answer did not end it")
	}
	h.contains("✓ add-column done: users.email exists and is nullable", "r confirm deploy-readers")
	if got := h.m.plan.timeline.Selected().ID; got != "deploy-readers" {
		t.Fatalf("selected %s after the run, want deploy-readers", got)
	}
}

func TestGateArrivesThenAsksAndOnlyYesConfirms(t *testing.T) {
	plan := example(t, "users-email")
	h := openPlan(t, plan, infos(plan, map[string]phases.Status{"add-column": phases.Done}))
	cmd := h.key("r")
	if h.m.plan.op != opArrive {
		t.Fatalf("r at a gate: op %v, want arrive", h.m.plan.op)
	}
	h.sess().infos = infos(plan, map[string]phases.Status{"add-column": phases.Done, "deploy-readers": phases.Waiting})
	h.run(cmd)
	if h.m.plan.confirm == nil || h.m.plan.confirm.kind != confirmGate {
		t.Fatal("no gate confirmation after arriving")
	}
	h.contains("Gate: deploy-readers", "Is this deploy out on every replica?", "y yes, it is out everywhere")

	// Any other key is not an answer; n says no and nothing runs.
	h.key("r")
	if h.m.plan.confirm == nil {
		t.Fatal("r closed the gate question")
	}
	h.key("n")
	if h.m.plan.confirm != nil || h.m.plan.op != opNone {
		t.Fatal("n should close the question and run nothing")
	}
	h.contains("deploy-readers waits for its confirmation")

	// c asks again (the gate waits already: no second arrival); y confirms.
	if cmd := h.key("c"); cmd != nil {
		t.Fatal("c at a waiting gate should only ask")
	}
	h.key("y")
	if h.m.plan.op != opRun || h.m.plan.opPhase != "deploy-readers" {
		t.Fatalf("y: op %v on %q, want the gate's confirmation run", h.m.plan.op, h.m.plan.opPhase)
	}
	h.contains("confirming deploy-readers…")
}

func TestBackfillProgressPauseAndQuitKeepsTheCheckpoint(t *testing.T) {
	plan := example(t, "users-email")
	h := openPlan(t, plan, infos(plan, map[string]phases.Status{"add-column": phases.Done, "deploy-readers": phases.Done}))
	// The backfill runs in a session of its own, holding the runner lock
	// while it runs (paused included), with the TUI's bus and pause switch.
	h.sess().blockRun = make(chan struct{})
	cmd := h.key("r")
	if !h.m.plan.progressShown() {
		t.Fatal("a running backfill shows no progress")
	}
	answered := make(chan []tea.Msg)
	go func() { answered <- collect(cmd, 10*time.Second) }()
	waitUntil(t, h.sess().Locked)
	if h.sess().opts.Pause == nil || h.sess().opts.Emit == nil {
		t.Fatal("the session was started without the TUI's Emit and Pause")
	}

	bus := h.m.plan.bus
	ev := func(e engine.Event) { h.send(engineEventMsg{bus: bus, ev: e}) }
	ev(engine.Event{Event: engine.EventProgress, Phase: "backfill", RowsDone: ptr(int64(8000)), RowsTotal: ptr(int64(20000)), RowsPerSec: 5283, BatchSize: 250, Checkpoint: "8000"})
	h.contains("8,000 / 20,000 rows", "5,283 rows/s", "ETA 2s", "batch 250", "40%", "running 40%", "p pause")

	// p asks the engine to pause; the pause shows when the engine reports it.
	h.key("p")
	if !h.m.plan.pause.Paused() {
		t.Fatal("p did not flip the pause switch")
	}
	h.contains("pausing after this batch…")
	ev(engine.Event{Event: engine.EventPaused, Phase: "backfill", Checkpoint: "8000"})
	h.contains("⏸ paused at key 8000", "p resume", "no transaction is open on users")
	if !h.sess().Locked() {
		t.Fatal("a paused backfill let go of the runner lock")
	}
	h.key("space")
	if h.m.plan.pause.Paused() {
		t.Fatal("space did not resume")
	}
	ev(engine.Event{Event: engine.EventResumed, Phase: "backfill"})
	h.lacks("⏸ paused")

	// q stops the engine (its context is cancelled) and quits once it has.
	if cmd := h.key("q"); cmd != nil {
		t.Fatal("q mid-backfill quit at once: it must wait for the engine to stop")
	}
	h.contains("the checkpoint is kept")
	msgs := <-answered // q cancelled the run
	if h.sess().Locked() {
		t.Fatal("the runner lock is still held after the run ended")
	}
	var ran *phaseRanMsg
	for _, m := range msgs {
		if r, ok := unwrap(m).(phaseRanMsg); ok {
			ran = &r
		}
	}
	if ran == nil {
		t.Fatalf("the run answered %v", msgs)
	}
	if q := h.send(*ran); q == nil || q() != tea.Quit() {
		t.Fatal("the engine's answer after q should quit")
	}
}

// waitUntil waits (a few seconds at most) for cond.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("waited in vain")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestQuitCancelsTheEngineContext(t *testing.T) {
	plan := example(t, "users-email")
	h := openPlan(t, plan, infos(plan, map[string]phases.Status{"add-column": phases.Done, "deploy-readers": phases.Done}))
	h.sess().blockRun = make(chan struct{})
	cmd := h.key("r")
	done := make(chan []tea.Msg)
	go func() { done <- collect(cmd, 5e9) }()
	h.key("q")
	msgs := <-done // returns only because q cancelled the call's context
	var ran *phaseRanMsg
	for _, m := range msgs {
		if r, ok := unwrap(m).(phaseRanMsg); ok {
			ran = &r
		}
	}
	var ie *engine.InterruptedError
	if ran == nil || !errors.As(ran.err, &ie) {
		t.Fatalf("the run answered %v, want an interruption", msgs)
	}
}

func TestFailedVerificationShowsCountsAndSampleAndRetries(t *testing.T) {
	plan := example(t, "users-email")
	h := openPlan(t, plan, infos(plan, map[string]phases.Status{"add-column": phases.Done, "deploy-readers": phases.Done, "backfill": phases.Done, "switch-writes": phases.Waiting}))
	h.key("c")
	h.key("y")
	failedInfos := infos(plan, map[string]phases.Status{"add-column": phases.Done, "deploy-readers": phases.Done, "backfill": phases.Done, "switch-writes": phases.Failed})
	verr := &engine.VerifyError{Phase: "switch-writes", What: "email has no NULLs once writes are switched", Count: 12,
		Sample: []string{"20001", "20002", "20003", "20004", "20005"}, Hint: "code that does not write email is still running somewhere"}
	h.send(phaseRanMsg{id: "switch-writes", infos: failedInfos, err: verr})
	h.contains("✗ switch-writes", "verification failed", "Rows    12", "20001, 20002, 20003, 20004, 20005, …",
		"code that does not write email", "r retry switch-writes")
	// A retry of a failed gate arrives again and asks again.
	h.key("r")
	if h.m.plan.op != opArrive || h.m.plan.opPhase != "switch-writes" {
		t.Fatalf("r on a failed gate: op %v on %q, want it to arrive again", h.m.plan.op, h.m.plan.opPhase)
	}
}

func TestDropOldColumnNeedsTheTableNameTyped(t *testing.T) {
	plan := example(t, "users-full-name")
	st := map[string]phases.Status{}
	for _, id := range []string{"add-column", "dual-write", "backfill", "switch-reads", "stop-old-writes"} {
		st[id] = phases.Done
	}
	st["drop-old-column"] = phases.Waiting
	h := openPlan(t, plan, infos(plan, st))
	h.key("r")
	if h.m.plan.confirm == nil || h.m.plan.confirm.kind != confirmTyped {
		t.Fatal("drop-old-column did not ask for the table's name")
	}
	h.contains("the point of no return", "Type the table's name, users")
	// y and q are letters here, not answers.
	h.typeText("yq")
	if h.m.plan.op != opNone || h.m.plan.confirm == nil {
		t.Fatal("typing y or q answered the typed confirmation")
	}
	h.key("enter")
	h.contains("that is not users")
	for range 2 {
		h.send(tea.KeyPressMsg{Code: tea.KeyBackspace})
	}
	h.typeText("users")
	h.key("enter")
	if h.m.plan.op != opRun || h.m.plan.opPhase != "drop-old-column" {
		t.Fatalf("the table's name typed: op %v on %q, want drop-old-column to run", h.m.plan.op, h.m.plan.opPhase)
	}
}

func TestDropOldColumnWarnsTooSoonAfterStopOldWrites(t *testing.T) {
	plan := example(t, "users-full-name")
	st := map[string]phases.Status{}
	for _, id := range []string{"add-column", "dual-write", "backfill", "switch-reads", "stop-old-writes"} {
		st[id] = phases.Done
	}
	st["drop-old-column"] = phases.Waiting
	h := openPlan(t, plan, infos(plan, st)) // stop-old-writes finished minutes ago
	h.key("r")
	h.contains("stop-old-writes was confirmed only", "one release later")
}

func TestRollbackAsksFirstAndRefusesPastThePointOfNoReturn(t *testing.T) {
	plan := example(t, "users-email")
	h := openPlan(t, plan, infos(plan, map[string]phases.Status{"add-column": phases.Done, "deploy-readers": phases.Done, "backfill": phases.Done, "switch-writes": phases.Done, "enforce": phases.Done}))
	h.key("u")
	if h.m.plan.confirm == nil || h.m.plan.confirm.kind != confirmRollback || h.m.plan.confirm.phase != "enforce" {
		t.Fatal("u did not ask to roll back enforce")
	}
	h.contains("Roll back enforce?", "Drops NOT NULL from email.")
	h.key("esc")
	if h.m.plan.confirm != nil || h.m.plan.op != opNone {
		t.Fatal("esc should cancel the rollback")
	}
	h.key("u")
	cmd := h.key("y")
	if h.m.plan.op != opRollback {
		t.Fatal("y did not roll back")
	}
	h.run(cmd)
	if got := h.sess().Calls(); !reflect.DeepEqual(got, []string{"rollback"}) {
		t.Fatalf("engine calls %v, want [rollback]", got)
	}
	h.contains("↺ enforce rolled back:")

	rename := example(t, "users-full-name")
	st := map[string]phases.Status{}
	for _, ph := range rename.PlaybookDef().Phases {
		st[ph.ID] = phases.Done
	}
	h = openPlan(t, rename, infos(rename, st))
	h.key("u")
	if h.m.plan.confirm != nil {
		t.Fatal("a rollback past the point of no return was offered")
	}
	h.contains("cannot roll back: drop-old-column is the point of no return")
}

func TestRollbackCommandOpensOnTheRollbackQuestion(t *testing.T) {
	plan := example(t, "users-email")
	sess := &fakeSession{plan: plan, infos: infos(plan, map[string]phases.Status{"add-column": phases.Done})}
	h := openOn(t, &fakeEngine{sess: sess}, Config{Open: plan, Rollback: true})
	if h.m.plan.confirm == nil || h.m.plan.confirm.kind != confirmRollback || h.m.plan.confirm.phase != "add-column" {
		t.Fatalf("shepherd rollback should open on the question to roll back add-column:\n%s", h.screen())
	}
	h.contains("Roll back add-column?", "Drops email")
}

func TestReverifyShowsWhatItFound(t *testing.T) {
	plan := example(t, "users-email")
	h := openPlan(t, plan, infos(plan, map[string]phases.Status{"add-column": phases.Done, "deploy-readers": phases.Done, "backfill": phases.Done}))
	// v on a phase that is not done says why not.
	h.key("v")
	h.contains("switch-writes is pending: only a done phase can be verified again")
	h.key("up")
	h.sess().verErr = &engine.VerifyError{Phase: "backfill", What: "rows up to id 20000 should have email filled", Count: 2, Sample: []string{"7", "9"}}
	h.run(h.key("v"))
	if got := h.sess().Calls(); !reflect.DeepEqual(got, []string{"reverify backfill"}) {
		t.Fatalf("engine calls %v, want [reverify backfill]", got)
	}
	h.contains("re-verified at 09:30:00: FAILED", "2 rows; sample keys: 7, 9")
	h.sess().verErr, h.sess().verify = nil, "no row up to id 20000 is left without email"
	h.run(h.key("v"))
	h.contains("re-verified at 09:30:00: no row up to id")
}

func TestErrorsAreShownOnScreen(t *testing.T) {
	plan := example(t, "users-email")
	h := openOn(t, &fakeEngine{inspectErr: errors.New("read the schema of users: database is locked")}, Config{Open: plan})
	h.contains("cannot open users-email: read the schema of users: database is locked", "r open again")
	// The timeline still shows the playbook.
	h.contains("add-column", "enforce")
}

func TestEventsFromAClosedSessionAreIgnored(t *testing.T) {
	plan := example(t, "users-email")
	h := openPlan(t, plan, infos(plan, nil))
	before := h.screen()
	if cmd := h.send(engineEventMsg{bus: newEventBus(), ev: engine.Event{Event: engine.EventNotice, Phase: "add-column", Message: "stale"}}); cmd != nil {
		t.Fatal("a stale bus was read again")
	}
	if h.screen() != before {
		t.Fatal("a stale event changed the screen")
	}
}

func TestPlanListOpensAPlanAndEscGoesBack(t *testing.T) {
	plan := example(t, "users-email")
	eng := &fakeEngine{sess: &fakeSession{infos: infos(plan, nil)}, status: []engine.PlanStatus{{
		Name: "users-email", Playbook: "add-column", Table: "users",
		Phases: []engine.PhaseStatus{{ID: "add-column", Status: phases.Done}, {ID: "deploy-readers", Status: phases.Waiting}},
	}, {Name: "legacy-plan", Playbook: "add-column", Table: "accounts"}}}
	h := &harness{t: t, eng: eng}
	h.m = New(t.Context(), Config{Engine: eng, Plans: []string{"../examples/users-email.yaml", "../examples/orders-amount-positive.yaml", "missing.yaml"}})
	h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	h.run(h.m.Init())
	h.contains("Plans", "users-email", "waiting at deploy-readers · 1 of 5 done",
		"orders-amount-positive", "not started in this database",
		"missing.yaml", "invalid plan file",
		"legacy-plan", "in the database only")
	h.key("enter")
	if h.m.screen != screenPlan {
		t.Fatal("enter did not open the plan")
	}
	h.run(h.send(openPlanMsg{}))
	h.contains("users-email · add-column on users")
	h.run(h.key("esc"))
	if h.m.screen != screenList || eng.Starts() != 0 {
		t.Fatalf("esc: screen %v, %d sessions started; want the list, and no runner lock ever taken to look", h.m.screen, eng.Starts())
	}
	// A plan the database knows but no file here describes cannot open.
	h.key("down")
	h.key("down")
	h.key("down")
	h.key("enter")
	h.contains("no plan file here describes it")
}

func TestEveryLineFitsAndResizeAdapts(t *testing.T) {
	plan := example(t, "users-full-name")
	h := openPlan(t, plan, infos(plan, map[string]phases.Status{"add-column": phases.Done, "dual-write": phases.Done, "backfill": phases.Running}))
	h.key("r")
	h.send(engineEventMsg{bus: h.m.plan.bus, ev: engine.Event{Event: engine.EventProgress, Phase: "backfill", RowsDone: ptr(int64(500)), RowsTotal: ptr(int64(20000)), RowsPerSec: 900, BatchSize: 100}})
	for _, size := range [][2]int{{80, 24}, {120, 40}, {100, 30}, {60, 16}, {200, 60}, {50, 20}} {
		h.send(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		lines := strings.Split(h.m.View().Content, "\n")
		if len(lines) != size[1] {
			t.Errorf("%dx%d: %d lines", size[0], size[1], len(lines))
		}
		for i, l := range lines {
			if w := ansi.StringWidth(l); w > size[0] {
				t.Errorf("%dx%d: line %d is %d wide: %q", size[0], size[1], i, w, ansi.Strip(l))
			}
		}
	}
	h.contains("needs a terminal of at least 60x16", "one is 50x20")
	h.send(tea.WindowSizeMsg{Width: 120, Height: 40})
	h.contains("backfill", "500 / 20,000 rows")
}

func TestHelpToggles(t *testing.T) {
	plan := example(t, "users-email")
	h := openPlan(t, plan, infos(plan, nil))
	h.lacks("confirm the waiting gate")
	h.key("?")
	h.contains("scroll", "esc", "plans")
	h.key("?")
	h.lacks("fewer keys")
}

func TestNoColorDrawsNoColour(t *testing.T) {
	plan := example(t, "users-email")
	sess := &fakeSession{plan: plan, infos: infos(plan, map[string]phases.Status{"add-column": phases.Done, "deploy-readers": phases.Failed})}
	h := openOn(t, &fakeEngine{sess: sess}, Config{Open: plan, NoColor: true})
	h.send(tea.BackgroundColorMsg{})
	v := h.m.View().Content
	for _, sgr := range []string{"[38;", "[48;", "[3", "[9"} {
		if i := strings.Index(v, "\x1b"+sgr); i >= 0 {
			t.Fatalf("NO_COLOR view has a colour sequence %q at %d", sgr, i)
		}
	}
	h.contains("✓ add-column", "✗ deploy-readers")
}

func TestLightAndDarkStylesDiffer(t *testing.T) {
	d, l := NewStyles(true, false), NewStyles(false, false)
	if fmt.Sprint(d.Done.GetForeground()) == fmt.Sprint(l.Done.GetForeground()) {
		t.Fatal("the done colour is the same on dark and light backgrounds")
	}
}

func ptr[T any](v T) *T { return &v }

func TestEnterDoesNotRunAPhase(t *testing.T) {
	// enter opens a plan from the list: a second enter must not run
	// anything.
	plan := example(t, "users-email")
	h := openPlan(t, plan, infos(plan, nil))
	if cmd := h.key("enter"); cmd != nil || h.m.plan.op != opNone {
		t.Fatal("enter on a plan started an engine call")
	}
}
