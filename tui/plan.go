package tui

import (
	"context"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/phases"
)

// op is the engine call in flight, if any. There is at most one: a
// session's methods are never called at once.
type op int

const (
	opNone op = iota
	opOpen
	opRun
	opArrive
	opRollback
	opReverify
)

// msgKind colours the message line.
type msgKind int

const (
	msgInfo msgKind = iota
	msgOK
	msgWarn
	msgErr
)

// maxDialogWidth keeps a question's lines short enough to read at a glance.
const maxDialogWidth = 66

// backToListMsg asks the root to show the plan list again.
type backToListMsg struct{ name string }

// planScreen walks one plan: the timeline, the selected phase's detail,
// the backfill's progress and the confirmations. It reads the plan without
// the runner lock and takes the lock for each action (see act).
type planScreen struct {
	styles *Styles
	keys   keyMap
	eng    Engine
	track  *tracker
	ctx    context.Context
	opts   engine.Options

	plan  *phases.Plan
	pb    *phases.Playbook
	bus   *eventBus
	pause *engine.PauseSwitch

	// viewed: the plan was read and fits the database; actions can start.
	// openErr says why it cannot be opened; infos are then what
	// shepherd_state records, or unknown (statusErr).
	viewed    bool
	openErr   error
	statusErr error
	started   bool // shepherd_state records the plan

	infos    []engine.PhaseInfo
	previews map[string]*engine.PhasePreview
	used     string // the failure path's rejected write, when known

	timeline timeline
	detail   detail
	progress backfill
	spin     spinner.Model

	op       op
	opPhase  string
	cancelOp context.CancelFunc

	confirm  *confirm
	failures map[string]*failure
	rechecks map[string]*recheck
	activity map[string][]string

	msg     string
	msgKind msgKind

	rollbackFirst bool // `shepherd rollback`: ask for the rollback once open
	quitting      bool
	width, height int
}

func newPlanScreen(s *Styles, k keyMap, ctx context.Context, eng Engine, track *tracker, opts engine.Options, plan *phases.Plan) planScreen {
	pb := plan.PlaybookDef()
	// The texts show what this database does (its expressions, how its
	// swap works); the plan is the same plan.
	plan = plan.In(eng.Dialect())
	ps := planScreen{
		styles: s, keys: k, eng: eng, track: track, ctx: ctx, opts: opts,
		plan: plan, pb: pb,
		previews: map[string]*engine.PhasePreview{},
		timeline: newTimeline(s, pb),
		detail:   newDetail(s),
		progress: newBackfill(s),
		spin:     spinner.New(spinner.WithSpinner(spinner.MiniDot)),
		failures: map[string]*failure{},
		rechecks: map[string]*recheck{},
		activity: map[string][]string{},
	}
	// What the plan runs, rendered without the database, until the live
	// schema gives the exact statements.
	if pvs, err := engine.Preview(plan, eng.Dialect()); err == nil {
		ps.setPreviews(pvs)
	}
	return ps
}

// Open reads the plan, without its runner lock: a tea.Cmd, like every
// engine call.
func (ps *planScreen) Open() tea.Cmd {
	if ps.bus != nil {
		ps.bus.close()
	}
	ps.bus = newEventBus()
	ps.pause = &engine.PauseSwitch{}
	ps.setMsg(msgInfo, "")
	return tea.Batch(ps.read(false), ps.bus.next())
}

// read looks at the plan again, without the lock.
func (ps *planScreen) read(refresh bool) tea.Cmd {
	eng, plan, opts := ps.eng, ps.plan, ps.sessionOpts()
	return ps.start(opOpen, "", func(ctx context.Context) tea.Msg {
		fresh, err := reload(plan)
		if err != nil {
			m := unreadable(ctx, eng, plan, err)
			m.refresh = refresh
			return m
		}
		m := inspect(ctx, eng, fresh, opts)
		m.refresh = refresh
		return withPlan{plan: fresh, msg: m}
	})
}

// sessionOpts are the options of the sessions the screen starts: the
// engine's events come to its bus, and its pause switch holds a backfill.
func (ps *planScreen) sessionOpts() engine.Options {
	opts := ps.opts
	opts.Emit, opts.Pause = ps.bus.emit, ps.pause
	return opts
}

// start marks an engine call in flight and returns it as a tracked Cmd
// with its own cancellable context.
func (ps *planScreen) start(o op, phase string, fn func(ctx context.Context) tea.Msg) tea.Cmd {
	ctx, cancel := context.WithCancel(ps.ctx)
	ps.op, ps.opPhase, ps.cancelOp = o, phase, cancel
	call := ps.track.call(func() tea.Msg {
		defer cancel()
		return fn(ctx)
	})
	return tea.Batch(call, ps.spin.Tick)
}

func (ps *planScreen) finish() {
	ps.op, ps.opPhase, ps.cancelOp = opNone, "", nil
	if ps.pause != nil {
		ps.pause.Resume() // a pause ends with the phase it held
	}
	ps.progress.pausing, ps.progress.paused = false, false
}

func (ps *planScreen) setPreviews(pvs []engine.PhasePreview) {
	for i := range pvs {
		pv := pvs[i]
		ps.previews[pv.Phase.ID] = &pv
	}
}

func (ps *planScreen) setMsg(k msgKind, text string) { ps.msgKind, ps.msg = k, text }

func (ps *planScreen) SetSize(w, h int) {
	ps.width, ps.height = w, h
	ps.layout()
	ps.refresh() // the detail is wrapped to its width: wrap it again
}

// progressShown reports whether the running phase shows a progress bar:
// a batched walk, or a build the database reports (watched).
func (ps *planScreen) progressShown() bool {
	return ps.walking() || ps.op == opRun && watched(ps.plan, ps.opPhase)
}

// walking reports whether the running phase walks the table in batches,
// which can pause between them and keep a checkpoint.
func (ps *planScreen) walking() bool {
	return ps.op == opRun && batched(ps.plan, ps.opPhase)
}

// footer is the lines under the panes: the progress of a batched phase and
// the message line.
func (ps planScreen) footer() []string {
	s := ps.styles
	var lines []string
	if ps.progressShown() {
		lines = append(lines, strings.Split(ps.progress.View(), "\n")...)
	}
	if ps.op != opNone {
		icon := s.Running.Render(ps.spin.View())
		if ps.progress.paused && !ps.quitting {
			icon = s.Waiting.Render("⏸")
		}
		lines = append(lines, icon+" "+s.Text.Render(truncate(ps.opText(), ps.width-2)))
	}
	if ps.msg != "" {
		st := map[msgKind]lipgloss.Style{msgInfo: s.Dim, msgOK: s.OK, msgWarn: s.Warn, msgErr: s.Error}[ps.msgKind]
		wrapped := wrap(ps.msg, ps.width)
		limit := 3
		if ps.op != opNone {
			limit = 1
		}
		if len(wrapped) > limit {
			wrapped = wrapped[:limit]
			wrapped[limit-1] = truncate(wrapped[limit-1]+" …", ps.width)
		}
		for _, w := range wrapped {
			lines = append(lines, st.Render(w))
		}
	}
	return lines
}

func (ps *planScreen) layout() {
	lw := 26
	if ps.width >= 110 {
		lw = 32
	}
	bodyH := max(ps.height-len(ps.footer())-1, 3)
	ps.timeline.SetSize(lw, bodyH)
	rw := max(ps.width-lw-3, 20)
	ps.detail.SetSize(rw, bodyH)
	ps.progress.SetWidth(ps.width)
	if ps.confirm != nil {
		ps.confirm.SetWidth(min(rw, maxDialogWidth))
	}
}

func (ps planScreen) opText() string {
	switch ps.op {
	case opOpen:
		return "reading " + ps.plan.Name + " and checking the live schema (no lock taken)…"
	case opRun:
		if ps.quitting {
			return "stopping " + ps.opPhase + " after the current batch; the checkpoint is kept…"
		}
		if ps.progress.paused {
			return ps.opPhase + " is paused between batches: no transaction is open on " + ps.plan.Table
		}
		ph, _ := ps.pb.Phase(ps.opPhase)
		if ph.Gate {
			return "confirming " + ps.opPhase + "…"
		}
		return "running " + ps.opPhase + "…"
	case opArrive:
		return "arriving at the gate " + ps.opPhase + "…"
	case opRollback:
		return "rolling back " + ps.opPhase + "…"
	case opReverify:
		return "verifying " + ps.opPhase + " again on the live data…"
	}
	return ""
}

// next is the phase a run does next, if any.
func (ps planScreen) next() (phases.Phase, bool) {
	return ps.pb.Next(progressOf(ps.infos))
}

func (ps planScreen) status(id string) phases.Status { return infoOf(ps.infos, id).Status }

// Update handles one message; the root passes on what concerns the plan.
func (ps planScreen) Update(msg tea.Msg) (planScreen, tea.Cmd) {
	var cmd tea.Cmd
	switch msg := msg.(type) {
	case withPlan:
		ps.adopt(msg.plan)
		return ps.Update(msg.msg)
	case tea.KeyPressMsg:
		ps, cmd = ps.key(msg)
	case viewedMsg:
		ps, cmd = ps.viewedPlan(msg)
	case refusedMsg:
		ps, cmd = ps.refused(msg)
	case phaseRanMsg:
		ps, cmd = ps.ran(msg)
	case arrivedMsg:
		ps, cmd = ps.arrived(msg)
	case rolledBackMsg:
		ps, cmd = ps.rolledBack(msg)
	case reverifiedMsg:
		ps.finish()
		if msg.used != "" {
			ps.used = msg.used
		}
		rc := &recheck{at: clock(now()), detail: msg.detail}
		if msg.err != nil {
			rc.fail = failureOf(msg.err)
			ps.setMsg(msgErr, msg.id+" no longer holds: "+msg.err.Error())
		} else {
			ps.setMsg(msgOK, "✓ "+msg.id+" still holds: "+msg.detail)
		}
		ps.rechecks[msg.id] = rc
		if ps.quitting {
			cmd = tea.Quit
		}
	case engineEventMsg:
		if msg.bus != ps.bus {
			return ps, nil // from a session closed since
		}
		ps.event(msg.ev)
		cmd = ps.bus.next()
	case spinner.TickMsg:
		if ps.op != opNone {
			ps.spin, cmd = ps.spin.Update(msg)
		}
	}
	ps.layout()
	ps.refresh()
	return ps, cmd
}

// refresh puts the state into the components.
func (ps *planScreen) refresh() {
	ps.timeline.SetPhases(ps.infos)
	ps.timeline.recorded = ps.openErr != nil
	ps.timeline.working, ps.timeline.percent = "", -1
	if ps.op == opRun {
		ps.timeline.working = ps.opPhase
		if ps.progressShown() {
			ps.timeline.percent = ps.progress.Percent()
		}
	}
	ph := ps.timeline.Selected()
	next, more := ps.next()
	facts := phaseFacts{
		plan: ps.plan, phase: ph, info: infoOf(ps.infos, ph.ID), preview: ps.previews[ph.ID],
		failure: ps.failures[ph.ID], recheck: ps.rechecks[ph.ID], activity: ps.activity[ph.ID],
		working: ps.op == opRun && ps.opPhase == ph.ID, next: more && next.ID == ph.ID,
	}
	if ph.Proof {
		facts.used = ps.used
	}
	if ps.openErr != nil {
		facts.blocked = ps.openErr.Error()
		facts.statusErr, facts.started = ps.statusErr, ps.started
	}
	ps.detail.Show(facts)
}

func (ps planScreen) key(msg tea.KeyPressMsg) (planScreen, tea.Cmd) {
	k := ps.keys
	if ps.confirm != nil {
		if key.Matches(msg, k.ForceQuitKey) {
			ps.confirm = nil
			return ps.quit()
		}
		c, ans, cmd := ps.confirm.Update(msg, k)
		ps.confirm = &c
		switch ans {
		case yes:
			ps.confirm = nil
			return ps.confirmed(c)
		case no:
			ps.confirm = nil
			ps.setMsg(msgInfo, "not now: nothing ran")
			if c.kind == confirmGate || c.kind == confirmTyped {
				ps.setMsg(msgInfo, c.phase+" waits for its confirmation: r asks again")
			}
		}
		return ps, cmd
	}
	switch {
	case key.Matches(msg, k.Quit):
		return ps.quit()
	case key.Matches(msg, k.Up):
		ps.timeline.Move(-1)
	case key.Matches(msg, k.Down):
		ps.timeline.Move(1)
	case key.Matches(msg, k.PageDown):
		ps.refresh()
		ps.detail.PageDown()
	case key.Matches(msg, k.PageUp):
		ps.refresh()
		ps.detail.PageUp()
	case key.Matches(msg, k.Pause):
		ps.togglePause()
	case ps.op != opNone:
		if key.Matches(msg, k.Run, k.Confirm, k.Rollback, k.Reverify, k.Back, k.Refresh) {
			ps.setMsg(msgWarn, "wait: "+strings.TrimSuffix(ps.opText(), "…")+" (q stops it)")
		}
	case key.Matches(msg, k.Refresh):
		ps.setMsg(msgInfo, "")
		return ps, ps.read(true)
	case key.Matches(msg, k.Run, k.Confirm):
		return ps.runNext()
	case key.Matches(msg, k.Rollback):
		return ps.askRollback()
	case key.Matches(msg, k.Reverify):
		return ps.reverify()
	case key.Matches(msg, k.Back):
		return ps.back()
	}
	return ps, nil
}

func (ps planScreen) quit() (planScreen, tea.Cmd) {
	if ps.op == opNone || ps.quitting {
		return ps, tea.Quit
	}
	// Stop the engine and quit when it has stopped: a batch rolls back
	// or commits whole, and the checkpoint is the last one committed.
	ps.quitting = true
	if ps.cancelOp != nil {
		ps.cancelOp()
	}
	ps.setMsg(msgWarn, "stopping: the checkpoint is kept, and the next session resumes from it (ctrl+c again quits now)")
	return ps, nil
}

// back shows the plan list again. The screen holds no lock between
// actions: there is nothing to release.
func (ps planScreen) back() (planScreen, tea.Cmd) {
	if ps.bus != nil {
		ps.bus.close()
	}
	name := ps.plan.Name
	return ps, func() tea.Msg { return backToListMsg{name: name} }
}

func (ps *planScreen) togglePause() {
	if !ps.walking() {
		ps.setMsg(msgInfo, "p pauses a backfill between batches; none is running")
		return
	}
	if ps.pause.Paused() {
		ps.pause.Resume()
		ps.progress.pausing = false
		ps.setMsg(msgInfo, "resuming "+ps.opPhase+"…")
		return
	}
	ps.pause.Pause()
	ps.progress.pausing = true
	ps.setMsg(msgInfo, "")
}

// View draws the timeline and the detail side by side, the confirmation
// over the detail when one is asked, and the footer under them.
func (ps planScreen) View() string {
	foot := ps.footer()
	bodyH := max(ps.height-len(foot)-1, 3)
	right := ps.detail.View()
	if ps.confirm != nil {
		box := ps.confirm.View(bodyH)
		right = fit(box+"\n"+right, ps.detail.width, bodyH)
	}
	body := lipgloss.JoinHorizontal(lipgloss.Top, ps.timeline.View(), ps.rule(bodyH), right)
	out := fit(body, ps.width, bodyH)
	return out + "\n" + fit("", ps.width, 1) + "\n" + strings.Join(foot, "\n")
}

func (ps planScreen) rule(h int) string {
	lines := make([]string, h)
	for i := range lines {
		lines[i] = " " + ps.styles.Rule.Render("│") + " "
	}
	return strings.Join(lines, "\n")
}
