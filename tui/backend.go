package tui

import (
	"context"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/phases"
)

// Engine is what the TUI asks of an open database. Every method may wait
// on the database, so the TUI calls them only inside tea.Cmds, never from
// Update or View. *engine.Engine provides it through Live.
type Engine interface {
	Dialect() string
	DSN() string
	Status(ctx context.Context) ([]engine.PlanStatus, error)
	Log(ctx context.Context, plan string) ([]engine.LogEntry, error)
	// Inspect opens a plan to look at it: no lock, no write. The TUI shows
	// a plan through it, so that a screen left open never keeps a release
	// job out.
	Inspect(ctx context.Context, plan *phases.Plan, opts engine.Options) (View, error)
	// Start opens a plan to act on it, under its runner lock, with the
	// state read again under the lock. The TUI starts one for each action
	// and closes it when the action ends.
	Start(ctx context.Context, plan *phases.Plan, opts engine.Options) (Session, error)
}

// View is a plan read without the runner lock. *engine.View provides it.
type View interface {
	Phases() []engine.PhaseInfo
	Previews() []engine.PhasePreview
	Reverify(ctx context.Context, id string) (string, error)
}

// Session is one plan holding its runner lock, from Start to Close.
// *engine.Session provides it. Its methods are called one at a time, from
// the tea.Cmd of one action: the TUI never runs two of them at once.
type Session interface {
	View
	RunPhase(ctx context.Context, id string) error
	Arrive(ctx context.Context, id string) error
	Rollback(ctx context.Context) (phases.Phase, error)
	Close()
}

// Live adapts an open *engine.Engine to Engine.
func Live(e *engine.Engine) Engine { return liveEngine{e} }

type liveEngine struct{ *engine.Engine }

func (l liveEngine) Inspect(ctx context.Context, plan *phases.Plan, opts engine.Options) (View, error) {
	v, err := l.Engine.Inspect(ctx, plan, opts)
	if err != nil {
		return nil, err
	}
	return v, nil
}

func (l liveEngine) Start(ctx context.Context, plan *phases.Plan, opts engine.Options) (Session, error) {
	s, err := l.Engine.Start(ctx, plan, opts)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// eventBus carries engine events to the TUI. The engine emits from the
// goroutine of the tea.Cmd that runs it; the TUI reads with a tea.Cmd that
// it starts again after each event. Emit never blocks the engine for long:
// a progress event that finds the buffer full is dropped (the next one
// says more), and any other event waits at most a moment.
type eventBus struct {
	ch   chan engine.Event
	done chan struct{}
	once sync.Once
}

func newEventBus() *eventBus {
	return &eventBus{ch: make(chan engine.Event, 256), done: make(chan struct{})}
}

func (b *eventBus) emit(e engine.Event) {
	if e.Event == engine.EventProgress {
		select {
		case b.ch <- e:
		default:
		}
		return
	}
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case b.ch <- e:
	case <-b.done:
	case <-t.C:
	}
}

// next waits for the next event.
func (b *eventBus) next() tea.Cmd {
	return func() tea.Msg {
		select {
		case e := <-b.ch:
			return engineEventMsg{bus: b, ev: e}
		case <-b.done:
			return nil
		}
	}
}

func (b *eventBus) close() { b.once.Do(func() { close(b.done) }) }

// tracker knows the engine calls in flight and the sessions open, so that
// Run can stop them and release every runner lock when the TUI ends, however
// it ends.
type tracker struct {
	mu       sync.Mutex
	wg       sync.WaitGroup
	sessions map[Session]bool
	// stopped is the action the TUI's end cut short, if any.
	stopped stops
}

func newTracker() *tracker { return &tracker{sessions: map[Session]bool{}} }

// call wraps an engine call as a tea.Cmd that the tracker counts.
func (t *tracker) call(fn func() tea.Msg) tea.Cmd {
	t.wg.Add(1)
	return func() tea.Msg {
		defer t.wg.Done()
		return fn()
	}
}

func (t *tracker) opened(s Session) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sessions[s] = true
}

func (t *tracker) closed(s Session) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.sessions, s)
}

// shutdown waits (a while at most) for the calls in flight, which the
// caller has cancelled, and closes the sessions still open. It reports
// whether every call ended.
func (t *tracker) shutdown(wait time.Duration) bool {
	done := make(chan struct{})
	go func() { t.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(wait):
		// A call still running owns its session: closing it under the
		// call would race. The process is ending; the database ends the
		// lock's session with it, and an SQLite lease of a dead process is
		// taken over at once.
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for s := range t.sessions {
		s.Close()
		delete(t.sessions, s)
	}
	return true
}
