package tui

import (
	"strings"

	"charm.land/bubbles/v2/key"

	"github.com/shepherd-db/shepherd/phases"
)

// helpKeys are the keys that do something now, for the help bar.
func (ps planScreen) helpKeys() bindings {
	k := ps.keys
	if ps.confirm != nil {
		if ps.confirm.kind == confirmTyped {
			return bindings{short: []key.Binding{k.Submit, k.Cancel}}
		}
		return bindings{short: []key.Binding{with(k.Yes, "y", "yes", true), with(k.No, "n", "not now", true)}}
	}
	busy := ps.op != opNone
	next, more := ps.next()
	run := with(k.Run, "r", "run next", !ps.viewed || (!busy && more))
	switch {
	case !ps.viewed && !busy:
		run = with(k.Run, "r", "open again", true)
	case more && stopped(infoOf(ps.infos, next.ID)):
		run = with(k.Run, "r", "resume "+next.ID, !busy)
	case more && ps.status(next.ID) == phases.Failed:
		run = with(k.Run, "r", "retry "+next.ID, !busy)
	case more && (next.Gate || next.Confirm):
		run = with(k.Run, "r", "confirm "+next.ID, !busy)
	case more:
		run = with(k.Run, "r", "run "+next.ID, !busy)
	case !more:
		run.SetEnabled(false)
	}
	if busy {
		run.SetEnabled(false)
	}
	sel := ps.timeline.Selected()
	pauseText := "pause"
	if ps.pause != nil && ps.pause.Paused() {
		pauseText = "resume"
	}
	pause := with(k.Pause, "p", pauseText, ps.walking())
	// u is offered only where a rollback can happen: never past the point
	// of no return, never with nothing to undo.
	_, _, noRollback := ps.pb.RollbackTarget(progressOf(ps.infos))
	rollback := with(k.Rollback, "u", "roll back", !busy && ps.viewed && noRollback == nil)
	reverify := with(k.Reverify, "v", "re-verify", !busy && ps.viewed && ps.status(sel.ID) == phases.Done)
	quit := with(k.Quit, "q", "quit", true)
	if busy && ps.walking() {
		quit = with(k.Quit, "q", "stop & quit (keeps checkpoint)", true)
	}
	back := with(k.Back, "esc", "plans", !busy)
	refresh := with(k.Refresh, "R", "read again", !busy)
	move := with(k.Up, "↑↓", "phase", true)
	scroll := with(k.PageDown, "pgdn/pgup", "scroll", true)
	help := with(k.Help, "?", "more", true)
	return bindings{
		short: []key.Binding{run, pause, reverify, rollback, move, quit, help},
		full: [][]key.Binding{
			{run, with(k.Confirm, "c", "confirm the waiting gate", !busy && more && (next.Gate || next.Confirm)), pause},
			{reverify, rollback},
			{move, scroll, refresh, back},
			{quit, with(k.Help, "?", "fewer keys", true)},
		},
	}
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}
