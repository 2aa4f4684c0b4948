package tui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/viewport"
	"charm.land/lipgloss/v2"

	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/phases"
	"github.com/shepherd-db/shepherd/printer"
)

// failure is what this session learned about a phase's failure, from the
// error the engine returned: for a failed verification, how many rows and
// which keys.
type failure struct {
	err     string
	what    string
	count   int64
	sample  []string
	hint    string
	verify  bool // a failed verification (not a refused statement)
	retry   bool // RunPhase again retries it
	stopped bool // interrupted by the operator: the checkpoint is kept
	// checkpoint is where an interrupted phase stopped, as the engine
	// says it ("id 8000"); "" when no batch committed.
	checkpoint string
}

// recheck is the answer of a re-verification.
type recheck struct {
	at     string
	detail string
	fail   *failure
}

// phaseFacts is everything the detail pane shows about one phase.
type phaseFacts struct {
	plan     *phases.Plan
	phase    phases.Phase
	info     engine.PhaseInfo
	preview  *engine.PhasePreview
	failure  *failure
	recheck  *recheck
	activity []string
	working  bool
	next     bool // the phase a run does next
	// used is the write verify-failure-path's proof had rejected, when
	// known: its statement replaces the preview's placeholder.
	used string
	// blocked says why the plan cannot be opened; info is then what
	// shepherd_state records (statusErr: not even that could be read).
	blocked   string
	statusErr error
	started   bool // shepherd_state records the plan
}

// detail is the right pane: what the selected phase does and why, its
// exact SQL and locks, how it is verified and rolled back, and what
// happened to it. It scrolls.
type detail struct {
	styles *Styles
	vp     viewport.Model
	width  int
	height int
	shown  string // the phase shown, to keep the scroll while it stays
}

func newDetail(s *Styles) detail {
	vp := viewport.New()
	vp.SoftWrap = false
	return detail{styles: s, vp: vp}
}

func (d *detail) SetSize(w, h int) {
	d.width, d.height = w, h
	d.vp.SetWidth(w)
	d.vp.SetHeight(max(h-1, 1)) // the last line says whether there is more
}

// Show renders a phase's facts into the pane, keeping the scroll position
// while the same phase stays shown.
func (d *detail) Show(f phaseFacts) {
	d.vp.SetContent(renderFacts(d.styles, d.width, f))
	if f.phase.ID != d.shown {
		d.vp.GotoTop()
		d.shown = f.phase.ID
	}
}

func (d *detail) PageDown() { d.vp.HalfPageDown() }
func (d *detail) PageUp()   { d.vp.HalfPageUp() }

func (d detail) View() string {
	return fit(d.vp.View()+"\n"+scrollFooter(d.styles, d.vp, "pgup", "pgdn", "pgup/pgdn"), d.width, d.height)
}

// scrollFooter says where a viewport is scrolled and which keys scroll it
// (up, down, and both together): nothing when all of it shows.
func scrollFooter(s *Styles, vp viewport.Model, up, down, both string) string {
	switch {
	case vp.TotalLineCount() <= vp.Height():
		return ""
	case vp.AtBottom():
		return s.Dim.Render("↑ more above (" + up + ")")
	case vp.AtTop():
		return s.Dim.Render("↓ more below (" + down + ")")
	default:
		return s.Dim.Render(fmt.Sprintf("↕ %d%% (%s)", int(vp.ScrollPercent()*100), both))
	}
}

// renderFacts lays out a phase's facts as labelled sections.
func renderFacts(s *Styles, width int, f phaseFacts) string {
	const labelW = 8
	textW := max(width-labelW, 10)
	var out []string
	section := func(label, text string, style lipgloss.Style) {
		if text != "" {
			out = append(out, labelledLines(s, labelW, label, wrap(text, textW), style)...)
		}
	}
	// code lays out SQL: each line kept, long ones wrapped, indented under
	// the label.
	code := func(label string, stmts []string, locks []string) {
		first := true
		for i, st := range stmts {
			lines := codeLines(strings.TrimSpace(st), textW)
			if first && len(lines) > 0 {
				out = append(out, labelledLines(s, labelW, label, lines, s.SQL)...)
				first = false
			} else {
				out = append(out, indentedLines(labelW, lines, s.SQL)...)
			}
			if i < len(locks) && locks[i] != "" {
				for _, line := range wrap("locks: "+locks[i], textW-2) {
					out = append(out, strings.Repeat(" ", labelW+2)+s.Lock.Render(line))
				}
			}
		}
	}

	p, ph, info := f.plan, f.phase, f.info
	lk := lookOf(s, ph, info)
	// stale: the engine is working on the phase now, and what the snapshot
	// says of its last run (when it finished, what it found, how it was
	// undone) is history until the run answers.
	stale := f.working && info.Status != phases.Running
	if f.working { // this screen's run: not a stopped one
		lk = look(s, ph, phases.Running)
	}
	if head := s.Title.Render(ph.ID) + "  " + lk.style.Render(lk.icon+" "+lk.word); widthOf(head) <= width {
		out = append(out, head)
	} else {
		out = append(out, s.Title.Render(ph.ID), lk.style.Render(lk.icon+" "+lk.word))
	}
	var when []string
	switch {
	case ph.Gate && ph.NoDeploy:
		when = append(when, "gate, for information: nothing to deploy")
	case ph.Gate:
		when = append(when, "gate: a deploy the database cannot see")
	case ph.Confirm && ph.Undo == phases.UndoNever:
		when = append(when, "a step you confirm: the point of no return")
	case ph.Confirm:
		when = append(when, "a step you confirm")
	}
	if stale {
		when = append(when, "running now")
	} else {
		if !info.StartedAt.IsZero() {
			when = append(when, "started "+clock(info.StartedAt))
		}
		if !info.FinishedAt.IsZero() && info.Status != phases.Running {
			when = append(when, "finished "+clock(info.FinishedAt))
		}
		if info.RunBy != "" {
			when = append(when, "by "+info.RunBy)
		}
	}
	if len(when) > 0 {
		for _, l := range wrap(strings.Join(when, " · "), width) {
			out = append(out, s.Dim.Render(l))
		}
	}
	out = append(out, "")

	if f.blocked != "" {
		section("Closed", f.blocked, s.Error)
		switch {
		case f.statusErr != nil:
			section("", "the recorded state could not be read either ("+f.statusErr.Error()+"): every phase shows as unknown", s.Warn)
		case !f.started:
			section("", "shepherd_state has no record of this plan: it has not started in this database. Nothing can run until the plan opens (r tries again)", s.Dim)
		default:
			section("", "the timeline shows the phases as shepherd_state records them; nothing can run until the plan opens (r tries again)", s.Dim)
		}
		out = append(out, "")
	}

	// What happened first: that is what the operator looks for.
	switch {
	case f.working:
	case stopped(info) || f.failure != nil && f.failure.stopped:
		section("Stopped", goneText(info)+stoppedText(info, f.failure, f.blocked != "")+".", s.Waiting)
		out = append(out, "")
	case elsewhere(info):
		section("Running", fmt.Sprintf("in another runner: %s, since %s; wait for it, or stop it", runnerText(info.Runner), clock(info.Runner.Since)), s.Running)
		out = append(out, "")
	case f.failure != nil || info.Status == phases.Failed:
		out = append(out, renderFailure(s, width, labelW, f)...)
		out = append(out, "")
		if batched(p, ph.ID) && info.Checkpoint != "" {
			section("Resume", fmt.Sprintf("checkpoint at key %s, %s rows done: a run goes on from there", info.Checkpoint, printer.Count(info.RowsDone)), s.Warn)
			out = append(out, "")
		}
	}
	if rc := f.recheck; rc != nil {
		if rc.fail != nil {
			section("Checked", "re-verified at "+rc.at+": FAILED, "+rc.fail.what, s.Error)
			if rc.fail.count > 0 {
				section("", fmt.Sprintf("%s %s; sample keys: %s", printer.Count(rc.fail.count), phases.Plural(int(min(rc.fail.count, 2)), "row", "rows"), sampleText(rc.fail)), s.Error)
			}
			section("", rc.fail.hint, s.Warn)
		} else {
			section("Checked", "re-verified at "+rc.at+": "+rc.detail, s.OK)
		}
		out = append(out, "")
	}
	if info.Status == phases.Done && info.Detail != "" && !stale {
		section("Result", info.Detail, s.OK)
		out = append(out, "")
	}
	if info.Status == phases.RolledBack && info.Detail != "" && !stale {
		section("Undone", info.Detail, s.Rolled)
		out = append(out, "")
	}

	section("Does", p.Expand(ph.Does), s.Text)
	section("Why", p.Expand(ph.Why), s.Text)
	if pv := f.preview; pv != nil {
		var stmts, locks []string
		guessed := false
		write, guess, proof := pv.ProofWrite()
		for i, st := range pv.Steps {
			sql := st.SQL
			if proof && i == write {
				switch {
				case f.used != "":
					sql = f.used
				case guess:
					guessed = true
				}
			}
			stmts = append(stmts, sql)
			locks = append(locks, st.Lock)
			for _, alt := range st.Else {
				stmts = append(stmts, alt.SQL)
				locks = append(locks, alt.When()+"; "+alt.Lock)
			}
		}
		if len(stmts) > 0 {
			out = append(out, "")
			code("SQL", stmts, locks)
			switch {
			case f.used != "":
				section("", "the write above is the one the database rejected when the proof last ran", s.Dim)
			case guessed:
				section("", "no value is given in the plan (constraint.violating): shepherd tries values that commonly break the check, and shows the one the database rejected once the proof has run", s.Dim)
			}
		}
	}
	out = append(out, "")
	section("Verify", p.Expand(ph.Verify), s.Text)
	if pv := f.preview; pv != nil {
		var checks []string
		for _, c := range pv.Checks {
			checks = append(checks, c.SQL)
		}
		if len(checks) > 0 {
			code("", checks, nil)
		}
	}
	out = append(out, "")
	section("Undo", p.Expand(ph.Revert), s.Text)
	if pv := f.preview; pv != nil && len(pv.Revert) > 0 {
		var stmts []string
		for _, st := range pv.Revert {
			stmts = append(stmts, st.SQL)
		}
		code("", stmts, nil)
	}
	if pv := f.preview; pv != nil && len(pv.Notes) > 0 {
		out = append(out, "")
		for i, n := range pv.Notes {
			label := ""
			if i == 0 {
				label = "Note"
			}
			section(label, keyNote(p, ph, n), s.Dim)
		}
	}
	if len(f.activity) > 0 {
		out = append(out, "", s.Title.Render("This session"))
		for _, a := range f.activity {
			for _, line := range wrap(a, width-2) {
				out = append(out, "  "+s.Dim.Render(line))
			}
		}
	}
	return strings.Join(out, "\n")
}

func renderFailure(s *Styles, width, labelW int, f phaseFacts) []string {
	var out []string
	textW := max(width-labelW, 10)
	add := func(label, text string, st lipgloss.Style) {
		out = append(out, labelledLines(s, labelW, label, wrap(text, textW), st)...)
	}
	fl := f.failure
	if fl == nil {
		// Failed in an earlier session: the state row keeps the message,
		// counts and keys included.
		add("Failed", f.info.Detail, s.Error)
		add("", "r runs it again", s.Dim)
		return out
	}
	switch {
	case fl.verify:
		add("Failed", "verification failed: "+fl.what, s.Error)
		if fl.count > 0 {
			add("Rows", printer.Count(fl.count), s.Error)
			add("Keys", sampleText(fl), s.Error)
		}
		add("Hint", fl.hint, s.Warn)
	default:
		add("Failed", fl.err, s.Error)
	}
	if fl.retry {
		add("", "r runs it again", s.Dim)
	}
	return out
}

// stoppedText says where an interrupted phase stopped and what a run does
// next, after the word "stopped", from its typed state: the recorded
// phase (stopped, its rows and checkpoint) and, when it was interrupted in
// this session, the engine's *InterruptedError. blocked: the plan cannot
// open, so r does not run it yet.
func stoppedText(info engine.PhaseInfo, fl *failure, blocked bool) string {
	var rows int64
	checkpoint := ""
	if stopped(info) {
		rows = info.RowsDone
		if info.Checkpoint != "" {
			checkpoint = "key " + info.Checkpoint
		}
	}
	if fl != nil && fl.stopped && fl.checkpoint != "" {
		checkpoint = fl.checkpoint // the engine's own words for it: "id 8000"
	}
	who := "r"
	if blocked {
		who = "a run"
	}
	text := printer.StoppedAt(rows, checkpoint) + ": " + printer.Resumes(rows, checkpoint, who)
	if blocked {
		text += " once the plan opens"
	}
	return text
}

// goneText says, for a phase recorded as running whose runner is gone
// (killed, crashed, cut off), that it stopped without recording it; "" for
// any other phase.
func goneText(info engine.PhaseInfo) string {
	switch {
	case info.Status != phases.Running:
		return ""
	case info.Runner != nil:
		return "its runner (" + runnerText(info.Runner) + ") is gone, and could not record that it stopped; it stopped "
	}
	return "no runner holds the plan's lock: it could not record that it stopped; it stopped "
}

func sampleText(fl *failure) string {
	if len(fl.sample) == 0 {
		return "(none shown)"
	}
	t := strings.Join(fl.sample, ", ")
	if int64(len(fl.sample)) < fl.count {
		t += ", …"
	}
	return t
}

// keyNote says a note for the TUI: where the engine's note says how a
// release job confirms (engine.NoteConfirm: with a flag), the TUI's keys
// confirm: a gate with c (or r), the point of no return by typing the
// table's name.
func keyNote(p *phases.Plan, ph phases.Phase, note engine.Note) string {
	with := "confirm it with c (or r) once the deploy is out"
	switch {
	case ph.NoDeploy:
		with = "confirm it with c (or r)"
	case ph.Confirm:
		with = "confirm it with r, typing " + p.Table
	}
	return note.ConfirmedBy(with)
}
