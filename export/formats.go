package export

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/templates"
)

// kind says what a phase that is not a migration is, for the files that
// come after it.
func kind(pv engine.PhasePreview) string {
	ph := pv.Phase
	switch {
	case ph.Proof:
		return "a test on the real database"
	case ph.MovesNotNull:
		return "a deploy; if the old column is NOT NULL, NOT NULL moves to the new one first"
	case ph.Gate && len(pv.Steps) > 0:
		return "a deploy, then catch-up batches"
	case ph.Gate:
		return "a deploy"
	case len(pv.Steps) > 0:
		return "a data change, in batches"
	}
	return "a check"
}

// header is the comment at the top of migration k of a phase: paragraphs
// of comment lines, with an empty comment line between them.
func (m *model) header(pe *phaseExport, k int) []string {
	p, o := m.plan(), m.o
	ph := pe.pv.Phase
	var out []string
	para := func(lines ...[]string) {
		if len(out) > 0 {
			out = append(out, "--")
		}
		for _, l := range lines {
			out = append(out, l...)
		}
	}
	para(comment(fmt.Sprintf("shepherd export: plan %s (%s on %s), %s, %s format. Review it like any migration; export again rather than edit it:",
		p.Name, p.Playbook, p.Table, o.Dialect, o.Format), ""),
		[]string{fmt.Sprintf("--   shepherd export %s --dialect %s --format %s --dir DIR", o.PlanFile, o.Dialect, o.Format)})
	what := fmt.Sprintf("Phase %d of %d: %s", pe.index+1, len(m.all), ph.ID)
	if undoNever(pe.pv) {
		what += ", the point of no return"
	}
	parts := len(pe.names)
	if parts > 1 {
		what += fmt.Sprintf(" (migration %d of %d of this phase)", k+1, parts)
	}
	para(comment(what+".", ""), comment(p.Expand(ph.Does), "  "), comment("Why now: "+p.Expand(ph.Why), "  "),
		comment("Verify after: "+p.Expand(ph.Verify), "  "))
	if parts > 1 {
		para(comment(fmt.Sprintf("shepherd commits this phase in %d steps, so it is %d migrations: %s. Each commits by itself, as shepherd commits it, "+
			"so that no lock is held longer than its step needs. Apply them together, in order.", parts, parts, strings.Join(m.files(pe), ", ")), ""))
	}
	if m.o.Format == Drizzle && len(pe.units) > 1 {
		para(comment("drizzle-orm's migrator runs every pending migration in one transaction. shepherd commits this phase in steps "+
			"(so that no lock is held longer than its step needs, and because CREATE INDEX CONCURRENTLY cannot run in a transaction), "+
			"so this file ends that transaction where shepherd commits: COMMIT, and BEGIN where a transaction must follow. "+
			"If it fails after a COMMIT, what was committed stays and the journal does not record the migration: "+
			"revert it with the statements in "+NotesFile(p.Name)+", then run it again.", ""))
	}
	if k < len(pe.units) && !pe.units[k].tx && m.o.Format != Drizzle {
		para(comment("This migration runs outside any transaction: its statement cannot run inside one.", ""))
	}
	if k == 0 && len(pe.pv.Guard) > 0 {
		para(comment(fmt.Sprintf("It starts with a guard, which fails it before it changes anything while the rows are not ready for it, with the error %q. "+
			"A guard sees rows, not deploys: it cannot tell whether the deploys below happened.", guardError(pe.pv.Guard)), ""))
	}
	if k == 0 && len(pe.before) > 0 {
		lines := comment(fmt.Sprintf("Before it, in this order (not migrations: %s beside this file says how to do each):", NotesFile(p.Name)), "")
		for _, b := range pe.before {
			lines = append(lines, comment(fmt.Sprintf("%s, %s: %s", b.Phase.ID, kind(b), p.Expand(b.Phase.Does)), "  - ")...)
		}
		para(lines)
	}
	if m.o.Format == GolangMigrate && factsOf(m.o.Dialect).multiStatementDSN {
		para(comment("golang-migrate's mysql driver sends a file as one multi-statement call: its DSN needs multiStatements=true.", ""))
	}
	para(comment("Each statement has its locks in a comment above it, as shepherd reports them. Where they say a statement waits at most "+
		"--lock-timeout and is retried, that is shepherd's runner: a migration tool runs the statement once and waits for its lock "+
		"as long as the connection lets it. Give the migration job's connection a "+factsOf(m.o.Dialect).lockTimeout+
		", so that a statement waiting for its lock fails instead of holding up the application's queries behind it.", ""))
	return out
}

// downHeader is the comment above a migration's down.
func (m *model) downHeader(pe *phaseExport) []string {
	p := m.plan()
	if undoNever(pe.pv) {
		return comment(fmt.Sprintf("No down: %s This down fails on purpose, with the error %q, so that it never reports success while the column is gone.",
			p.Expand(pe.pv.Phase.WhyIrreversible()), guardError(pe.pv.Revert)), "")
	}
	text := "Down: " + p.Expand(pe.pv.Phase.Revert)
	if len(pe.names) > 1 {
		text += " Every migration of this phase has the phase's whole revert as its down: it is safe whatever part of the phase took effect."
	}
	return comment(text, "")
}

// guardError is the constraint name a guard fails with.
func guardError(s templates.Script) string {
	for _, st := range s {
		if i := strings.Index(st.SQL, "CONSTRAINT "); i >= 0 {
			rest := st.SQL[i+len("CONSTRAINT "):]
			if len(rest) > 1 {
				q := rest[0]
				if j := strings.IndexByte(rest[1:], q); j >= 0 {
					return rest[1 : j+1]
				}
			}
		}
	}
	return ""
}

// statements renders a script, each statement with its comments, through
// wrap, which adds the terminator the format needs.
func (m *model) statements(s templates.Script, wrap func(sql string) string) []string {
	var out []string
	for i, st := range s {
		if i > 0 {
			out = append(out, "")
		}
		lines, sql := stepLines(st, m.o.Dialect)
		out = append(out, lines...)
		out = append(out, wrap(sql))
	}
	return out
}

func terminated(sql string) string { return sql + ";" }

func text(lines []string) []byte { return []byte(strings.Join(lines, "\n") + "\n") }

// goose: one file a migration, -- +goose Up and Down, NO TRANSACTION where
// the statement must run outside a transaction, and StatementBegin/End
// around a statement that has a semicolon of its own.
func (m *model) goose() ([]File, error) {
	wrap := func(sql string) string {
		if strings.Contains(sql, ";") {
			return "-- +goose StatementBegin\n" + sql + ";\n-- +goose StatementEnd"
		}
		return sql + ";"
	}
	var files []File
	for _, pe := range m.phases {
		names := m.files(pe)
		for k, u := range pe.units {
			lines := m.header(pe, k)
			lines = append(lines, "")
			if !u.tx {
				lines = append(lines, "-- +goose NO TRANSACTION")
			}
			lines = append(lines, "-- +goose Up")
			lines = append(lines, m.statements(u.steps, wrap)...)
			lines = append(lines, "", "-- +goose Down")
			lines = append(lines, m.downHeader(pe)...)
			lines = append(lines, m.statements(pe.pv.Revert, wrap)...)
			files = append(files, File{Path: names[k], Data: text(lines)})
		}
	}
	return files, nil
}

// golang-migrate: NNNNNN_name.up.sql and .down.sql. Each file is sent to
// the database as one call (PostgreSQL runs a multi-statement call as one
// transaction; SQLite's driver wraps each file in one), so a statement that
// must run outside a transaction is a file of its own.
func (m *model) golangMigrate() ([]File, error) {
	var files []File
	for _, pe := range m.phases {
		names := m.files(pe)
		for k, u := range pe.units {
			lines := append(m.header(pe, k), "")
			lines = append(lines, m.statements(u.steps, terminated)...)
			files = append(files, File{Path: names[k], Data: text(lines)})
			down := append(m.downHeader(pe), "")
			down = append(down, m.statements(pe.pv.Revert, terminated)...)
			files = append(files, File{Path: downFile(names[k]), Data: text(down)})
		}
	}
	return files, nil
}

// plain: NNNN_name.up.sql and .down.sql, for a runner of your own: each
// says whether it runs in one transaction or outside any.
func (m *model) plain() ([]File, error) {
	var files []File
	for _, pe := range m.phases {
		names := m.files(pe)
		for k, u := range pe.units {
			lines := m.header(pe, k)
			if u.tx {
				lines = append(lines, comment("Run this file in one transaction.", "")...)
			} else {
				lines = append(lines, comment("Run this file's statement alone, outside any transaction.", "")...)
			}
			lines = append(lines, "")
			lines = append(lines, m.statements(u.steps, terminated)...)
			files = append(files, File{Path: names[k], Data: text(lines)})
			down := m.downHeader(pe)
			if downTx(pe.pv.Revert) {
				down = append(down, comment("Run this file in one transaction.", "")...)
			} else {
				down = append(down, comment("Run each statement of this file alone, outside any transaction.", "")...)
			}
			down = append(down, "")
			down = append(down, m.statements(pe.pv.Revert, terminated)...)
			files = append(files, File{Path: downFile(names[k]), Data: text(down)})
		}
	}
	return files, nil
}

// drizzle: drizzle-kit's migrations folder. drizzle-orm's migrator reads
// meta/_journal.json, runs TAG.sql for each entry newer than the last it
// recorded, cut at "--> statement-breakpoint", all pending migrations in
// one transaction. It has no down: the revert is in the notes.
func (m *model) drizzle() ([]File, error) {
	const breakpoint = "\n--> statement-breakpoint\n"
	dialect, version := factsOf(m.o.Dialect).drizzleDialect, factsOf(m.o.Dialect).drizzleVersion
	j := Journal{Version: version, Dialect: dialect}
	// The tags this export writes; an earlier export's entry with the same
	// tag keeps its place and its time (the migrator compares times with
	// the last it applied: a new time would apply it again).
	writing := map[string]bool{}
	for _, pe := range m.phases {
		writing[strings.TrimSuffix(m.files(pe)[0], ".sql")] = true
	}
	kept := map[string]bool{}
	if ex := m.o.Existing.Journal; ex != nil {
		if ex.Dialect != "" && ex.Dialect != dialect {
			return nil, &UsageError{Msg: fmt.Sprintf("--dir holds a drizzle journal for %s, not %s", ex.Dialect, dialect)}
		}
		for _, e := range ex.Entries {
			if m.o.Existing.ownEntry(e) {
				if !writing[e.Tag] {
					continue // an earlier export's migration this one does not have
				}
				kept[e.Tag] = true
			}
			e.Idx = len(j.Entries)
			j.Entries = append(j.Entries, e)
		}
		if ex.Version != "" {
			j.Version = ex.Version
		}
	}
	when := m.o.Now.UnixMilli()
	for _, e := range j.Entries {
		when = max(when, e.When+1)
	}
	// Each new entry gets drizzle-kit's snapshot, chained from the last
	// entry's: without one, drizzle-kit generate would emit the change
	// again. With no snapshot to start from, none is written, and the
	// notes say what that means.
	var prev snapshot
	if n := len(j.Entries); n > 0 {
		if data, ok := m.o.Existing.Snapshots[j.Entries[n-1].Tag]; ok {
			var err error
			if prev, err = parseSnapshot(data); err != nil {
				return nil, &UsageError{Msg: fmt.Sprintf("--dir: %s is not a drizzle-kit snapshot: %v", snapshotPath(j.Entries[n-1].Tag), err)}
			}
		}
	}
	if prev == nil {
		m.snapshotGap = "the folder has no drizzle-kit snapshot to start from (run drizzle-kit generate on your schema before exporting)"
	}
	var files []File
	for _, pe := range m.phases {
		name := m.files(pe)[0]
		var chunks []string
		head := append(m.header(pe, 0), "")
		first := true
		addChunk := func(lines []string, sql string) {
			if first {
				lines = append(head, lines...)
				first = false
			}
			chunks = append(chunks, strings.Join(append(lines, sql), "\n"))
		}
		for i, u := range pe.units {
			switch {
			case i == 0 && !u.tx:
				addChunk(comment("End the migrator's transaction: the next statement cannot run inside one.", ""), "COMMIT;")
			case i > 0 && pe.units[i-1].tx:
				why := "shepherd commits here."
				if !u.tx {
					why = "shepherd commits here: the next statement cannot run inside a transaction."
				}
				addChunk(comment(why, ""), "COMMIT;")
			}
			if i > 0 && u.tx {
				addChunk(comment("A transaction for the next step.", ""), "BEGIN;")
			}
			for _, st := range u.steps {
				lines, sql := stepLines(st, m.o.Dialect)
				addChunk(lines, sql+";")
			}
		}
		if !pe.units[len(pe.units)-1].tx {
			addChunk(comment("Give the migrator back the transaction it commits.", ""), "BEGIN;")
		}
		files = append(files, File{Path: name, Data: []byte(strings.Join(chunks, breakpoint) + "\n")})
		tag := strings.TrimSuffix(name, ".sql")
		if kept[tag] {
			continue // its entry, and its snapshot, stay as they were
		}
		j.Entries = append(j.Entries, JournalEntry{Idx: len(j.Entries), Version: version, When: when, Tag: tag, Breakpoints: true})
		when++
		if prev != nil {
			snap, err := snapshotAfter(prev, m.plan(), m.o.Dialect, pe.pv.Phase)
			if err != nil {
				m.snapshotGap = err.Error()
				prev = nil
				continue
			}
			data, _ := json.MarshalIndent(snap, "", "  ")
			files = append(files, File{Path: snapshotPath(tag), Data: append(data, '\n')})
			prev = snap
		}
	}
	data, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(files, File{Path: journalPath, Data: append(data, '\n')}), nil
}
