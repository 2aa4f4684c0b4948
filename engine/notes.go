package engine

import "strings"

// What screens read of a preview, by type: the kind of each note, and
// where the failure path's proof writes.

// NoteKind says what a preview's note is about, so that a screen leaves a
// note out, or says it its own way, by its kind, never by its words.
type NoteKind int

const (
	// NoteInfo is any other note.
	NoteInfo NoteKind = iota
	// NoteConfirm says how a gate, or the point of no return, is
	// confirmed in a release job: with its ConfirmFlag. A screen with its
	// own way to confirm says it with Note.ConfirmedBy.
	NoteConfirm
	// NoteTableKey says that "id" stands for the table's primary key,
	// which only the live schema gives.
	NoteTableKey
	// NoteReferencedKey says that "id" stands for the primary key of the
	// table a foreign key references.
	NoteReferencedKey
)

// Note is one note of a phase's preview.
type Note struct {
	Kind NoteKind
	Text string // as `shepherd plan` prints it
	// before and after are a NoteConfirm's Text around its ConfirmHint.
	before, after string
}

func (n Note) String() string { return n.Text }

// ConfirmedBy is the note with its confirmation said as how (the TUI's
// keys) instead of ConfirmHint; any other note as it is.
func (n Note) ConfirmedBy(how string) string {
	if n.Kind != NoteConfirm {
		return n.Text
	}
	return n.before + how + n.after
}

// infoNote is a note of NoteInfo.
func infoNote(text string) Note { return Note{Kind: NoteInfo, Text: text} }

// confirmNote is a NoteConfirm for the phase id: before, its ConfirmHint,
// after.
func confirmNote(id, before, after string) Note {
	return Note{Kind: NoteConfirm, Text: before + ConfirmHint(id) + after, before: before, after: after}
}

// hasNote reports whether notes hold one with n's text.
func hasNote(notes []Note, text string) bool {
	for _, n := range notes {
		if n.Text == text {
			return true
		}
	}
	return false
}

// ConfirmFlag is the flag that confirms the gate (or the point of no
// return) id in a release job: the notes' ConfirmHint and the gate's
// arrival name it through this.
func ConfirmFlag(id string) string { return "--confirm " + id }

// ConfirmHint says, after a colon, how a release job confirms id.
func ConfirmHint(id string) string { return "confirm it with " + ConfirmFlag(id) }

// proofWriteStep is where failurePreview puts the violating write: after
// its savepoint, before the rollback to it.
const proofWriteStep = 1

// ProofWrite is, in a preview of verify-failure-path, the index in Steps of
// the violating write, and whether its value is one shepherd guesses when
// the proof runs (the plan gives no constraint.violating, and GuessedValue
// stands in for it). ok is false for any other preview.
func (pv PhasePreview) ProofWrite() (step int, guessed, ok bool) {
	if !pv.Phase.Proof || len(pv.Steps) <= proofWriteStep {
		return 0, false, false
	}
	return proofWriteStep, strings.Contains(pv.Steps[proofWriteStep].SQL, GuessedValue), true
}
