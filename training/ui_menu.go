package training

import (
	"fmt"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// menuModel is the lesson picker.
type menuModel struct {
	*shared
	lessons   []*Lesson
	cursor    int
	autostart bool // start the lesson under the cursor at once
	starting  bool // its sandbox is being made
}

func (m *menuModel) key(k keyName) tea.Cmd {
	keys := m.keys.menu
	switch {
	case key.Matches(k, keys.quit):
		return tea.Quit
	case key.Matches(k, keys.up):
		m.cursor = (m.cursor + len(m.lessons) - 1) % len(m.lessons)
	case key.Matches(k, keys.down):
		m.cursor = (m.cursor + 1) % len(m.lessons)
	case key.Matches(k, keys.start):
		if !m.starting {
			return m.start()
		}
	}
	return nil
}

// start is a command that makes the sandbox of the lesson under the cursor.
func (m *menuModel) start() tea.Cmd {
	l := m.lessons[m.cursor]
	m.starting = true
	ctx, sb := m.ctx, m.sandboxes
	return func() tea.Msg {
		r, err := Start(ctx, l.Name, nil)
		if err == nil && !sb.add(r) {
			return nil // the program ended while the sandbox was made
		}
		return startedMsg{l, r, err}
	}
}

func (m *menuModel) view(height int) ([]string, bool) {
	st := m.styles
	title := m.fit(st.Title.Render("shepherd train") + st.Dim.Render(" — learn safe schema changes by breaking a simulated app"))
	var lessons []string
	for i, l := range m.lessons {
		line := fmt.Sprintf("  %-19s %s", l.Name, l.Title)
		if i == m.cursor {
			line = st.Selected.Render(fmt.Sprintf("▸ %-19s %s", l.Name, l.Title))
		}
		lessons = append(lessons, m.fit(line))
	}
	l := m.lessons[m.cursor]
	mk := m.keys.menu
	keys := keyLine(mk.choose, mk.start, mk.quit)
	if m.starting {
		keys = "making the sandbox… · " + keys
	}
	footer := st.Dim.Render(m.fit(keys))
	// The seed's heading, not its steps: they are the safe order, which
	// the trainee sees in the score and in incidents, after acting.
	seed := st.Dim.Render(m.fit("from the Migration Operations guide's " + l.Guide))
	room := height - 1 - len(lessons) - 1 // under the title and the lessons, above the key line
	if room < 1 {
		return nil, false
	}
	intro := wrapText(l.Intro, m.textWidth(), 0, 0, 0)
	var lines []string
	switch {
	case room >= 1+1+len(intro)+1+1:
		lines = append(append(append([]string{title, ""}, lessons...), ""), intro...)
		lines = append(lines, "", seed)
	case room >= 1+len(intro):
		lines = append(append(append([]string{title}, lessons...), ""), intro...)
	default:
		lines = append(append([]string{title}, lessons...), wrapText(l.Intro, m.textWidth(), 0, 0, room)...)
	}
	for len(lines) < height-1 {
		lines = append(lines, "")
	}
	return append(lines, footer), true
}

// minHeight is the least height the picker is drawn in.
func (m *menuModel) minHeight() int { return 1 + len(m.lessons) + 1 + 1 }
