package tui

import (
	"context"
	"fmt"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/shepherd-db/shepherd/phases"
)

// The operator's actions on the plan screen: what r, c, u and v start. Each
// engine call is a command (see act); a question comes first where the
// database cannot see what is confirmed.

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
	if watched(ps.plan, id) {
		ps.progress.Watch(id)
	}
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
		if isProof(ps.plan, id) && err == nil {
			m.used = tap.last() // the proof stops at the write the database rejected
		}
		return m
	})
}

func (ps planScreen) askGate(ph phases.Phase) (planScreen, tea.Cmd) {
	p := ps.plan
	if ph.Confirm {
		title := ph.ID + ": the point of no return"
		if ph.Undo != phases.UndoNever {
			title = ph.ID + ": a drop that only its rollback can undo"
		}
		c := newConfirm(ps.styles, confirmTyped, ph.ID, title)
		c.width = min(ps.detail.width, maxDialogWidth)
		c.body = []string{p.Expand(ph.Does) + " " + p.Expand(ph.Why)}
		if w := ps.tooSoon(ph); w != "" {
			c.warn = w
		}
		c.ask = fmt.Sprintf("Type the table's name, %s, to drop %s.%s:", p.Table, p.Table, p.OldColumn())
		c.yesTo = "drop it"
		c, cmd := c.typed(p.Table)
		ps.confirm = &c
		ps.setMsg(msgInfo, "")
		return ps, cmd
	}
	c := newConfirm(ps.styles, confirmGate, ph.ID, "Gate: "+ph.ID)
	c.width = min(ps.detail.width, maxDialogWidth)
	c.body = []string{upperFirst(p.Expand(ph.Deploy())), "The database cannot see a deploy: shepherd takes your word for it."}
	if pv := ps.previews[ph.ID]; pv != nil && (len(pv.Steps) > 0 || len(pv.Checks) > 0) && !ph.VerifiedByWord() {
		c.body = append(c.body, "On yes, shepherd checks the data before it records the gate: "+lowerFirst(p.Expand(ph.Verify)))
	}
	c.ask = "Is this deploy out on every replica?"
	c.yesTo = "yes, it is out everywhere"
	if ph.NoDeploy {
		c.body = []string{upperFirst(p.Expand(ph.Does)), "Nothing needs deploying: confirming records the step in its place."}
		c.ask = "Record it?"
		c.yesTo = "yes, record it"
	}
	ps.confirm = &c
	ps.setMsg(msgInfo, "")
	return ps, nil
}

// tooSoon warns, by the rule the engine warns by (phases.TooSoon), when
// the point of no return follows stop-old-writes (ph.OneReleaseAfter)
// closely: the seed drops the old column one release later.
func (ps planScreen) tooSoon(ph phases.Phase) string {
	if ph.OneReleaseAfter == "" {
		return ""
	}
	in := infoOf(ps.infos, ph.OneReleaseAfter)
	if in.Status == phases.Done && phases.TooSoon(in.FinishedAt, now()) {
		ago := "moments"
		if d := now().Sub(in.FinishedAt).Round(time.Second); d > 0 {
			ago = d.String()
		}
		return fmt.Sprintf("%s was confirmed only %s ago. Drop the old column one release later: a replica still running the previous release may read or write %s.",
			ph.OneReleaseAfter, ago, ps.plan.OldColumn())
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
	if ph.Proof {
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
		fresh, err := reload(plan)
		if err != nil {
			return reverifiedMsg{id: id, err: err}
		}
		v, err := eng.Inspect(ctx, fresh, opts)
		if err != nil {
			return withPlan{plan: fresh, msg: reverifiedMsg{id: id, err: err}}
		}
		detail, err := v.Reverify(ctx, id)
		return withPlan{plan: fresh, msg: reverifiedMsg{id: id, detail: detail, err: err}}
	})
}
