package tui

import (
	"context"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/phases"
)

// The fakes stand for the engine: the model tests never touch a database.
// They record which calls the TUI's commands make.

type fakeEngine struct {
	mu         sync.Mutex
	dsn        string
	status     []engine.PlanStatus
	statusErr  error
	log        []engine.LogEntry
	sess       *fakeSession
	err        error // Start's: the runner lock refused, say
	inspectErr error // Inspect's: the plan cannot be opened
	starts     int   // sessions started: runner locks taken
	inspects   int
	given      *phases.Plan // the plan the last Inspect or Start was given
}

// Given is the plan the TUI last handed the engine.
func (f *fakeEngine) Given() *phases.Plan {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.given
}

func (f *fakeEngine) Dialect() string { return "sqlite" }
func (f *fakeEngine) DSN() string {
	if f.dsn != "" {
		return f.dsn
	}
	return "sqlite:demo.db"
}
func (f *fakeEngine) Status(context.Context) ([]engine.PlanStatus, error) {
	return f.status, f.statusErr
}
func (f *fakeEngine) Log(context.Context, string) ([]engine.LogEntry, error) {
	return f.log, nil
}
func (f *fakeEngine) Inspect(_ context.Context, plan *phases.Plan, opts engine.Options) (View, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inspects++
	f.given = plan
	if f.inspectErr != nil {
		return nil, f.inspectErr
	}
	if f.sess == nil {
		f.sess = &fakeSession{}
	}
	f.sess.plan = plan
	return f.sess, nil
}
func (f *fakeEngine) Start(_ context.Context, plan *phases.Plan, opts engine.Options) (Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.given = plan
	if f.err != nil {
		return nil, f.err
	}
	f.starts++
	if f.sess == nil {
		f.sess = &fakeSession{}
	}
	f.sess.mu.Lock()
	f.sess.plan, f.sess.opts, f.sess.locked = plan, opts, true
	f.sess.mu.Unlock()
	return f.sess, nil
}

// Starts is how many sessions (runner locks) the TUI took.
func (f *fakeEngine) Starts() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.starts
}

type fakeSession struct {
	mu       sync.Mutex
	plan     *phases.Plan
	opts     engine.Options
	infos    []engine.PhaseInfo
	calls    []string
	runErr   error
	verify   string
	verErr   error
	closed   bool
	locked   bool          // started and not closed since: the runner lock is held
	blockRun chan struct{} // RunPhase waits on it, or on its context
	// emitSteps are step events RunPhase emits before it returns.
	emitSteps []engine.Event
	// after["run ID"], after["arrive ID"], after["rollback"] is the state
	// once that call has run.
	after map[string][]engine.PhaseInfo
}

// then applies the state a call leaves.
func (f *fakeSession) then(call string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if in, ok := f.after[call]; ok {
		f.infos = in
	}
}

func (f *fakeSession) record(c string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, c)
}

func (f *fakeSession) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeSession) Phases() []engine.PhaseInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.infos
}

// Locked reports whether the runner lock is held now.
func (f *fakeSession) Locked() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.locked
}
func (f *fakeSession) Previews() []engine.PhasePreview {
	pvs, _ := engine.Preview(f.plan, "sqlite")
	return pvs
}
func (f *fakeSession) RunPhase(ctx context.Context, id string) error {
	f.record("run " + id)
	for _, e := range f.emitSteps {
		f.opts.Emit(e)
	}
	if f.blockRun != nil {
		select {
		case <-f.blockRun:
		case <-ctx.Done():
			return &engine.InterruptedError{Phase: id, Checkpoint: "id 8000"}
		}
	}
	f.then("run " + id)
	return f.runErr
}
func (f *fakeSession) Arrive(_ context.Context, id string) error {
	f.record("arrive " + id)
	f.then("arrive " + id)
	return nil
}
func (f *fakeSession) Rollback(context.Context) (phases.Phase, error) {
	f.record("rollback")
	target, _, err := f.plan.PlaybookDef().RollbackTarget(progressOf(f.Phases()))
	f.then("rollback")
	return target, err
}
func (f *fakeSession) Reverify(_ context.Context, id string) (string, error) {
	f.record("reverify " + id)
	return f.verify, f.verErr
}
func (f *fakeSession) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed, f.locked = true, false
}

// unwrap is an engine call's answer without the plan it read (withPlan).
func unwrap(m tea.Msg) tea.Msg {
	if w, ok := m.(withPlan); ok {
		return w.msg
	}
	return m
}

// example loads one of the example plans.
func example(t *testing.T, name string) *phases.Plan {
	t.Helper()
	// The file itself: every action reads the plan file again.
	p, err := phases.Load("../examples/" + name + ".yaml")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// at is the fixed moment of the tests: times on its day show as a clock.
var at = time.Date(2025, 3, 14, 9, 30, 0, 0, time.Local)

func init() { now = func() time.Time { return at } }

// infos builds a snapshot: the listed phases have those statuses, the
// others are pending. Phases start a minute apart from 09:23.
func infos(plan *phases.Plan, st map[string]phases.Status) []engine.PhaseInfo {
	var out []engine.PhaseInfo
	for i, ph := range plan.PlaybookDef().Phases {
		in := engine.PhaseInfo{ID: ph.ID, Status: phases.Pending}
		if s, ok := st[ph.ID]; ok {
			in.Status = s
			in.StartedAt = at.Add(time.Duration(i-7) * time.Minute)
			in.RunBy = "ops@bastion"
			if s != phases.Running && s != phases.Waiting {
				in.FinishedAt = in.StartedAt.Add(20 * time.Second)
			}
			if s == phases.Done {
				in.Detail = map[string]string{
					"add-column":     "users.email exists and is nullable",
					"deploy-readers": "confirmed by ops@bastion",
					"backfill":       "20000 rows walked up to id 20000, 20000 filled",
					"switch-writes":  "the catch-up filled 3 rows where email was NULL; no row is NULL",
					"enforce":        "NOT NULL is in force on users.email",
				}[ph.ID]
			}
		}
		out = append(out, in)
	}
	return out
}

// harness drives a root model as Bubble Tea would, without a terminal.
type harness struct {
	t   *testing.T
	m   Model
	eng *fakeEngine
}

// openPlan starts the TUI on a plan whose look (Inspect) shows the given
// snapshot, at 80x24. Actions start the fake session, which answers with
// its infos.
func openPlan(t *testing.T, plan *phases.Plan, snap []engine.PhaseInfo) *harness {
	t.Helper()
	sess := &fakeSession{plan: plan, infos: snap}
	h := &harness{t: t, eng: &fakeEngine{sess: sess}}
	h.m = New(context.Background(), Config{Engine: h.eng, Open: plan})
	h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	h.send(openPlanMsg{})
	pvs, err := engine.Preview(plan, "sqlite")
	if err != nil {
		t.Fatal(err)
	}
	h.send(viewedMsg{infos: snap, previews: pvs})
	return h
}

// openOn starts the TUI with cfg on eng, at 80x24, and opens cfg.Open
// through eng (openPlan hands the model a snapshot instead).
func openOn(t *testing.T, eng *fakeEngine, cfg Config) *harness {
	t.Helper()
	cfg.Engine = eng
	h := &harness{t: t, eng: eng, m: New(t.Context(), cfg)}
	h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	h.run(h.send(openPlanMsg{}))
	return h
}

func (h *harness) sess() *fakeSession { return h.eng.sess }

// send delivers a message and returns the command the model answered.
func (h *harness) send(msg tea.Msg) tea.Cmd {
	h.t.Helper()
	m, cmd := h.m.Update(msg)
	h.m = m.(Model)
	return cmd
}

// key presses a key: "r", "enter", "esc", "ctrl+c", "up"…
func (h *harness) key(k string) tea.Cmd {
	h.t.Helper()
	return h.send(keyPress(k))
}

// typeText types each character.
func (h *harness) typeText(s string) {
	for _, r := range s {
		h.send(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
}

func keyPress(k string) tea.KeyPressMsg {
	switch k {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "pgdown":
		return tea.KeyPressMsg{Code: tea.KeyPgDown}
	case "space":
		return tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	}
	r := []rune(k)[0]
	return tea.KeyPressMsg{Code: r, Text: k}
}

// screen is the view as text, without colours.
func (h *harness) screen() string {
	return ansi.Strip(h.m.View().Content)
}

// run executes a command as Bubble Tea would, and delivers the messages
// it answers. It returns those messages.
func (h *harness) run(cmd tea.Cmd) []tea.Msg {
	h.t.Helper()
	var got []tea.Msg
	for _, msg := range collect(cmd, 10*time.Second) {
		got = append(got, msg)
		h.send(msg)
	}
	return got
}

// busWait is how long collect waits for the event bus's read, which blocks
// until the engine emits (a test that expects an event sends it itself).
const busWait = 200 * time.Millisecond

// collect runs cmd and returns the messages it answers within wait. Every
// command of the model but the event bus's read returns once its work is
// done, however slow the machine: only the bus's read is given up on
// (after busWait), as it may wait for ever.
func collect(cmd tea.Cmd, wait time.Duration) []tea.Msg {
	if cmd == nil {
		return nil
	}
	if isBusRead(cmd) && wait > busWait {
		wait = busWait
	}
	ch := make(chan tea.Msg, 1)
	go func() { ch <- cmd() }()
	select {
	case msg := <-ch:
		switch msg := msg.(type) {
		case tea.BatchMsg:
			var out []tea.Msg
			for _, c := range msg {
				out = append(out, collect(c, wait)...)
			}
			return out
		case nil, spinner.TickMsg:
			return nil
		}
		return []tea.Msg{msg}
	case <-time.After(wait):
		return nil
	}
}

// isBusRead reports whether cmd is the event bus's read (eventBus.next's
// command), by its function's name: the command is a closure.
func isBusRead(cmd tea.Cmd) bool {
	fn := runtime.FuncForPC(reflect.ValueOf(cmd).Pointer())
	return fn != nil && strings.Contains(fn.Name(), "(*eventBus).next")
}

// contains fails the test unless the screen shows every text.
func (h *harness) contains(texts ...string) {
	h.t.Helper()
	scr := h.screen()
	for _, s := range texts {
		if !strings.Contains(scr, s) {
			h.t.Fatalf("the screen does not show %q:\n%s", s, scr)
		}
	}
}

func (h *harness) lacks(texts ...string) {
	h.t.Helper()
	scr := h.screen()
	for _, s := range texts {
		if strings.Contains(scr, s) {
			h.t.Fatalf("the screen shows %q and should not:\n%s", s, scr)
		}
	}
}
