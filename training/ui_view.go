package training

import (
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/shepherd-db/shepherd/phases"
)

// ---------- the view ----------
//
// Every screen is drawn to the window's size, which can change at any time:
// each line fits the width (wrapped, or cut with an ellipsis), the key line
// is always the last line, and what does not fit gives way in a fixed order.
// A window too small for the screen says so instead of drawing half of it.

// minWidth is the narrowest window the screens are drawn in.
const minWidth = 40

// minLog is the fewest log lines the lesson screen keeps.
const minLog = 3

func (m *uiModel) View() tea.View {
	var lines []string
	var ok bool
	height := m.height
	var errLines []string
	if m.err != nil {
		errLines = append(styleLines(m.styles.Error, wrapText("error: "+m.err.Error(), m.textWidth(), 0, 2, 3)), m.styles.Dim.Render("press any key"))
		height -= len(errLines)
	}
	switch m.screen {
	case menuScreen:
		lines, ok = m.menuView(height)
	case lessonScreen:
		lines, ok = m.lessonView(height)
	case scoreScreen:
		lines, ok = m.scoreView(height)
	}
	if m.width < minWidth || !ok {
		lines, errLines = m.tooSmall(), nil
	}
	if len(errLines) > 0 {
		// Above the key line.
		lines = append(append(lines[:len(lines)-1:len(lines)-1], errLines...), lines[len(lines)-1])
	}
	v := tea.NewView(strings.Join(lines, "\n"))
	v.AltScreen = true
	return v
}

// textWidth is the width a line may use: one column is left free, so that
// no terminal wraps a full line.
func (m *uiModel) textWidth() int { return max(1, m.width-1) }

// fit cuts a line, styled or not, to the width, with an ellipsis where it
// is cut.
func (m *uiModel) fit(s string) string { return ansi.Truncate(s, m.textWidth(), "…") }

// tooSmall says the window is too small, and how big it must be.
func (m *uiModel) tooSmall() []string {
	need := fmt.Sprintf("The window is too small: this screen needs at least %d columns and %d lines, and the window is %d×%d. Make it bigger, or press q to quit.",
		minWidth, m.minHeight(), m.width, m.height)
	lines := styleLines(m.styles.Warn, wrapText(need, max(10, m.textWidth()), 0, 0, 0))
	if len(lines) > m.height {
		lines = lines[:max(1, m.height)]
	}
	return lines
}

// minHeight is the least height the current screen is drawn in.
func (m *uiModel) minHeight() int {
	switch m.screen {
	case lessonScreen:
		// The lesson screen's most compact layout at this width: the
		// title, the menu as running text, the fleet and status lines, a
		// few log lines and the key line.
		w := max(minWidth, m.width) - 1
		return 1 + len(m.actionFlow(w)) + len(m.fleetLines(w)) + 1 + minLog + 1
	case scoreScreen:
		return 6
	}
	return 1 + len(m.lessons) + 1 + 1
}

// wrapText wraps plain text to width w: the first line indented by indent
// spaces, the others by hang. maxLines > 0 keeps that many lines, the last
// ending in an ellipsis when text was left out. A word longer than a line is
// cut across lines.
func wrapText(s string, w, indent, hang, maxLines int) []string {
	var out []string
	line, lead := "", indent
	flush := func() {
		out = append(out, strings.Repeat(" ", lead)+line)
		line, lead = "", hang
	}
	for _, word := range strings.Fields(s) {
		for word != "" {
			room := max(1, w-lead)
			sep := ""
			if line != "" {
				sep = " "
			}
			if ansi.StringWidth(line+sep+word) <= room {
				line += sep + word
				word = ""
				continue
			}
			if line != "" {
				flush()
				continue
			}
			// A word longer than the line.
			line = ansi.Truncate(word, room, "")
			word = word[len(line):]
			flush()
		}
	}
	if line != "" || len(out) == 0 {
		flush()
	}
	if maxLines > 0 && len(out) > maxLines {
		out = out[:maxLines]
		last := out[maxLines-1]
		if ansi.StringWidth(last)+1 > w {
			last = ansi.Truncate(last, w-1, "")
		}
		out[maxLines-1] = last + "…"
	}
	return out
}

// tone is the part a log line plays; it is drawn in the TUI's style for
// that part, looked up when drawn, so that the log follows the styles when
// the terminal says its background.
type tone int

const (
	plainTone  tone = iota
	dimTone         // the lesson's intro, SQL
	okTone          // a step that failed nothing
	badTone         // an incident, a failure
	warnTone        // a refusal, its rule, a note
	headerTone      // a step's heading
)

func (m *uiModel) style(t tone) lipgloss.Style {
	switch t {
	case dimTone:
		return m.styles.Dim
	case okTone:
		return m.styles.OK
	case badTone:
		return m.styles.Error
	case warnTone:
		return m.styles.Warn
	case headerTone:
		return m.styles.Header
	}
	return m.styles.Text
}

func styleLines(st lipgloss.Style, lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = st.Render(l)
	}
	return out
}

// ---------- the lesson picker ----------

func (m *uiModel) menuView(height int) ([]string, bool) {
	title := m.fit(m.styles.Title.Render("shepherd train") + m.styles.Dim.Render(" — learn safe schema changes by breaking a simulated app"))
	var lessons []string
	for i, l := range m.lessons {
		line := fmt.Sprintf("  %-19s %s", l.Name, l.Title)
		if i == m.cursor {
			line = m.styles.Selected.Render(fmt.Sprintf("▸ %-19s %s", l.Name, l.Title))
		}
		lessons = append(lessons, m.fit(line))
	}
	l := m.lessons[m.cursor]
	mk := m.keys.menu
	keys := keyLine(mk.choose, mk.start, mk.quit)
	if m.busy {
		keys = "making the sandbox… · " + keys
	}
	footer := m.styles.Dim.Render(m.fit(keys))
	// The seed's heading, not its steps: they are the safe order, which
	// the trainee sees in the score and in incidents, after acting.
	seed := m.styles.Dim.Render(m.fit("from the seed's " + l.Seed))
	room := height - 1 - len(lessons) - 1 // under the title and the lessons, above the key line
	if room < 1 {
		return nil, false
	}
	intro := wrapText(l.Intro, m.textWidth(), 0, 0, 0)
	var lines []string
	switch {
	case room >= 1+1+len(intro)+1+1:
		lines = append(append(append([]string{title, ""}, lessons...), ""), intro...)
		lines = append(lines, "", seed)
	case room >= 1+len(intro):
		lines = append(append(append([]string{title}, lessons...), ""), intro...)
	default:
		lines = append(append([]string{title}, lessons...), wrapText(l.Intro, m.textWidth(), 0, 0, room)...)
	}
	for len(lines) < height-1 {
		lines = append(lines, "")
	}
	return append(lines, footer), true
}

// ---------- the lesson ----------

// actionColumns lays the actions out a column per kind, numbered in menu
// order, with the kind above each column; nil when they do not fit in w.
func (m *uiModel) actionColumns(w int) []string {
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
func (m *uiModel) actionFlow(w int) []string {
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
func (m *uiModel) actionCell(i int, text string) string {
	if i == m.act {
		return m.styles.Selected.Render("▸ " + text)
	}
	return "  " + text
}

func (m *uiModel) lessonView(height int) ([]string, bool) {
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

// fleetLines say what each replica runs, in two lines at most.
func (m *uiModel) fleetLines(w int) []string {
	return wrapText("fleet: "+strings.Join(m.res.Fleet, ", "), w, 0, 7, 2)
}

// wrapLog wraps a log line to the screen, continuation lines indented
// under the text; SQL is cut to one line, with an ellipsis.
func (m *uiModel) wrapLog(s string) []string {
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

// ---------- the score ----------

func (m *uiModel) scoreView(height int) ([]string, bool) {
	s := m.score
	w := m.textWidth()
	var body []string
	body = append(body, m.fit(m.styles.Title.Render("score: "+s.Lesson)), "")
	st := m.styles.OK
	if s.Incidents > 0 || !s.Complete {
		st = m.styles.Error
	}
	body = append(body, styleLines(st, wrapText(s.Verdict, w, 0, 0, 0))...)
	body = append(body, wrapText(fmt.Sprintf("%s · %d of %d requests failed · %s", plural(s.Incidents, "incident"), s.Failed, s.Requests, plural(s.Refused, "step")+" refused"), w, 0, 0, 0)...)
	body = append(body, "")
	for _, line := range SideBySide(s.Steps, s.Safe) {
		style := m.styles.Text
		if strings.Contains(line, "≠") {
			style = m.styles.Warn
		}
		body = append(body, m.fit(style.Render(line)))
	}
	body = append(body, "", "the safe order, from the seed's "+m.lesson.Seed+":")
	for i, rule := range m.lesson.Rules {
		body = append(body, styleLines(m.styles.Dim, wrapText(fmt.Sprintf("%d. %s", i+1, rule), w, 2, 5, 0))...)
	}
	if len(m.broke) > 0 {
		body = append(body, "", "what broke:")
		for _, inc := range m.broke {
			who := phases.WordList(inc.Replicas) + " running " + inc.Version
			body = append(body, styleLines(m.styles.Error, wrapText(fmt.Sprintf("step %d: %s, %s in the step, by %s", inc.Step, inc.Kind, plural(inc.Count, "hit"), who), w, 2, 4, 0))...)
			body = append(body, styleLines(m.styles.Dim, wrapText(fmt.Sprintf("%q", inc.Rule), w, 4, 4, 0))...)
		}
	}
	room := height - 1
	if room < 5 {
		return nil, false
	}
	m.page = room
	m.scroll = min(m.scroll, max(0, len(body)-room))
	body = body[m.scroll:]
	sk := m.keys.score
	keys := keyLine(sk.lessons, sk.quit)
	if len(body) > room {
		body = body[:room]
		keys = keyLine(sk.forward, sk.lessons, sk.quit)
	}
	if m.scroll > 0 {
		keys = keyLine(sk.back) + " · " + keys
	}
	for len(body) < room {
		body = append(body, "")
	}
	return append(body, m.styles.Dim.Render(m.fit(keys))), true
}
