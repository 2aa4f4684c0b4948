package training

import (
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// ---------- the view ----------
//
// Every screen is drawn to the window's size, which can change at any time:
// each line fits the width (wrapped, or cut with an ellipsis), the key line
// is always the last line, and what does not fit gives way in a fixed order.
// A window too small for the screen says so instead of drawing half of it.

// minWidth is the narrowest window the screens are drawn in.
const minWidth = 40

// minLog is the fewest log lines the lesson screen keeps.
const minLog = 3

func (m *uiModel) View() tea.View {
	var lines []string
	var ok bool
	height := m.height
	var errLines []string
	if m.err != nil {
		errLines = append(styleLines(m.styles.Error, wrapText("error: "+m.err.Error(), m.textWidth(), 0, 2, 3)), m.styles.Dim.Render("press any key"))
		height -= len(errLines)
	}
	switch m.screen {
	case menuScreen:
		lines, ok = m.menuModel.view(height)
	case lessonScreen:
		lines, ok = m.lessonModel.view(height)
	case scoreScreen:
		lines, ok = m.scoreModel.view(height)
	}
	if m.width < minWidth || !ok {
		lines, errLines = m.tooSmall(), nil
	}
	if len(errLines) > 0 {
		// Above the key line.
		lines = append(append(lines[:len(lines)-1:len(lines)-1], errLines...), lines[len(lines)-1])
	}
	v := tea.NewView(strings.Join(lines, "\n"))
	v.AltScreen = true
	return v
}

// textWidth is the width a line may use: one column is left free, so that
// no terminal wraps a full line.
func (m *shared) textWidth() int { return max(1, m.width-1) }

// fit cuts a line, styled or not, to the width, with an ellipsis where it
// is cut.
func (m *shared) fit(s string) string { return ansi.Truncate(s, m.textWidth(), "…") }

// tooSmall says the window is too small, and how big it must be.
func (m *uiModel) tooSmall() []string {
	need := fmt.Sprintf("The window is too small: this screen needs at least %d columns and %d lines, and the window is %d×%d. Make it bigger, or press q to quit.",
		minWidth, m.minHeight(), m.width, m.height)
	lines := styleLines(m.styles.Warn, wrapText(need, max(10, m.textWidth()), 0, 0, 0))
	if len(lines) > m.height {
		lines = lines[:max(1, m.height)]
	}
	return lines
}

// minHeight is the least height the current screen is drawn in.
func (m *uiModel) minHeight() int {
	switch m.screen {
	case lessonScreen:
		return m.lessonModel.minHeight()
	case scoreScreen:
		return 6
	}
	return m.menuModel.minHeight()
}

// wrapText wraps plain text to width w: the first line indented by indent
// spaces, the others by hang. maxLines > 0 keeps that many lines, the last
// ending in an ellipsis when text was left out. A word longer than a line is
// cut across lines.
func wrapText(s string, w, indent, hang, maxLines int) []string {
	var out []string
	line, lead := "", indent
	flush := func() {
		out = append(out, strings.Repeat(" ", lead)+line)
		line, lead = "", hang
	}
	for _, word := range strings.Fields(s) {
		for word != "" {
			room := max(1, w-lead)
			sep := ""
			if line != "" {
				sep = " "
			}
			if ansi.StringWidth(line+sep+word) <= room {
				line += sep + word
				word = ""
				continue
			}
			if line != "" {
				flush()
				continue
			}
			// A word longer than the line.
			line = ansi.Truncate(word, room, "")
			word = word[len(line):]
			flush()
		}
	}
	if line != "" || len(out) == 0 {
		flush()
	}
	if maxLines > 0 && len(out) > maxLines {
		out = out[:maxLines]
		last := out[maxLines-1]
		if ansi.StringWidth(last)+1 > w {
			last = ansi.Truncate(last, w-1, "")
		}
		out[maxLines-1] = last + "…"
	}
	return out
}

// tone is the part a log line plays; it is drawn in the TUI's style for
// that part, looked up when drawn, so that the log follows the styles when
// the terminal says its background.
type tone int

const (
	plainTone  tone = iota
	dimTone         // the lesson's intro, SQL
	okTone          // a step that failed nothing
	badTone         // an incident, a failure
	warnTone        // a refusal, its rule, a note
	headerTone      // a step's heading
)

func (m *shared) style(t tone) lipgloss.Style {
	switch t {
	case dimTone:
		return m.styles.Dim
	case okTone:
		return m.styles.OK
	case badTone:
		return m.styles.Error
	case warnTone:
		return m.styles.Warn
	case headerTone:
		return m.styles.Header
	}
	return m.styles.Text
}

func styleLines(st lipgloss.Style, lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = st.Render(l)
	}
	return out
}
