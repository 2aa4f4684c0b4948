// Package export writes a plan's DDL phases as migration files, for teams
// whose release job runs a migration tool: goose, golang-migrate,
// drizzle-kit's migrations folder (read by drizzle-orm's migrator), or
// plain numbered SQL files. It renders from engine.ExportPreview, without a
// database, so the files hold what `shepherd plan` shows and `shepherd run`
// executes, split where shepherd commits.
//
// The phases that are not DDL (deploys the database cannot see, and data
// changes done in batches) are not migrations: every file says which of
// them must come before it, and a note beside the files, PLAN.shepherd.md,
// walks the whole plan in order with the statements of each.
package export

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shepherd-db/shepherd/engine"
	"github.com/shepherd-db/shepherd/phases"
	"github.com/shepherd-db/shepherd/templates"
)

// The formats.
const (
	Goose         = "goose"
	GolangMigrate = "golang-migrate"
	Drizzle       = "drizzle"
	Plain         = "plain"
)

// Formats lists the formats export writes.
func Formats() []string { return []string{Goose, GolangMigrate, Drizzle, Plain} }

// UsageError is an export that cannot be written as asked: an unknown
// format, a plan whose SQL needs the live table, a --dir that has files.
// Nothing was written.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// File is one file of an export, its path relative to the export folder,
// with forward slashes.
type File struct {
	Path string
	Data []byte
}

// Options says what to export.
type Options struct {
	Plan *phases.Plan
	// PlanFile is the plan's path as given on the command line: the files
	// name it, so a reviewer knows how to export them again.
	PlanFile string
	Dialect  string
	Format   string
	// Now dates drizzle's journal entries.
	Now time.Time
	// Existing is what the folder holds already.
	Existing Existing
}

// unit is statements that commit together: a migration.
type unit struct {
	steps templates.Script
	tx    bool // inside a transaction; false: alone, outside any
}

// phaseExport is one DDL phase as migrations, one per unit.
type phaseExport struct {
	pv       engine.PhasePreview
	index    int // the phase's position in the playbook, from 0
	units    []unit
	before   []engine.PhasePreview // the phases since the previous migration
	versions []int64               // each migration's version
	names    []string              // each unit's file name, without version or extension
}

// model is a plan as migrations and what comes between them.
type model struct {
	o      Options
	phases []*phaseExport
	after  []engine.PhasePreview // phases after the last migration
	all    []engine.PhasePreview
	// snapshotGap says why drizzle snapshots were not written, if they
	// were not.
	snapshotGap string
}

// Render renders a plan's files in a format. It reads nothing and writes
// nothing.
func Render(o Options) ([]File, error) {
	if !slices.Contains(Formats(), o.Format) {
		return nil, &UsageError{Msg: fmt.Sprintf("--format %q: use %s", o.Format, strings.Join(Formats(), ", "))}
	}
	previews, err := engine.ExportPreview(o.Plan, o.Dialect)
	if err != nil {
		return nil, err
	}
	m, err := build(o, previews)
	if err != nil {
		return nil, err
	}
	var files []File
	switch o.Format {
	case Goose:
		files, err = m.goose()
	case GolangMigrate:
		files, err = m.golangMigrate()
	case Drizzle:
		files, err = m.drizzle()
	case Plain:
		files, err = m.plain()
	}
	if err != nil {
		return nil, err
	}
	return append(files, File{Path: NotesFile(o.Plan.Name), Data: []byte(m.notes())}), nil
}

// NotesFile names the note that walks the plan beside the migrations.
func NotesFile(plan string) string { return plan + ".shepherd.md" }

func build(o Options, previews []engine.PhasePreview) (*model, error) {
	m := &model{o: o, all: previews}
	var problems []string
	var pending []engine.PhasePreview
	for i, pv := range previews {
		// The phases that change the table's definition become migrations:
		// the others are deploys (gates), data changes in batches, or a
		// test.
		if pv.Phase.Schema == phases.SchemaNone || len(pv.Steps) == 0 {
			pending = append(pending, pv)
			continue
		}
		for _, st := range pv.Steps {
			if st.NoExport != "" {
				return nil, &UsageError{Msg: fmt.Sprintf("cannot export %s for %s: %s: %s", o.Plan.Name, o.Dialect, pv.Phase.ID, st.NoExport)}
			}
		}
		for _, g := range pv.Gaps {
			if pv.Phase.Schema == phases.SchemaSetNotNull {
				g += " (with not_null: false the plan exports without it, and the column stays nullable)"
			}
			problems = append(problems, pv.Phase.ID+": "+g)
		}
		for _, st := range append(append(templates.Script{}, pv.Steps...), pv.Revert...) {
			switch {
			case st.Mode == templates.ConnOp || st.Mode == templates.Check:
				if len(pv.Gaps) == 0 {
					problems = append(problems, fmt.Sprintf("%s: %q is a setting of shepherd's connection, which a migration file cannot make for its tool", pv.Phase.ID, st.SQL))
				}
			case hasRuntimeParams(st.Statement):
				return nil, fmt.Errorf("%s: %q takes values at run time: it cannot be a migration", pv.Phase.ID, st.SQL)
			}
		}
		pe := &phaseExport{pv: pv, index: i, before: pending, units: split(pv, o.Dialect)}
		pending = nil
		m.phases = append(m.phases, pe)
	}
	m.after = pending
	if len(problems) > 0 {
		return nil, &UsageError{Msg: fmt.Sprintf("cannot export %s for %s: a migration file must hold SQL that runs as written, and here it would depend on the live table:\n  %s\n"+
			"`shepherd plan %s --dialect %s` shows that SQL with what it needs marked; `shepherd run` renders it from the live table.",
			o.Plan.Name, o.Dialect, strings.Join(problems, "\n  "), o.PlanFile, o.Dialect)}
	}
	if len(m.phases) == 0 {
		return nil, &UsageError{Msg: fmt.Sprintf("cannot export %s: none of its phases changes the schema", o.Plan.Name)}
	}
	for _, pe := range m.phases {
		if o.Format == Drizzle { // one file a phase
			pe.names = []string{o.Plan.Name + "_" + pe.pv.Phase.ID}
			continue
		}
		for k := range pe.units {
			name := o.Plan.Name + "_" + pe.pv.Phase.ID
			if len(pe.units) > 1 {
				name += fmt.Sprintf("-%d-of-%d", k+1, len(pe.units))
			}
			pe.names = append(pe.names, name)
		}
	}
	m.number()
	return m, nil
}

// number gives each migration its version. A migration that an earlier
// export of the plan in the folder has keeps its version (a tool that
// applied it must see it as applied, not as missing, and not apply it
// again under a new number), as long as the versions still increase in the
// plan's order; the others continue after every version in the folder.
// drizzle-kit numbers its tags from 0000 by journal position.
func (m *model) number() {
	ex := m.o.Existing
	next := ex.MaxVersion + 1
	if m.o.Format == Drizzle {
		next = int64(len(ex.Journal.entries()))
		if ex.others {
			next = max(next, ex.MaxVersion+1)
		}
	}
	for _, v := range ex.OwnVersions {
		next = max(next, v+1)
	}
	last := int64(-1)
	for _, pe := range m.phases {
		pe.versions = nil
		for _, name := range pe.names {
			v, kept := ex.OwnVersions[name]
			if !kept || v <= last {
				v = max(next, last+1)
				next = v + 1
			}
			pe.versions = append(pe.versions, v)
			last = v
		}
	}
}

// files names a phase's migration files (the up files, where the format
// has up and down files), in order.
func (m *model) files(pe *phaseExport) []string {
	var out []string
	for k, name := range pe.names {
		v := pe.versions[k]
		switch m.o.Format {
		case Goose:
			out = append(out, fmt.Sprintf("%05d_%s.sql", v, name))
		case GolangMigrate:
			out = append(out, fmt.Sprintf("%06d_%s.up.sql", v, name))
		case Drizzle:
			out = append(out, fmt.Sprintf("%04d_%s.sql", v, name))
		default:
			out = append(out, fmt.Sprintf("%04d_%s.up.sql", v, name))
		}
	}
	return out
}

// downFile names the down file of an up file, where the format has them.
func downFile(up string) string { return strings.TrimSuffix(up, ".up.sql") + ".down.sql" }

// split cuts a phase's steps where shepherd commits: a step that shepherd
// runs in its own transaction (PostgreSQL's NOT VALID check, its VALIDATE)
// or outside any (CREATE INDEX CONCURRENTLY) is a migration of its own; the
// steps shepherd runs in the phase's transaction are one migration. On
// MySQL every DDL statement commits by itself, whatever the tool does, so
// a phase stays one migration. The guard goes first, in the transaction of
// the first step where it has one.
func split(pv engine.PhasePreview, dialect string) []unit {
	var units []unit
	open := false // the last unit takes more in-transaction steps
	for _, st := range pv.Steps {
		switch {
		case st.Mode == templates.NoTx:
			units = append(units, unit{steps: templates.Script{st}})
			open = false
		case st.Mode == templates.Own && !factsOf(dialect).autocommitDDL:
			units = append(units, unit{steps: templates.Script{st}, tx: true})
			open = false
		default:
			if !open {
				units = append(units, unit{tx: true})
				open = true
			}
			units[len(units)-1].steps = append(units[len(units)-1].steps, st)
		}
	}
	if len(pv.Guard) > 0 {
		if units[0].tx {
			units[0].steps = append(append(templates.Script{}, pv.Guard...), units[0].steps...)
		} else {
			units = append([]unit{{steps: pv.Guard, tx: true}}, units...)
		}
	}
	return units
}

// downTx says whether a revert runs in a transaction: unless one of its
// statements cannot.
func downTx(s templates.Script) bool {
	for _, st := range s {
		if st.Mode == templates.NoTx {
			return false
		}
	}
	return true
}

func hasRuntimeParams(st templates.Statement) bool {
	for _, p := range st.Params {
		if !p.Fixed {
			return true
		}
	}
	return false
}

func (m *model) plan() *phases.Plan { return m.o.Plan }

// undoNever reports whether the phase is the point of no return.
func undoNever(pv engine.PhasePreview) bool { return pv.Phase.Undo == phases.UndoNever }
