package phases

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// A plan edited mid-flight is refused where its recorded progress would no
// longer describe it: a field may change while no phase that uses it has
// taken effect, wholly or in part (pending, waiting at its gate, rolled
// back, or failed with nothing changed). A field a phase applies afresh
// each time it runs (backfill:, clean:) may change until a phase that uses
// it is done: a failed or interrupted one walks the table again with the
// new value, and the rows it changed keep their values.

// fieldUse is which phases of a playbook use a plan field, and how.
type fieldUse struct {
	phases []string // the phases that use it
	rerun  bool     // they apply it afresh when they run again: editable until one is done
}

// fieldUses lists, per playbook, the fields that not every phase uses. A
// field not listed (table, schema, column, to, playbook, constraint) names
// what every phase works on, gates included (a confirmed deploy reads and
// writes that column): it may change only while no phase is in force.
var fieldUses = map[string]map[string]fieldUse{
	AddColumn: {
		// type: is the column add-column adds; MySQL's MODIFY in enforce
		// restates it.
		"type": {phases: []string{"add-column", "enforce"}},
		// backfill: is the expression the backfill writes, and that
		// switch-writes' catch-up writes to rows old code inserted after it.
		"backfill": {phases: []string{"backfill", "switch-writes"}, rerun: true},
		"not_null": {phases: []string{"enforce"}},
		// key: is what the batched phases walk and checkpoint.
		"key": {phases: []string{"backfill", "switch-writes"}},
	},
	RenameColumn: {
		// type: is the new column's; MySQL's MODIFY restates it when
		// stop-old-writes moves NOT NULL to it.
		"type": {phases: []string{"add-column", "stop-old-writes"}},
		// key: the backfill walks it, and so do the rollbacks of
		// switch-reads and stop-old-writes (they copy the new column back).
		"key": {phases: []string{"backfill", "switch-reads", "stop-old-writes"}},
	},
	TightenConstraint: {
		// clean: only the clean phase runs it.
		"clean": {phases: []string{"clean"}, rerun: true},
		// constraint.violating changes no DDL and no row: it is only the
		// write verify-failure-path tries and rolls back (a failed proof
		// on an empty table asks for it), so it may change at any time.
		"constraint.violating": {},
		// key: clean walks it, and a UNIQUE clean keeps the first row of
		// each duplicate by it.
		"key": {phases: []string{"clean"}},
	},
	ChangeColumnType: {
		// using: and reverse: are the conversions: the backfill applies
		// using: afresh each time it runs, and replaces the triggers'
		// function at its start, so both may change until it is done
		// (a conversion that failed on some rows is fixed so).
		"using":   {phases: []string{"backfill"}, rerun: true},
		"reverse": {phases: []string{"backfill"}, rerun: true},
		"key":     {phases: []string{"backfill"}},
	},
}

// EditableFields lists, for the playbook, the fields that not every phase
// uses, each with the phases that use it.
func (pb *Playbook) EditableFields() map[string][]string {
	out := map[string][]string{}
	for f, u := range fieldUses[pb.Name] {
		out[f] = slices.Clone(u.phases)
	}
	return out
}

// Reruns reports whether a field is one its phases apply afresh when they
// run again (backfill:, clean:): a changed value makes them walk the table
// from the start.
func (pb *Playbook) Reruns(field string) bool { return fieldUses[pb.Name][field].rerun }

// CheckEdit says whether field may change now, with progress p (as
// Effective gives it): nil when no phase that uses it has taken effect (for
// a field its phases apply afresh, none is done); otherwise an error saying
// exactly until when it could change, and what stands in the way.
func (pb *Playbook) CheckEdit(field string, p Progress) error {
	u, listed := fieldUses[pb.Name][field]
	if !listed {
		for _, ph := range pb.Phases {
			if InForce(p.Of(ph.ID)) {
				return fmt.Errorf("%s cannot change while any phase of the plan is in force", field)
			}
		}
		return nil
	}
	var in []string
	for _, id := range u.phases {
		st := p.Of(id)
		if st == Done || !u.rerun && InForce(st) {
			in = append(in, id)
		}
	}
	if len(in) == 0 {
		return nil
	}
	if u.rerun {
		return fmt.Errorf("%s can change only until %s, and %s %s done", field, untilText(u), WordList(in), Plural(len(in), "is", "are"))
	}
	var why []string
	for _, id := range in {
		switch p.Of(id) {
		case Done:
			why = append(why, id+" is done")
		case Failed:
			why = append(why, id+" failed after it changed the database")
		default:
			why = append(why, id+" is running or was interrupted")
		}
	}
	if allDone := !slices.ContainsFunc(in, func(id string) bool { return p.Of(id) != Done }); allDone && len(in) > 1 {
		why = []string{WordList(in) + " are done"}
	}
	return fmt.Errorf("%s can change only until %s, and %s", field, untilText(u), WordList(why))
}

// untilText says until when a listed field may change: "backfill or
// switch-writes is done", "add-column or enforce takes effect".
func untilText(u fieldUse) string {
	if u.rerun {
		return WordListOr(u.phases) + " is done"
	}
	return WordListOr(u.phases) + " takes effect"
}

// EditableNow lists the fields that not every phase uses and that may
// change now, each saying until when, for messages: "backfill: until
// backfill or switch-writes is done".
func (pb *Playbook) EditableNow(p Progress) []string {
	var out []string
	for _, f := range slices.Sorted(maps.Keys(fieldUses[pb.Name])) {
		if pb.CheckEdit(f, p) != nil {
			continue
		}
		u := fieldUses[pb.Name][f]
		if len(u.phases) == 0 {
			out = append(out, f+": at any time")
			continue
		}
		out = append(out, f+": until "+untilText(u))
	}
	return out
}

// RollbacksToEdit lists the rollbacks, in the order `shepherd rollback`
// does them one per run, after which every field given may change: the
// fewest, computed by playing the rollbacks on the state machine. It
// returns a *RefusedError when a rollback on the way is refused (the point
// of no return is done).
func (pb *Playbook) RollbacksToEdit(fields []string, p Progress) ([]string, error) {
	q := Progress{}
	for id, st := range p {
		q[id] = st
	}
	var steps []string
	for {
		editable := true
		for _, f := range fields {
			if pb.CheckEdit(f, q) != nil {
				editable = false
			}
		}
		if editable {
			return steps, nil
		}
		target, resets, err := pb.RollbackTarget(q)
		if err != nil {
			return steps, err
		}
		for _, r := range resets {
			q[r.ID] = Pending
		}
		q[target.ID] = RolledBack
		steps = append(steps, target.ID)
	}
}

// EditedFields compares a plan as it was recorded (its Canonical text) with
// the plan now, as both read on one dialect, and lists the top-level fields
// whose meaning there changed. A fragment given for another dialect only
// (type: {sqlite: …} in a plan running on PostgreSQL) is no change here.
func EditedFields(oldCanonical []byte, nowPlan *Plan, dialect string) ([]string, error) {
	var old canonicalPlan
	if err := json.Unmarshal(oldCanonical, &old); err != nil {
		return nil, fmt.Errorf("read the recorded plan: %w", err)
	}
	var out []string
	diff := func(field string, a, b any) {
		if fmt.Sprintf("%q", a) != fmt.Sprintf("%q", b) {
			out = append(out, field)
		}
	}
	on := func(p PerDialect) string {
		v, ok := p.For(dialect)
		if !ok {
			return "\x00none"
		}
		return v
	}
	assigns := func(as []Assign) []string {
		var s []string
		for _, a := range as {
			s = append(s, a.Column+"="+on(a.Expr))
		}
		return s
	}
	constraint := func(c *Constraint) []string {
		if c == nil {
			return nil
		}
		sig := []string{c.Name, on(c.Check), c.NotNull, strings.Join(c.Unique, ","), strings.Join(c.ForeignKey, ",")}
		if r := c.References; r != nil {
			sig = append(sig, r.Schema, r.Table, strings.Join(r.Columns, ","))
		}
		return sig
	}
	violating := func(c *Constraint) []string {
		if c == nil {
			return nil
		}
		return assigns(c.Violating)
	}
	now := nowPlan.fields()
	diff("name", old.Name, now.Name)
	diff("playbook", old.Playbook, now.Playbook)
	diff("schema", old.Schema, now.Schema)
	diff("table", old.Table, now.Table)
	diff("key", old.Key, now.Key)
	diff("column", old.Column, now.Column)
	diff("type", on(old.Type), on(now.Type))
	diff("backfill", on(old.Backfill), on(now.Backfill))
	diff("not_null", old.NotNull, now.NotNull)
	diff("to", old.To, now.To)
	diff("constraint", constraint(old.Constraint), constraint(now.Constraint))
	diff("constraint.violating", violating(old.Constraint), violating(now.Constraint))
	diff("clean", assigns(old.Clean), assigns(now.Clean))
	return out, nil
}

// WordList joins words as a sentence does: "a", "a and b", "a, b and c".
func WordList(words []string) string { return joinWords(words, " and ") }

// WordListOr joins alternatives: "a", "a or b", "a, b or c".
func WordListOr(words []string) string { return joinWords(words, " or ") }

func joinWords(words []string, last string) string {
	switch len(words) {
	case 0:
		return ""
	case 1:
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + last + words[len(words)-1]
}

// Plural picks one or many by n, for messages.
func Plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
