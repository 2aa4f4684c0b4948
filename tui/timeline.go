package tui

import (
	"fmt"
	"strings"

	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/phases"
)

// timeline is the left pane: every phase of the playbook in order, with its
// state and when it got there. The selected phase is the one the detail
// pane shows.
type timeline struct {
	styles   *Styles
	pb       *phases.Playbook
	infos    []engine.PhaseInfo
	selected int
	// working is the phase an engine call is working on now, and percent
	// how far a batched one is (negative when unknown).
	working string
	percent float64
	// recorded: the plan could not be opened, and the phases are what
	// shepherd_state records (or unknown).
	recorded bool
	width    int
	height   int
}

func newTimeline(s *Styles, pb *phases.Playbook) timeline {
	return timeline{styles: s, pb: pb, percent: -1}
}

func (t *timeline) SetSize(w, h int) { t.width, t.height = w, h }

func (t *timeline) SetPhases(infos []engine.PhaseInfo) { t.infos = infos }

// Select moves the selection to a phase by id.
func (t *timeline) Select(id string) {
	if i := t.pb.Index(id); i >= 0 {
		t.selected = i
	}
}

func (t *timeline) Move(delta int) {
	t.selected = max(0, min(len(t.pb.Phases)-1, t.selected+delta))
}

// Selected is the selected phase.
func (t timeline) Selected() phases.Phase { return t.pb.Phases[t.selected] }

func (t timeline) View() string {
	s := t.styles
	title := s.Title.Render("Phases")
	if t.recorded {
		title += s.Dim.Render(" · as recorded")
	}
	lines := []string{title}
	// Two lines a phase when they fit, else one.
	two := 1+2*len(t.pb.Phases) <= t.height
	for i, ph := range t.pb.Phases {
		info := infoOf(t.infos, ph.ID)
		st := info.Status
		if ph.ID == t.working && st != phases.Running {
			st = phases.Running // the engine is on it; the snapshot is older
		}
		lk := look(s, ph, st)
		if st == info.Status && ph.ID != t.working {
			lk = lookOf(s, ph, info)
		}
		when := ""
		switch st {
		case phases.Done, phases.Failed, phases.RolledBack:
			when = clock(info.FinishedAt)
		case phases.Running:
			// A phase run again (rolled back, failed) started now: the
			// snapshot's start is its last run's.
			if ph.ID == t.working && t.percent >= 0 {
				when = fmt.Sprintf("%.0f%%", t.percent*100)
			} else if info.Status == phases.Running && !info.StartedAt.IsZero() {
				when = "since " + clock(info.StartedAt)
			}
		}
		cursor := "  "
		var name string
		if i == t.selected {
			cursor = s.Cursor.Render("›") + " "
			name = s.Selected.Render(truncate(ph.ID, t.width-4))
		} else {
			name = s.Text.Render(truncate(ph.ID, t.width-4))
		}
		head := cursor + lk.style.Render(lk.icon) + " " + name
		status := strings.TrimSpace(lk.word + " " + when)
		if two {
			lines = append(lines, head, "    "+lk.style.Render(truncate(status, t.width-4)))
		} else {
			lines = append(lines, head)
		}
	}
	return fit(strings.Join(lines, "\n"), t.width, t.height)
}
