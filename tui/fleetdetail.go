package tui

import (
	"fmt"
	"strings"

	"github.com/shepherd-db/shepherd/fleet"
	"github.com/shepherd-db/shepherd/phases"
)

// fleetDetail is one target in full: its database (shortened, never its
// credentials), and every plan it records with each phase's state, when it
// got there and its detail (a failure's error).
type fleetDetail struct {
	styles *Styles
	t      fleet.TargetStatus
	plan   string // the plan the matrix row was under: shown first
	width  int
	height int
}

func newFleetDetail(s *Styles) fleetDetail { return fleetDetail{styles: s} }

func (d *fleetDetail) SetSize(w, h int) { d.width, d.height = w, h }

func (d *fleetDetail) Show(t fleet.TargetStatus, plan string) { d.t, d.plan = t, plan }

func (d fleetDetail) View() string {
	s := d.styles
	t := d.t
	head := s.Title.Render(t.Target.Name)
	if t.Target.Group != "" {
		head += s.Dim.Render(" · group " + t.Target.Group)
	}
	lines := []string{truncate(head+s.Dim.Render(" · "+t.Target.Short()), d.width)}
	if t.Err != nil {
		lines = append(lines, "", s.Failed.Render("✗ state not read"))
		why := strings.TrimPrefix(t.Err.Error(), t.Target.Name+": ")
		for _, l := range wrap(why, d.width-2) {
			lines = append(lines, "  "+s.Error.Render(l))
		}
		return fit(strings.Join(lines, "\n"), d.width, d.height)
	}
	if len(t.Plans) == 0 {
		lines = append(lines, "", s.Dim.Render("no plan recorded in this database"))
	}
	// The row's plan first, then the others as the database lists them.
	var plans []int
	for i, p := range t.Plans {
		if p.Name == d.plan {
			plans = append([]int{i}, plans...)
		} else {
			plans = append(plans, i)
		}
	}
	for _, i := range plans {
		p := t.Plans[i]
		fp := fleetPlan{name: p.Name, pb: phases.Playbooks()[p.Playbook]}
		lines = append(lines, "", truncate(s.Title.Render(p.Name)+s.Dim.Render(" · "+p.Playbook+" on "+p.Table), d.width))
		if r := p.Runner; r != nil {
			state := "held last by"
			if r.Alive {
				state = "runner:"
			}
			lines = append(lines, s.Dim.Render(truncate(state+" "+runnerText(r), d.width)))
		}
		idW := 0
		for _, ph := range p.Phases {
			idW = max(idW, widthOf(ph.ID))
		}
		for _, ph := range p.Phases {
			lk := cellLook(s, fp, p, ph.ID)
			when := ""
			switch {
			case ph.FinishedAt != nil && ph.Status != phases.Running:
				when = clock(*ph.FinishedAt)
			case ph.StartedAt != nil && ph.Status == phases.Running:
				when = "since " + clock(*ph.StartedAt)
			}
			if ph.RowsDone > 0 {
				when = strings.TrimPrefix(when+" · "+rowsText(ph.RowsDone), " · ")
			}
			line := "  " + lk.style.Render(lk.icon) + " " + s.Text.Render(pad(ph.ID, idW)) + "  " + lk.style.Render(lk.word)
			if when != "" {
				line += s.Dim.Render("  " + when)
			}
			lines = append(lines, truncate(line, d.width))
			if ph.Detail == "" {
				continue
			}
			style := s.Dim
			if ph.Status == phases.Failed {
				style = s.Error
			}
			for _, l := range wrap(ph.Detail, d.width-6) {
				lines = append(lines, "      "+style.Render(l))
			}
		}
	}
	return fit(strings.Join(lines, "\n"), d.width, d.height)
}

// rowsText is "1 row", "300 rows".
func rowsText(n int64) string {
	if n == 1 {
		return "1 row"
	}
	return fmt.Sprintf("%d rows", n)
}
