package engine

import (
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/shepherd-db/shepherd/phases"
)

// What the database does on its own to the rows shepherd's batches update
// (the backfill, switch-writes' catch-up, rename's copy and its copy back
// on rollback, clean), beyond the columns the plan sets:
//
//   - MySQL and MariaDB rewrite a column declared ON UPDATE
//     CURRENT_TIMESTAMP in every row an UPDATE changes, unless the UPDATE
//     assigns it: each batch assigns such columns to themselves
//     (sqlData.Keep), and they keep the application's last-modified times.
//   - A trigger on UPDATE runs for every row a batch changes: it may
//     rewrite columns too (a trigger-maintained updated_at), which
//     shepherd cannot prevent without turning the trigger off for the
//     application as well, and it slows every batch. plan --db and the
//     start of a run name each one that fires on the rows shepherd will
//     update, so that the operator decides before the rows change.

// Trigger is a trigger that fires on an UPDATE of the table.
type Trigger struct {
	Name   string
	Timing string // BEFORE, AFTER or INSTEAD OF
	// Of are the columns of UPDATE OF: it fires only for an UPDATE that
	// sets one of them. Empty: any UPDATE.
	Of []string
	// PerRow: FOR EACH ROW; else once per statement (PostgreSQL).
	PerRow bool
}

// addUpdateTrigger reads one row of table-update-triggers: a trigger's
// name, timing, whether it runs per row, and one column of its UPDATE OF
// (NULL when it has none), a row per column in order.
func (t *Table) addUpdateTrigger(r *sql.Rows) error {
	var tr Trigger
	var col sql.NullString
	if err := r.Scan(&tr.Name, &tr.Timing, &tr.PerRow, &col); err != nil {
		return err
	}
	if n := len(t.UpdateTriggers); n == 0 || t.UpdateTriggers[n-1].Name != tr.Name {
		t.UpdateTriggers = append(t.UpdateTriggers, tr)
	}
	if col.Valid {
		last := &t.UpdateTriggers[len(t.UpdateTriggers)-1]
		last.Of = append(last.Of, col.String)
	}
	return nil
}

// sqliteUpdateTrigger reads a trigger of sqlite_schema: ok when its
// CREATE TRIGGER fires on UPDATE. SQLite's form is CREATE [TEMP] TRIGGER
// [IF NOT EXISTS] [schema.]name [BEFORE|AFTER|INSTEAD OF] UPDATE [OF
// columns] ON table …, always for each row, BEFORE when no timing is
// given.
func sqliteUpdateTrigger(o SchemaObject) (Trigger, bool) {
	if o.Type != "trigger" {
		return Trigger{}, false
	}
	ws := words(lexSQL(o.SQL))
	i := slices.IndexFunc(ws, func(t sqlToken) bool { return t.is("TRIGGER") }) + 1
	if i == 0 {
		return Trigger{}, false
	}
	if i+2 < len(ws) && ws[i].is("IF") && ws[i+1].is("NOT") && ws[i+2].is("EXISTS") {
		i += 3
	}
	i++ // the name
	if i+1 < len(ws) && ws[i].text == "." {
		i += 2 // schema.name
	}
	tr := Trigger{Name: o.Name, Timing: "BEFORE", PerRow: true}
	switch {
	case i < len(ws) && (ws[i].is("BEFORE") || ws[i].is("AFTER")):
		tr.Timing = strings.ToUpper(ws[i].text)
		i++
	case i+1 < len(ws) && ws[i].is("INSTEAD") && ws[i+1].is("OF"):
		tr.Timing = "INSTEAD OF"
		i += 2
	}
	if i >= len(ws) || !ws[i].is("UPDATE") {
		return Trigger{}, false
	}
	if i+1 < len(ws) && ws[i+1].is("OF") {
		for i += 2; i < len(ws) && !ws[i].is("ON"); i++ {
			if ws[i].kind != 'p' {
				tr.Of = append(tr.Of, ws[i].name())
			}
		}
	}
	return tr, true
}

// firesOn says whether the trigger fires for an UPDATE that sets cols.
func (tr Trigger) firesOn(cols []string) bool {
	if len(tr.Of) == 0 {
		return true
	}
	for _, c := range tr.Of {
		if slices.ContainsFunc(cols, func(s string) bool { return strings.EqualFold(s, c) }) {
			return true
		}
	}
	return false
}

// batchUpdate is a batched UPDATE of the table that a phase still to run,
// or a rollback, makes: what it is, for the operator, and the columns it
// sets.
type batchUpdate struct {
	what string
	sets []string
}

// batchUpdates are the batched UPDATEs of the table that this plan may
// still make here: none once the phases that make them are done.
func (s *Session) batchUpdates() []batchUpdate {
	progress := s.progress()
	todo := func(id string) bool { return progress.Of(id) != phases.Done }
	return unitOf(s.plan.Playbook).batchUpdates(s.plan, todo)
}

// triggerWarnings name each UPDATE trigger of the table that fires on the
// rows the plan's batches will update, and what it does to them.
func (s *Session) triggerWarnings() []string {
	if s.table == nil || len(s.table.UpdateTriggers) == 0 {
		return nil
	}
	updates := s.batchUpdates()
	var out []string
	for _, tr := range s.table.UpdateTriggers {
		if isSyncTrigger(s.plan, tr.Name) || isShadowTrigger(s.plan.Table, tr.Name) {
			continue // the plan's own (sync_triggers.go, shadow.go): their cost is in plan
		}
		var by []string
		for _, u := range updates {
			if tr.firesOn(u.sets) {
				by = append(by, u.what)
			}
		}
		if len(by) == 0 {
			continue
		}
		of := ""
		if len(tr.Of) > 0 {
			of = " OF " + strings.Join(tr.Of, ", ")
		}
		whom := strings.Join(by, " and ")
		if tr.PerRow {
			out = append(out, fmt.Sprintf("trigger %s (%s UPDATE%s, for each row) fires on every row updated by %s: it may rewrite columns such as updated_at (shepherd cannot stop that without disabling the trigger for the application too), and runs once per row, slowing the batches",
				tr.Name, tr.Timing, of, whom))
			continue
		}
		out = append(out, fmt.Sprintf("trigger %s (%s UPDATE%s, for each statement) fires once for every batch of %s: it runs once per batch, slowing the batches by what it does",
			tr.Name, tr.Timing, of, whom))
	}
	return out
}

// kept are the table's columns that the database rewrites in every row an
// UPDATE changes (MySQL's ON UPDATE), apart from those the update sets: a
// batch assigns them to themselves, and they keep their value. None
// without the live table.
func (b builder) kept(sets ...string) []string {
	if b.live == nil {
		return nil
	}
	var out []string
	for _, c := range b.live.Columns {
		if c.OnUpdate && !c.Generated && !slices.Contains(sets, c.Name) {
			out = append(out, c.Name)
		}
	}
	return out
}
