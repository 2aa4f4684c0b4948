// Command screens draws the operator TUI's real screens for the README. It
// builds the root TUI model on a fresh demo SQLite database, drives it with
// a window size and key presses as a terminal would, and writes what the
// model draws (ANSI text) to one .ansi file per screen. scripts/screens.sh
// turns each file into an SVG with freeze.
//
//	go run ./internal/screens -out docs/screens
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/shepherd-db/shepherd/demo"
	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/phases"
	"github.com/shepherd-db/shepherd/tui"
)

// Width and Height are the terminal the screens are drawn for.
const Width, Height = 100, 30

// wait bounds how long one step may take before the program gives up.
const wait = 20 * time.Second

// Screen is one drawn screen: its file name (without .ansi) and the
// model's view, with its colours.
type Screen struct {
	Name string
	ANSI string
}

func main() {
	out := flag.String("out", filepath.Join("docs", "screens"), "where the .ansi files go")
	users := flag.Int("users", demo.Users, "rows in the demo database's users table")
	flag.Parse()
	if err := run(*out, *users); err != nil {
		fmt.Fprintln(os.Stderr, "screens:", err)
		os.Exit(1)
	}
}

func run(out string, users int) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, err := filepath.Abs(out)
	if err != nil {
		return fmt.Errorf("finding %s: %w", out, err)
	}
	work, err := os.MkdirTemp("", "shepherd-screens-")
	if err != nil {
		return fmt.Errorf("making a work folder: %w", err)
	}
	defer os.RemoveAll(work)
	// The screens show the database's path: the demo's own, relative one.
	if err := os.Chdir(work); err != nil {
		return fmt.Errorf("entering the work folder: %w", err)
	}
	screens, err := Draw(ctx, ".shepherd-demo", users)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("making %s: %w", out, err)
	}
	for _, s := range screens {
		path := filepath.Join(out, s.Name+".ansi")
		if err := os.WriteFile(path, []byte(s.ANSI+"\n"), 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
		fmt.Println(path)
	}
	return nil
}

// Draw creates the demo database and its plans in dir (as `shepherd demo
// --dir dir` does), and drives the TUI through them: users-email's
// add-column run, its deploy-readers gate and its backfill, then the plan
// list. The screens show dir as given: run it from the folder above, with a
// relative dir, for screens that name no folder of this machine.
func Draw(ctx context.Context, dir string, users int) ([]Screen, error) {
	dbPath := filepath.Join(dir, "demo.db")
	if _, err := demo.Create(ctx, dbPath, users); err != nil {
		return nil, fmt.Errorf("creating the demo database: %w", err)
	}
	files, err := demo.WritePlans(filepath.Join(dir, "plans"))
	if err != nil {
		return nil, fmt.Errorf("writing the demo plans: %w", err)
	}
	eng, err := engine.Open(ctx, "sqlite:"+dbPath)
	if err != nil {
		return nil, fmt.Errorf("opening the demo database: %w", err)
	}
	defer eng.Close()
	opts := engine.Options{Operator: "operator@demo", BatchSize: 250}

	var screens []Screen
	plan, err := phases.Load(filepath.Join(dir, "plans", "users-email.yaml"))
	if err != nil {
		return nil, fmt.Errorf("loading users-email: %w", err)
	}
	d := newDriver(ctx, tui.Config{Engine: tui.Live(eng), Plans: files, Open: plan, Label: "demo", Options: opts})
	defer d.stop()
	steps := []struct {
		name string
		key  string
		want []string
	}{
		{"", "", []string{"users-email", "r run add-column"}},
		{"", "r", []string{"✓ add-column done", "r confirm deploy-readers"}},
		{"phase-detail", "k", []string{"› ✓ add-column"}},
		{"", "j", []string{"› ◇ deploy-readers"}},
		{"gate", "c", []string{"Gate: deploy-readers", "y yes, it is out everywhere"}},
		{"", "y", []string{"r run backfill"}},
		{"backfill-done", "r", []string{"✓ backfill done"}},
	}
	for _, s := range steps {
		if s.key != "" {
			d.press(s.key)
		}
		if err := d.until(s.want...); err != nil {
			return nil, fmt.Errorf("after %q: %w", s.key, err)
		}
		if s.name != "" {
			screens = append(screens, d.shot(s.name))
		}
	}
	d.stop()

	// The list, once users-email is half way, with users-email selected.
	list := newDriver(ctx, tui.Config{Engine: tui.Live(eng), Plans: files,
		Sources: "the bundled examples, on the demo database", Label: "demo", Options: opts})
	defer list.stop()
	if err := list.until("users-email", "add-column on users"); err != nil {
		return nil, fmt.Errorf("the plan list: %w", err)
	}
	for range 10 {
		if strings.Contains(list.text(), "file: "+filepath.Join(dir, "plans", "users-email.yaml")) {
			break
		}
		list.press("j")
	}
	if err := list.until("file: " + filepath.Join(dir, "plans", "users-email.yaml")); err != nil {
		return nil, fmt.Errorf("selecting users-email in the plan list: %w", err)
	}
	return append([]Screen{list.shot("plan-list")}, screens...), nil
}

// driver runs the root model as Bubble Tea would, without a terminal: it
// delivers each command's message to Update and runs the commands Update
// answers. Commands that never answer (the engine's event stream, once
// nothing more happens) are left to end with the context.
type driver struct {
	ctx    context.Context
	cancel context.CancelFunc
	m      tea.Model
	msgs   chan tea.Msg
}

func newDriver(ctx context.Context, cfg tui.Config) *driver {
	ctx, cancel := context.WithCancel(ctx)
	d := &driver{ctx: ctx, cancel: cancel, m: tui.New(ctx, cfg), msgs: make(chan tea.Msg, 1024)}
	first := d.m.Init()
	d.send(tea.WindowSizeMsg{Width: Width, Height: Height})
	d.launch(first)
	return d
}

func (d *driver) launch(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	go func() {
		msg := cmd()
		select {
		case d.msgs <- msg:
		case <-d.ctx.Done():
		}
	}()
}

func (d *driver) send(msg tea.Msg) {
	m, cmd := d.m.Update(msg)
	d.m = m
	d.launch(cmd)
}

// press sends one key, as a terminal reports it.
func (d *driver) press(k string) {
	r := []rune(k)[0]
	d.send(tea.KeyPressMsg{Code: r, Text: k})
}

// text is the screen without colours.
func (d *driver) text() string { return ansi.Strip(d.m.View().Content) }

// until delivers messages until the screen shows every text.
func (d *driver) until(texts ...string) error {
	deadline := time.After(wait)
	for {
		if showsAll(d.text(), texts) {
			return nil
		}
		select {
		case msg := <-d.msgs:
			switch msg := msg.(type) {
			case nil, spinner.TickMsg, tea.QuitMsg:
			case tea.BatchMsg:
				for _, c := range msg {
					d.launch(c)
				}
			default:
				d.send(msg)
			}
		case <-deadline:
			return fmt.Errorf("the screen never showed %q; it shows:\n%s", texts, d.text())
		case <-d.ctx.Done():
			return errors.Join(d.ctx.Err(), fmt.Errorf("waiting for %q", texts))
		}
	}
}

func showsAll(screen string, texts []string) bool {
	for _, t := range texts {
		if !strings.Contains(screen, t) {
			return false
		}
	}
	return true
}

func (d *driver) shot(name string) Screen {
	return Screen{Name: name, ANSI: d.m.View().Content}
}

// stop ends the model's engine calls and the commands still waiting.
func (d *driver) stop() {
	d.cancel()
}
