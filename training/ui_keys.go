package training

import (
	"strings"

	"charm.land/bubbles/v2/key"

	"github.com/shepherd-db/shepherd/tui"
)

// The keys each screen answers, as bubbles key bindings: a move the TUI of
// `shepherd run` has (up, down, Ctrl-C) is made with the TUI's own binding;
// the rest are the lessons'. A binding's help is what the screen's key line
// says of it.

// menuKeys are the lesson picker's.
type menuKeys struct {
	up, down key.Binding
	start    key.Binding
	quit     key.Binding
	choose   key.Binding // help only: ↑/↓
}

// lessonKeys are the lesson's.
type lessonKeys struct {
	up, down        key.Binding
	pick            key.Binding // 1-9: choose that action and run it
	run             key.Binding
	back, forward   key.Binding // scroll the log back and forward
	score, finish   key.Binding // s and q: the score
	lessons         key.Binding
	choose, scrolls key.Binding // help only: ↑↓/1-9, pgup/pgdn
}

// scoreKeys are the score's.
type scoreKeys struct {
	back, forward key.Binding
	lessons       key.Binding
	quit          key.Binding
}

type keyMap struct {
	forceQuit key.Binding // on every screen
	menu      menuKeys
	lesson    lessonKeys
	score     scoreKeys
}

func newKeyMap() keyMap {
	t := tui.NewKeyMap()
	b := func(keys []string, k, desc string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(k, desc))
	}
	help := func(k, desc string) key.Binding { return key.NewBinding(key.WithHelp(k, desc)) }
	back := []string{"pgup", "b"}
	forward := []string{"pgdown", "f"}
	return keyMap{
		forceQuit: t.ForceQuitKey,
		menu: menuKeys{
			up:     t.Up,
			down:   t.Down,
			start:  b([]string{"enter", "space"}, "enter", "start"),
			quit:   b([]string{"q", "esc"}, "q", "quit"),
			choose: help("↑/↓", "choose"),
		},
		lesson: lessonKeys{
			up:      t.Up,
			down:    t.Down,
			pick:    b([]string{"1", "2", "3", "4", "5", "6", "7", "8", "9"}, "1-9", "choose and run"),
			run:     b([]string{"enter", "space"}, "enter", "run"),
			back:    b(back, "pgup", "back"),
			forward: b(forward, "pgdn", "forward"),
			score:   b([]string{"s"}, "s", "score"),
			finish:  b([]string{"q"}, "q", "score"),
			lessons: b([]string{"esc"}, "esc", "lessons"),
			choose:  help("↑↓/1-9", "choose"),
			scrolls: help("pgup/pgdn", "scroll"),
		},
		score: scoreKeys{
			// On the score the arrows scroll too: there is nothing to choose.
			back:    b(append(back, t.Up.Keys()...), "pgup", "back"),
			forward: b(append(forward, t.Down.Keys()...), "pgdn", "more"),
			lessons: b([]string{"enter", "esc", "space"}, "enter", "back to the lessons"),
			quit:    b([]string{"q"}, "q", "quit"),
		},
	}
}

// keyName is a key as Bubble Tea names it ("enter", "pgdown", "1"), for
// key.Matches.
type keyName string

func (k keyName) String() string { return string(k) }

// keyLine is a screen's key line: each binding's key and what it does.
func keyLine(bs ...key.Binding) string {
	items := make([]string, len(bs))
	for i, b := range bs {
		h := b.Help()
		items[i] = h.Key + " " + h.Desc
	}
	return strings.Join(items, " · ")
}
