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

	"github.com/shepherd-db/shepherd/tui"
)

// The interactive form: a lesson menu, then the lesson's actions beside the
// fleet and what it hits, tick by tick, then the score. No model ever
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

// shared is what every screen uses: the program's context, the sandboxes,
// the window, and the TUI's styles and keys.
type shared struct {
	ctx       context.Context
	sandboxes *sandboxes
	styles    *tui.Styles // the TUI's, for the terminal's background
	noColor   bool
	keys      keyMap
	tickEvery time.Duration
	width     int
	height    int
}

// uiModel is the parent of the three screens, each a model of its own: the
// lesson picker, the lesson and its score. It routes keys to the screen
// shown, moves between screens on the messages they send, and shows
// errors. The screens are embedded so that each one's state reads as the
// program's (m.cursor, m.log).
type uiModel struct {
	*shared
	screen screen
	err    error
	menuModel
	lessonModel
	scoreModel
}

func newUI(ctx context.Context) *uiModel {
	sh := &shared{ctx: ctx, sandboxes: &sandboxes{}, styles: tui.NewStyles(true, false), keys: newKeyMap(),
		tickEvery: tickEvery, width: 100, height: 30}
	return &uiModel{shared: sh, menuModel: menuModel{shared: sh, lessons: Lessons()}}
}

// Messages between the screens and their parent.
type (
	// startedMsg is a lesson's sandbox made, or why not.
	startedMsg struct {
		lesson *Lesson
		run    *Run
		err    error
	}
	// scoredMsg is the lesson's score: the trainee asked for it.
	scoredMsg struct{ score Score }
	// leftMsg is the trainee leaving the lesson, or its score, for the
	// lesson picker.
	leftMsg struct{}
)

// Init asks the terminal for its background, to draw in the TUI's light or
// dark colours, and starts the lesson named on the command line.
func (m *uiModel) Init() tea.Cmd {
	if m.autostart {
		return tea.Batch(tea.RequestBackgroundColor, m.menuModel.start())
	}
	return tea.RequestBackgroundColor
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
		m.starting = false
		if msg.err != nil {
			m.err = msg.err
			return m, nil
		}
		// A new lesson: the last one's score is not this one's.
		m.lessonModel, m.scoreModel = newLessonModel(m.shared, msg.lesson, msg.run), scoreModel{}
		m.screen = lessonScreen
	case begunMsg:
		if msg.err != nil {
			m.busy = false
			m.err = msg.err
			return m, nil
		}
		return m, m.lessonModel.update(msg)
	case tickMsg, tickedMsg, endedMsg:
		return m, m.lessonModel.update(msg)
	case scoredMsg:
		m.busy = false
		m.scoreModel = newScoreModel(m.shared, msg.score, m.lesson, m.broke)
		m.screen = scoreScreen
	case leftMsg:
		r := m.run
		m.run, m.screen = nil, menuScreen
		return m, m.closeRun(r)
	}
	return m, nil
}

// key answers a key, named as Bubble Tea names it ("enter", "pgdown"), on
// the screen shown. Any key clears an error shown.
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
		return m, m.menuModel.key(k)
	case lessonScreen:
		return m, m.lessonModel.key(k)
	case scoreScreen:
		return m, m.scoreModel.key(k)
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
