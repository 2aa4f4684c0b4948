package phases

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// A plan edited mid-flight is refused, because its recorded progress
// describes the old plan. Some fields are used by one late phase only: while
// that phase (and the phases that rely on what it wrote) are not done, the
// field can change without making any recorded progress untrue. These are
// those fields, per playbook, and the phases that use them.
var editableFields = map[string]map[string][]string{
	// backfill: is the expression the backfill writes, and that
	// switch-writes' catch-up writes to rows old code inserted after it.
	AddColumn: {"backfill": {"backfill", "switch-writes"}},
	// clean: only the clean phase runs it. constraint.violating changes no
	// DDL and no row: it is only the write verify-failure-path tries and
	// rolls back (a failed proof on an empty table asks for it), so it may
	// change at any time: no phase must wait for it.
	TightenConstraint: {"clean": {"clean"}, "constraint.violating": {}},
}

// EditableFields lists, for the playbook, the fields that may change while
// the plan is in flight and the phases that must not be done for it.
func (pb *Playbook) EditableFields() map[string][]string {
	out := map[string][]string{}
	for f, ids := range editableFields[pb.Name] {
		out[f] = slices.Clone(ids)
	}
	return out
}

// CheckEdit says whether field may change now, with progress p: nil when
// every phase that uses it is not done yet; otherwise an error saying why
// not.
func (pb *Playbook) CheckEdit(field string, p Progress) error {
	users, ok := editableFields[pb.Name][field]
	if !ok {
		return fmt.Errorf("%s cannot change while any phase of the plan is in force", field)
	}
	var done []string
	for _, id := range users {
		if p.Of(id) == Done {
			done = append(done, id)
		}
	}
	if len(done) > 0 {
		return fmt.Errorf("%s can change only until %s %s done, and %s %s done", field,
			WordList(users), Plural(len(users), "is", "are"), WordList(done), Plural(len(done), "is", "are"))
	}
	return nil
}

// EditableNow lists the fields that may change now, each with the phases
// that use it, for messages: "backfill: until backfill and switch-writes are
// done".
func (pb *Playbook) EditableNow(p Progress) []string {
	var out []string
	for _, f := range slices.Sorted(maps.Keys(editableFields[pb.Name])) {
		if pb.CheckEdit(f, p) == nil {
			users := editableFields[pb.Name][f]
			if len(users) == 0 {
				out = append(out, f+": at any time")
				continue
			}
			out = append(out, fmt.Sprintf("%s: until %s %s done", f, WordList(users), Plural(len(users), "is", "are")))
		}
	}
	return out
}

// EditedFields compares a plan as it was recorded (its Canonical text) with
// the plan now, as both read on one dialect, and lists the top-level fields
// whose meaning there changed. A fragment given for another dialect only
// (type: {sqlite: …} in a plan running on PostgreSQL) is no change here.
func EditedFields(oldCanonical []byte, now *Plan, dialect string) ([]string, error) {
	var old Plan
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
func WordList(words []string) string {
	switch len(words) {
	case 0:
		return ""
	case 1:
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}

// Plural picks one or many by n, for messages.
func Plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
