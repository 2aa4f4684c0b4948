package training

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/term"

	"github.com/shepherd-db/shepherd/phases"
	"github.com/shepherd-db/shepherd/tui"
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
	return interactive(ctx, lesson, out)
}

// interactive runs the TUI; tests give it their input and output.
//
// However it ends, every sandbox it made is removed: q and Ctrl-C end the
// program; so do a closed terminal (SIGHUP, as when its tmux session or
// window is killed) and SIGTERM, which would otherwise end the process
// and leave /tmp/shepherd-train-* behind.
func interactive(ctx context.Context, lesson string, out io.Writer, opts ...tea.ProgramOption) error {
	ctx, caught, stop := untilSignal(ctx, tuiSignals...)
	defer stop()

	m := newUI(ctx)
	m.noColor = tui.NoColorEnv()
	m.styles = tui.NewStyles(true, m.noColor)
	defer m.sandboxes.closeAll()
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
	final, err := tea.NewProgram(m, append([]tea.ProgramOption{tea.WithContext(ctx)}, opts...)...).Run()
	m.sandboxes.closeAll()
	if sig := caught(); sig != nil {
		return stoppedBy(sig)
	}
	if fm, ok := final.(*uiModel); ok && fm.score != nil {
		printText(out, *fm.score)
	}
	return err
}

// sandboxes are the lessons' runs that are open. Every call into a Run
// holds the lock, so that whatever ends the program closes each run once,
// after the call in progress: also a run whose start was under way.
type sandboxes struct {
	mu     sync.Mutex
	open   map[*Run]bool
	closed bool
}

// add keeps a new run; once everything is closed it closes the run
// instead, and reports false.
func (s *sandboxes) add(r *Run) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		r.Close()
		return false
	}
	if s.open == nil {
		s.open = map[*Run]bool{}
	}
	s.open[r] = true
	return true
}

// call is a command that calls f with the lock held and answers its
// message, unless r is closed: then it has nothing to say.
func (s *sandboxes) call(r *Run, f func() tea.Msg) tea.Cmd {
	return func() tea.Msg {
		s.mu.Lock()
		defer s.mu.Unlock()
		if !s.open[r] {
			return nil
		}
		return f()
	}
}

// close closes one run: the trainee left its lesson.
func (s *sandboxes) close(r *Run) {
	if r == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open[r] {
		delete(s.open, r)
		r.Close()
	}
}

// closeAll closes every run, and any started after.
func (s *sandboxes) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for r := range s.open {
		delete(s.open, r)
		r.Close()
	}
}

type screen int

const (
	menuScreen screen = iota
	lessonScreen
	scoreScreen
)

// logLine is a line of the lesson's log, drawn in its tone's style.
type logLine struct {
	text string
	tone tone
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
	sandboxes *sandboxes
	styles    *tui.Styles // the TUI's, for the terminal's background
	noColor   bool
	keys      keyMap

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
	scroll    int        // log lines scrolled back from the newest; on the score, lines scrolled down
	page      int        // the lines the log (or the score) had on screen last time
	shown     [3]int     // the step's messages, SQL and notices already shown
	refused   int        // steps refused so far
	err       error
}

func newUI(ctx context.Context) *uiModel {
	return &uiModel{ctx: ctx, lessons: Lessons(), width: 100, height: 30, tickEvery: tickEvery, sandboxes: &sandboxes{},
		styles: tui.NewStyles(true, false), keys: newKeyMap()}
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

// Init asks the terminal for its background, to draw in the TUI's light or
// dark colours, and starts the lesson named on the command line.
func (m *uiModel) Init() tea.Cmd {
	if m.autostart {
		return tea.Batch(tea.RequestBackgroundColor, m.startLesson())
	}
	return tea.RequestBackgroundColor
}

func (m *uiModel) startLesson() tea.Cmd {
	l := m.lessons[m.cursor]
	m.busy, m.lesson = true, l
	ctx, sb := m.ctx, m.sandboxes
	return func() tea.Msg {
		r, err := Start(ctx, l.Name, nil)
		if err == nil && !sb.add(r) {
			return nil // the program ended while the sandbox was made
		}
		return startedMsg{r, err}
	}
}

func (m *uiModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
	case tea.BackgroundColorMsg:
		m.styles = tui.NewStyles(msg.IsDark(), m.noColor)
	case tea.KeyPressMsg:
		return m.key(msg.String())
	case startedMsg:
		m.busy = false
		if msg.err != nil {
			m.err = msg.err
			return m, nil
		}
		m.run, m.screen, m.act, m.log, m.incidents, m.tick, m.total, m.score, m.broke = msg.run, lessonScreen, 0, nil, 0, 0, stats{}, nil, nil
		m.refused, m.scroll = 0, 0
		m.res = StepResult{Fleet: msg.run.Fleet()}
		m.add(dimTone, m.lesson.Intro)
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
		return m, m.sandboxes.call(r, func() tea.Msg {
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
			return m, tea.Tick(m.tickEvery, func(time.Time) tea.Msg { return tickMsg{} })
		}
		r, ctx := m.run, m.ctx
		return m, m.sandboxes.call(r, func() tea.Msg {
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
	case scoredMsg:
		m.busy = false
		s := msg.score
		m.score, m.screen, m.scroll = &s, scoreScreen, 0
	}
	return m, nil
}

// key answers a key, named as Bubble Tea names it ("enter", "pgdown"), on
// the screen shown.
func (m *uiModel) key(name string) (tea.Model, tea.Cmd) {
	k := keyName(name)
	if key.Matches(k, m.keys.forceQuit) {
		return m, tea.Quit
	}
	if m.err != nil {
		m.err = nil
		return m, nil
	}
	switch m.screen {
	case menuScreen:
		return m.menuKey(k)
	case lessonScreen:
		return m.lessonKey(k)
	case scoreScreen:
		return m.scoreKey(k)
	}
	return m, nil
}

func (m *uiModel) menuKey(k keyName) (tea.Model, tea.Cmd) {
	keys := m.keys.menu
	switch {
	case key.Matches(k, keys.quit):
		return m, tea.Quit
	case key.Matches(k, keys.up):
		m.cursor = (m.cursor + len(m.lessons) - 1) % len(m.lessons)
	case key.Matches(k, keys.down):
		m.cursor = (m.cursor + 1) % len(m.lessons)
	case key.Matches(k, keys.start):
		if !m.busy {
			return m, m.startLesson()
		}
	}
	return m, nil
}

func (m *uiModel) lessonKey(k keyName) (tea.Model, tea.Cmd) {
	keys := m.keys.lesson
	switch {
	case key.Matches(k, keys.back):
		m.scroll += max(1, m.page/2)
		return m, nil
	case key.Matches(k, keys.forward):
		m.scroll = max(0, m.scroll-max(1, m.page/2))
		return m, nil
	case m.busy:
		// Only scrolling while a step runs: the sandbox is its.
		return m, nil
	}
	acts := m.lesson.Actions
	switch {
	case key.Matches(k, keys.score, keys.finish):
		return m, m.finish()
	case key.Matches(k, keys.lessons):
		r := m.run
		m.run, m.screen = nil, menuScreen
		return m, m.closeRun(r)
	case key.Matches(k, keys.up):
		m.act = (m.act + len(acts) - 1) % len(acts)
	case key.Matches(k, keys.down):
		m.act = (m.act + 1) % len(acts)
	case key.Matches(k, keys.run):
		return m, m.begin(acts[m.act].Name)
	case key.Matches(k, keys.pick):
		if n := int(k[0] - '1'); n < len(acts) {
			m.act = n
			return m, m.begin(acts[n].Name)
		}
	}
	return m, nil
}

func (m *uiModel) scoreKey(k keyName) (tea.Model, tea.Cmd) {
	keys := m.keys.score
	switch {
	case key.Matches(k, keys.quit):
		return m, tea.Quit
	case key.Matches(k, keys.back):
		m.scroll = max(0, m.scroll-max(1, m.page/2))
	case key.Matches(k, keys.forward):
		m.scroll += max(1, m.page/2)
	case key.Matches(k, keys.lessons):
		r := m.run
		m.run, m.screen = nil, menuScreen
		return m, m.closeRun(r)
	}
	return m, nil
}

// closeRun is a command that closes a lesson's run, which removes its
// sandbox: the trainee left the lesson.
func (m *uiModel) closeRun(r *Run) tea.Cmd {
	sb := m.sandboxes
	return func() tea.Msg {
		sb.close(r)
		return nil
	}
}

func (m *uiModel) begin(name string) tea.Cmd {
	m.busy, m.current = true, name
	r, ctx := m.run, m.ctx
	return m.sandboxes.call(r, func() tea.Msg {
		err := r.Begin(ctx, name)
		res, _ := r.Current()
		return begunMsg{res, err}
	})
}

func (m *uiModel) finish() tea.Cmd {
	m.busy = true
	r := m.run
	return m.sandboxes.call(r, func() tea.Msg { return scoredMsg{r.Score()} })
}

func (m *uiModel) add(t tone, text string) {
	m.scroll = 0
	m.log = append(m.log, logLine{text, t})
	if len(m.log) > 400 {
		m.log = m.log[len(m.log)-400:]
	}
}

func (m *uiModel) stepHeader(res StepResult) {
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
func (m *uiModel) more(res StepResult) {
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

func (m *uiModel) stepFooter(res StepResult) {
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
