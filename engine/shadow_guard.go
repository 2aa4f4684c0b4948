package engine

import (
	"context"
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

// copyOwner reports whether this plan may own a copy of its table: an
// add-column plan whose backfill has begun and is not done (or is the
// phase about to run, whose own checks then decide).
func (s *Session) copyOwner(phase string) bool {
	if s.plan.Playbook != phases.AddColumn {
		return false
	}
	if phase == "backfill" {
		return true
	}
	switch s.progress().Of("backfill") {
	case phases.Running, phases.Failed, phases.FailedUnchanged:
		return true
	}
	return false
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

// guardCopy refuses a phase (or a rollback) of this plan while a copy of
// the table that is not this plan's is on it.
func (s *Session) guardCopy(ctx context.Context, phase string) error {
	if !copiesByShadow(s.d) || s.copyOwner(phase) {
		return nil
	}
	d := s.builder().base() // the plan may be any playbook's: only the names
	d.Shadow = shadowNamesOf(s.plan.Table)
	left, err := s.shadowLeft(ctx, d)
	if err != nil || left.triggers == 0 {
		// Without its triggers a copy is in no plan's way (the swap checks
		// the definitions), and a table of that name may be the
		// application's own.
		return err
	}
	var objects []string
	if left.copy {
		objects = append(objects, d.Shadow.Copy)
	}
	if left.triggers > 0 {
		objects = append(objects, "triggers "+d.Shadow.Insert+", "+d.Shadow.Update+", "+d.Shadow.Delete)
	}
	plans, err := s.Engine.Status(ctx)
	if err != nil {
		return fmt.Errorf("%s: find which plan made the copy of %s: %w", phase, s.plan.Table, err)
	}
	var owners []string
	for _, p := range plans {
		if p.Name == s.plan.Name || p.Playbook != phases.AddColumn || p.Table != s.plan.Table {
			continue
		}
		for _, ph := range p.Phases {
			if ph.ID == "backfill" && slices.Contains([]phases.Status{phases.Running, phases.Failed, phases.FailedUnchanged}, ph.Status) {
				owners = append(owners, p.Name)
			}
		}
	}
	return &CopyInUseError{Phase: phase, Table: s.plan.Table, Owners: owners, Objects: objects}
}

// autoIncrementOption is the table option SHOW CREATE TABLE gives of a
// table's next AUTO_INCREMENT value, which differs between a table and
// its copy without their definitions differing.
var autoIncrementOption = regexp.MustCompile(` AUTO_INCREMENT=\d+`)

// compareDefinitions refuses the swap when the table's definition is not
// its copy's: DDL outside this backfill (an index or a column added, a
// type changed) since the copy was made would be undone by the swap. The
// copy is dropped, and a rerun makes it again from the table as it is.
func (s *Session) compareDefinitions(ctx context.Context, id string, d sqlData) error {
	table, err := showCreateTable(ctx, s.db, s.sql, d)
	if err != nil {
		return fmt.Errorf("%s: read the definition of %s: %w", id, s.plan.Table, err)
	}
	cd := d
	cd.Table = d.Shadow.Copy
	copied, err := showCreateTable(ctx, s.db, s.sql, cd)
	if err != nil {
		return fmt.Errorf("%s: read the definition of %s: %w", id, d.Shadow.Copy, err)
	}
	differ := definitionLines(table)
	inCopy := definitionLines(copied)
	var problems []string
	for _, l := range differ {
		if !slices.Contains(inCopy, l) {
			problems = append(problems, fmt.Sprintf("%s has %q and its copy has not", s.plan.Table, l))
		}
	}
	for _, l := range inCopy {
		if !slices.Contains(differ, l) {
			problems = append(problems, fmt.Sprintf("the copy has %q and %s has not", l, s.plan.Table))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	if err := s.dropShadow(ctx, id); err != nil {
		return err
	}
	st := s.st(id)
	st.resetWalk()
	if err := s.save(ctx, s.db, st); err != nil {
		return err
	}
	return &VerifyError{Phase: id, What: fmt.Sprintf("%s and its copy have one definition", s.plan.Table), Count: int64(len(problems)),
		Hint: fmt.Sprintf("%s changed after its copy was made (%s), and the swap would have undone it. Nothing was swapped, and the copy is dropped: rerun to copy %s as it is now", s.plan.Table, strings.Join(problems, "; "), s.plan.Table)}
}

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
