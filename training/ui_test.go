package training

import (
	"context"
	"strings"
	"testing"

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
	t.Cleanup(func() {
		if m.run != nil {
			m.run.Close()
		}
	})
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
// the seed's steps (they are the safe order) nor the safe sequence.
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
	}
}
