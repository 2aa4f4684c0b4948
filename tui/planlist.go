package tui

import (
	"context"
	"fmt"
	"strings"

	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/phases"
)

// planItem is one plan of the list: from a plan file, from the database's
// state, or both.
type planItem struct {
	name     string
	playbook string
	table    string
	file     string       // "" when the database knows the plan but no file here does
	plan     *phases.Plan // nil when the file is missing or invalid
	loadErr  error
	status   *engine.PlanStatus // nil when the plan has not started in this database
}

// loadPlans reads the plan files and the database's recorded plans. It
// waits on the database: it runs only inside a tea.Cmd.
func loadPlans(ctx context.Context, eng Engine, files []string) plansLoadedMsg {
	var items []planItem
	byName := map[string]int{}
	for _, f := range files {
		p, err := phases.Load(f)
		it := planItem{file: f, plan: p, loadErr: err, name: f}
		if p != nil {
			it.name, it.playbook, it.table = p.Name, p.Playbook, p.Table
			if _, dup := byName[p.Name]; dup {
				continue // the same plan twice (./plans and the run's file)
			}
			byName[p.Name] = len(items)
		}
		items = append(items, it)
	}
	all, err := eng.Status(ctx)
	for i := range all {
		st := all[i]
		if j, ok := byName[st.Name]; ok {
			items[j].status = &st
			continue
		}
		items = append(items, planItem{name: st.Name, playbook: st.Playbook, table: st.Table, status: &st})
	}
	return plansLoadedMsg{items: items, err: err}
}

// planList is the first screen of `shepherd demo`, `shepherd status` and
// `shepherd --db DSN`: every plan with where it stands.
type planList struct {
	styles   *Styles
	items    []planItem
	selected int
	offset   int // the first item on screen, when they do not all fit
	loading  bool
	err      error
	msg      string
	sources  string // where the plans come from, for the title
	width    int
	height   int
}

func newPlanList(s *Styles, sources string) planList {
	return planList{styles: s, loading: true, sources: sources}
}

func (l *planList) SetSize(w, h int) {
	l.width, l.height = w, h
	l.offset, _, _ = l.window()
}

func (l *planList) Loaded(m plansLoadedMsg) {
	l.loading = false
	l.items, l.err = m.items, m.err
	l.selected = max(0, min(l.selected, len(l.items)-1))
	l.offset, _, _ = l.window()
}

func (l *planList) Move(d int) {
	l.selected = max(0, min(len(l.items)-1, l.selected+d))
	l.msg = "" // it spoke of the plan selected before
	l.offset, _, _ = l.window()
}

// Selected is the selected plan, if any.
func (l planList) Selected() (planItem, bool) {
	if l.selected < len(l.items) {
		return l.items[l.selected], true
	}
	return planItem{}, false
}

// SelectName selects a plan by name.
func (l *planList) SelectName(name string) {
	for i, it := range l.items {
		if it.name == name {
			l.selected = i
		}
	}
	l.offset, _, _ = l.window()
}

// window is the items on screen, from and to (exclusive), and whether the
// list is cut: the selected item is always among them, and the lines under
// the list (the selected plan's file, errors, the message) always have
// their room. Each item takes two lines; a cut list says how many items are
// above and below, on a line each.
func (l planList) window() (from, to int, cut bool) {
	n := len(l.items)
	rows := l.height - 2 - len(l.footer())
	if n*2 <= rows || n == 0 {
		return 0, n, false
	}
	per := max((rows-2)/2, 1)
	from = min(l.offset, l.selected)
	if l.selected >= from+per {
		from = l.selected - per + 1
	}
	from = max(0, min(from, n-per))
	return from, min(n, from+per), true
}

// footer is the lines under the list: the selected plan's file, why the
// database's plans cannot be read, the message.
func (l planList) footer() []string {
	s := l.styles
	var lines []string
	if it, ok := l.Selected(); ok {
		lines = append(lines, "")
		switch {
		case it.file != "":
			lines = append(lines, s.Dim.Render(truncate("file: "+it.file, l.width)))
		default:
			lines = append(lines, s.Dim.Render(truncate("no plan file for it here: open it with shepherd run FILE", l.width)))
		}
	}
	if l.err != nil {
		lines = append(lines, "")
		for _, w := range wrap("cannot read the database's plans: "+l.err.Error(), l.width) {
			lines = append(lines, s.Error.Render(w))
		}
	}
	if l.msg != "" {
		lines = append(lines, "")
		for _, w := range wrap(l.msg, l.width) {
			lines = append(lines, s.Warn.Render(w))
		}
	}
	return lines
}

func (l planList) View() string {
	s := l.styles
	lines := []string{s.Title.Render("Plans") + s.Dim.Render("  "+l.sources), ""}
	switch {
	case l.loading && len(l.items) == 0:
		lines = append(lines, s.Dim.Render("reading the plans and the database…"))
	case len(l.items) == 0:
		lines = append(lines, s.Dim.Render("no plan here: put plan files in ./plans, or run shepherd demo"))
	}
	nameW := 10
	for _, it := range l.items {
		nameW = max(nameW, len(it.name))
	}
	nameW = min(nameW, max(l.width/2-4, 10))
	from, to, cut := l.window()
	if cut && from > 0 {
		lines = append(lines, s.Dim.Render(fmt.Sprintf("  ↑ %d more above", from)))
	}
	for i := from; i < to; i++ {
		it := l.items[i]
		cursor, name := "  ", s.Text.Render(fmt.Sprintf("%-*s", nameW, truncate(it.name, nameW)))
		if i == l.selected {
			cursor = s.Cursor.Render("›") + " "
			name = s.Selected.Render(fmt.Sprintf("%-*s", nameW, truncate(it.name, nameW)))
		}
		what := ""
		if it.playbook != "" {
			what = it.playbook + " on " + it.table
		}
		lines = append(lines, cursor+name+"  "+s.Dim.Render(truncate(what, l.width-nameW-4)))
		lines = append(lines, "    "+truncateStyled(l.summary(it), l.width-4))
	}
	if cut && to < len(l.items) {
		lines = append(lines, s.Dim.Render(fmt.Sprintf("  ↓ %d more below", len(l.items)-to)))
	}
	// The footer keeps its room: what is above it is cut to fit.
	foot := l.footer()
	if room := max(l.height-len(foot), 0); len(lines) > room {
		lines = lines[:room]
	}
	return fit(strings.Join(append(lines, foot...), "\n"), l.width, l.height)
}

// summary says in one line where a plan stands, with a symbol per phase.
func (l planList) summary(it planItem) string {
	s := l.styles
	if it.loadErr != nil {
		return s.Failed.Render("✗ invalid plan file: ") + s.Dim.Render(firstLine(it.loadErr.Error()))
	}
	var pb *phases.Playbook
	if it.plan != nil {
		pb = it.plan.PlaybookDef()
	} else if p, ok := phases.Playbooks()[it.playbook]; ok {
		pb = p
	}
	if pb == nil {
		return s.Dim.Render("unknown playbook")
	}
	prog := phases.Progress{}
	if it.status != nil {
		for _, ph := range it.status.Phases {
			prog[ph.ID] = ph.Status
		}
	}
	var icons []string
	doneN := 0
	for _, ph := range pb.Phases {
		st := prog.Of(ph.ID)
		lk := look(s, ph, st)
		if it.status != nil {
			for _, rec := range it.status.Phases {
				if rec.ID == ph.ID {
					lk = lookOf(s, ph, engine.PhaseInfo{Status: rec.Status, Detail: rec.Detail})
				}
			}
		}
		icons = append(icons, lk.style.Render(lk.icon))
		if st == phases.Done {
			doneN++
		}
	}
	strip := strings.Join(icons, "")
	var say string
	next, more := pb.Next(prog)
	switch {
	case it.status == nil:
		say = s.Dim.Render("not started in this database")
	case !more:
		say = s.Done.Render(fmt.Sprintf("all %d phases done", len(pb.Phases)))
	case recordOf(it.status, next.ID).Stopped(it.status.Runner):
		say = s.Waiting.Render(next.ID+" stopped at its checkpoint") + s.Dim.Render(fmt.Sprintf(" · %d of %d done", doneN, len(pb.Phases)))
	case prog.Of(next.ID) == phases.Failed:
		say = s.Failed.Render(next.ID+" failed") + s.Dim.Render(fmt.Sprintf(" · %d of %d done", doneN, len(pb.Phases)))
	case prog.Of(next.ID) == phases.Running:
		say = s.Running.Render(next.ID+" running") + s.Dim.Render(fmt.Sprintf(" · %d of %d done", doneN, len(pb.Phases)))
	case prog.Of(next.ID) == phases.Waiting:
		say = s.Waiting.Render("waiting at "+next.ID) + s.Dim.Render(fmt.Sprintf(" · %d of %d done", doneN, len(pb.Phases)))
	default:
		say = s.Dim.Render(fmt.Sprintf("%d of %d done · next: %s", doneN, len(pb.Phases), next.ID))
	}
	if it.file == "" && it.plan == nil {
		say += s.Dim.Render(" · in the database only")
	}
	return strip + "  " + say
}

// truncateStyled cuts a styled line to width cells.
func truncateStyled(s string, width int) string { return truncate(s, width) }

// recordOf is a phase as status read it; pending when it is not recorded.
func recordOf(st *engine.PlanStatus, id string) engine.PhaseStatus {
	if st != nil {
		for _, ph := range st.Phases {
			if ph.ID == id {
				return ph
			}
		}
	}
	return engine.PhaseStatus{ID: id, Status: phases.Pending}
}
