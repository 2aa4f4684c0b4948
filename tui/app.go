// Package tui is shepherd's operator TUI: a plan list, and for one plan the
// timeline of its phases, what the selected phase does and why with its
// exact SQL and locks, backfill progress, gates and the point of no return.
// It renders the engine's events and sends the operator's decisions back;
// it never touches the database itself, and never waits on it: every
// engine call is a tea.Cmd.
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
	tea "charm.land/bubbletea/v2"

	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/phases"
)

// Config says what the TUI opens on.
type Config struct {
	// Engine is the open database.
	Engine Engine
	// Plans are the plan files the list shows, with the plans the database
	// has recorded.
	Plans []string
	// Sources says where the list's plans come from, for its title.
	Sources string
	// Open opens this plan at once (`shepherd run PLAN`).
	Open *phases.Plan
	// Rollback, with Open, starts by asking for the rollback of the last
	// reversible phase (`shepherd rollback PLAN`).
	Rollback bool
	// Options tune the engine's sessions; the TUI sets Emit and Pause.
	Options engine.Options
	// Label is shown in the header, e.g. "demo".
	Label string
	// NoColor draws without colour (NO_COLOR).
	NoColor bool
}

type screen int

const (
	screenList screen = iota
	screenPlan
)

// Model is the root model: it owns which screen is shown, the size, the
// styles and the help bar, and hands everything else to the screens.
type Model struct {
	cfg    Config
	ctx    context.Context
	track  *tracker
	styles *Styles
	keys   keyMap
	help   help.Model

	screen   screen
	list     planList
	plan     planScreen
	planOpen bool

	width, height int
}

// New builds the root model. ctx bounds every engine call.
func New(ctx context.Context, cfg Config) Model {
	s := NewStyles(true, cfg.NoColor)
	h := help.New()
	h.Styles = s.Help
	m := Model{cfg: cfg, ctx: ctx, track: newTracker(), styles: s, keys: newKeyMap(), help: h}
	sources := cfg.Sources
	if sources == "" {
		sources = "in this database and in ./plans"
	}
	m.list = newPlanList(s, sources)
	if cfg.Open != nil {
		m.screen, m.planOpen = screenPlan, true
		m.plan = newPlanScreen(s, m.keys, ctx, cfg.Engine, m.track, cfg.Options, cfg.Open)
		m.plan.rollbackFirst = cfg.Rollback
	}
	return m
}

// Init asks the terminal for its background (to pick light or dark
// colours) and opens the plan or reads the list.
func (m Model) Init() tea.Cmd {
	cmds := []tea.Cmd{tea.RequestBackgroundColor}
	if m.screen == screenPlan {
		cmds = append(cmds, m.openPlanCmd())
	} else {
		cmds = append(cmds, m.loadList())
	}
	return tea.Batch(cmds...)
}

// openPlanCmd opens the plan screen's session. Open changes the screen
// (its event bus and pause switch), so Init hands it the screen through a
// message instead of a value receiver it would lose.
func (m Model) openPlanCmd() tea.Cmd {
	return func() tea.Msg { return openPlanMsg{} }
}

// openPlanMsg asks the root to open the plan screen's session.
type openPlanMsg struct{}

func (m Model) loadList() tea.Cmd {
	eng, files, ctx := m.cfg.Engine, m.cfg.Plans, m.ctx
	if m.cfg.Open != nil && m.cfg.Open.File != "" && !contains(files, m.cfg.Open.File) {
		files = append([]string{m.cfg.Open.File}, files...)
	}
	return m.track.call(func() tea.Msg { return loadPlans(ctx, eng, files) })
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.resize()
		return m, nil
	case tea.BackgroundColorMsg:
		*m.styles = *NewStyles(msg.IsDark(), m.cfg.NoColor)
		m.help.Styles = m.styles.Help
		m.plan.progress.restyle()
		return m, nil
	case openPlanMsg:
		cmd := m.plan.Open()
		m.resize()
		return m, cmd
	case plansLoadedMsg:
		m.list.Loaded(msg)
		return m, nil
	case backToListMsg:
		m.screen, m.planOpen = screenList, false
		m.plan.finish()
		m.list.loading = true
		m.list.msg = ""
		m.list.SelectName(msg.name)
		m.resize()
		return m, m.loadList()
	case tea.KeyPressMsg:
		typing := m.screen == screenPlan && m.plan.confirm != nil && m.plan.confirm.kind == confirmTyped
		if !typing && key.Matches(msg, m.keys.Help) {
			m.help.ShowAll = !m.help.ShowAll
			m.resize()
			return m, nil
		}
		if m.screen == screenList {
			return m.listKey(msg)
		}
	}
	if m.planOpen {
		var cmd tea.Cmd
		m.plan, cmd = m.plan.Update(msg)
		m.resize()
		return m, cmd
	}
	return m, nil
}

func (m Model) listKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	k := m.keys
	switch {
	case key.Matches(msg, k.Quit), key.Matches(msg, k.Back):
		return m, tea.Quit
	case key.Matches(msg, k.Up):
		m.list.Move(-1)
	case key.Matches(msg, k.Down):
		m.list.Move(1)
	case key.Matches(msg, k.Refresh):
		m.list.loading = true
		return m, m.loadList()
	case key.Matches(msg, k.Open):
		it, ok := m.list.Selected()
		switch {
		case !ok:
		case it.loadErr != nil:
			m.list.msg = it.loadErr.Error()
		case it.plan == nil:
			m.list.msg = it.name + " is recorded in this database, but no plan file here describes it: open it with shepherd run FILE"
		default:
			m.list.msg = ""
			m.screen, m.planOpen = screenPlan, true
			m.plan = newPlanScreen(m.styles, m.keys, m.ctx, m.cfg.Engine, m.track, m.cfg.Options, it.plan)
			cmd := m.plan.Open()
			m.resize()
			return m, cmd
		}
	}
	return m, nil
}

// resize gives each part its share of the screen.
func (m *Model) resize() {
	m.help.SetWidth(m.width)
	bodyH := max(m.height-1-m.helpHeight(), 1)
	m.list.SetSize(m.width, bodyH)
	if m.planOpen {
		m.plan.SetSize(m.width, bodyH)
	}
}

func (m Model) helpKeys() bindings {
	if m.screen == screenPlan {
		return m.plan.helpKeys()
	}
	k := m.keys
	_, some := m.list.Selected()
	return bindings{
		short: []key.Binding{with(k.Open, "enter", "open", some), with(k.Up, "↑↓", "select", true),
			with(k.Refresh, "R", "refresh", true), with(k.Quit, "q", "quit", true), with(k.Help, "?", "more", true)},
		full: [][]key.Binding{
			{with(k.Open, "enter", "open the plan", some), with(k.Up, "↑/k", "up", true), with(k.Down, "↓/j", "down", true)},
			{with(k.Refresh, "R", "read the database again", true), with(k.Quit, "q/esc", "quit", true), with(k.Help, "?", "fewer keys", true)},
		},
	}
}

func (m Model) helpHeight() int {
	if m.width == 0 {
		return 1
	}
	return max(strings.Count(m.helpView(), "\n")+1, 1)
}

// helpView is the help bar: it always says how to quit and how to see
// every key, and the full help leaves the screen at least 8 lines.
func (m Model) helpView() string {
	return renderHelp(m.styles.Help, m.keys, m.helpKeys(), m.help.ShowAll, m.width, max(m.height-1-8, 1))
}

// View draws the header, the screen and the help bar, on the alternate
// screen.
func (m Model) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	v.WindowTitle = "shepherd"
	if m.planOpen && m.screen == screenPlan {
		v.WindowTitle = "shepherd · " + m.plan.plan.Name
	}
	return v
}

// minimum size the screens are laid out for.
const minWidth, minHeight = 60, 16

// tooSmall is the screen shown instead of any other while the terminal is
// smaller than the screens are laid out for; ok is false when it is not.
func tooSmall(s *Styles, width, height int) (string, bool) {
	if width >= minWidth && height >= minHeight {
		return "", false
	}
	lines := wrap(fmt.Sprintf("shepherd needs a terminal of at least %dx%d; this one is %dx%d.", minWidth, minHeight, width, height), width)
	for i := range lines {
		lines[i] = s.Warn.Render(lines[i])
	}
	return fit(strings.Join(lines, "\n")+"\n"+s.Dim.Render("q quits"), width, height), true
}

func (m Model) render() string {
	if m.width == 0 || m.height == 0 {
		return ""
	}
	s := m.styles
	if small, ok := tooSmall(s, m.width, m.height); ok {
		return small
	}
	bodyH := max(m.height-1-m.helpHeight(), 1)
	var body string
	if m.screen == screenPlan {
		body = m.plan.View()
	} else {
		body = m.list.View()
	}
	helpView := m.helpView()
	return fit(m.header(), m.width, 1) + "\n" + fit(body, m.width, bodyH) + "\n" + fit(helpView, m.width, strings.Count(helpView, "\n")+1)
}

func (m Model) header() string {
	s := m.styles
	left := s.Header.Render("shepherd")
	if m.cfg.Label != "" {
		left += s.Dim.Render(" " + m.cfg.Label)
	}
	if m.screen == screenPlan {
		p := m.plan.plan
		left += s.Dim.Render(" · ") + s.Text.Render(p.Name) + s.Dim.Render(" · "+p.Playbook+" on "+p.Table)
	}
	if m.cfg.Engine == nil {
		return truncate(left, m.width)
	}
	// The database is always named: in full (its password masked) when it
	// fits, else as dialect host/database, else with the left side cut.
	dsn := m.cfg.Engine.DSN()
	right := dsn
	if widthOf(left)+2+widthOf(right) > m.width {
		right = truncate(shortDSN(dsn), max(m.width/2, 12))
	}
	if room := m.width - 2 - widthOf(right); widthOf(left) > room {
		left = truncate(left, room)
	}
	gap := m.width - widthOf(left) - widthOf(right)
	return left + strings.Repeat(" ", max(gap, 1)) + s.Dim.Render(right)
}

// shortDSN names a database in a few words: "postgres db.internal/app",
// "sqlite demo.db". It never shows a password (nor the user): the DSN it
// is given is masked already, and only its host and database are kept.
func shortDSN(dsn string) string {
	d, err := engine.ParseDSN(dsn)
	if err != nil {
		return "database"
	}
	return d.Short()
}

// ErrInterrupted is a TUI stopped from outside (a signal) rather than by
// its quit key, with no action stopped mid-way (that is a *StoppedError).
var ErrInterrupted = errors.New("interrupted: no phase was running")

// errStillRunning is a TUI whose engine call did not end in time after it
// was stopped.
var errStillRunning = errors.New("interrupted while a call to the database still ran: shepherd status shows where the plan stands")

// Run shows the TUI until the operator quits, and restores the terminal
// however it ends: on quit, on Ctrl-C, on an error and on a signal
// (ctx cancelled). Every engine call still in flight is cancelled and
// waited for, and every session's runner lock released, before it returns.
// An action the end stopped mid-way is returned as a *StoppedError.
func Run(ctx context.Context, cfg Config, opts ...tea.ProgramOption) error {
	if os.Getenv("NO_COLOR") != "" {
		cfg.NoColor = true
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m := New(ctx, cfg)
	p := tea.NewProgram(m, append([]tea.ProgramOption{tea.WithContext(ctx)}, opts...)...)
	_, err := p.Run()
	cancel()
	ended := m.track.shutdown(15 * time.Second)
	if stopped := m.track.stopped.get(); stopped != nil {
		return stopped
	}
	if errors.Is(err, tea.ErrProgramKilled) || errors.Is(err, tea.ErrInterrupted) {
		if !ended {
			return errStillRunning
		}
		return ErrInterrupted
	}
	return err
}
