package training

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/shepherd-db/shepherd/phases"
)

// lessonModel is a lesson under way: its actions beside the fleet and what
// it hits, tick by tick. It never touches the sandbox itself: every call
// into the Run is a command, one at a time, and the view draws only the
// snapshots those commands return.
type lessonModel struct {
	*shared
	run       *Run
	lesson    *Lesson
	act       int
	busy      bool
	current   string // the action running
	res       StepResult
	log       []logLine
	incidents int
	tick      int
	total     stats
	broke     []Incident // every incident of the lesson, with its final count
	scroll    int        // log lines scrolled back from the newest
	page      int        // the lines the log had on screen last time
	shown     [3]int     // the step's messages, SQL and notices already shown
	refused   int        // steps refused so far
}

// logLine is a line of the lesson's log, drawn in its tone's style.
type logLine struct {
	text string
	tone tone
}

// The lesson's messages: a step begun, the clock's tick, the tick's
// snapshot, the step's end.
type (
	begunMsg struct {
		res StepResult
		err error
	}
	tickMsg   struct{}
	tickedMsg struct {
		res   StepResult
		fresh []Incident
		done  bool
	}
	endedMsg struct {
		res       StepResult
		incidents []Incident
	}
)

func newLessonModel(sh *shared, l *Lesson, r *Run) lessonModel {
	m := lessonModel{shared: sh, run: r, lesson: l, res: StepResult{Fleet: r.Fleet()}}
	m.add(dimTone, l.Intro)
	return m
}

// update answers the lesson's messages.
func (m *lessonModel) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case begunMsg:
		// (An error is the parent's to show: it never comes here.)
		m.res = msg.res
		m.stepHeader(msg.res)
		return tea.Tick(m.tickEvery, func(time.Time) tea.Msg { return tickMsg{} })
	case tickMsg:
		r, ctx := m.run, m.ctx
		return m.sandboxes.call(r, func() tea.Msg {
			var msg tickedMsg
			for _, inc := range r.Tick(ctx) {
				msg.fresh = append(msg.fresh, *inc)
			}
			msg.res, _ = r.Current()
			msg.done = r.StepDone()
			return msg
		})
	case tickedMsg:
		m.res = msg.res
		m.tick++
		m.more(msg.res)
		for _, inc := range msg.fresh {
			// As it happened, without a count: the step's count comes
			// at its end.
			m.incidents++
			m.add(badTone, fmt.Sprintf("  ✗ %s, first hit at tick %d: %s", inc.Kind, inc.Tick, inc.first))
			m.add(warnTone, fmt.Sprintf("    rule: %q", inc.Rule))
		}
		if !msg.done {
			return tea.Tick(m.tickEvery, func(time.Time) tea.Msg { return tickMsg{} })
		}
		r, ctx := m.run, m.ctx
		return m.sandboxes.call(r, func() tea.Msg {
			msg := endedMsg{res: r.End(ctx)}
			_, incs := r.Current()
			for _, inc := range incs {
				msg.incidents = append(msg.incidents, *inc)
			}
			return msg
		})
	case endedMsg:
		m.busy = false
		// An incident is shown when it is first hit; at the step's end,
		// its count: every count is per step.
		for _, inc := range msg.incidents {
			m.add(badTone, fmt.Sprintf("  ✗ %s in this step: %s, by %s running %s: %s", inc.Kind, plural(inc.Count, "hit"), phases.WordList(inc.Replicas), inc.Version, inc.Error))
		}
		m.stepFooter(msg.res)
		// The safe order, after a step that broke something or was
		// refused: only ever after the trainee has acted, and last, so
		// that it is on screen when the step ends.
		if len(msg.incidents) > 0 || msg.res.Refused {
			m.add(warnTone, "  safe order: "+strings.Join(m.lesson.Safe, " → "))
		}
		m.broke = append(m.broke, msg.incidents...)
	}
	return nil
}

func (m *lessonModel) key(k keyName) tea.Cmd {
	keys := m.keys.lesson
	switch {
	case key.Matches(k, keys.back):
		m.scroll += max(1, m.page/2)
		return nil
	case key.Matches(k, keys.forward):
		m.scroll = max(0, m.scroll-max(1, m.page/2))
		return nil
	case m.busy:
		// Only scrolling while a step runs.
		return nil
	}
	acts := m.lesson.Actions
	switch {
	case key.Matches(k, keys.score, keys.finish):
		return m.finish()
	case key.Matches(k, keys.lessons):
		return func() tea.Msg { return leftMsg{} }
	case key.Matches(k, keys.up):
		m.act = (m.act + len(acts) - 1) % len(acts)
	case key.Matches(k, keys.down):
		m.act = (m.act + 1) % len(acts)
	case key.Matches(k, keys.run):
		return m.begin(acts[m.act].Name)
	case key.Matches(k, keys.pick):
		if n := int(k[0] - '1'); n < len(acts) {
			m.act = n
			return m.begin(acts[n].Name)
		}
	}
	return nil
}

func (m *lessonModel) begin(name string) tea.Cmd {
	m.busy, m.current = true, name
	r, ctx := m.run, m.ctx
	return m.sandboxes.call(r, func() tea.Msg {
		err := r.Begin(ctx, name)
		res, _ := r.Current()
		return begunMsg{res, err}
	})
}

func (m *lessonModel) finish() tea.Cmd {
	m.busy = true
	r := m.run
	return m.sandboxes.call(r, func() tea.Msg { return scoredMsg{r.Score()} })
}

func (m *lessonModel) add(t tone, text string) {
	m.scroll = 0
	m.log = append(m.log, logLine{text, t})
	if len(m.log) > 400 {
		m.log = m.log[len(m.log)-400:]
	}
}

func (m *lessonModel) stepHeader(res StepResult) {
	m.shown = [3]int{}
	if res.Refused {
		m.refused++
	}
	m.add(headerTone, fmt.Sprintf("step %d: %s", res.N, res.Action))
	m.more(res)
	switch {
	case res.Refused:
		by := "refused by shepherd: "
		if res.RefusedBy == "database" {
			by = "refused by the database (the migration rolled back): "
		}
		m.add(warnTone, "  "+by+firstLine(res.Error))
		if res.Why != "" {
			m.add(warnTone, "    "+res.Why)
		}
		m.add(warnTone, fmt.Sprintf("    rule: %q", res.Rule))
	case !res.OK:
		m.add(badTone, "  failed: "+firstLine(res.Error))
	}
}

// more shows what the step said since the last look: messages, SQL and
// notices, in the order they came within each kind.
func (m *lessonModel) more(res StepResult) {
	for _, s := range res.Messages[min(m.shown[0], len(res.Messages)):] {
		m.add(plainTone, "  "+s)
	}
	for _, s := range res.SQL[min(m.shown[1], len(res.SQL)):] {
		m.add(dimTone, "  sql: "+s)
	}
	for _, n := range res.Notices[min(m.shown[2], len(res.Notices)):] {
		m.add(warnTone, "  note: "+n)
	}
	m.shown = [3]int{len(res.Messages), len(res.SQL), len(res.Notices)}
}

func (m *lessonModel) stepFooter(res StepResult) {
	m.res = res
	m.more(res)
	m.total.Requests += res.Traffic.Requests
	m.total.Failed += res.Traffic.Failed
	line := fmt.Sprintf("  %d requests, %d failed, %s", res.Traffic.Requests, res.Traffic.Failed, plural(res.Incidents, "incident"))
	if res.Incidents == 0 && res.Traffic.Failed == 0 {
		m.add(okTone, line)
	} else {
		m.add(badTone, line)
	}
}

// actionColumns lays the actions out a column per kind, numbered in menu
// order, with the kind above each column; nil when they do not fit in w.
func (m *lessonModel) actionColumns(w int) []string {
	type col struct {
		head  string
		cells []string
		width int
	}
	var cols []*col
	for _, kind := range kinds {
		c := &col{head: "  " + kind, width: ansi.StringWidth(kind) + 2}
		for i, a := range m.lesson.Actions {
			if a.Kind == kind {
				cell := fmt.Sprintf("%d %s", i+1, a.Name)
				c.width = max(c.width, ansi.StringWidth(cell)+2)
				c.cells = append(c.cells, m.actionCell(i, cell))
			}
		}
		if len(c.cells) > 0 {
			cols = append(cols, c)
		}
	}
	total, rows := 0, 0
	for _, c := range cols {
		total += c.width + 2
		rows = max(rows, len(c.cells))
	}
	if total-2 > w {
		return nil
	}
	pad := func(s string, n int) string { return s + strings.Repeat(" ", max(0, n-ansi.StringWidth(s))) }
	var head strings.Builder
	for _, c := range cols {
		head.WriteString(pad(m.styles.Dim.Render(c.head), c.width+2))
	}
	lines := []string{strings.TrimRight(head.String(), " ")}
	for r := 0; r < rows; r++ {
		var b strings.Builder
		for _, c := range cols {
			cell := ""
			if r < len(c.cells) {
				cell = c.cells[r]
			}
			b.WriteString(pad(cell, c.width+2))
		}
		lines = append(lines, strings.TrimRight(b.String(), " "))
	}
	return lines
}

// actionFlow lays the actions out as running text, kind by kind, wrapped to
// w: the compact menu for small windows.
func (m *lessonModel) actionFlow(w int) []string {
	var lines []string
	line, width := "", 0
	put := func(tok string, gap int) {
		tw := ansi.StringWidth(tok)
		if width > 0 && width+gap+tw > w {
			lines = append(lines, line)
			line, width = "", 0
		}
		if width > 0 {
			line += strings.Repeat(" ", gap)
			width += gap
		}
		line += ansi.Truncate(tok, w, "…")
		width += min(tw, w)
	}
	for _, kind := range kinds {
		first := true
		for i, a := range m.lesson.Actions {
			if a.Kind != kind {
				continue
			}
			cell := m.actionCell(i, fmt.Sprintf("%d %s", i+1, a.Name))
			if first {
				// The kind stays on the line of its first action.
				put(m.styles.Dim.Render(kind+":")+" "+cell, 2)
				first = false
				continue
			}
			// A space between cells: the cursor (▸) takes the place of
			// a cell's leading blanks, and must not touch the cell before.
			put(cell, 1)
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

// actionCell is one action in the menu: ▸ marks the one chosen.
func (m *lessonModel) actionCell(i int, text string) string {
	if i == m.act {
		return m.styles.Selected.Render("▸ " + text)
	}
	return "  " + text
}

func (m *lessonModel) view(height int) ([]string, bool) {
	l := m.lesson
	w := m.textWidth()
	title := m.fit(m.styles.Title.Render(l.Name + ": " + l.Title))
	fleet := m.fleetLines(w)
	status := fmt.Sprintf("tick %d · %d requests · %d failed · %s", m.tick, m.total.Requests+m.res.Traffic.Requests*boolInt(m.busy), m.total.Failed+m.res.Traffic.Failed*boolInt(m.busy), plural(m.incidents, "incident"))
	if m.refused > 0 {
		status += fmt.Sprintf(" · %d refused", m.refused)
	}
	if m.busy && m.current != "" {
		status += " · running " + m.current + "…"
	}
	st := m.styles.OK
	if m.incidents > 0 {
		st = m.styles.Error
	}
	does := l.Actions[m.act].Does
	columns, flow := m.actionColumns(w), m.actionFlow(w)

	// What gives way first when the window is short: the columns for the
	// compact menu, the action's second line, the rule under the status,
	// the action's description.
	type layout struct {
		menu    []string
		desc    int
		rule    bool
		wantLog int
	}
	layouts := []layout{{columns, 2, true, 10}, {flow, 2, true, 8}, {flow, 1, true, 6}, {flow, 1, false, minLog}, {flow, 0, false, minLog}}
	var top []string
	room := 0
	ok := false
	for _, lay := range layouts {
		if lay.menu == nil {
			continue
		}
		top = []string{title}
		top = append(top, lay.menu...)
		if lay.desc > 0 {
			top = append(top, styleLines(m.styles.Dim, wrapText(does, w, 0, 0, lay.desc))...)
		}
		top = append(top, fleet...)
		top = append(top, m.fit(st.Render(status)))
		if lay.rule {
			top = append(top, m.styles.Dim.Render(strings.Repeat("─", w)))
		}
		room = height - len(top) - 1
		if room >= lay.wantLog {
			ok = true
			break
		}
	}
	if !ok {
		return nil, false
	}

	var log []string
	for _, ll := range m.log {
		for _, w := range m.wrapLog(ll.text) {
			log = append(log, m.style(ll.tone).Render(w))
		}
	}
	m.page = room
	m.scroll = min(m.scroll, max(0, len(log)-room))
	if len(log) > room {
		end := len(log) - m.scroll
		log = log[end-room : end]
	}
	for len(log) < room {
		log = append(log, "")
	}

	lk := m.keys.lesson
	// The short line is for narrow windows: the keys, and what s does.
	keys, short := keyLine(lk.choose, lk.run, lk.scrolls, lk.score, lk.lessons), "↑↓ 1-9 enter · pgup pgdn · s score · esc"
	if m.scroll > 0 {
		more := fmt.Sprintf("%d newer lines below · ", m.scroll)
		keys, short = more+keys, more+short
	}
	if ansi.StringWidth(keys) > w {
		keys = short
	}
	lines := append(top, log...)
	return append(lines, m.styles.Dim.Render(m.fit(keys))), true
}

// minHeight is the lesson screen's most compact layout at this width: the
// title, the menu as running text, the fleet and status lines, a few log
// lines and the key line.
func (m *lessonModel) minHeight() int {
	w := max(minWidth, m.width) - 1
	return 1 + len(m.actionFlow(w)) + len(m.fleetLines(w)) + 1 + minLog + 1
}

// fleetLines say what each replica runs, in two lines at most.
func (m *lessonModel) fleetLines(w int) []string {
	return wrapText("fleet: "+strings.Join(m.res.Fleet, ", "), w, 0, 7, 2)
}

// wrapLog wraps a log line to the screen, continuation lines indented
// under the text; SQL is cut to one line, with an ellipsis.
func (m *lessonModel) wrapLog(s string) []string {
	body := strings.TrimLeft(s, " ")
	indent := len(s) - len(body)
	if strings.HasPrefix(body, "sql: ") {
		return []string{m.fit(s)}
	}
	hang := indent + 2
	if indent == 0 {
		hang = 0
	}
	return wrapText(body, m.textWidth(), indent, hang, 0)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
