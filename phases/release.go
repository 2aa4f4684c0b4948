package phases

import (
	"strings"
	"time"
)

// Rules that more than one layer applies (the engine warns by them, the
// TUI asks by them, training explains them), each said once, here.

// OneRelease is how long shepherd takes one release to be out everywhere,
// as it cannot see releases: the guide drops the old column one release
// after writes to it stopped.
const OneRelease = time.Hour

// TooSoon reports whether the point of no return, at now, follows the
// confirmation of stop-old-writes at confirmed too soon: within
// OneRelease. A zero confirmed is not known, and not too soon by this
// rule (the engine also warns in the run that confirmed it).
func TooSoon(confirmed, now time.Time) bool {
	return !confirmed.IsZero() && now.Sub(confirmed) < OneRelease
}

// noRevertPrefix starts the Revert of a phase that cannot be undone.
const noRevertPrefix = "None: "

// WhyIrreversible is why a phase that cannot be undone (UndoNever) cannot:
// its Revert after the "None: " it starts with; "" for any other phase.
func (ph Phase) WhyIrreversible() string {
	if ph.Undo != UndoNever {
		return ""
	}
	return strings.TrimPrefix(ph.Revert, noRevertPrefix)
}

// gatePrefix starts the Does of every gate.
const gatePrefix = "Gate: "

// Deploy is what a gate asks to deploy: its Does without the "Gate: " it
// starts with (a phase that is not a gate: its Does).
func (ph Phase) Deploy() string { return strings.TrimPrefix(ph.Does, gatePrefix) }

// VerifiedByWord reports whether the operator's confirmation is all the
// verification the phase has: its Verify starts "You confirm" (what
// shepherd runs at such a gate shows or prepares, and never refuses it).
func (ph Phase) VerifiedByWord() bool { return strings.HasPrefix(ph.Verify, "You confirm") }
