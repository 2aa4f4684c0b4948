package training

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/term"
)

// The interactive form: a lesson menu, then the lesson's actions beside the
// fleet and what it hits, tick by tick, then the score. The model never
// touches the sandbox itself: every call into the Run is a command, one at a
// time, and the view draws only the snapshots those commands return.

// tickEvery paces the simulated clock on screen, so traffic can be watched.
// (Tests set the model's tickEvery to 0.)
const tickEvery = 150 * time.Millisecond

// Interactive opens the lesson menu, or the named lesson. When it ends it
// prints the last lesson's score to out.
func Interactive(ctx context.Context, lesson string, out io.Writer) error {
	if !term.IsTerminal(os.Stdin.Fd()) || !term.IsTerminal(os.Stdout.Fd()) {
		return &UsageError{Msg: "shepherd train needs a terminal; to script a lesson use --lesson NAME --steps a,b,c (see --list)"}
	}
	m := newUI(ctx)
	if lesson != "" {
		i := -1
		for k, l := range m.lessons {
			if l.Name == lesson {
				i = k
			}
		}
		if i < 0 {
			return &UsageError{Msg: fmt.Sprintf("no lesson %q; the lessons are: %s", lesson, strings.Join(LessonNames(), ", "))}
		}
		m.cursor = i
		m.autostart = true
	}
	final, err := tea.NewProgram(m, tea.WithContext(ctx)).Run()
	if fm, ok := final.(*uiModel); ok {
		if fm.run != nil {
			fm.run.Close()
		}
		if fm.score != nil {
			printText(out, *fm.score)
		}
	}
	return err
}

type screen int

const (
	menuScreen screen = iota
	lessonScreen
	scoreScreen
)

type logLine struct {
	text  string
	style lipgloss.Style
}

type uiModel struct {
	ctx       context.Context
	lessons   []*Lesson
	cursor    int
	autostart bool
	screen    screen
	width     int
	height    int
	tickEvery time.Duration

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
	score     *Score
	broke     []Incident // every incident of the lesson, with its final count
	scroll    int        // log lines scrolled back from the newest
	shown     [3]int     // the step's messages, SQL and notices already shown
	err       error
}

func newUI(ctx context.Context) *uiModel {
	return &uiModel{ctx: ctx, lessons: Lessons(), width: 100, height: 30, tickEvery: tickEvery}
}

// Messages from commands.
type (
	startedMsg struct {
		run *Run
		err error
	}
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
	scoredMsg struct{ score Score }
)

var (
	titleStyle  = lipgloss.NewStyle().Bold(true)
	dimStyle    = lipgloss.NewStyle().Faint(true)
	selStyle    = lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("12"))
	okStyle     = lipgloss.NewStyle().Foreground(lipgloss.Color("10"))
	badStyle    = lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("9"))
	warnStyle   = lipgloss.NewStyle().Foreground(lipgloss.Color("11"))
	plainStyle  = lipgloss.NewStyle()
	headerStyle = lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("14"))
)

func (m *uiModel) Init() tea.Cmd {
	if m.autostart {
		return m.startLesson()
	}
	return nil
}

func (m *uiModel) startLesson() tea.Cmd {
	l := m.lessons[m.cursor]
	m.busy, m.lesson = true, l
	ctx := m.ctx
	return func() tea.Msg {
		r, err := Start(ctx, l.Name, nil)
		return startedMsg{r, err}
	}
}

func (m *uiModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
	case tea.KeyPressMsg:
		return m.key(msg.String())
	case startedMsg:
		m.busy = false
		if msg.err != nil {
			m.err = msg.err
			return m, nil
		}
		m.run, m.screen, m.act, m.log, m.incidents, m.tick, m.total, m.score, m.broke = msg.run, lessonScreen, 0, nil, 0, 0, stats{}, nil, nil
		m.res = StepResult{Fleet: msg.run.Fleet()}
		m.add(dimStyle, m.lesson.Intro)
	case begunMsg:
		if msg.err != nil {
			m.busy = false
			m.err = msg.err
			return m, nil
		}
		m.res = msg.res
		m.stepHeader(msg.res)
		return m, tea.Tick(m.tickEvery, func(time.Time) tea.Msg { return tickMsg{} })
	case tickMsg:
		r, ctx := m.run, m.ctx
		return m, func() tea.Msg {
			var fresh []Incident
			for _, inc := range r.Tick(ctx) {
				fresh = append(fresh, *inc)
			}
			res, _ := r.Current()
			return tickedMsg{res: res, fresh: fresh, done: r.StepDone()}
		}
	case tickedMsg:
		m.res = msg.res
		m.tick++
		m.more(msg.res)
		for _, inc := range msg.fresh {
			m.incidents++
			m.add(badStyle, fmt.Sprintf("  ✗ %s: %s", inc.Kind, inc.Detail))
			m.add(warnStyle, fmt.Sprintf("    rule: %q", inc.Rule))
		}
		if !msg.done {
			return m, tea.Tick(m.tickEvery, func(time.Time) tea.Msg { return tickMsg{} })
		}
		r, ctx := m.run, m.ctx
		return m, func() tea.Msg {
			res := r.End(ctx)
			_, incs := r.Current()
			var copies []Incident
			for _, inc := range incs {
				copies = append(copies, *inc)
			}
			return endedMsg{res, copies}
		}
	case endedMsg:
		m.busy = false
		// An incident is shown when it is first hit; say how it ended.
		for _, inc := range msg.incidents {
			if inc.Count > 1 {
				m.add(badStyle, fmt.Sprintf("  ✗ %s ×%d in this step, by %s running %s", inc.Kind, inc.Count, joinNames(inc.Replicas), inc.Version))
			}
		}
		m.stepFooter(msg.res)
		m.broke = append(m.broke, msg.incidents...)
	case scoredMsg:
		m.busy = false
		s := msg.score
		m.score, m.screen = &s, scoreScreen
	}
	return m, nil
}

func (m *uiModel) key(k string) (tea.Model, tea.Cmd) {
	if k == "ctrl+c" {
		return m, tea.Quit
	}
	if m.err != nil {
		m.err = nil
		return m, nil
	}
	switch m.screen {
	case menuScreen:
		switch k {
		case "q", "esc":
			return m, tea.Quit
		case "up", "k":
			m.cursor = (m.cursor + len(m.lessons) - 1) % len(m.lessons)
		case "down", "j":
			m.cursor = (m.cursor + 1) % len(m.lessons)
		case "enter", "space":
			if !m.busy {
				return m, m.startLesson()
			}
		}
	case lessonScreen:
		switch {
		case k == "pgup" || k == "b":
			m.scroll += max(1, m.height/3)
			return m, nil
		case k == "pgdown" || k == "f":
			m.scroll = max(0, m.scroll-max(1, m.height/3))
			return m, nil
		case m.busy:
			return m, nil
		}
		acts := m.lesson.Actions
		switch k {
		case "q":
			return m, m.finish()
		case "esc":
			m.run.Close()
			m.run, m.screen = nil, menuScreen
		case "up", "k":
			m.act = (m.act + len(acts) - 1) % len(acts)
		case "down", "j":
			m.act = (m.act + 1) % len(acts)
		case "s":
			return m, m.finish()
		case "enter", "space":
			return m, m.begin(acts[m.act].Name)
		default:
			if n := int(k[0] - '1'); len(k) == 1 && n >= 0 && n < len(acts) {
				m.act = n
				return m, m.begin(acts[n].Name)
			}
		}
	case scoreScreen:
		switch k {
		case "q":
			return m, tea.Quit
		case "enter", "esc", "space":
			if m.run != nil {
				m.run.Close()
			}
			m.run, m.screen = nil, menuScreen
		}
	}
	return m, nil
}

func (m *uiModel) begin(name string) tea.Cmd {
	m.busy, m.current = true, name
	r, ctx := m.run, m.ctx
	return func() tea.Msg {
		err := r.Begin(ctx, name)
		res, _ := r.Current()
		return begunMsg{res, err}
	}
}

func (m *uiModel) finish() tea.Cmd {
	m.busy = true
	r := m.run
	return func() tea.Msg { return scoredMsg{r.Score()} }
}

func (m *uiModel) add(style lipgloss.Style, text string) {
	m.scroll = 0
	m.log = append(m.log, logLine{text, style})
	if len(m.log) > 400 {
		m.log = m.log[len(m.log)-400:]
	}
}

func (m *uiModel) stepHeader(res StepResult) {
	m.shown = [3]int{}
	m.add(headerStyle, fmt.Sprintf("step %d: %s", res.N, res.Action))
	m.more(res)
	switch {
	case res.Refused:
		by := "refused by shepherd: "
		if res.RefusedBy == "database" {
			by = "refused by the database (the migration rolled back): "
		}
		m.add(warnStyle, "  "+by+firstLine(res.Error))
		if res.Why != "" {
			m.add(warnStyle, "    "+res.Why)
		}
		m.add(warnStyle, fmt.Sprintf("    rule: %q", res.Rule))
	case !res.OK:
		m.add(badStyle, "  failed: "+firstLine(res.Error))
	}
}

// more shows what the step said since the last look: messages, SQL and
// notices, in the order they came within each kind.
func (m *uiModel) more(res StepResult) {
	for _, s := range res.Messages[min(m.shown[0], len(res.Messages)):] {
		m.add(plainStyle, "  "+s)
	}
	for _, s := range res.SQL[min(m.shown[1], len(res.SQL)):] {
		m.add(dimStyle, "  sql: "+s)
	}
	for _, n := range res.Notices[min(m.shown[2], len(res.Notices)):] {
		m.add(warnStyle, "  note: "+n)
	}
	m.shown = [3]int{len(res.Messages), len(res.SQL), len(res.Notices)}
}

func (m *uiModel) stepFooter(res StepResult) {
	m.res = res
	m.more(res)
	m.total.Requests += res.Traffic.Requests
	m.total.Failed += res.Traffic.Failed
	line := fmt.Sprintf("  %d requests, %d failed, %s", res.Traffic.Requests, res.Traffic.Failed, plural(res.Incidents, "incident"))
	if res.Incidents == 0 && res.Traffic.Failed == 0 {
		m.add(okStyle, line)
	} else {
		m.add(badStyle, line)
	}
}

func (m *uiModel) View() tea.View {
	var body string
	switch m.screen {
	case menuScreen:
		body = m.menuView()
	case lessonScreen:
		body = m.lessonView()
	case scoreScreen:
		body = m.scoreView()
	}
	if m.err != nil {
		body += "\n" + badStyle.Render(m.wrap("error: "+m.err.Error())) + "\n" + dimStyle.Render("press any key")
	}
	v := tea.NewView(body)
	v.AltScreen = true
	return v
}

func (m *uiModel) wrap(s string) string {
	return lipgloss.NewStyle().Width(max(20, m.width-1)).Render(s)
}

// wrapIndent wraps a log line to the screen, continuation lines indented
// under the text; SQL is cut to one line instead.
func (m *uiModel) wrapIndent(s string) []string {
	width := max(20, m.width-1)
	body := strings.TrimLeft(s, " ")
	indent := len(s) - len(body)
	if strings.HasPrefix(body, "sql: ") {
		return []string{m.cut(s)}
	}
	hang := indent + 2
	if indent == 0 {
		hang = 0
	}
	first := lipgloss.NewStyle().Width(width - indent).Render(body)
	parts := strings.Split(first, "\n")
	out := []string{strings.Repeat(" ", indent) + parts[0]}
	if len(parts) > 1 {
		rest := strings.Join(strings.Fields(strings.Join(parts[1:], " ")), " ")
		for _, w := range strings.Split(lipgloss.NewStyle().Width(width-hang).Render(rest), "\n") {
			out = append(out, strings.Repeat(" ", hang)+w)
		}
	}
	return out
}

func (m *uiModel) cut(s string) string {
	return lipgloss.NewStyle().MaxWidth(max(20, m.width-1)).Render(s)
}

func (m *uiModel) menuView() string {
	var b strings.Builder
	b.WriteString(titleStyle.Render("shepherd train") + dimStyle.Render(" — learn the safe order of schema changes by breaking a simulated app") + "\n\n")
	for i, l := range m.lessons {
		line := fmt.Sprintf("  %-20s %s", l.Name, l.Title)
		if i == m.cursor {
			line = selStyle.Render(fmt.Sprintf("▸ %-20s %s", l.Name, l.Title))
		}
		b.WriteString(m.cut(line) + "\n")
	}
	l := m.lessons[m.cursor]
	b.WriteString("\n" + m.wrap(l.Intro) + "\n\n")
	// The seed's heading, not its steps: they are the safe order, which
	// the trainee sees in the score and in incidents, after acting.
	b.WriteString(dimStyle.Render(m.wrap("from the seed's "+l.Seed)) + "\n\n")
	if m.busy {
		b.WriteString(dimStyle.Render("making the sandbox…") + "\n")
	}
	b.WriteString(dimStyle.Render("↑/↓ choose · enter start · q quit"))
	return b.String()
}

func (m *uiModel) lessonView() string {
	l := m.lesson
	var top []string
	top = append(top, m.cut(titleStyle.Render(l.Name+": "+l.Title)))
	top = append(top, m.cut(dimStyle.Render("seed: "+l.Seed)))
	for i, a := range l.Actions {
		line := fmt.Sprintf("  %d %s", i+1, a.Name)
		if i == m.act {
			line = selStyle.Render(fmt.Sprintf("▸ %d %s", i+1, a.Name))
		}
		top = append(top, line)
	}
	desc := m.wrap(dimStyle.Render(l.Actions[m.act].Does))
	top = append(top, strings.Split(desc, "\n")...)
	top = append(top, "")
	fleet := "fleet: " + strings.Join(m.res.Fleet, ", ")
	top = append(top, m.cut(fleet))
	status := fmt.Sprintf("tick %d · %d requests · %d failed · %s", m.tick, m.total.Requests+m.res.Traffic.Requests*boolInt(m.busy), m.total.Failed+m.res.Traffic.Failed*boolInt(m.busy), plural(m.incidents, "incident"))
	if m.busy && m.current != "" {
		status += " · running " + m.current + "…"
	}
	st := okStyle
	if m.incidents > 0 {
		st = badStyle
	}
	top = append(top, st.Render(status))
	top = append(top, dimStyle.Render(strings.Repeat("─", max(20, m.width-1))))

	keys := "↑↓/1-9 choose · enter run · pgup/pgdn scroll · s score · esc back"
	if m.scroll > 0 {
		keys = fmt.Sprintf("scrolled up %d lines · pgdn to follow · ", m.scroll) + keys
	}
	footer := dimStyle.Render(m.cut(keys))
	room := m.height - len(top) - 1
	var lines []string
	for _, ll := range m.log {
		for _, w := range m.wrapIndent(ll.text) {
			lines = append(lines, ll.style.Render(w))
		}
	}
	if room < 1 {
		room = 1
	}
	m.scroll = min(m.scroll, max(0, len(lines)-room))
	if len(lines) > room {
		end := len(lines) - m.scroll
		lines = lines[end-room : end]
	}
	for len(lines) < room {
		lines = append(lines, "")
	}
	return strings.Join(top, "\n") + "\n" + strings.Join(lines, "\n") + "\n" + footer
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (m *uiModel) scoreView() string {
	s := m.score
	var b strings.Builder
	b.WriteString(titleStyle.Render("score: "+s.Lesson) + "\n\n")
	st := okStyle
	if s.Incidents > 0 || !s.Complete {
		st = badStyle
	}
	b.WriteString(st.Render(m.wrap(s.Verdict)) + "\n")
	b.WriteString(fmt.Sprintf("%s · %d of %d requests failed · %d steps refused by shepherd\n\n", plural(s.Incidents, "incident"), s.Failed, s.Requests, s.Refused))
	for _, line := range SideBySide(s.Steps, s.Safe) {
		style := plainStyle
		if strings.Contains(line, "≠") {
			style = warnStyle
		}
		b.WriteString(style.Render(line) + "\n")
	}
	if len(m.broke) > 0 {
		b.WriteString("\nwhat broke:\n")
		for _, inc := range m.broke {
			count := ""
			if inc.Count > 1 {
				count = fmt.Sprintf(" ×%d", inc.Count)
			}
			who := joinNames(inc.Replicas) + " running " + inc.Version
			b.WriteString(badStyle.Render(m.cut(fmt.Sprintf("  step %d %s: %s%s", inc.Step, who, inc.Kind, count))) +
				m.cut(dimStyle.Render(fmt.Sprintf(" — %q", inc.Rule))) + "\n")
		}
	}
	b.WriteString("\n" + dimStyle.Render(m.wrap("the seed, "+m.lesson.Seed+": "+m.lesson.SafeOrder())) + "\n\n")
	b.WriteString(dimStyle.Render("enter back to the lessons · q quit"))
	return b.String()
}
