package tui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
)

// confirmKind is what a confirmation asks.
type confirmKind int

const (
	confirmGate     confirmKind = iota + 1 // y/n: the deploy is out
	confirmRollback                        // y/n: undo the last phase
	confirmTyped                           // type the table's name: the point of no return
)

// answer is what the operator said.
type answer int

const (
	undecided answer = iota
	yes
	no
)

// confirm is a question that must be answered before anything runs: a gate
// (y/n), a rollback (y/n), or the point of no return, where the operator
// types the table's name.
type confirm struct {
	styles *Styles
	kind   confirmKind
	phase  string
	title  string
	body   []string // paragraphs
	warn   string   // said in the warning colour, above the question
	ask    string   // the question
	yesTo  string   // what y (or enter) does, for the key line
	want   string   // the text a typed confirmation needs
	input  textinput.Model
	wrong  string
	width  int
}

func newConfirm(s *Styles, kind confirmKind, phase, title string) confirm {
	c := confirm{styles: s, kind: kind, phase: phase, title: title}
	return c
}

// typed turns the confirmation into one that needs want typed.
func (c confirm) typed(want string) (confirm, tea.Cmd) {
	c.kind, c.want = confirmTyped, want
	in := textinput.New()
	in.Prompt = "› "
	in.CharLimit = 128
	st := in.Styles()
	st.Cursor.Blink = false
	in.SetStyles(st)
	c.input = in
	c.input.SetWidth(max(c.width-8, 10))
	return c, c.input.Focus()
}

func (c *confirm) SetWidth(w int) {
	c.width = w
	if c.kind == confirmTyped {
		c.input.SetWidth(max(w-8, 10))
	}
}

// Update takes a key press and says whether the question is answered.
func (c confirm) Update(msg tea.KeyPressMsg, k keyMap) (confirm, answer, tea.Cmd) {
	if c.kind != confirmTyped {
		switch {
		case key.Matches(msg, k.Yes):
			return c, yes, nil
		case key.Matches(msg, k.No):
			return c, no, nil
		}
		return c, undecided, nil
	}
	switch {
	case key.Matches(msg, k.Cancel):
		return c, no, nil
	case key.Matches(msg, k.Submit):
		if strings.TrimSpace(c.input.Value()) == c.want {
			return c, yes, nil
		}
		c.wrong = "that is not " + c.want + ": type the table's name exactly, or esc to cancel"
		return c, undecided, nil
	}
	var cmd tea.Cmd
	c.input, cmd = c.input.Update(msg)
	c.wrong = ""
	return c, undecided, cmd
}

// View draws the question in a box at most maxH lines high: the title,
// the question and its keys always show; the explanation is cut to fit.
func (c confirm) View(maxH int) string {
	s := c.styles
	inner := max(c.width-4, 10) // border and padding
	var body []string
	for i, p := range c.body {
		if i > 0 {
			body = append(body, "")
		}
		for _, l := range wrap(p, inner) {
			body = append(body, s.Text.Render(l))
		}
	}
	if c.warn != "" {
		body = append(body, "")
		for _, l := range wrap(c.warn, inner) {
			body = append(body, s.Warn.Render(l))
		}
	}
	var tail []string
	tail = append(tail, "")
	for _, l := range wrap(c.ask, inner) {
		tail = append(tail, s.Label.Render(l))
	}
	if c.kind == confirmTyped {
		tail = append(tail, c.input.View())
		if c.wrong != "" {
			for _, l := range wrap(c.wrong, inner) {
				tail = append(tail, s.Error.Render(l))
			}
		}
		tail = append(tail, "", s.Key.Render("enter")+s.Dim.Render(" "+c.yesTo+" · ")+s.Key.Render("esc")+s.Dim.Render(" cancel"))
	} else {
		tail = append(tail, "", s.Key.Render("y")+s.Dim.Render(" "+c.yesTo+" · ")+s.Key.Render("n")+s.Dim.Render(" not now"))
	}
	head := []string{s.DialogTitle.Render(truncate(c.title, inner)), ""}
	if room := maxH - 2 - len(head) - len(tail); len(body) > room {
		body = body[:max(room-1, 0)]
		body = append(body, s.Dim.Render("…"))
	}
	lines := append(append(head, body...), tail...)
	return s.Dialog.Width(c.width).Render(strings.Join(lines, "\n"))
}
