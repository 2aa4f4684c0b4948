package tui

import (
	"fmt"
	"strings"

	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/fleet"
	"github.com/shepherd-db/shepherd/phases"
)

// fleetMatrix is the fleet screen's body: per plan, the targets (rows,
// under their group's heading) × the playbook's phases (columns), each cell
// the phase's state drawn as the timeline draws it, with how many targets
// are done, waiting, failed and running at each phase above the rows.
type fleetMatrix struct {
	styles   *Styles
	all      []fleet.TargetStatus
	plans    []fleetPlan
	rows     []fleetRow
	selected int
	width    int
	height   int
}

// fleetPlan is one plan some target records, as its first target records
// it.
type fleetPlan struct {
	name, about string
	pb          *phases.Playbook // nil for a playbook this shepherd does not know
	ids         []string
}

// fleetRow is one row the cursor can be on: a target under a plan (plan
// -1 when no target records any plan).
type fleetRow struct{ plan, target int }

func newFleetMatrix(s *Styles) fleetMatrix { return fleetMatrix{styles: s} }

func (m *fleetMatrix) SetSize(w, h int) { m.width, m.height = w, h }

// Set shows a new read of the fleet, keeping the selected row (by plan and
// target name) where it still is.
func (m *fleetMatrix) Set(all []fleet.TargetStatus) {
	plan, target := m.selectedNames()
	m.all = all
	m.plans = nil
	seen := map[string]bool{}
	for _, t := range all {
		for _, p := range t.Plans {
			if seen[p.Name] {
				continue
			}
			seen[p.Name] = true
			fp := fleetPlan{name: p.Name, about: p.Playbook + " on " + p.Table, pb: phases.Playbooks()[p.Playbook]}
			for _, ph := range p.Phases {
				fp.ids = append(fp.ids, ph.ID)
			}
			m.plans = append(m.plans, fp)
		}
	}
	m.rows = nil
	if len(m.plans) == 0 {
		for i := range all {
			m.rows = append(m.rows, fleetRow{-1, i})
		}
	}
	for p := range m.plans {
		for i := range all {
			m.rows = append(m.rows, fleetRow{p, i})
		}
	}
	m.selected = 0
	for i, r := range m.rows {
		if m.planName(r.plan) == plan && all[r.target].Target.Name == target {
			m.selected = i
		}
	}
}

func (m fleetMatrix) planName(p int) string {
	if p < 0 {
		return ""
	}
	return m.plans[p].name
}

func (m fleetMatrix) selectedNames() (plan, target string) {
	if m.selected >= len(m.rows) {
		return "", ""
	}
	r := m.rows[m.selected]
	return m.planName(r.plan), m.all[r.target].Target.Name
}

func (m *fleetMatrix) Move(delta int) {
	m.selected = max(0, min(len(m.rows)-1, m.selected+delta))
}

// Selected is the selected row's target and plan name ("" for none).
func (m fleetMatrix) Selected() (fleet.TargetStatus, string, bool) {
	if m.selected >= len(m.rows) {
		return fleet.TargetStatus{}, "", false
	}
	r := m.rows[m.selected]
	return m.all[r.target], m.planName(r.plan), true
}

// counted are the states the matrix counts per phase, in order.
var counted = []phases.Status{phases.Done, phases.Waiting, phases.Failed, phases.Running}

func (m fleetMatrix) View() string {
	s := m.styles
	if len(m.all) == 0 {
		return s.Dim.Render("the fleet file selects no target")
	}
	labelW := 12
	for _, t := range m.all {
		labelW = max(labelW, widthOf(t.Target.Name)+4)
	}
	labelW = min(labelW, max(m.width/3, 12))
	var lines []string
	cursorLine := 0
	if len(m.plans) == 0 {
		lines = append(lines, s.Title.Render(truncate(fmt.Sprintf("No plan has run on the fleet's %d targets", len(m.all)), m.width)))
	}
	row := 0
	for p := range max(len(m.plans), 1) {
		var fp fleetPlan
		var colW int
		if len(m.plans) == 0 {
			p = -1
		} else {
			fp = m.plans[p]
			if p > 0 {
				lines = append(lines, "")
			}
			lines = append(lines, truncate(s.Title.Render(fp.name)+s.Dim.Render(" · "+fp.about), m.width))
			colW = m.columnWidth(fp, labelW)
			lines = append(lines, m.heading(fp, labelW, colW))
			lines = append(lines, m.counts(p, labelW, colW)...)
		}
		group := "\x00"
		for i, t := range m.all {
			if g := t.Target.Group; g != group && m.grouped() {
				group = g
				name := g
				if g == "" {
					name = "no group"
				}
				lines = append(lines, " "+s.Label.Render(truncate(name, m.width-1)))
			}
			line := m.targetLine(fp, p, i, row == m.selected, labelW, colW)
			if row == m.selected {
				cursorLine = len(lines)
			}
			lines = append(lines, line)
			row++
		}
	}
	lines = append(lines, "")
	for _, l := range wrap(legend, m.width) {
		lines = append(lines, s.Dim.Render(l))
	}
	// Scroll so that the selected row shows, with its plan's title when
	// there is room.
	top := 0
	if len(lines) > m.height && m.height > 0 {
		top = min(max(cursorLine-m.height/2, 0), len(lines)-m.height)
	}
	return fit(strings.Join(lines[top:], "\n"), m.width, m.height)
}

const legend = "✓ done  ▶ running  ◆ waiting for the deploy  ⊘ waiting for you  ✗ failed  ⏸ stopped  ↺ rolled back  ○ ◇ pending  - not started"

// grouped reports whether any target has a group: only then do the rows
// get headings.
func (m fleetMatrix) grouped() bool {
	for _, t := range m.all {
		if t.Target.Group != "" {
			return true
		}
	}
	return false
}

// columnWidth shares the room right of the labels among the phases: the
// longest id when it fits, else as much as there is (2 cells at least).
func (m fleetMatrix) columnWidth(fp fleetPlan, labelW int) int {
	longest := 0
	for _, id := range fp.ids {
		longest = max(longest, widthOf(id))
	}
	n := max(len(fp.ids), 1)
	return max(min(longest+2, (m.width-labelW)/n), 2)
}

func (m fleetMatrix) heading(fp fleetPlan, labelW, colW int) string {
	s := m.styles
	var b strings.Builder
	b.WriteString(s.Label.Render(pad("target", labelW)))
	for _, id := range fp.ids {
		b.WriteString(s.Label.Render(pad(abbreviate(id, colW-1), colW)))
	}
	return b.String()
}

// counts are the lines "✓ done  3  1 …": how many targets are in each
// counted state at each phase.
func (m fleetMatrix) counts(p, labelW, colW int) []string {
	s := m.styles
	fp := m.plans[p]
	var out []string
	for _, st := range counted {
		lk := look(s, phases.Phase{}, st)
		word := lk.word
		if st == phases.Waiting {
			word = "waiting"
		}
		var b strings.Builder
		b.WriteString(lk.style.Render(lk.icon+" "+word) + strings.Repeat(" ", max(labelW-2-widthOf(word), 1)))
		for _, id := range fp.ids {
			n := 0
			for _, t := range m.all {
				if ps, ok := planOf(t, fp.name); ok && phaseOf(ps, id).Status == st {
					n++
				}
			}
			cell := s.Dim.Render(pad("·", colW))
			if n > 0 {
				cell = lk.style.Render(pad(fmt.Sprint(n), colW))
			}
			b.WriteString(cell)
		}
		out = append(out, b.String())
	}
	return out
}

// targetLine is one target's row under plan p: its name and one cell a
// phase, or why its state could not be read.
func (m fleetMatrix) targetLine(fp fleetPlan, p, i int, selected bool, labelW, colW int) string {
	s := m.styles
	t := m.all[i]
	cursor := "  "
	name := s.Text.Render(pad(truncate(t.Target.Name, labelW-3), labelW-2))
	if selected {
		cursor = s.Cursor.Render("›") + " "
		name = s.Selected.Render(pad(truncate(t.Target.Name, labelW-3), labelW-2))
	}
	line := cursor + name
	switch {
	case t.Err != nil:
		return line + s.Failed.Render(truncate("✗ state not read", m.width-labelW))
	case p < 0:
		return line + s.Dim.Render(truncate("no plan recorded", m.width-labelW))
	}
	ps, ok := planOf(t, fp.name)
	for _, id := range fp.ids {
		if !ok {
			line += s.Dim.Render(pad("-", colW))
			continue
		}
		lk := cellLook(s, fp, ps, id)
		line += lk.style.Render(lk.icon) + strings.Repeat(" ", colW-1)
	}
	return line
}

// cellLook is how a target's phase is drawn, as the timeline draws it: a
// phase recorded running with no live runner (or interrupted) is stopped.
func cellLook(s *Styles, fp fleetPlan, ps engine.PlanStatus, id string) phaseLook {
	st := phaseOf(ps, id)
	ph := phases.Phase{ID: id}
	if fp.pb != nil {
		if def, ok := fp.pb.Phase(id); ok {
			ph = def
		}
	}
	info := engine.PhaseInfo{ID: id, Status: st.Status, Detail: st.Detail}
	if st.Status == phases.Running {
		info.Runner = ps.Runner
	}
	return lookOf(s, ph, info)
}

func planOf(t fleet.TargetStatus, name string) (engine.PlanStatus, bool) {
	for _, p := range t.Plans {
		if p.Name == name {
			return p, true
		}
	}
	return engine.PlanStatus{}, false
}

// phaseOf is a phase's recorded state; one the target does not record is
// pending.
func phaseOf(ps engine.PlanStatus, id string) engine.PhaseStatus {
	for _, ph := range ps.Phases {
		if ph.ID == id {
			return ph
		}
	}
	return engine.PhaseStatus{ID: id, Status: phases.Pending}
}

// pad fills s with spaces to width cells.
func pad(s string, width int) string {
	return s + strings.Repeat(" ", max(width-widthOf(s), 0))
}

// abbreviate shortens a phase id to width cells, keeping a little of each
// of its words: "switch-writes" in 7 is "swi-wri", in 3 "sw".
func abbreviate(id string, width int) string {
	if widthOf(id) <= width {
		return id
	}
	parts := strings.Split(id, "-")
	for k := width; k >= 1; k-- {
		cut := make([]string, len(parts))
		for i, p := range parts {
			cut[i] = p
			if r := []rune(p); len(r) > k {
				cut[i] = string(r[:k])
			}
		}
		if a := strings.Join(cut, "-"); widthOf(a) <= width {
			return a
		}
		if k == 1 {
			if a := strings.Join(cut, ""); widthOf(a) <= width {
				return a
			}
		}
	}
	return string([]rune(id)[:max(width, 0)])
}
