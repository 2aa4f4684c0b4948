package tui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/viewport"
	"charm.land/lipgloss/v2"

	"github.com/shepherd-db/shepherd/printer"
	"github.com/shepherd-db/shepherd/review"
)

// reviewDetail is one finding in full, as the plan screen explains a phase:
// the statement, what is unsafe and what it costs on the target, why (the
// guide's rule it breaks), what the rehearsal saw, the safe sequence and
// the plan that carries it. It scrolls.
type reviewDetail struct {
	styles *Styles
	vp     viewport.Model
	width  int
	height int
}

func newReviewDetail(s *Styles) reviewDetail {
	vp := viewport.New()
	vp.SoftWrap = false
	return reviewDetail{styles: s, vp: vp}
}

func (d *reviewDetail) SetSize(w, h int) {
	d.width, d.height = w, h
	d.vp.SetWidth(w)
	d.vp.SetHeight(max(h-1, 1)) // the last line says whether there is more
}

// Show renders a finding into the pane, from its top; of says which of
// the findings it is (3 of 8).
func (d *reviewDetail) Show(it reviewItem, where, of string) {
	d.vp.SetContent(renderFinding(d.styles, d.width, it, where, of))
	d.vp.GotoTop()
}

func (d *reviewDetail) LineUp()   { d.vp.ScrollUp(1) }
func (d *reviewDetail) LineDown() { d.vp.ScrollDown(1) }
func (d *reviewDetail) PageUp()   { d.vp.HalfPageUp() }
func (d *reviewDetail) PageDown() { d.vp.HalfPageDown() }

func (d reviewDetail) View() string {
	return fit(d.vp.View()+"\n"+scrollFooter(d.styles, d.vp, "↑/pgup", "↓/pgdn", "↑↓/pgup/pgdn"), d.width, d.height)
}

// renderFinding lays out a finding as labelled sections.
func renderFinding(s *Styles, width int, it reviewItem, where, of string) string {
	const labelW = 11
	textW := max(width-labelW, 10)
	f := it.f
	var out []string
	section := func(label, text string, style lipgloss.Style) {
		if text != "" {
			out = append(out, labelledLines(s, labelW, label, wrap(text, textW), style)...)
		}
	}
	code := func(label, text string, style lipgloss.Style) {
		out = append(out, labelledLines(s, labelW, label, codeLines(strings.TrimRight(text, "\n"), textW), style)...)
	}

	head := s.Title.Render(where) + s.Dim.Render(" · "+f.Check+" on "+f.Table+" · "+of)
	out = append(out, truncate(head, width), "")
	code("Statement", strings.TrimSpace(f.Statement), s.SQL)
	section("Unsafe", f.Problem, s.Warn)
	section("Why", f.Why, s.Text)
	if f.Rule != "" {
		section("Rule", fmt.Sprintf("%q (%s)", f.Rule, review.GuideName), s.Text)
	}
	section("Seen", seen(f), s.Lock)
	section("Target", onTarget(f), s.Text)
	out = append(out, "")
	section("Safe", f.Safe, s.OK)
	section("Playbook", f.Playbook, s.Text)
	if it.plan == nil {
		section("Plan", "no playbook carries this change: make it by hand, in the safe sequence above", s.Dim)
	} else {
		code("Plan", string(it.plan), s.SQL)
		section("", "--write-plans DIR writes it; shepherd plan FILE then shows its phases", s.Dim)
	}
	return strings.Join(out, "\n")
}

// seen is what the rehearsal saw the statement do on the scratch database.
func seen(f review.Finding) string {
	var parts []string
	if f.Lock != "" {
		parts = append(parts, "took "+f.Lock+" on "+f.Table) // the lock as the dialect names it: ACCESS EXCLUSIVE, LOCK=SHARED, SQLite's write lock
	}
	if f.Rewrite {
		parts = append(parts, "rewrote the table")
	}
	if f.Scan {
		parts = append(parts, "read every row")
	}
	if len(parts) == 0 {
		return ""
	}
	return strings.Join(parts, " · ") + " (on the scratch database)"
}

// onTarget is the size of the finding's table on the target, which is what
// the lock costs there.
func onTarget(f review.Finding) string {
	switch {
	case f.Table == "":
		return ""
	case !f.OnTarget:
		return "the target has no table " + f.Table + " yet"
	case f.Rows < 0:
		return f.Table + " was never counted on the target: run ANALYZE there for its size"
	case f.Rows == 1:
		return f.Table + " has about 1 row (the target's estimate)"
	}
	return fmt.Sprintf("%s has about %s rows (the target's estimate)", f.Table, printer.Count(f.Rows))
}
