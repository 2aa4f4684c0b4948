package training

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// The interactive lesson, driven without a terminal: keys go to the model,
// and each command it returns runs at once (the clock does not wait), its
// message fed back, until the model waits for the next key.

func newTestUI(t *testing.T, width, height int) *uiModel {
	t.Helper()
	m := newUI(context.Background())
	m.tickEvery = 0
	m.Update(tea.WindowSizeMsg{Width: width, Height: height})
	t.Cleanup(m.sandboxes.closeAll)
	return m
}

// press sends a key and runs what it starts to the end.
func press(t *testing.T, m *uiModel, key string) {
	t.Helper()
	_, cmd := m.key(key)
	for n := 0; cmd != nil; n++ {
		if n > 1000 {
			t.Fatal("the model never settles")
		}
		msg := cmd()
		if _, quit := msg.(tea.QuitMsg); quit || msg == nil {
			return
		}
		_, cmd = m.Update(msg)
	}
}

// screen is what the terminal shows: the view without its styles, a line
// each.
func screenLines(m *uiModel) []string {
	return strings.Split(ansi.Strip(m.View().Content), "\n")
}

func squash(s string) string { return strings.Join(strings.Fields(s), "") }

// Before the trainee acts, nothing on screen gives the safe order away: not
// the seed's steps (they are the safe order) nor the safe sequence; nor
// after a step that went well. It comes after an incident or a refusal.
func TestSafeOrderNotShownBeforeActing(t *testing.T) {
	for i, l := range Lessons() {
		m := newTestUI(t, 80, 24)
		m.cursor = i
		check := func(where string) {
			text := squash(strings.Join(screenLines(m), " "))
			for _, rule := range l.Rules {
				if strings.Contains(text, squash(rule)) {
					t.Errorf("%s, %s: the screen quotes the seed's step %q before any action:\n%s", l.Name, where, rule, strings.Join(screenLines(m), "\n"))
				}
			}
			for _, sep := range []string{",", " → ", ", "} {
				if strings.Contains(text, squash(strings.Join(l.Safe, sep))) {
					t.Errorf("%s, %s: the screen shows the safe sequence", l.Name, where)
				}
			}
		}
		check("lesson menu")
		press(t, m, "enter")
		if m.screen != lessonScreen {
			t.Fatalf("%s: not started: %v", l.Name, m.err)
		}
		check("lesson screen")
		// A step that breaks nothing does not give away the rest.
		press(t, m, fmt.Sprint(slices.Index(l.ActionNames(), l.Safe[0])+1))
		if m.incidents != 0 || m.refused != 0 {
			t.Fatalf("%s: the first safe step broke something", l.Name)
		}
		check("after the first safe step")
	}
}

// checkFits: the screen is exactly the window's height, no line is wider
// than the window, and the last line is the key line.
func checkFits(t *testing.T, m *uiModel, keys string) []string {
	t.Helper()
	lines := screenLines(m)
	if len(lines) != m.height {
		t.Errorf("%dx%d: %d lines on screen:\n%s", m.width, m.height, len(lines), strings.Join(lines, "\n"))
	}
	for _, l := range lines {
		if ansi.StringWidth(l) > m.width {
			t.Errorf("%dx%d: a line of %d columns: %q", m.width, m.height, ansi.StringWidth(l), l)
		}
	}
	if last := lines[len(lines)-1]; !strings.Contains(last, keys) {
		t.Errorf("%dx%d: the last line is %q, not the keys", m.width, m.height, last)
	}
	return lines
}

// The lesson screen works in a standard terminal and in a small one: the
// menu, the fleet, a log with room to read, the incident with its rule and
// the safe order, and the key line, all on screen; and it follows a resize.
func TestLessonScreenFits(t *testing.T) {
	for _, size := range []struct{ w, h, log int }{{80, 24, 10}, {60, 16, 6}, {120, 40, 20}, {48, 14, 3}} {
		t.Run(fmt.Sprintf("%dx%d", size.w, size.h), func(t *testing.T) {
			m := newTestUI(t, size.w, size.h)
			press(t, m, "enter")
			press(t, m, fmt.Sprint(slices.Index(m.lesson.ActionNames(), "add-not-null-column")+1))
			lines := checkFits(t, m, "score")
			text := strings.Join(lines, "\n")
			for _, want := range []string{"add-not-null-column", "fleet: app-1 v1", "1 incident", "✗ failed-write"} {
				if want == "✗ failed-write" && size.log <= minLog {
					continue // scrolled up: the step's last lines are on screen
				}
				if !strings.Contains(text, want) {
					t.Errorf("%q is not on screen:\n%s", want, text)
				}
			}
			// The safe order ends a step that broke something.
			if !strings.Contains(squash(text), squash("safe order: "+strings.Join(m.lesson.Safe, " → "))) {
				t.Errorf("the safe order is not on screen after the incident:\n%s", text)
			}
			if m.page < size.log {
				t.Errorf("the log has %d lines, want %d or more:\n%s", m.page, size.log, text)
			}
		})
	}
	m := newTestUI(t, 80, 24)
	press(t, m, "enter")
	for _, size := range [][2]int{{60, 16}, {100, 30}, {80, 24}} {
		m.Update(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		checkFits(t, m, "score")
	}
}

// A window too small for the screen says so, and how big it must be.
func TestTooSmallSaysSo(t *testing.T) {
	for _, size := range [][2]int{{39, 20}, {60, 8}, {30, 5}} {
		m := newTestUI(t, 80, 24)
		press(t, m, "enter")
		m.Update(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		lines := screenLines(m)
		text := squash(strings.Join(lines, " "))
		if !strings.Contains(text, squash("The window is too small")) || !strings.Contains(text, squash("press q to quit")) {
			t.Errorf("%v: no too-small message:\n%s", size, strings.Join(lines, "\n"))
		}
		if len(lines) > size[1] {
			t.Errorf("%v: %d lines", size, len(lines))
		}
		// Big enough again, the lesson is back.
		m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
		checkFits(t, m, "score")
	}
}

// A line cut to the width says so with an ellipsis.
func TestCutLinesEndInEllipsis(t *testing.T) {
	m := newTestUI(t, 60, 16)
	lines := checkFits(t, m, "q quit")
	for _, l := range lines {
		if strings.Contains(l, "multi-replica") && !strings.HasSuffix(strings.TrimRight(l, " "), "…") {
			t.Errorf("the multi-replica line is cut without an ellipsis: %q", l)
		}
	}
	m.cursor = 3
	press(t, m, "enter")
	lines = checkFits(t, m, "score")
	if !strings.HasSuffix(lines[0], "…") {
		t.Errorf("the lesson's title is cut without an ellipsis: %q", lines[0])
	}
}

// The score shows the trainee's sequence beside the safe one and the seed's
// safe order, and fits the window; what does not fit scrolls.
func TestScoreScreen(t *testing.T) {
	m := newTestUI(t, 80, 24)
	press(t, m, "enter")
	press(t, m, fmt.Sprint(slices.Index(m.lesson.ActionNames(), "add-not-null-column")+1))
	press(t, m, "s")
	if m.screen != scoreScreen {
		t.Fatal("no score")
	}
	lines := checkFits(t, m, "q quit")
	text := strings.Join(lines, "\n")
	for _, want := range []string{"add-not-null-column ≠  add-column", "the safe order", "1. " + ruleAddNullable} {
		if !strings.Contains(text, want) {
			t.Errorf("%q is not on the score:\n%s", want, text)
		}
	}
	m.Update(tea.WindowSizeMsg{Width: 60, Height: 12})
	lines = checkFits(t, m, "q quit")
	if !strings.Contains(lines[len(lines)-1], "pgdn more") {
		t.Errorf("a score longer than the window does not say it scrolls: %q", lines[len(lines)-1])
	}
	press(t, m, "pgdown")
	press(t, m, "pgdown")
	press(t, m, "pgdown")
	if text := strings.Join(checkFits(t, m, "q quit"), "\n"); !strings.Contains(text, "what broke") {
		t.Errorf("scrolled down, the score does not show what broke:\n%s", text)
	}
}

// Closing the terminal during a lesson (SIGHUP, as when its tmux session is
// killed) or SIGTERM removes the lesson's sandbox, as q and Ctrl-C do. The
// lesson runs in a child process (this test binary again) with its own
// TMPDIR, mid-step when the signal comes.
func TestSignalRemovesTheSandbox(t *testing.T) {
	if os.Getenv("SHEPHERD_TRAIN_SIGNAL_CHILD") != "" {
		err := interactive(context.Background(), "add-column", io.Discard, tea.WithInput(os.Stdin), tea.WithOutput(io.Discard))
		fmt.Fprintln(os.Stderr, "interactive:", err)
		return
	}
	if runtime.GOOS == "windows" {
		t.Skip("no SIGHUP on Windows")
	}
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd, tmp, stderr := lessonChild(t, "TestSignalRemovesTheSandbox", "SHEPHERD_TRAIN_SIGNAL_CHILD")
			keys, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			defer keys.Close()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			sandboxes := func() []string {
				found, _ := filepath.Glob(filepath.Join(tmp, "shepherd-train-*", "sandbox.db"))
				return found
			}
			for deadline := time.Now().Add(10 * time.Second); len(sandboxes()) == 0; time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					cmd.Process.Kill()
					t.Fatalf("the lesson made no sandbox in %s: %s", tmp, stderr.String())
				}
			}
			// Start a step (its traffic takes a few ticks of 150ms), and
			// signal while it runs.
			time.Sleep(300 * time.Millisecond)
			fmt.Fprint(keys, "4")
			time.Sleep(200 * time.Millisecond)
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			if ended, _ := waitOrKill(cmd, 10*time.Second); !ended {
				t.Fatalf("the lesson did not end on %s: %s", sig, stderr.String())
			}
			if left := leftBehind(tmp); len(left) > 0 {
				t.Errorf("after %s, %v is left behind (child said: %s)", sig, left, stderr.String())
			}
			if !strings.Contains(stderr.String(), "stopped by "+sig.String()) {
				t.Errorf("the child said %q", stderr.String())
			}
		})
	}
}
