package engine

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/shepherd-db/shepherd/phases"
)

// Rolling back without losing what the application wrote.
//
// rename-column's releases, in order: v1 reads and writes only the old
// column; v2 (dual-write) writes both and reads the old; v3 (switch-reads)
// writes both and reads the new; v4 (stop-old-writes) writes and reads only
// the new. A gate is rolled back after its deploy was: the release before
// it runs again when shepherd un-confirms it. Which column holds the truth
// at each rollback decides what may be copied where:
//
//   - stop-old-writes: v4 wrote only the new column, so wherever the two
//     differ the new one holds the application's last write and the old one
//     a stale value, or none. v3 runs now, reads the new column and writes
//     both, so copying the new column into the old one in every such row
//     loses nothing, and the old column is right before any code reads it
//     again (switch-reads' rollback). Only NULLs used to be filled: rows v4
//     updated kept their stale value.
//   - switch-reads: v2 runs now, and v3 before it wrote both columns; no
//     code that writes only the old column runs (v1 was replaced before
//     dual-write was confirmed). A difference can only be a write of code
//     that writes only the new column: a v4 replica not yet replaced, or a
//     write while stop-old-writes waited at its gate (a deploy comes before
//     its confirmation). Copying the new column into the old one is again
//     lossless, and the columns are equal when v1 takes over.
//   - backfill and dual-write leave the rows as they are: the code running
//     then reads the old column.
//   - add-column drops the new column. v1 runs (dual-write was rolled back
//     after its deploy), and it writes only the old column: where the two
//     differ, either v1 changed the old column since (the old one is
//     right) or the new column holds a value nothing carried back (the new
//     one is right). The data cannot tell which, and copying either way
//     could lose a write, so the drop refuses, naming the rows, until the
//     operator has looked at them (--drop-data).
//
// add-column's own column has nowhere to go back to: its last rollback
// refuses while any row holds a value the plan's backfill expression would
// not give it again (a value the application wrote), until --drop-data.

// carriesBack reports whether rolling back (or going back past) a phase
// copies rename's new column back into the old one.
func (s *Session) carriesBack(id string) bool { return s.ops(id).undoArrival != nil }

// carryBack copies the new column into the old one in every row where they
// differ, in keyset batches on the phase's checkpoint (an interrupted
// rollback resumes where it stopped), and says how many rows it copied.
func (s *Session) carryBack(ctx context.Context, id string) (string, error) {
	p := s.plan
	s.notice(id, "copying %s back into %s where they differ: code that wrote only %s may have run, and code that reads %s may run again", p.RenameColumn.To, p.RenameColumn.Column, p.RenameColumn.To, p.RenameColumn.Column)
	copied, err := s.runBatches(ctx, s.builder().carryJob(id))
	if err != nil {
		return "", err
	}
	st := s.st(id)
	st.resetWalk() // done: a later rollback walks the whole table
	if err := s.inTx(ctx, func(tx *sql.Tx) error { return s.save(ctx, tx, st) }); err != nil {
		return "", err
	}
	if copied == 0 {
		return fmt.Sprintf("no row of %s had a %s that %s did not have", p.Table, p.RenameColumn.To, p.RenameColumn.Column), nil
	}
	return fmt.Sprintf("%d %s of %s had a %s that %s did not have: copied into %s",
		copied, phases.Plural(int(min(copied, 2)), "row", "rows"), p.Table, p.RenameColumn.To, p.RenameColumn.Column, p.RenameColumn.Column), nil
}

// forgetCarry drops the checkpoint an interrupted carry-back left behind
// once the plan goes forward again: code that writes only the new column
// may write rows behind it again, so the next rollback walks the whole
// table.
func (s *Session) forgetCarry(ctx context.Context) error {
	for id, st := range s.state {
		if !s.carriesBack(id) || st.Checkpoint == nil && st.RowsDone == 0 && st.RowsChanged == 0 {
			continue
		}
		st.resetWalk()
		if err := s.inTx(ctx, func(tx *sql.Tx) error { return s.save(ctx, tx, st) }); err != nil {
			return err
		}
	}
	return nil
}

// guardDrop refuses add-column's rollback while the column it drops holds
// values that would be lost with it (see above), unless the operator asked
// for the drop anyway (Options.DropData): then a notice says what goes, and
// dropped says it for the log (without keys). It reads the whole table
// once. loss says, for the plan's playbook, which values those are.
func (s *Session) guardDrop(ctx context.Context, b builder, id string, loss dropLoss) (dropped string, err error) {
	p := s.plan
	n, sample, err := s.countWhere(ctx, s.db, b.cond(loss.cond), nil)
	switch {
	case err != nil && s.opts.DropData:
		s.notice(id, "could not tell whether dropping the column loses values (%v): dropping it anyway, as --drop-data asks", err)
		return "; whether it held values nothing could give back was not known: dropped as --drop-data asked", nil
	case err != nil:
		return "", &phases.RefusedError{Phase: id, Reason: fmt.Sprintf(
			"add-column: could not tell whether dropping the column loses values (%v); nothing was changed. Roll back with --drop-data to drop it anyway: shepherd rollback %s --drop-data", err, p.File)}
	}
	if n == 0 {
		return "", nil
	}
	one := int(min(n, 2)) // 1 or many, for Plural
	rows := fmt.Sprintf("%d %s of %s %s %s (%s %s)", n, phases.Plural(one, "row", "rows"), p.Table,
		phases.Plural(one, "has", "have"), loss.what(p, one), s.key, sampleText(sample, n))
	if s.opts.DropData {
		s.notice(id, "%s: dropped with the column, as --drop-data asks", rows)
		return fmt.Sprintf("; %d %s values that nothing could give back went with it, as --drop-data asked", n, phases.Plural(one, "row's", "rows'")), nil
	}
	return "", &phases.RefusedError{Phase: id, Reason: fmt.Sprintf(
		"add-column: %s: %s; or roll back with --drop-data to drop %s with the column: shepherd rollback %s --drop-data. Nothing was changed", rows, loss.why(p, one), phases.Plural(one, "it", "them"), p.File)}
}

// dropLoss says which values dropping the plan's new column would lose,
// for guardDrop: the rows that hold them (a condition template), and what
// they hold and why they would be lost, for one row (one == 1) or many.
type dropLoss struct {
	cond string
	what func(p *phases.Plan, one int) string
	why  func(p *phases.Plan, one int) string
}

// sampleText lists sample keys, with … when there are more rows.
func sampleText(sample []string, n int64) string {
	text := strings.Join(sample, ", ")
	if int64(len(sample)) < n {
		text += ", …"
	}
	return text
}

// article is "a" or "an" before a name, as it is read.
func article(name string) string {
	if name != "" && strings.ContainsRune("aeiouAEIOU", rune(name[0])) {
		return "an"
	}
	return "a"
}

// undoArrival undoes what a gate did or let happen, when rollback reverts
// it or goes past it: rename's switch-reads and stop-old-writes copy the
// new column back into the old one (see above), and stop-old-writes moves
// NOT NULL back to the old column if it moved it to the new one. It says
// what it copied, for the phase's detail.
func (s *Session) undoArrival(ctx context.Context, id string) (string, error) {
	if undo := s.ops(id).undoArrival; undo != nil {
		return undo(ctx, s)
	}
	return "", nil
}
