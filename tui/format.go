package tui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/phases"
)

// now is the clock; tests set it.
var now = time.Now

// clock shows when something happened: the time alone today, the date too
// on another day.
func clock(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.Local()
	now := now()
	if t.Year() == now.Year() && t.YearDay() == now.YearDay() {
		return t.Format("15:04:05")
	}
	return t.Format("Jan 2 15:04")
}

// wrap breaks text into lines of at most width cells.
func wrap(text string, width int) []string {
	if width < 1 {
		width = 1
	}
	return strings.Split(ansi.Wrap(text, width, " ,;/-"), "\n")
}

// fit cuts or pads every line of s to exactly width cells and s to exactly
// height lines, so that panes joined side by side line up.
func fit(s string, width, height int) string {
	lines := strings.Split(s, "\n")
	if height >= 0 {
		if len(lines) > height {
			lines = lines[:height]
		}
		for len(lines) < height {
			lines = append(lines, "")
		}
	}
	for i, l := range lines {
		if w := ansi.StringWidth(l); w > width {
			lines[i] = ansi.Truncate(l, width, "…")
		} else if w < width {
			lines[i] = l + strings.Repeat(" ", width-w)
		}
	}
	return strings.Join(lines, "\n")
}

// truncate cuts one line to width cells.
func truncate(s string, width int) string {
	return ansi.Truncate(s, max(width, 0), "…")
}

// phaseLook is how a phase's state is drawn: a symbol, a word and a style.
// The symbol and the word say it all without colour.
type phaseLook struct {
	icon  string
	word  string
	style lipgloss.Style
}

func look(s *Styles, ph phases.Phase, st phases.Status) phaseLook {
	switch st {
	case phases.Done:
		return phaseLook{"✓", "done", s.Done}
	case phases.Running:
		return phaseLook{"▶", "running", s.Running}
	case phases.Waiting:
		if ph.Confirm {
			return phaseLook{"⊘", "waiting for you", s.Waiting}
		}
		return phaseLook{"◆", "waiting for the deploy", s.Waiting}
	case phases.Failed:
		return phaseLook{"✗", "failed", s.Failed}
	case phases.RolledBack:
		return phaseLook{"↺", "rolled back", s.Rolled}
	case statusUnknown:
		return phaseLook{"?", "unknown", s.Dim}
	}
	switch {
	case ph.Confirm && ph.Undo == phases.UndoNever:
		// A step, not a gate: the one that cannot be undone.
		return phaseLook{"⊘", "step · no return", s.Pending}
	case ph.Confirm:
		// A step you confirm that its rollback can undo (an archived drop).
		return phaseLook{"◈", "step · you confirm", s.Pending}
	case ph.Gate:
		return phaseLook{"◇", "gate · pending", s.Pending}
	}
	return phaseLook{"○", "pending", s.Pending}
}

// stopped reports whether a phase stopped before it finished (quit, Ctrl-C,
// a signal; or recorded as running while its runner is gone): it keeps its
// checkpoint and a run resumes it.
func stopped(info engine.PhaseInfo) bool {
	return info.Stopped()
}

// elsewhere reports whether a live runner other than this screen's session
// runs the phase now (its lock's holder, as the engine read it).
func elsewhere(info engine.PhaseInfo) bool {
	return info.Status == phases.Running && info.Runner != nil && info.Runner.Alive
}

// runnerText names a runner: who, which process, where.
func runnerText(r *engine.Runner) string {
	return fmt.Sprintf("%s, pid %d on host %s", r.Holder, r.PID, r.Host)
}

// lookOf is look for a recorded phase: an interrupted one reads as stopped.
func lookOf(s *Styles, ph phases.Phase, info engine.PhaseInfo) phaseLook {
	if stopped(info) {
		return phaseLook{"⏸", "stopped", s.Waiting}
	}
	return look(s, ph, info.Status)
}

// infoOf finds a phase's recorded state in a snapshot; a phase missing
// from it (no session yet) is pending.
func infoOf(infos []engine.PhaseInfo, id string) engine.PhaseInfo {
	for _, in := range infos {
		if in.ID == id {
			return in
		}
	}
	return engine.PhaseInfo{ID: id, Status: phases.Pending}
}

// progressOf turns a snapshot into the state machine's view of it (a
// failure that changed nothing is not in force).
func progressOf(infos []engine.PhaseInfo) phases.Progress {
	p := phases.Progress{}
	for _, in := range infos {
		p[in.ID] = phases.Effective(in.Status, in.TookEffect)
	}
	return p
}

// batched reports whether a phase walks the table in batches, so that it
// shows a progress bar and can be paused.
func batched(plan *phases.Plan, id string) bool {
	pb := plan.PlaybookDef()
	if pb == nil {
		return false
	}
	ph, ok := pb.Phase(id)
	return ok && ph.Batched(plan)
}

// watched reports whether the database reports a phase's progress while it
// runs (an index build), so that it shows a progress bar too.
func watched(plan *phases.Plan, id string) bool {
	pb := plan.PlaybookDef()
	if pb == nil {
		return false
	}
	ph, ok := pb.Phase(id)
	return ok && ph.Watched
}

// firstLine is the first line of a text.
func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// widthOf is how many cells a styled string takes.
func widthOf(s string) int { return ansi.StringWidth(s) }

// labelledLines lays out lines beside a label column labelW wide: the label,
// in the Label style, beside the first line, the others indented under it.
// The phase detail and a finding's detail share this layout.
func labelledLines(s *Styles, labelW int, label string, lines []string, style lipgloss.Style) []string {
	out := make([]string, len(lines))
	for i, line := range lines {
		l := strings.Repeat(" ", labelW)
		if i == 0 {
			l = s.Label.Render(fmt.Sprintf("%-*s", labelW, label))
		}
		out[i] = l + style.Render(line)
	}
	return out
}

// indentedLines lays out lines under the label column, with no label.
func indentedLines(labelW int, lines []string, style lipgloss.Style) []string {
	out := make([]string, len(lines))
	for i, line := range lines {
		out[i] = strings.Repeat(" ", labelW) + style.Render(line)
	}
	return out
}

// codeLines keeps each line of code (SQL, YAML), wrapping the long ones.
func codeLines(text string, width int) []string {
	var out []string
	for _, raw := range strings.Split(text, "\n") {
		out = append(out, wrap(raw, width)...)
	}
	return out
}
