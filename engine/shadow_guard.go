package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/shepherd-db/shepherd/phases"
)

// What keeps a copy of a table (shadow.go) and the rest of the world out
// of each other's way while it is unfinished. A copy left by a stopped
// run keeps its triggers on the table, and they name the columns the
// table had when it was made: another plan's DROP or RENAME of one of
// them would fail every write of the application, and a column or index
// added to the table would be lost when the copy, which lacks it, took
// the table's place. So no other plan changes the table while a copy is
// on it, and the swap checks that the two tables are still alike.

// copyOwner reports whether this plan owns the copy on its table: the
// plan whose backfill made it, as shepherd_log records ("copy" events). A
// copy made before shepherd recorded that is owned by an add-column plan
// whose backfill has begun and is not done (or is the phase about to run,
// whose own checks then decide).
func (s *Session) copyOwner(ctx context.Context, phase string, d sqlData) (bool, string, error) {
	var owner string
	err := s.queryRow(ctx, s.db, "shadow-owner", d, map[string]any{"copy": copyRef(d)}, &owner)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, "", fmt.Errorf("find which plan made the copy of %s: %w", s.plan.Table, err)
	}
	if owner != "" {
		return owner == s.plan.Name, owner, nil
	}
	if s.plan.Playbook != phases.AddColumn {
		return false, "", nil
	}
	return phase == "backfill" || backfillUnfinished(s.progress().Of("backfill")), "", nil
}

// backfillUnfinished is a backfill that began and is not done: the one
// that may have left a copy.
func backfillUnfinished(st phases.Status) bool {
	return st == phases.Running || st == phases.Failed || st == phases.FailedUnchanged
}

// copyRef names a copy in shepherd_log's "copy" events.
func copyRef(d sqlData) string {
	if d.Schema != "" {
		return d.Schema + "." + d.Shadow.Copy
	}
	return d.Shadow.Copy
}

// recordCopyOwner records that this plan's backfill made the copy.
func (s *Session) recordCopyOwner(ctx context.Context, id string, d sqlData) error {
	return s.log(ctx, s.db, id, "copy", "", copyRef(d))
}

// CopyInUseError is a phase or rollback refused because another plan's
// unfinished copy of the table is on it: its triggers would break, or it
// would undo the change when it takes the table's place. Nothing was
// changed.
type CopyInUseError struct {
	Phase, Table string
	// Owners are the plans whose backfill may have made the copy: an
	// add-column plan on the table whose backfill began and is not done.
	Owners  []string
	Objects []string
}

func (e *CopyInUseError) Error() string { return e.Phase + ": " + e.Refusal() }

// Refusal is the error without its phase: what `plan --db` warns of.
func (e *CopyInUseError) Refusal() string {
	who := "no recorded plan's backfill is unfinished on it: the copy is left from a plan whose state is gone. Drop " + strings.Join(e.Objects, ", ") + " (the table itself is untouched), then rerun"
	if len(e.Owners) > 0 {
		who = fmt.Sprintf("it is the copy of plan %s's backfill, unfinished: finish that backfill (shepherd run) or roll it back (shepherd rollback), which swaps the copy in or drops it, then rerun", strings.Join(e.Owners, ", plan "))
	}
	return fmt.Sprintf("%s carries an unfinished copy (%s), whose triggers name its columns as they were when it was made: this plan may not change %s until the copy is gone; %s",
		e.Table, strings.Join(e.Objects, ", "), e.Table, who)
}

// guardCopy refuses a phase (or a rollback) of this plan while a copy
// that is not this plan's is on its table, or on the table its foreign
// key references: the swap would leave that key on the old table.
func (s *Session) guardCopy(ctx context.Context, phase string) error {
	if !copiesByShadow(s.d) {
		return nil
	}
	d := s.builder().base() // the plan may be any playbook's: only the names
	if err := s.guardCopyOf(ctx, phase, d); err != nil {
		return err
	}
	if t := s.plan.Tighten; t != nil && t.Constraint.References != nil {
		ref := *t.Constraint.References
		if ref.Schema != "" {
			d.Schema = ref.Schema
		}
		if d.Table = ref.Table; d.Table != s.plan.Table || d.Schema != s.plan.Schema {
			return s.guardCopyOf(ctx, phase, d)
		}
	}
	return nil
}

// guardCopyOf is guardCopy on d.Table.
func (s *Session) guardCopyOf(ctx context.Context, phase string, d sqlData) error {
	table := d.Table
	d.Shadow = shadowNamesOf(table)
	left, err := s.shadowLeft(ctx, d)
	if err != nil || left.triggers == 0 {
		// Without its triggers a copy is in no plan's way (the swap checks
		// the definitions), and a table of that name may be the
		// application's own.
		return err
	}
	owns, owner, err := s.copyOwner(ctx, phase, d)
	if err != nil {
		return fmt.Errorf("%s: %w", phase, err)
	}
	if owns && table == s.plan.Table {
		return nil
	}
	objects := []string{"triggers " + d.Shadow.Insert + ", " + d.Shadow.Update + ", " + d.Shadow.Delete}
	if left.copy {
		objects = append([]string{d.Shadow.Copy}, objects...)
	}
	inUse := &CopyInUseError{Phase: phase, Table: table, Objects: objects}
	if owner != "" {
		inUse.Owners = []string{owner}
		return inUse
	}
	plans, err := s.Engine.Status(ctx)
	if err != nil {
		return fmt.Errorf("%s: find which plan made the copy of %s: %w", phase, table, err)
	}
	for _, p := range plans {
		if p.Name == s.plan.Name || p.Playbook != phases.AddColumn || p.Table != table {
			continue
		}
		for _, ph := range p.Phases {
			if ph.ID == "backfill" && backfillUnfinished(ph.Status) {
				inUse.Owners = append(inUse.Owners, p.Name)
			}
		}
	}
	return inUse
}

// compareDefinitions refuses the swap early (before the copy's count)
// when the table's definition is not its copy's.
func (s *Session) compareDefinitions(ctx context.Context, id string, d sqlData) error {
	problems, err := s.definitionProblems(ctx, id, d)
	if err != nil || len(problems) == 0 {
		return err
	}
	return s.refuseSwap(ctx, id, problems)
}

// swapProblems is what the swap would undo or break, checked right before
// each try of the RENAME: DDL on the table since its copy was made (the
// definitions differ), a trigger or a foreign key added meanwhile (the
// swap would leave it on the old table, and drop it with it). Where the
// table's AUTO_INCREMENT counter passed keys the copy never saw (rolled
// back or deleted inserts, an ALTER), the copy's is raised to it.
func (s *Session) swapProblems(ctx context.Context, id string, d sqlData) ([]string, error) {
	problems, err := s.definitionProblems(ctx, id, d)
	if err != nil || len(problems) > 0 {
		return problems, err
	}
	blockers, err := s.shadowBlockers(ctx, d)
	if err != nil {
		return nil, err
	}
	if len(blockers) > 0 {
		return []string{fmt.Sprintf("%s has %s now, which the swap would leave on the old table", s.plan.Table, strings.Join(blockers, ", "))}, nil
	}
	return nil, s.raiseCounter(ctx, id, d)
}

// raiseCounter raises the copy's AUTO_INCREMENT counter to the table's
// where the table's is ahead, so that the swap gives no key twice: once
// the copy is made, and before each try of the swap. It asks for the
// copy's lock with NOWAIT (a lock timeout is tried again, with the swap)
// and rebuilds nothing (ALGORITHM=INPLACE; a table whose counter
// cannot move so is not copied: shadow-blockers).
func (s *Session) raiseCounter(ctx context.Context, id string, d sqlData) error {
	var table, copied int64
	if err := s.queryRow(ctx, s.db, "shadow-next-both", d, nil, &table, &copied); err != nil {
		return fmt.Errorf("%s: read the AUTO_INCREMENT counters of %s and its copy: %w", id, s.plan.Table, err)
	}
	if table <= copied {
		return nil
	}
	d.Next = table
	raise, err := s.sql.Script("shadow-counter-raise", d)
	if err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, raise[0].SQL); err != nil {
		return err // classified by the swap's retrier
	}
	return s.log(ctx, s.db, id, "sql", raise[0].SQL, raise[0].Lock)
}

// refuseSwap drops the copy, whose swap would undo or break what
// problems say, and fails the phase: a rerun copies the table as it is.
func (s *Session) refuseSwap(ctx context.Context, id string, problems []string) error {
	return s.abandonCopy(ctx, id, &VerifyError{Phase: id, What: fmt.Sprintf("%s and its copy have one definition", s.plan.Table), Count: int64(len(problems)),
		Hint: fmt.Sprintf("%s changed after its copy was made (%s), and the swap would have undone it. Nothing was swapped, and the copy is dropped: rerun to copy %s as it is now", s.plan.Table, strings.Join(problems, "; "), s.plan.Table)})
}

// abandonCopy drops the copy and resets the walk, and returns why.
func (s *Session) abandonCopy(ctx context.Context, id string, why *VerifyError) error {
	if err := s.dropShadow(ctx, id); err != nil {
		return err
	}
	st := s.st(id)
	st.resetWalk()
	if err := s.save(ctx, s.db, st); err != nil {
		return err
	}
	return why
}

// definitionProblems compares the table's definition (SHOW CREATE TABLE)
// with its copy's, line by line and in order: each problem names a line
// one has and the other has not, or says the order differs.
func (s *Session) definitionProblems(ctx context.Context, id string, d sqlData) ([]string, error) {
	table, err := showCreateTable(ctx, s.db, s.sql, d)
	if err != nil {
		return nil, fmt.Errorf("%s: read the definition of %s: %w", id, s.plan.Table, err)
	}
	cd := d
	cd.Table = d.Shadow.Copy
	copied, err := showCreateTable(ctx, s.db, s.sql, cd)
	if err != nil {
		return nil, fmt.Errorf("%s: read the definition of %s: %w", id, d.Shadow.Copy, err)
	}
	inTable, inCopy := definitionLines(table), definitionLines(copied)
	var problems []string
	for _, l := range inTable {
		if !slices.Contains(inCopy, l) {
			problems = append(problems, fmt.Sprintf("%s has %q and its copy has not", s.plan.Table, l))
		}
	}
	for _, l := range inCopy {
		if !slices.Contains(inTable, l) {
			problems = append(problems, fmt.Sprintf("the copy has %q and %s has not", l, s.plan.Table))
		}
	}
	if len(problems) == 0 && !slices.Equal(inTable, inCopy) {
		problems = append(problems, fmt.Sprintf("the columns of %s are in another order than its copy's", s.plan.Table))
	}
	return problems, nil
}

// autoIncrementOption is the table option SHOW CREATE TABLE gives of a
// table's next AUTO_INCREMENT value: the counters are compared apart
// (raiseCounter).
var autoIncrementOption = regexp.MustCompile(` AUTO_INCREMENT=\d+`)

// definitionLines are SHOW CREATE TABLE's lines but the first, which
// names the table, without the next AUTO_INCREMENT value.
func definitionLines(create string) []string {
	lines := strings.Split(create, "\n")
	out := make([]string, 0, len(lines))
	for i, l := range lines {
		if i == 0 {
			continue // CREATE TABLE `name` (
		}
		l = strings.TrimSuffix(strings.TrimSpace(autoIncrementOption.ReplaceAllString(l, "")), ",")
		out = append(out, l)
	}
	return out
}
