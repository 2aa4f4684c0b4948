package engine

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/shepherd-db/shepherd/phases"
)

// backfill, switch-writes' catch-up, rename's copy and clean: the phases
// that change rows, in keyset batches.

// startPass resets a phase's checkpoint for a fresh pass over the table,
// unless the phase is resuming one (it was interrupted, or a batch failed
// and keepFailed says to resume after it).
func (s *Session) startPass(ctx context.Context, id string, prev phases.Status, keepFailed bool) error {
	if prev == phases.Running || prev == phases.Failed && keepFailed {
		if cp := s.st(id).Checkpoint; cp != nil {
			s.notice(id, "resuming from the checkpoint %s (%d rows done)", s.walkAt(*cp), s.st(id).RowsDone)
		}
		return nil
	}
	st := s.st(id)
	if st.Checkpoint == nil && st.RowsDone == 0 && st.RowsChanged == 0 {
		return nil
	}
	st.resetWalk()
	return s.save(ctx, s.db, st)
}

// phaseBackfill fills NULLs of the new column with the plan's expression,
// in batches from its checkpoint (or, on MariaDB, by a copy of the table:
// shadow.go), and walks again behind the walk where its verification finds
// rows committed there.
func (s *Session) phaseBackfill(ctx context.Context, b builder, id string, prev phases.Status) error {
	copies, err := s.backfillCopies(ctx, id, prev)
	if err != nil {
		return err
	}
	var changed int64
	if copies {
		changed, err = s.copyPass(ctx, b, id, prev)
		if refused := (*shadowRefusedError)(nil); errors.As(err, &refused) {
			s.notice(id, "fills %s in place, not by a copy of the table: %s", s.plan.Table, refused.why)
			copies = false
		}
	}
	if !copies {
		changed, err = s.fillPass(ctx, b, id, prev, true)
	}
	if err != nil {
		return err
	}
	for pass := 0; ; pass++ {
		err := s.finishNow(ctx, id, s.verifyBackfill(b, id, changed, copies))
		var behind *VerifyError // verifyBackfill's only one: rows NULL behind the walk
		if !errors.As(err, &behind) || pass == behindWalkPasses || len(behind.Sample) == 0 {
			return err
		}
		if changed, err = s.walkAgainBehind(ctx, b, id, behind); err != nil {
			return err
		}
	}
}

// phaseCatchUp is switch-writes' catch-up: it fills the rows that old code
// wrote after the backfill, in a fresh pass over the rows still NULL
// (nullwalk.go), and then no row may be NULL. An interrupted catch-up
// resumes from its checkpoint, its rows filled adding up (a failed
// verification has reset its walk: the next confirmation starts afresh).
// A fresh one searches first past the end of the backfill's walk, where
// old code's inserts are.
func (s *Session) phaseCatchUp(ctx context.Context, b builder, id string, prev phases.Status) error {
	if err := s.startPass(ctx, id, prev, true); err != nil {
		return err
	}
	job := b.catchUpJob(id)
	var proof nullProof
	job.filled = &proof
	changed, err := s.runBatches(ctx, job)
	if err != nil {
		return err
	}
	return s.finishNow(ctx, id, s.verifyFilled(b, id, changed, proof))
}

// fillPass walks the table filling NULLs of the new column with the plan's
// expression, and says how many rows it changed (see startPass for
// keepFailed).
func (s *Session) fillPass(ctx context.Context, b builder, id string, prev phases.Status, keepFailed bool) (int64, error) {
	if err := s.startPass(ctx, id, prev, keepFailed); err != nil {
		return 0, err
	}
	job := b.fillJob(id)
	if s.sql.Has("walk-ddl") {
		resuming := prev == phases.Running || prev == phases.Failed && keepFailed
		changed, split, err := s.fillSplit(ctx, job, resuming, s.walkWorkers(ctx, id))
		if split || err != nil {
			return changed, err
		}
	} else {
		s.walkWorkers(ctx, id) // says why SQLite walks with one
	}
	return s.runBatches(ctx, job)
}

// behindWalkPasses bounds the walks again: rows that keep landing behind
// the walk are not late commits, and verifyBackfill names them.
const behindWalkPasses = 3

// walkAgainBehind walks again, from just before the first of them, over
// rows the backfill's walk passed before they were committed: an id taken
// from a sequence (or the application's counter) before a slow insert
// commits lands behind the walk, NULL, when the insert comes from code
// that does not write the column yet. With an integer key they are near
// the walk's end, so the walk from the first of them is short. Such a
// commit can land at any moment before the verification reads the table,
// so it is the verification that finds them (behind: its sample is
// ordered by key) and phaseFill that walks again and verifies again. Keys
// that do not increase are left to switch-writes' catch-up. It returns
// the rows the phase changed in all.
func (s *Session) walkAgainBehind(ctx context.Context, b builder, id string, behind *VerifyError) (int64, error) {
	st := s.st(id)
	first, err := strconv.ParseInt(behind.Sample[0], 10, 64)
	if err != nil {
		return st.RowsChanged, behind
	}
	s.notice(id, "%d rows committed behind the walk after it passed them (from %s %d): walking again from there", behind.Count, s.key, first)
	back := strconv.FormatInt(first-1, 10)
	st.Checkpoint = &back
	if err := s.save(ctx, s.db, st); err != nil {
		return st.RowsChanged, err
	}
	return s.runBatches(ctx, b.fillJob(id))
}

// verifyBackfill: no row the walk covered is left NULL where the expression
// has a value. Rows past the last checkpoint were written after the walk by
// code that does not know the column yet; switch-writes catches them up.
func (s *Session) verifyBackfill(b builder, id string, changed int64, copied bool) func(context.Context, querier) (string, error) {
	return func(ctx context.Context, q querier) (string, error) {
		cp := s.st(id).Checkpoint
		if cp == nil {
			return "the table is empty: nothing to backfill", nil
		}
		vals := map[string]any{"hi": s.walkArg(*cp)}
		detail := fmt.Sprintf("%d rows walked %s, %d filled", s.st(id).RowsDone, s.walkedTo(*cp), changed)
		if copied {
			// The copy's batches write every row, filled or not: the rows
			// that stay NULL are counted below.
			detail = fmt.Sprintf("%d rows copied %s into a copy of %s, which took its place", s.st(id).RowsDone, s.walkedTo(*cp), s.plan.Table)
		}
		// One pass over the table in the usual case: no NULL is left, so
		// none is unfilled and the expression gave NULL for none.
		d := b.cond("null")
		d.Bounded = true
		if n, _, err := s.countWhere(ctx, q, d, vals); err != nil {
			return "", fmt.Errorf("%s: verify: %w", id, err)
		} else if n == 0 {
			return detail, nil
		}
		d = b.cond("unfilled")
		d.Bounded = true
		n, sample, err := s.countWhere(ctx, q, d, vals)
		if err != nil {
			return "", fmt.Errorf("%s: verify: %w", id, err)
		}
		if n > 0 {
			if !s.keyIsInteger() {
				// With a key that does not increase (uuid, text, or a
				// composite key, whose new rows land anywhere in its tuple's
				// order), rows that code not writing the column inserts
				// land behind the walk.
				// switch-writes catches them up and requires zero NULLs.
				s.notice(id, "%d rows behind the walk are NULL (keys %s): with a key that does not increase, rows inserted meanwhile by code that does not write %s land there; switch-writes catches them up", n, strings.Join(sample, ", "), s.plan.AddColumn.Column)
			} else {
				return "", &VerifyError{Phase: id, What: fmt.Sprintf("rows should have %s filled", s.plan.AddColumn.Column), UpTo: s.walkAt(*cp),
					Count: n, Sample: sample, Hint: "rerun: the backfill walks the table again"}
			}
		}
		d = b.cond("null-expr")
		d.Bounded = true
		nulls, sample, err := s.countWhere(ctx, q, d, vals)
		if err != nil {
			return "", fmt.Errorf("%s: verify: %w", id, err)
		}
		if nulls > 0 {
			detail += fmt.Sprintf("; %d stay NULL: the expression gives NULL for them", nulls)
			s.warn(id, "the backfill expression gives NULL for %d rows (keys %s), so %s stays NULL there and enforce will refuse until they have a value", nulls, strings.Join(sample, ", "), s.plan.AddColumn.Column)
		}
		return detail, nil
	}
}

// walkedTo says where a walk of the table ended, in a phase's done
// detail, which shepherd's tables keep: at the checkpoint cp with an
// integer key ("up to id 500"); with a key column that holds data, without
// its value (the checkpoint column keeps it).
func (s *Session) walkedTo(cp string) string {
	if s.keyIsInteger() {
		return "up to " + s.key + " " + cp
	}
	return "to the end of the table"
}

// verifyFilled is switch-writes' check after the catch-up: with writes
// switched, no row may be NULL any more. When the catch-up's last search
// read the whole table after its last batch and found no row to fill
// (proof), that search is the count: no second read of the table. What
// it proves is what a count would, at one moment after writes were
// switched (nullSource.proof); rows it found NULL that the expression
// leaves NULL are counted and named by the full check, as before.
func (s *Session) verifyFilled(b builder, id string, changed int64, proof nullProof) func(context.Context, querier) (string, error) {
	return func(ctx context.Context, q querier) (string, error) {
		caught := fmt.Sprintf("the catch-up filled %d rows where %s was NULL", changed, s.plan.AddColumn.Column)
		if proof.ok && proof.stay == 0 {
			return caught + "; no row is NULL", nil
		}
		if proof.ok && !s.plan.AddColumn.NotNull {
			return caught + fmt.Sprintf("; %d rows stay NULL (not_null is false, so NULLs may remain)", proof.stay), nil
		}
		if !s.plan.AddColumn.NotNull {
			n, _, err := s.countWhere(ctx, q, b.cond("null"), nil)
			if err != nil {
				return "", fmt.Errorf("%s: count NULLs: %w", id, err)
			}
			if n > 0 {
				return caught + fmt.Sprintf("; %d rows stay NULL (not_null is false, so NULLs may remain)", n), nil
			}
			return caught + "; no row is NULL", nil
		}
		n, sample, err := s.countWhere(ctx, q, b.cond("null"), nil)
		if err != nil {
			return "", fmt.Errorf("%s: verify: %w", id, err)
		}
		if n > 0 {
			hint := "code that does not write " + s.plan.AddColumn.Column + " is still running somewhere (is the deploy out everywhere?)"
			if m, _, err := s.countWhere(ctx, q, b.cond("null-expr"), nil); err == nil && m > 0 {
				hint += fmt.Sprintf(", or the backfill expression gives NULL for these rows (%d of them)", m)
			}
			return "", &VerifyError{Phase: id, What: fmt.Sprintf("%s has no NULLs once writes are switched; %s", s.plan.AddColumn.Column, caught),
				Count: n, Sample: sample, Hint: hint + "; confirm again to catch up and check again"}
		}
		return caught + "; no row is NULL", nil
	}
}

// phaseCopy is rename-column's backfill: the old column copied into the new.
func (s *Session) phaseCopy(ctx context.Context, b builder, id string, prev phases.Status) error {
	if err := s.startPass(ctx, id, prev, true); err != nil {
		return err
	}
	changed, err := s.runBatches(ctx, b.copyJob(id))
	if err != nil {
		return err
	}
	cp := s.st(id).Checkpoint
	bound := ""
	if cp != nil {
		bound = *cp
	}
	return s.finishNow(ctx, id, func(ctx context.Context, q querier) (string, error) {
		if cp == nil {
			return "the table is empty: nothing to copy", nil
		}
		if _, err := s.verifyNoDiff(b, id, bound)(ctx, q); err != nil {
			return "", err
		}
		return fmt.Sprintf("%d rows walked %s, %d copied; %s equals %s in each", s.st(id).RowsDone, s.walkedTo(bound), changed, s.plan.RenameColumn.To, s.plan.RenameColumn.Column), nil
	})
}

// verifyNoDiff checks that every row's new column equals its old one (up to
// the key bound, when one is given). switch-reads refuses while they differ.
func (s *Session) verifyNoDiff(b builder, phase, bound string) func(context.Context, querier) (string, error) {
	return func(ctx context.Context, q querier) (string, error) {
		d := b.cond("diff")
		var vals map[string]any
		if bound != "" {
			d.Bounded = true
			vals = map[string]any{"hi": s.walkArg(bound)}
		}
		n, sample, err := s.countWhere(ctx, q, d, vals)
		if err != nil {
			return "", fmt.Errorf("%s: compare %s and %s: %w", phase, s.plan.RenameColumn.Column, s.plan.RenameColumn.To, err)
		}
		if n > 0 {
			hint := "rows written by code that does not dual-write yet; roll back to the backfill and run it again once dual-write is deployed everywhere"
			if ph, _ := s.pb.Phase(phase); ph.Batched(s.plan) { // the copy itself: a rerun copies again
				hint = "rerun to copy them"
			}
			return "", &VerifyError{Phase: phase, What: fmt.Sprintf("%s should equal %s in every row", s.plan.RenameColumn.To, s.plan.RenameColumn.Column),
				Count: n, Sample: sample, Hint: hint}
		}
		return fmt.Sprintf("%s equals %s in every row", s.plan.RenameColumn.To, s.plan.RenameColumn.Column), nil
	}
}

// countViolations is validate-in-app's look at the data: how many rows
// break the constraint now. It never fails: clean comes next.
func (s *Session) countViolations(b builder, id string) func(context.Context, querier) (string, error) {
	return func(ctx context.Context, q querier) (string, error) {
		n, sample, err := s.countWhere(ctx, q, b.cond("violates"), nil)
		if err != nil {
			return "", fmt.Errorf("%s: count violating rows: %w", id, err)
		}
		if n == 0 {
			return "confirmed by " + s.opts.Operator + "; no row violates " + s.plan.ConstraintLabel(), nil
		}
		if !s.keyIsInteger() {
			s.notice(id, "%s %s now (keys %s)", rowsViolate(n), s.plan.ConstraintLabel(), strings.Join(sample, ", "))
		}
		return fmt.Sprintf("confirmed by %s; %s %s now (%s): clean comes next", s.opts.Operator, rowsViolate(n), s.plan.ConstraintLabel(), s.recordedKeys(sample)), nil
	}
}

// phaseClean fixes violating rows with the plan's clean: expressions.
func (s *Session) phaseClean(ctx context.Context, b builder, id string, prev phases.Status) error {
	label := s.plan.ConstraintLabel()
	var changed int64
	// A walk of duplicates that ended on a search of the whole table
	// finding none has just counted them: no second read of the table.
	var noneLeft bool
	if len(s.plan.Tighten.Clean) > 0 {
		if err := s.startPass(ctx, id, prev, true); err != nil {
			return err
		}
		job := b.cleanJob(id)
		job.noneLeft = &noneLeft
		var err error
		if changed, err = s.runBatches(ctx, job); err != nil {
			return err
		}
	}
	return s.finishNow(ctx, id, func(ctx context.Context, q querier) (string, error) {
		if noneLeft {
			return fmt.Sprintf("%d rows cleaned; no row violates %s", changed, label), nil
		}
		n, sample, err := s.countWhere(ctx, q, b.cond("violates"), nil)
		if err != nil {
			return "", fmt.Errorf("%s: count violating rows: %w", id, err)
		}
		if n > 0 {
			hint := "add clean: {set: {column: expression}} to the plan to fix them (the plan may change so until clean is done), or fix them by hand, then rerun"
			if len(s.plan.Tighten.Clean) > 0 {
				hint = "the clean: expressions leave these rows violating, or new ones arrive (is validate-in-app deployed everywhere?); fix the rows, or change the plan's clean: expressions (they may change until clean is done), then rerun"
			}
			return "", &VerifyError{Phase: id, What: "no row should violate " + label, Count: n, Sample: sample, Hint: hint}
		}
		if len(s.plan.Tighten.Clean) == 0 {
			return "no row violates " + label + ": nothing to clean", nil
		}
		return fmt.Sprintf("%d rows cleaned; no row violates %s", changed, label), nil
	})
}
