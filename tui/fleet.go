package tui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/fleet"
)

// The fleet screen (`shepherd status --fleet FILE` in a terminal): the
// matrix of targets × phases of every plan the fleet's databases record,
// read again every few seconds. Like the rest of the TUI it never touches a
// database itself: each read is a tea.Cmd that calls the fleet package.

// FleetConfig says what the fleet screen shows.
type FleetConfig struct {
	// File is the fleet file, for the header.
	File    string
	Fleet   *fleet.Fleet
	Targets []fleet.Target
	// Keep, if set, picks the plans shown from a target's recorded ones
	// (status's PLAN arguments).
	Keep func([]engine.PlanStatus) []engine.PlanStatus
	// Every is how often the fleet is read again (0: every 5 seconds).
	Every   time.Duration
	NoColor bool
}

// fleetReadTimeout bounds one read of the whole fleet, so that a target
// that does not answer does not stop the screen refreshing.
const fleetReadTimeout = 30 * time.Second

// fleetReadMsg answers a read of the fleet: every target's recorded plans
// (or why they could not be read). gen is the read's number: an answer to
// a read since superseded is dropped.
type fleetReadMsg struct {
	all []fleet.TargetStatus
	at  time.Time
	gen int
}

// fleetTickMsg is the time to read the fleet again, scheduled after read
// gen answered.
type fleetTickMsg struct{ gen int }

type fleetKeys struct {
	Up, Down, Open, Back, Refresh, Help, Quit key.Binding
}

func newFleetKeys() fleetKeys {
	k := newKeyMap()
	return fleetKeys{
		Up: k.Up, Down: k.Down, Help: k.Help, Quit: k.Quit,
		Open:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "detail")),
		Back:    key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Refresh: key.NewBinding(key.WithKeys("r", "R", "ctrl+r"), key.WithHelp("r", "refresh")),
	}
}

// FleetModel is the fleet screen's root: the header, the matrix or one
// target's detail, a message line and the help bar.
type FleetModel struct {
	cfg    FleetConfig
	ctx    context.Context
	track  *tracker
	styles *Styles
	keys   fleetKeys
	help   help.Model

	matrix     fleetMatrix
	detail     fleetDetail
	showDetail bool

	loading bool
	gen     int
	readAt  time.Time
	msg     string // an error or a notice, under the body

	width, height int
}

// NewFleet builds the fleet screen; ctx bounds every read. Its Init reads
// the fleet.
func NewFleet(ctx context.Context, cfg FleetConfig) FleetModel {
	if cfg.Every <= 0 {
		cfg.Every = 5 * time.Second
	}
	s := NewStyles(true, cfg.NoColor)
	h := help.New()
	h.Styles = s.Help
	return FleetModel{cfg: cfg, ctx: ctx, track: newTracker(), styles: s, keys: newFleetKeys(), help: h,
		matrix: newFleetMatrix(s), detail: newFleetDetail(s), loading: true, gen: 1}
}

func (m FleetModel) Init() tea.Cmd {
	return tea.Batch(tea.RequestBackgroundColor, m.read(m.gen))
}

// read is one read of the fleet, in a tea.Cmd: the fleet package opens
// each target (as many at once as the fleet file's concurrency) and reads
// its state.
func (m FleetModel) read(gen int) tea.Cmd {
	ctx, fl, targets, keep := m.ctx, m.cfg.Fleet, m.cfg.Targets, m.cfg.Keep
	return m.track.call(func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, fleetReadTimeout)
		defer cancel()
		all := fl.Status(ctx, targets)
		if keep != nil {
			for i := range all {
				all[i].Plans = keep(all[i].Plans)
			}
		}
		return fleetReadMsg{all: all, at: now(), gen: gen}
	})
}

// refresh starts a read now; the tick of the read before is then stale.
func (m *FleetModel) refresh() tea.Cmd {
	m.gen++
	m.loading = true
	return m.read(m.gen)
}

func (m FleetModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.resize()
	case tea.BackgroundColorMsg:
		*m.styles = *NewStyles(msg.IsDark(), m.cfg.NoColor)
		m.help.Styles = m.styles.Help
	case fleetReadMsg:
		if msg.gen != m.gen {
			return m, nil
		}
		m.loaded(msg)
		gen, every := m.gen, m.cfg.Every
		return m, tea.Tick(every, func(time.Time) tea.Msg { return fleetTickMsg{gen: gen} })
	case fleetTickMsg:
		if msg.gen != m.gen || m.loading {
			return m, nil
		}
		return m, m.refresh()
	case tea.KeyPressMsg:
		return m.key(msg)
	}
	return m, nil
}

// loaded shows a read: the matrix, the detail open (on the same target),
// and which targets could not be read.
func (m *FleetModel) loaded(msg fleetReadMsg) {
	m.loading, m.readAt = false, msg.at
	m.matrix.Set(msg.all)
	if m.showDetail {
		if t, plan, ok := m.matrix.Selected(); ok {
			m.detail.Show(t, plan)
		}
	}
	var unread []string
	for _, t := range msg.all {
		if t.Err != nil {
			unread = append(unread, t.Target.Name)
		}
	}
	m.msg = ""
	if len(unread) > 0 {
		m.msg = fmt.Sprintf("state not read on %d of %d targets (%s): enter on one shows why", len(unread), len(msg.all), strings.Join(unread, ", "))
	}
	m.resize()
}

func (m FleetModel) key(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	k := m.keys
	switch {
	case key.Matches(msg, k.Quit):
		return m, tea.Quit
	case key.Matches(msg, k.Help):
		m.help.ShowAll = !m.help.ShowAll
	case key.Matches(msg, k.Up), key.Matches(msg, k.Down):
		delta := 1
		if key.Matches(msg, k.Up) {
			delta = -1
		}
		m.matrix.Move(delta)
		if t, plan, ok := m.matrix.Selected(); ok && m.showDetail {
			m.detail.Show(t, plan)
		}
	case key.Matches(msg, k.Open):
		if t, plan, ok := m.matrix.Selected(); ok {
			m.detail.Show(t, plan)
			m.showDetail = true
		}
	case key.Matches(msg, k.Back):
		m.showDetail = false
	case key.Matches(msg, k.Refresh):
		if m.loading {
			return m, nil
		}
		cmd := m.refresh()
		return m, cmd
	}
	m.resize()
	return m, nil
}

// resize gives the body what the header, the message and the help leave.
func (m *FleetModel) resize() {
	m.help.SetWidth(m.width)
	h := m.bodyHeight()
	m.matrix.SetSize(m.width, h)
	m.detail.SetSize(m.width, h)
}

func (m FleetModel) bodyHeight() int {
	h := m.height - 2 - (strings.Count(m.helpView(), "\n") + 1)
	if m.msg != "" {
		h -= len(wrap(m.msg, m.width))
	}
	return max(h, 1)
}

func (m FleetModel) bindings() bindings {
	k := m.keys
	_, _, some := m.matrix.Selected()
	d := m.showDetail
	return bindings{
		short: []key.Binding{with(k.Open, "enter", "detail", some && !d), with(k.Back, "esc", "back", d),
			with(k.Up, "↑↓", "move", some), with(k.Refresh, "r", "refresh", true),
			with(k.Quit, "q", "quit", true), with(k.Help, "?", "more", true)},
		full: [][]key.Binding{
			{with(k.Open, "enter", "show the target's phases and errors", some && !d), with(k.Back, "esc", "back to the matrix", d),
				with(k.Up, "↑/k", "up", some), with(k.Down, "↓/j", "down", some)},
			{with(k.Refresh, "r", fmt.Sprintf("read the fleet now (it is read every %s)", m.cfg.Every), true),
				with(k.Quit, "q", "quit", true), with(k.Help, "?", "fewer keys", true)},
		},
	}
}

func (m FleetModel) helpView() string {
	return renderHelp(m.styles.Help, newKeyMap(), m.bindings(), m.help.ShowAll, m.width, max(m.height-2-8, 1))
}

// View draws the header, the matrix (or a target's detail), the message
// and the help bar, on the alternate screen.
func (m FleetModel) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	v.WindowTitle = "shepherd · fleet " + filepath.Base(m.cfg.File)
	return v
}

func (m FleetModel) render() string {
	if m.width == 0 || m.height == 0 {
		return ""
	}
	s := m.styles
	if small, ok := tooSmall(s, m.width, m.height); ok {
		return small
	}
	var body string
	switch {
	case m.matrix.all == nil && m.loading:
		body = s.Dim.Render(fmt.Sprintf("reading the state of %d targets…", len(m.cfg.Targets)))
	case m.showDetail:
		body = m.detail.View()
	default:
		body = m.matrix.View()
	}
	parts := []string{fit(m.header(), m.width, 1), "", fit(body, m.width, m.bodyHeight())}
	if m.msg != "" {
		var lines []string
		for _, l := range wrap(m.msg, m.width) {
			lines = append(lines, s.Error.Render(l))
		}
		parts = append(parts, strings.Join(lines, "\n"))
	}
	hv := m.helpView()
	parts = append(parts, fit(hv, m.width, strings.Count(hv, "\n")+1))
	return strings.Join(parts, "\n")
}

// header: shepherd, the fleet file and how many targets; when the fleet was
// read, or that it is being read.
func (m FleetModel) header() string {
	s := m.styles
	n := len(m.cfg.Targets)
	targets := fmt.Sprintf("%d targets", n)
	if n == 1 {
		targets = "1 target"
	}
	left := s.Header.Render("shepherd") + s.Dim.Render(" fleet · ") + s.Text.Render(m.cfg.File) + s.Dim.Render(" · "+targets)
	right := ""
	switch {
	case m.loading:
		right = "reading…"
	case !m.readAt.IsZero():
		right = "read " + clock(m.readAt)
	}
	if room := m.width - 2 - widthOf(right); widthOf(left) > room {
		left = truncate(left, room)
	}
	return left + strings.Repeat(" ", max(m.width-widthOf(left)-widthOf(right), 1)) + s.Dim.Render(right)
}

// RunFleet shows the fleet screen until the operator quits, and restores
// the terminal however it ends; a read still in flight is cancelled and
// waited for.
func RunFleet(ctx context.Context, cfg FleetConfig, opts ...tea.ProgramOption) error {
	if os.Getenv("NO_COLOR") != "" {
		cfg.NoColor = true
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m := NewFleet(ctx, cfg)
	p := tea.NewProgram(m, append([]tea.ProgramOption{tea.WithContext(ctx)}, opts...)...)
	_, err := p.Run()
	cancel()
	m.track.shutdown(15 * time.Second)
	if errors.Is(err, tea.ErrProgramKilled) || errors.Is(err, tea.ErrInterrupted) {
		// Looking changes nothing: an interrupted look is not a failure.
		return nil
	}
	return err
}
