package tui

import (
	"image/color"
	"os"

	"charm.land/bubbles/v2/help"
	"charm.land/lipgloss/v2"
)

// Styles is every style the TUI draws with, in one place. Colours come in a
// light and a dark variant (picked from the terminal's background, which
// Bubble Tea reports as a tea.BackgroundColorMsg); with NO_COLOR set there
// are none at all, and every state still reads from its symbol and its word
// (✓ done, ✗ failed, ◆ waiting…), never from colour alone.
type Styles struct {
	NoColor bool

	Header   lipgloss.Style // the top line: shepherd and the plan
	Title    lipgloss.Style // a pane's title
	Dim      lipgloss.Style // secondary text: times, paths, hints
	Label    lipgloss.Style // Does, Why, SQL… in the detail pane
	Text     lipgloss.Style
	Selected lipgloss.Style // the selected row's text
	Cursor   lipgloss.Style // the › before the selected row

	Done    lipgloss.Style
	Running lipgloss.Style
	Waiting lipgloss.Style // a gate waiting for its deploy
	Failed  lipgloss.Style
	Pending lipgloss.Style
	Rolled  lipgloss.Style

	SQL  lipgloss.Style
	Lock lipgloss.Style

	OK    lipgloss.Style // a message that something worked
	Warn  lipgloss.Style
	Error lipgloss.Style

	Dialog      lipgloss.Style // the box of a confirmation
	DialogTitle lipgloss.Style
	Key         lipgloss.Style // a key named in running text: y, n, esc

	Rule lipgloss.Style // the line between the panes

	ProgressFull  color.Color
	ProgressEmpty color.Color

	Help help.Styles
}

// palette is one colour per role, light and dark.
type palette struct {
	accent, dim, faint, ok, run, warn, err, sql color.Color
}

func newPalette(dark bool) palette {
	ld := lipgloss.LightDark(dark)
	c := lipgloss.Color
	return palette{
		accent: ld(c("#0550AE"), c("#79C0FF")),
		dim:    ld(c("#59636E"), c("#9198A1")),
		faint:  ld(c("#AFB8C1"), c("#484F58")),
		ok:     ld(c("#1A7F37"), c("#56D364")),
		run:    ld(c("#0969DA"), c("#58A6FF")),
		warn:   ld(c("#9A6700"), c("#E3B341")),
		err:    ld(c("#CF222E"), c("#FF7B72")),
		sql:    ld(c("#6639BA"), c("#D2A8FF")),
	}
}

// NewStyles returns the styles for a dark or light background; noColor
// drops every colour and keeps bold, faint-free text.
func NewStyles(dark, noColor bool) *Styles {
	s := &Styles{NoColor: noColor}
	st := lipgloss.NewStyle
	if noColor {
		plain := st()
		s.Header = st().Bold(true)
		s.Title = st().Bold(true)
		s.Dim, s.Label, s.Text = plain, st().Bold(true), plain
		s.Selected, s.Cursor = st().Bold(true), st().Bold(true)
		s.Done, s.Running, s.Waiting, s.Failed, s.Pending, s.Rolled = plain, st().Bold(true), st().Bold(true), st().Bold(true), plain, plain
		s.SQL, s.Lock = plain, plain
		s.OK, s.Warn, s.Error = plain, st().Bold(true), st().Bold(true)
		s.Dialog = st().Border(lipgloss.NormalBorder()).Padding(0, 1)
		s.DialogTitle = st().Bold(true)
		s.Key = st().Bold(true)
		s.Rule = plain
		s.Help = help.Styles{Ellipsis: plain, ShortKey: st().Bold(true), ShortDesc: plain, ShortSeparator: plain,
			FullKey: st().Bold(true), FullDesc: plain, FullSeparator: plain}
		return s
	}
	p := newPalette(dark)
	s.Header = st().Bold(true).Foreground(p.accent)
	s.Title = st().Bold(true).Foreground(p.accent)
	s.Dim = st().Foreground(p.dim)
	s.Label = st().Bold(true).Foreground(p.dim)
	// Body text keeps the terminal's own foreground: readable whatever the
	// background, even before (or without) the terminal saying which it is.
	s.Text = st()
	s.Selected = st().Bold(true).Foreground(p.accent)
	s.Cursor = st().Bold(true).Foreground(p.accent)
	s.Done = st().Foreground(p.ok)
	s.Running = st().Bold(true).Foreground(p.run)
	s.Waiting = st().Bold(true).Foreground(p.warn)
	s.Failed = st().Bold(true).Foreground(p.err)
	s.Pending = st().Foreground(p.dim)
	s.Rolled = st().Foreground(p.warn)
	s.SQL = st().Foreground(p.sql)
	s.Lock = st().Foreground(p.dim).Italic(true)
	s.OK = st().Foreground(p.ok)
	s.Warn = st().Foreground(p.warn)
	s.Error = st().Bold(true).Foreground(p.err)
	s.Dialog = st().Border(lipgloss.RoundedBorder()).BorderForeground(p.warn).Padding(0, 1)
	s.DialogTitle = st().Bold(true).Foreground(p.warn)
	s.Key = st().Bold(true).Foreground(p.accent)
	s.Rule = st().Foreground(p.faint)
	s.ProgressFull, s.ProgressEmpty = p.run, p.faint
	s.Help = help.Styles{
		Ellipsis:       st().Foreground(p.dim),
		ShortKey:       st().Bold(true).Foreground(p.accent),
		ShortDesc:      st().Foreground(p.dim),
		ShortSeparator: st().Foreground(p.faint),
		FullKey:        st().Bold(true).Foreground(p.accent),
		FullDesc:       st().Foreground(p.dim),
		FullSeparator:  st().Foreground(p.faint),
	}
	return s
}

// NoColorEnv reports whether the environment asks for no colour: NO_COLOR
// set to anything (https://no-color.org), as Run reads it; shepherd train's
// screens read it here.
func NoColorEnv() bool { return os.Getenv("NO_COLOR") != "" }
