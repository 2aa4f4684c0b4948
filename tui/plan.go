package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

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
		m := inspect(ctx, eng, plan, opts)
		m.refresh = refresh
		return m
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

func (ps *planScreen) progressShown() bool {
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
	if ph.ID == failurePath {
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
	if !ps.progressShown() {
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

// runNext runs the next phase; a gate first arrives (the engine records
// that it waits) and then asks for its confirmation.
func (ps planScreen) runNext() (planScreen, tea.Cmd) {
	if !ps.viewed {
		return ps, ps.Open()
	}
	ph, more := ps.next()
	if !more {
		ps.setMsg(msgOK, "✓ every phase of "+ps.plan.Name+" is done")
		return ps, nil
	}
	ps.timeline.Select(ph.ID)
	if ph.Gate || ph.Confirm {
		if ps.status(ph.ID) != phases.Waiting {
			id := ph.ID
			return ps, ps.act(opArrive, id, func(ctx context.Context, sess Session, _ *stepTap) tea.Msg {
				err := sess.Arrive(ctx, id)
				return arrivedMsg{id: id, infos: sess.Phases(), err: err}
			})
		}
		return ps.askGate(ph)
	}
	return ps.runPhase(ph.ID)
}

func (ps planScreen) runPhase(id string) (planScreen, tea.Cmd) {
	if batched(ps.plan, id) {
		info := infoOf(ps.infos, id)
		rows := int64(0)
		if info.Status == phases.Failed || info.Status == phases.Running {
			rows = info.RowsDone // resuming from its checkpoint
		}
		ps.progress.Start(id, rows)
	}
	delete(ps.failures, id)
	delete(ps.rechecks, id)
	ps.setMsg(msgInfo, "")
	return ps, ps.act(opRun, id, func(ctx context.Context, sess Session, tap *stepTap) tea.Msg {
		err := sess.RunPhase(ctx, id)
		m := phaseRanMsg{id: id, infos: sess.Phases(), previews: sess.Previews(), err: err}
		if id == failurePath && err == nil {
			m.used = tap.last() // the proof stops at the write the database rejected
		}
		return m
	})
}

func (ps planScreen) askGate(ph phases.Phase) (planScreen, tea.Cmd) {
	p := ps.plan
	if ph.Confirm {
		c := newConfirm(ps.styles, confirmTyped, ph.ID, ph.ID+": the point of no return")
		c.width = min(ps.detail.width, maxDialogWidth)
		c.body = []string{p.Expand(ph.Does) + " " + p.Expand(ph.Why)}
		if w := ps.tooSoon(); w != "" {
			c.warn = w
		}
		c.ask = fmt.Sprintf("Type the table's name, %s, to drop %s.%s:", p.Table, p.Table, p.Column)
		c.yesTo = "drop it"
		c, cmd := c.typed(p.Table)
		ps.confirm = &c
		ps.setMsg(msgInfo, "")
		return ps, cmd
	}
	c := newConfirm(ps.styles, confirmGate, ph.ID, "Gate: "+ph.ID)
	c.width = min(ps.detail.width, maxDialogWidth)
	c.body = []string{upperFirst(strings.TrimPrefix(p.Expand(ph.Does), "Gate: ")), "The database cannot see a deploy: shepherd takes your word for it."}
	if pv := ps.previews[ph.ID]; pv != nil && (len(pv.Steps) > 0 || len(pv.Checks) > 0) && !strings.HasPrefix(ph.Verify, "You confirm") {
		c.body = append(c.body, "On yes, shepherd checks the data before it records the gate: "+lowerFirst(p.Expand(ph.Verify)))
	}
	c.ask = "Is this deploy out on every replica?"
	c.yesTo = "yes, it is out everywhere"
	ps.confirm = &c
	ps.setMsg(msgInfo, "")
	return ps, nil
}

// tooSoon warns, as the engine does, when the point of no return follows
// stop-old-writes closely: the seed drops the old column one release later.
func (ps planScreen) tooSoon() string {
	in := infoOf(ps.infos, "stop-old-writes")
	if in.Status == phases.Done && !in.FinishedAt.IsZero() && now().Sub(in.FinishedAt) < time.Hour {
		ago := "moments"
		if d := now().Sub(in.FinishedAt).Round(time.Second); d > 0 {
			ago = d.String()
		}
		return fmt.Sprintf("stop-old-writes was confirmed only %s ago. Drop the old column one release later: a replica still running the previous release may read or write %s.",
			ago, ps.plan.Column)
	}
	return ""
}

func (ps planScreen) askRollback() (planScreen, tea.Cmd) {
	if !ps.viewed {
		ps.setMsg(msgWarn, "the plan is not open: r opens it")
		return ps, nil
	}
	target, resets, err := ps.pb.RollbackTarget(progressOf(ps.infos))
	if err != nil {
		ps.setMsg(msgWarn, "cannot roll back: "+err.Error())
		return ps, nil
	}
	ps.timeline.Select(target.ID)
	c := newConfirm(ps.styles, confirmRollback, target.ID, "Rollback of "+target.ID)
	c.width = min(ps.detail.width, maxDialogWidth)
	c.body = []string{ps.plan.Expand(target.Revert)}
	if pv := ps.previews[target.ID]; pv != nil && len(pv.Revert) > 0 {
		if len(pv.Revert) == 1 {
			c.body = append(c.body, "It runs: "+oneLine(pv.Revert[0].SQL))
		} else {
			c.body = append(c.body, fmt.Sprintf("It runs %d statements: the detail's Undo shows them.", len(pv.Revert)))
		}
	}
	if len(resets) > 0 {
		var ids []string
		for _, r := range resets {
			ids = append(ids, r.ID)
		}
		c.body = append(c.body, "The gates waiting after it go back to pending: "+strings.Join(ids, ", ")+".")
	}
	c.ask = "Roll back " + target.ID + "?"
	c.yesTo = "roll back"
	ps.confirm = &c
	ps.setMsg(msgInfo, "")
	return ps, nil
}

func (ps planScreen) confirmed(c confirm) (planScreen, tea.Cmd) {
	switch c.kind {
	case confirmGate, confirmTyped:
		return ps.runPhase(c.phase)
	case confirmRollback:
		delete(ps.failures, c.phase)
		delete(ps.rechecks, c.phase)
		return ps, ps.act(opRollback, c.phase, func(ctx context.Context, sess Session, _ *stepTap) tea.Msg {
			ph, err := sess.Rollback(ctx)
			return rolledBackMsg{phase: ph, infos: sess.Phases(), previews: sess.Previews(), err: err}
		})
	}
	return ps, nil
}

// reverify checks a done phase again. It reads without the lock, except
// the failure path's proof, which writes (a violating write, rolled back)
// and so takes the runner lock like any action.
func (ps planScreen) reverify() (planScreen, tea.Cmd) {
	if !ps.viewed {
		ps.setMsg(msgWarn, "the plan is not open: r opens it")
		return ps, nil
	}
	ph := ps.timeline.Selected()
	if st := ps.status(ph.ID); st != phases.Done {
		ps.setMsg(msgWarn, fmt.Sprintf("%s is %s: only a done phase can be verified again", ph.ID, st))
		return ps, nil
	}
	id := ph.ID
	if id == failurePath {
		return ps, ps.act(opReverify, id, func(ctx context.Context, sess Session, tap *stepTap) tea.Msg {
			detail, err := sess.Reverify(ctx, id)
			m := reverifiedMsg{id: id, detail: detail, err: err}
			if err == nil {
				m.used = tap.last()
			}
			return m
		})
	}
	eng, plan, opts := ps.eng, ps.plan, ps.sessionOpts()
	return ps, ps.start(opReverify, id, func(ctx context.Context) tea.Msg {
		v, err := eng.Inspect(ctx, plan, opts)
		if err != nil {
			return reverifiedMsg{id: id, err: err}
		}
		detail, err := v.Reverify(ctx, id)
		return reverifiedMsg{id: id, detail: detail, err: err}
	})
}

// viewedPlan takes a look at the plan: on opening it, the screen selects
// the phase a run does next and says what to do.
func (ps planScreen) viewedPlan(m viewedMsg) (planScreen, tea.Cmd) {
	ps.finish()
	ps.take(m)
	if ps.quitting {
		return ps, tea.Quit
	}
	if m.err != nil {
		if !m.refresh {
			ps.selectCurrent()
		}
		ps.setMsg(msgErr, "cannot open "+ps.plan.Name+": "+openReason(m.err)+" (the detail says more; r tries again)")
		return ps, nil
	}
	if m.refresh {
		ps.setMsg(msgInfo, "read again at "+clock(now()))
		return ps, nil
	}
	ps.selectCurrent()
	next, more := ps.next()
	switch {
	case !more:
		ps.setMsg(msgOK, "✓ every phase of "+ps.plan.Name+" is done")
	case ps.status(next.ID) == phases.Waiting:
		ps.setMsg(msgWarn, next.ID+" waits for its confirmation: c confirms it")
	case elsewhere(infoOf(ps.infos, next.ID)):
		ps.setMsg(msgWarn, next.ID+" is running in another runner ("+runnerText(infoOf(ps.infos, next.ID).Runner)+"): wait for it, or stop it")
	case ps.status(next.ID) == phases.Failed || ps.status(next.ID) == phases.Running:
		ps.setMsg(msgWarn, next.ID+" did not finish: r runs it again")
		if cp := infoOf(ps.infos, next.ID).Checkpoint; cp != "" && batched(ps.plan, next.ID) {
			ps.setMsg(msgWarn, next.ID+" stopped at the checkpoint "+cp+": r resumes from there")
		}
	default:
		ps.setMsg(msgInfo, "next: "+next.ID+" · r runs it")
	}
	if ps.rollbackFirst {
		ps.rollbackFirst = false
		return ps.askRollback()
	}
	return ps, nil
}

// take puts a look at the plan on the screen.
func (ps *planScreen) take(m viewedMsg) {
	ps.infos = m.infos
	ps.openErr, ps.statusErr, ps.started = m.err, m.statusErr, m.started
	ps.viewed = m.err == nil
	if m.err == nil {
		ps.setPreviews(m.previews)
		ps.used = m.used
	}
}

// refused shows why an action did not run, with the plan as it stands now.
func (ps planScreen) refused(m refusedMsg) (planScreen, tea.Cmd) {
	ps.finish()
	ps.take(m.view)
	if ps.quitting {
		return ps, tea.Quit
	}
	ps.setMsg(msgErr, "✗ "+refusal(m.err))
	if ps.viewed {
		ps.timeline.Select(m.phase)
	}
	return ps, nil
}

// selectCurrent selects the phase a run does next (the last when all are
// done).
func (ps *planScreen) selectCurrent() {
	if next, more := ps.next(); more {
		ps.timeline.Select(next.ID)
	} else {
		ps.timeline.selected = len(ps.pb.Phases) - 1
	}
}

func (ps planScreen) ran(m phaseRanMsg) (planScreen, tea.Cmd) {
	ps.finish()
	if m.infos != nil {
		ps.infos = m.infos
	}
	if m.used != "" {
		ps.used = m.used
	}
	ps.setPreviews(m.previews)
	if m.err != nil {
		fl := failureOf(m.err)
		fl.retry = true
		ps.failures[m.id] = fl
		ps.timeline.Select(m.id)
		switch {
		case fl.stopped:
			ps.setMsg(msgWarn, m.err.Error())
		case fl.verify:
			ps.setMsg(msgErr, fmt.Sprintf("✗ %s: verification failed: %s rows, keys %s · r retries", m.id, countText(fl.count), sampleText(fl)))
		default:
			ps.setMsg(msgErr, "✗ "+m.err.Error())
		}
		if ps.quitting {
			return ps, tea.Quit
		}
		return ps, nil
	}
	if ps.quitting {
		return ps, tea.Quit
	}
	ps.selectCurrent()
	detail := infoOf(ps.infos, m.id).Detail
	next, more := ps.next()
	switch {
	case !more:
		ps.setMsg(msgOK, "✓ "+m.id+" done. Every phase of "+ps.plan.Name+" is done.")
	case next.Gate:
		ps.setMsg(msgOK, "✓ "+m.id+" done: "+detail+". Next, the gate "+next.ID+" (r).")
	default:
		ps.setMsg(msgOK, "✓ "+m.id+" done: "+detail+". Next, "+next.ID+" (r).")
	}
	return ps, nil
}

func (ps planScreen) arrived(m arrivedMsg) (planScreen, tea.Cmd) {
	ps.finish()
	if m.infos != nil {
		ps.infos = m.infos
	}
	if m.err != nil {
		fl := failureOf(m.err)
		ps.failures[m.id] = fl
		ps.setMsg(msgErr, "✗ "+m.err.Error())
		return ps, nil
	}
	if ps.quitting {
		return ps, tea.Quit
	}
	ph, _ := ps.pb.Phase(m.id)
	return ps.askGate(ph)
}

func (ps planScreen) rolledBack(m rolledBackMsg) (planScreen, tea.Cmd) {
	ps.finish()
	if m.infos != nil {
		ps.infos = m.infos
	}
	ps.setPreviews(m.previews)
	if m.err != nil {
		ps.setMsg(msgErr, "✗ rollback of "+m.phase.ID+": "+m.err.Error())
	} else {
		ps.setMsg(msgOK, "↺ "+m.phase.ID+": "+infoOf(ps.infos, m.phase.ID).Detail)
		ps.timeline.Select(m.phase.ID)
	}
	if ps.quitting {
		return ps, tea.Quit
	}
	return ps, nil
}

// event takes one engine event: progress for the bar, the rest for the
// phase's activity and the message line.
func (ps *planScreen) event(e engine.Event) {
	add := func(text string) {
		a := append(ps.activity[e.Phase], clock(now())+" "+text)
		if len(a) > 12 {
			a = a[len(a)-12:]
		}
		ps.activity[e.Phase] = a
	}
	// Events come through the bus, the call's answer by its own way: an
	// event can arrive after the answer. Then the call is over, and the
	// event goes to the phase's activity only, never over the answer's
	// message or into a progress bar that is gone.
	live := ps.op != opNone
	switch e.Event {
	case engine.EventProgress, engine.EventPaused, engine.EventResumed:
		if live {
			ps.progress.Event(e)
		}
		switch e.Event {
		case engine.EventPaused:
			add("paused at key " + e.Checkpoint)
			if live {
				ps.setMsg(msgInfo, "")
			}
		case engine.EventResumed:
			add(e.Message)
			if live {
				ps.setMsg(msgInfo, "")
			}
		}
	case engine.EventStep:
		add("sql: " + oneLine(e.SQL))
	case engine.EventNotice:
		add(e.Message)
		switch {
		case !live:
		case strings.HasPrefix(e.Message, "warning"):
			ps.setMsg(msgWarn, e.Message)
		default:
			ps.setMsg(msgInfo, e.Message)
		}
	case engine.EventPhaseStart:
		add("started")
	case engine.EventPhaseDone:
		add("done: " + e.Message)
	case engine.EventPhaseFailed:
		add("failed: " + firstLine(e.Error))
	case engine.EventGate:
		add("waiting for the confirmation")
	case engine.EventRollback:
		add("rolled back: " + e.Message)
	}
}

// failureOf reads what went wrong from an engine error.
func failureOf(err error) *failure {
	fl := &failure{err: err.Error()}
	var ve *engine.VerifyError
	var ie *engine.InterruptedError
	switch {
	case errors.As(err, &ve):
		fl.verify, fl.what, fl.count, fl.sample, fl.hint = true, ve.What, ve.Count, ve.Sample, ve.Hint
	case errors.As(err, &ie), errors.Is(err, context.Canceled):
		fl.stopped = true
	}
	return fl
}

func countText(n int64) string { return fmt.Sprint(n) }

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

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

// helpKeys are the keys that do something now, for the help bar.
func (ps planScreen) helpKeys() bindings {
	k := ps.keys
	if ps.confirm != nil {
		if ps.confirm.kind == confirmTyped {
			return bindings{short: []key.Binding{k.Submit, k.Cancel}}
		}
		return bindings{short: []key.Binding{with(k.Yes, "y", "yes", true), with(k.No, "n", "not now", true)}}
	}
	busy := ps.op != opNone
	next, more := ps.next()
	run := with(k.Run, "r", "run next", !ps.viewed || (!busy && more))
	switch {
	case !ps.viewed && !busy:
		run = with(k.Run, "r", "open again", true)
	case more && stopped(infoOf(ps.infos, next.ID)):
		run = with(k.Run, "r", "resume "+next.ID, !busy)
	case more && ps.status(next.ID) == phases.Failed:
		run = with(k.Run, "r", "retry "+next.ID, !busy)
	case more && (next.Gate || next.Confirm):
		run = with(k.Run, "r", "confirm "+next.ID, !busy)
	case more:
		run = with(k.Run, "r", "run "+next.ID, !busy)
	case !more:
		run.SetEnabled(false)
	}
	if busy {
		run.SetEnabled(false)
	}
	sel := ps.timeline.Selected()
	pauseText := "pause"
	if ps.pause != nil && ps.pause.Paused() {
		pauseText = "resume"
	}
	pause := with(k.Pause, "p", pauseText, ps.progressShown())
	// u is offered only where a rollback can happen: never past the point
	// of no return, never with nothing to undo.
	_, _, noRollback := ps.pb.RollbackTarget(progressOf(ps.infos))
	rollback := with(k.Rollback, "u", "roll back", !busy && ps.viewed && noRollback == nil)
	reverify := with(k.Reverify, "v", "re-verify", !busy && ps.viewed && ps.status(sel.ID) == phases.Done)
	quit := with(k.Quit, "q", "quit", true)
	if busy && ps.progressShown() {
		quit = with(k.Quit, "q", "stop & quit (keeps checkpoint)", true)
	}
	back := with(k.Back, "esc", "plans", !busy)
	refresh := with(k.Refresh, "R", "read again", !busy)
	move := with(k.Up, "↑↓", "phase", true)
	scroll := with(k.PageDown, "pgdn/pgup", "scroll", true)
	help := with(k.Help, "?", "more", true)
	return bindings{
		short: []key.Binding{run, pause, reverify, rollback, move, quit, help},
		full: [][]key.Binding{
			{run, with(k.Confirm, "c", "confirm the waiting gate", !busy && more && (next.Gate || next.Confirm)), pause},
			{reverify, rollback},
			{move, scroll, refresh, back},
			{quit, with(k.Help, "?", "fewer keys", true)},
		},
	}
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}
