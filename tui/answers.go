package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/phases"
)

// The answers of the engine calls and the engine's events, as the plan
// screen takes them.

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
		if info := infoOf(ps.infos, next.ID); stopped(info) {
			ps.setMsg(msgWarn, "⏸ "+next.ID+" stopped "+stoppedText(info, nil, false))
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
			ps.setMsg(msgWarn, "⏸ "+m.id+" stopped "+stoppedText(infoOf(ps.infos, m.id), fl, false))
		case fl.verify:
			ps.setMsg(msgErr, fmt.Sprintf("✗ %s: verification failed: %s, keys %s · r retries", m.id, rowsText(fl.count), sampleText(fl)))
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
		ps.setMsg(msgOK, "↺ "+m.phase.ID+" rolled back: "+infoOf(ps.infos, m.phase.ID).Detail)
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
			if e.By != "" {
				// `shepherd pause` from anywhere: who paused it, and how
				// it goes on, in the message line too.
				add("paused at key " + e.Checkpoint + " by " + e.By)
				if live {
					ps.setMsg(msgInfo, e.Message)
				}
				break
			}
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
		case e.Level == engine.LevelWarning:
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
	case errors.As(err, &ie):
		fl.stopped, fl.checkpoint = true, ie.Checkpoint
	case errors.Is(err, context.Canceled):
		fl.stopped = true
	}
	return fl
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
