package tui

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/shepherd-db/shepherd/review"
)

// reviewItem is one finding of a review, with the plan that carries its
// change safely (nil when no playbook does), read once when the report
// arrives.
type reviewItem struct {
	f    review.Finding
	plan []byte
}

// itemsOf turns a report's findings into the list's items.
func itemsOf(rep *review.Report) []reviewItem {
	if rep == nil {
		return nil
	}
	items := make([]reviewItem, 0, len(rep.Findings))
	for i := range rep.Findings {
		items = append(items, reviewItem{f: rep.Findings[i], plan: rep.Findings[i].Plan()})
	}
	return items
}

// reviewList is the review's first screen: one line per finding, its file
// and line, its table and what is unsafe.
type reviewList struct {
	styles   *Styles
	items    []reviewItem
	root     string // the reviewed folder: file names are shown relative to it
	selected int
	offset   int
	width    int
	height   int
}

func newReviewList(s *Styles, root string) reviewList {
	return reviewList{styles: s, root: root}
}

func (l *reviewList) SetSize(w, h int) {
	l.width, l.height = w, h
	l.offset, _ = l.window()
}

func (l *reviewList) Set(items []reviewItem) {
	l.items = items
	l.selected = max(0, min(l.selected, len(items)-1))
	l.offset, _ = l.window()
}

func (l *reviewList) Move(d int) {
	l.selected = max(0, min(len(l.items)-1, l.selected+d))
	l.offset, _ = l.window()
}

// Selected is the selected finding, if any.
func (l reviewList) Selected() (reviewItem, bool) {
	if l.selected < len(l.items) {
		return l.items[l.selected], true
	}
	return reviewItem{}, false
}

// window is the findings on screen, from and to (exclusive): the selected
// one always among them, and the lines under the list (what the selected
// finding costs, its statement) always have their room. A cut list says how
// many are above and below, on a line each.
func (l reviewList) window() (from, to int) {
	n := len(l.items)
	rows := l.height - 2 - len(l.footer())
	if n <= rows || n == 0 {
		return 0, n
	}
	per := max(rows-2, 1)
	from = min(l.offset, l.selected)
	if l.selected >= from+per {
		from = l.selected - per + 1
	}
	from = max(0, min(from, n-per))
	return from, min(n, from+per)
}

// where is a finding's file and line, the file relative to the reviewed
// folder (its own name when one file was reviewed), in width cells at most:
// a long name is cut, never its line.
func (l reviewList) where(f review.Finding) string { return l.whereIn(f, 1<<30) }

func (l reviewList) whereIn(f review.Finding, width int) string {
	name := f.File
	if rel, err := filepath.Rel(l.root, f.File); err == nil && rel != "." && !strings.HasPrefix(rel, "..") {
		name = rel
	} else {
		name = filepath.Base(name)
	}
	line := fmt.Sprintf(":%d", f.Line)
	return truncate(name, max(width-widthOf(line), 1)) + line
}

// what says in a few words what the statement does to its table: the lock
// the rehearsal saw, and whether it rewrote or read every row.
func what(f review.Finding) string {
	if f.Lock == "" && !f.Rewrite && !f.Scan {
		return f.Problem // a finding on the file as a whole
	}
	var parts []string
	if f.Lock != "" {
		parts = append(parts, f.Lock)
	}
	switch {
	case f.Rewrite:
		parts = append(parts, "rewrites every row")
	case f.Scan:
		parts = append(parts, "reads every row")
	}
	return strings.Join(parts, " · ")
}

// footer is the lines under the list: what the selected finding costs on
// the target, and its statement.
func (l reviewList) footer() []string {
	it, ok := l.Selected()
	if !ok {
		return nil
	}
	s := l.styles
	lines := []string{""}
	for _, w := range wrap(it.f.Problem, l.width) {
		lines = append(lines, s.Warn.Render(w))
	}
	if st := strings.Join(strings.Fields(it.f.Statement), " "); st != "" {
		lines = append(lines, s.SQL.Render(truncate(st, l.width)))
	}
	return lines
}

func (l reviewList) View() string {
	s := l.styles
	title := s.Title.Render("Findings") + s.Dim.Render(fmt.Sprintf("  %d unsafe · enter explains one", len(l.items)))
	lines := []string{truncate(title, l.width), ""}
	whereW, tableW, checkW := 8, 5, 5
	for _, it := range l.items {
		whereW = max(whereW, widthOf(l.where(it.f)))
		tableW = max(tableW, widthOf(it.f.Table))
		checkW = max(checkW, widthOf(it.f.Check))
	}
	whereW, tableW = min(whereW, max(l.width*2/5, 12)), min(tableW, max(l.width/6, 8))
	checkW = min(checkW, max(l.width/4, 10))
	from, to := l.window()
	if from > 0 {
		lines = append(lines, s.Dim.Render(fmt.Sprintf("  ↑ %d more above", from)))
	}
	for i := from; i < to; i++ {
		f := l.items[i].f
		cursor, where := "  ", s.Text.Render(pad(l.whereIn(f, whereW), whereW))
		if i == l.selected {
			cursor = s.Cursor.Render("›") + " "
			where = s.Selected.Render(pad(l.whereIn(f, whereW), whereW))
		}
		table := s.Text.Render(pad(truncate(f.Table, tableW), tableW))
		check := s.Warn.Render(pad(truncate(f.Check, checkW), checkW))
		rest := max(l.width-whereW-tableW-checkW-8, 0)
		lines = append(lines, cursor+where+"  "+table+"  "+check+"  "+s.Dim.Render(truncate(what(f), rest)))
	}
	if to < len(l.items) {
		lines = append(lines, s.Dim.Render(fmt.Sprintf("  ↓ %d more below", len(l.items)-to)))
	}
	// The footer keeps its room: what is above it is cut to fit.
	foot := l.footer()
	if room := max(l.height-len(foot), 0); len(lines) > room {
		lines = lines[:room]
	}
	return fit(strings.Join(append(lines, foot...), "\n"), l.width, l.height)
}
