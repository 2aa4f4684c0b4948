package tui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"

	"github.com/shepherd-db/shepherd/review"
)

// The review screen (`shepherd review PATH --db DSN` in a terminal): the
// rehearsal runs while a spinner turns, then the findings are listed, each
// opening its explanation and the plan that carries the change safely.
// Like the rest of the TUI it never touches a database itself: the
// rehearsal is a function the command hands it, run in a tea.Cmd.

// ReviewConfig says what the review screen rehearses and shows.
type ReviewConfig struct {
	// Path is the reviewed folder or file; findings' files are shown
	// relative to it.
	Path string
	// Target names the --db database for the header: never its
	// credentials.
	Target string
	// Rehearse runs the rehearsal (review.Rehearse with the command's
	// options and files). It is called once, inside a tea.Cmd.
	Rehearse func(ctx context.Context) (*review.Report, error)
	// Replayed and New count the migration files replayed before the new
	// ones and the new ones rehearsed, for the line shown meanwhile.
	Replayed, New int
	NoColor       bool
}

// reviewedMsg answers the rehearsal: its report (what was done so far, on
// an error) and the findings as the list shows them.
type reviewedMsg struct {
	rep   *review.Report
	items []reviewItem
	err   error
}

type reviewKeys struct {
	Up, Down, Open, Back, PageUp, PageDown, Help, Quit key.Binding
}

func newReviewKeys() reviewKeys {
	k := newKeyMap()
	return reviewKeys{
		Up: k.Up, Down: k.Down, Help: k.Help, Quit: k.Quit,
		Open:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "explain")),
		Back:     key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "findings")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "K"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "J", "space"), key.WithHelp("pgdn", "page down")),
	}
}

// ReviewModel is the review screen's root: the header, the rehearsal's
// progress, then the findings or one finding's detail, and the help bar.
type ReviewModel struct {
	cfg    ReviewConfig
	ctx    context.Context
	track  *tracker
	styles *Styles
	keys   reviewKeys
	help   help.Model
	spin   spinner.Model

	rehearsing bool
	started    time.Time
	rep        *review.Report
	err        error

	list       reviewList
	detail     reviewDetail
	showDetail bool

	width, height int
}

// NewReview builds the review screen; ctx bounds the rehearsal. Its Init
// starts the rehearsal.
func NewReview(ctx context.Context, cfg ReviewConfig) ReviewModel {
	s := NewStyles(true, cfg.NoColor)
	h := help.New()
	h.Styles = s.Help
	return ReviewModel{cfg: cfg, ctx: ctx, track: newTracker(), styles: s, keys: newReviewKeys(), help: h,
		spin:       spinner.New(spinner.WithSpinner(spinner.MiniDot)),
		rehearsing: true, started: now(),
		list: newReviewList(s, cfg.Path), detail: newReviewDetail(s)}
}

func (m ReviewModel) Init() tea.Cmd {
	return tea.Batch(tea.RequestBackgroundColor, m.rehearse(), m.spin.Tick)
}

// rehearse runs the rehearsal in a tea.Cmd, and reads each finding's plan
// there too.
func (m ReviewModel) rehearse() tea.Cmd {
	ctx, run := m.ctx, m.cfg.Rehearse
	return m.track.call(func() tea.Msg {
		rep, err := run(ctx)
		return reviewedMsg{rep: rep, items: itemsOf(rep), err: err}
	})
}

// Report is the rehearsal's report (nil before it answers) and its error.
func (m ReviewModel) Report() (*review.Report, error) { return m.rep, m.err }

func (m ReviewModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.resize()
	case tea.BackgroundColorMsg:
		*m.styles = *NewStyles(msg.IsDark(), m.cfg.NoColor)
		m.help.Styles = m.styles.Help
	case spinner.TickMsg:
		if !m.rehearsing {
			return m, nil
		}
		var cmd tea.Cmd
		m.spin, cmd = m.spin.Update(msg)
		return m, cmd
	case reviewedMsg:
		m.rehearsing = false
		m.rep, m.err = msg.rep, msg.err
		if msg.err == nil {
			m.list.Set(msg.items)
		}
		m.resize()
	case tea.KeyPressMsg:
		return m.key(msg)
	}
	return m, nil
}

func (m ReviewModel) key(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	k := m.keys
	switch {
	case key.Matches(msg, k.Quit):
		return m, tea.Quit
	case key.Matches(msg, k.Help):
		m.help.ShowAll = !m.help.ShowAll
	case m.showDetail:
		switch {
		case key.Matches(msg, k.Back):
			m.showDetail = false
		case key.Matches(msg, k.Up):
			m.detail.LineUp()
		case key.Matches(msg, k.Down):
			m.detail.LineDown()
		case key.Matches(msg, k.PageUp):
			m.detail.PageUp()
		case key.Matches(msg, k.PageDown):
			m.detail.PageDown()
		}
	case key.Matches(msg, k.Back):
		if !m.rehearsing {
			return m, tea.Quit // esc on the list leaves, as on the plan list
		}
	case key.Matches(msg, k.Up):
		m.list.Move(-1)
	case key.Matches(msg, k.Down):
		m.list.Move(1)
	case key.Matches(msg, k.Open):
		if it, ok := m.list.Selected(); ok {
			m.showDetail = true
			m.resize()
			m.detail.Show(it, m.list.where(it.f), fmt.Sprintf("%d of %d", m.list.selected+1, len(m.list.items)))
		}
	}
	m.resize()
	return m, nil
}

// resize gives the body what the header and the help leave.
func (m *ReviewModel) resize() {
	m.help.SetWidth(m.width)
	h := m.bodyHeight()
	m.list.SetSize(m.width, h)
	m.detail.SetSize(m.width, h)
}

func (m ReviewModel) bodyHeight() int {
	return max(m.height-2-strings.Count(m.status(), "\n")-1-(strings.Count(m.helpView(), "\n")+1), 1)
}

func (m ReviewModel) bindings() bindings {
	k := m.keys
	_, some := m.list.Selected()
	list := !m.rehearsing && !m.showDetail
	d := m.showDetail
	return bindings{
		short: []key.Binding{with(k.Open, "enter", "explain", list && some), with(k.Back, "esc", "findings", d),
			with(k.Up, "↑↓", "move", list && len(m.list.items) > 1), with(k.Up, "↑↓", "scroll", d),
			with(k.Quit, "q", "quit", true), with(k.Help, "?", "more", true)},
		full: [][]key.Binding{
			{with(k.Open, "enter", "explain the finding and show its plan", list && some), with(k.Back, "esc", "back to the findings", d),
				with(k.Up, "↑/k", "up", list && some), with(k.Down, "↓/j", "down", list && some),
				with(k.Up, "↑/k ↓/j", "scroll a line", d), with(k.PageDown, "pgup/pgdn", "scroll a page", d)},
			{with(k.Quit, "q", "quit", true), with(k.Help, "?", "fewer keys", true)},
		},
	}
}

func (m ReviewModel) helpView() string {
	return renderHelp(m.styles.Help, newKeyMap(), m.bindings(), m.help.ShowAll, m.width, max(m.height-3-8, 1))
}

// View draws the header, the status line, the body and the help bar, on
// the alternate screen.
func (m ReviewModel) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	v.WindowTitle = "shepherd · review " + m.cfg.Path
	return v
}

func (m ReviewModel) render() string {
	if m.width == 0 || m.height == 0 {
		return ""
	}
	s := m.styles
	if small, ok := tooSmall(s, m.width, m.height); ok {
		return small
	}
	var body string
	switch {
	case m.rehearsing:
		var lines []string
		if m.cfg.Replayed > 0 {
			replayed := fmt.Sprintf("The %d migration files before them are replayed there first.", m.cfg.Replayed)
			if m.cfg.Replayed == 1 {
				replayed = "The migration file before them is replayed there first."
			}
			lines = append(lines, replayed)
		}
		lines = append(lines, "The target database is only read, for its tables' sizes.", "The findings show here once the rehearsal ends.")
		for i, l := range lines {
			lines[i] = s.Dim.Render(strings.Join(wrap(l, m.width), "\n"))
		}
		body = strings.Join(lines, "\n")
	case m.err != nil:
		var lines []string
		for _, l := range wrap(m.err.Error(), m.width) {
			lines = append(lines, s.Error.Render(l))
		}
		lines = append(lines, "", s.Dim.Render("the scratch database is dropped all the same; the target was only read"))
		body = strings.Join(lines, "\n")
	case m.showDetail:
		body = m.detail.View()
	case len(m.list.items) == 0:
		body = s.Done.Render("✓ nothing unsafe") + s.Dim.Render(": every new statement was rehearsed, and none takes a lock, rewrites or scans a table in a way the guide warns of")
		body = strings.Join(wrap(body, m.width), "\n")
	default:
		body = m.list.View()
	}
	hv := m.helpView()
	parts := []string{fit(m.header(), m.width, 1), fit(m.status(), m.width, strings.Count(m.status(), "\n")+1), "",
		fit(body, m.width, m.bodyHeight()), fit(hv, m.width, strings.Count(hv, "\n")+1)}
	return strings.Join(parts, "\n")
}

// header: shepherd review, the path, and the target database (shortened).
func (m ReviewModel) header() string {
	s := m.styles
	left := s.Header.Render("shepherd") + s.Dim.Render(" review · ") + s.Text.Render(m.cfg.Path)
	right := m.cfg.Target
	if room := m.width - 2 - widthOf(right); widthOf(left) > room {
		left = truncate(left, room)
	}
	return left + strings.Repeat(" ", max(m.width-widthOf(left)-widthOf(right), 1)) + s.Dim.Render(right)
}

// status is the line under the header: the rehearsal under way, or what it
// did.
func (m ReviewModel) status() string {
	s := m.styles
	switch {
	case m.rehearsing:
		line := s.Running.Render(m.spin.View()) + " " + s.Text.Render("rehearsing "+count(m.cfg.New, "new migration file")+" on a scratch database")
		if secs := int(now().Sub(m.started).Seconds()); secs > 0 {
			line += s.Dim.Render(fmt.Sprintf(" · %ds", secs))
		}
		return line
	case m.err != nil:
		return s.Failed.Render("✗ the rehearsal failed")
	}
	rep := m.rep
	verdict := s.Done.Render("nothing unsafe")
	if n := len(rep.Findings); n > 0 {
		verdict = s.Failed.Render(fmt.Sprintf("%d unsafe", n))
	}
	line := s.Dim.Render(fmt.Sprintf("rehearsed %s in %s: ", count(rep.Statements, "statement"), count(rep.Files, "new migration file"))) + verdict
	// What became of the scratch databases: this one's on the line when
	// it fits; earlier killed reviews' on a line of its own.
	if n := len(rep.Leftovers); n > 0 {
		return line + "\n" + s.Dim.Render(fmt.Sprintf("dropped %s left by a killed review", count(n, "scratch database")))
	}
	if more := " · scratch database dropped"; widthOf(line)+widthOf(more) <= m.width {
		line += s.Dim.Render(more)
	}
	return line
}

func count(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// RunReview shows the review screen until the operator quits, and returns
// the rehearsal's report and error. A quit before the rehearsal ends
// cancels it (its scratch database is dropped all the same) and returns
// ErrInterrupted.
func RunReview(ctx context.Context, cfg ReviewConfig, opts ...tea.ProgramOption) (*review.Report, error) {
	if os.Getenv("NO_COLOR") != "" {
		cfg.NoColor = true
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m := NewReview(ctx, cfg)
	p := tea.NewProgram(m, append([]tea.ProgramOption{tea.WithContext(ctx)}, opts...)...)
	final, err := p.Run()
	cancel()
	m.track.shutdown(30 * time.Second)
	if fm, ok := final.(ReviewModel); ok {
		m = fm
	}
	if m.rehearsing {
		return nil, ErrRehearsalStopped
	}
	if err != nil && !errors.Is(err, tea.ErrProgramKilled) && !errors.Is(err, tea.ErrInterrupted) {
		return m.rep, err
	}
	return m.rep, m.err
}

// ErrRehearsalStopped is a review screen left before its rehearsal ended.
var ErrRehearsalStopped = errors.New("review: quit before the rehearsal ended: nothing was reviewed (the scratch database is dropped)")
