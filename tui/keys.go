package tui

import "charm.land/bubbles/v2/key"

// keyMap is every key the TUI answers. Which ones a screen shows in its
// help bar depends on what can be done now: a binding that does nothing at
// the moment is disabled, so help leaves it out.
type keyMap struct {
	Up, Down     key.Binding
	Open         key.Binding // plan list: open the selected plan
	Run          key.Binding // run the next phase (or retry it)
	Confirm      key.Binding // confirm the waiting gate
	Rollback     key.Binding
	Reverify     key.Binding
	Pause        key.Binding
	PageUp       key.Binding
	PageDown     key.Binding
	Refresh      key.Binding
	Back         key.Binding
	Help         key.Binding
	Quit         key.Binding
	Yes, No      key.Binding // a yes/no confirmation
	Submit       key.Binding // a typed confirmation
	Cancel       key.Binding
	ForceQuitKey key.Binding
}

func newKeyMap() keyMap {
	return keyMap{
		Up:           key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:         key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		Open:         key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open")),
		Run:          key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "run next")),
		Confirm:      key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "confirm gate")),
		Rollback:     key.NewBinding(key.WithKeys("u"), key.WithHelp("u", "roll back")),
		Reverify:     key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "re-verify")),
		Pause:        key.NewBinding(key.WithKeys("p", "space"), key.WithHelp("p", "pause")),
		PageUp:       key.NewBinding(key.WithKeys("pgup", "K"), key.WithHelp("pgup/K", "scroll detail up")),
		PageDown:     key.NewBinding(key.WithKeys("pgdown", "J"), key.WithHelp("pgdn/J", "scroll detail down")),
		Refresh:      key.NewBinding(key.WithKeys("ctrl+r", "R"), key.WithHelp("R", "refresh")),
		Back:         key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "plans")),
		Help:         key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "more keys")),
		Quit:         key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		Yes:          key.NewBinding(key.WithKeys("y", "Y"), key.WithHelp("y", "yes")),
		No:           key.NewBinding(key.WithKeys("n", "N", "esc"), key.WithHelp("n/esc", "no")),
		Submit:       key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "confirm")),
		Cancel:       key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
		ForceQuitKey: key.NewBinding(key.WithKeys("ctrl+c")),
	}
}

// bindings is a help.KeyMap made of the bindings a screen offers now.
type bindings struct {
	short []key.Binding
	full  [][]key.Binding
}

func (b bindings) ShortHelp() []key.Binding  { return b.short }
func (b bindings) FullHelp() [][]key.Binding { return b.full }

// with returns a copy of a binding with another help text, enabled or not.
func with(b key.Binding, keys, desc string, enabled bool) key.Binding {
	b.SetHelp(keys, desc)
	b.SetEnabled(enabled)
	return b
}

// KeyMap is the TUI's key map, for screens drawn outside this package on its
// look (shepherd train's): a move the TUI has a key for is made with the
// same key there.
type KeyMap = keyMap

// NewKeyMap returns the TUI's key bindings.
func NewKeyMap() KeyMap { return newKeyMap() }
