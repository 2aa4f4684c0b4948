package export

import (
	"fmt"
	"strings"

	"github.com/shepherd-db/shepherd/phases"

	"github.com/shepherd-db/shepherd/engine"
)

// paramText says what a batch statement's runtime value is.
var paramText = map[string]string{
	"lo":     "the previous batch's last key (leave the condition out for the first batch)",
	"hi":     "this batch's last key",
	"offset": "the batch size minus one",
	"key":    "the key of the row written",
	"other":  "the key of another row",
	"limit":  "how many duplicates to list at a time",
	"dup1":   "the key of one duplicate of the batch (one such value per row of the batch, the list of the first statement in order)",
	"first1": "the key of the first row of that duplicate's group, the second column the first statement gives (one per row of the batch, or one per group)",
}

// applyHow says how to apply the migrations up to one version with the
// format's tool.
func (m *model) applyHow() string {
	driver := factsOf(m.o.Dialect).gooseDriver
	switch m.o.Format {
	case Goose:
		return fmt.Sprintf("goose applies everything pending unless told where to stop: `goose -dir DIR %s \"$DSN\" up-to VERSION`, "+
			"with VERSION the last migration of the release.", driver)
	case GolangMigrate:
		s := "golang-migrate applies everything pending unless told where to stop: `migrate -path DIR -database \"$DSN\" goto VERSION`, " +
			"with VERSION the last migration of the release."
		if factsOf(m.o.Dialect).multiStatementDSN {
			s += " Its mysql driver needs `multiStatements=true` in the DSN."
		}
		return s
	case Drizzle:
		s := "drizzle-orm's migrator applies every journal entry newer than the last it recorded, all in one run, and cannot stop at one: " +
			"add each migration's file and journal entry to your repository in the release it belongs to."
		if m.snapshotGap == "" {
			s += " Each migration has drizzle-kit's snapshot of the schema after it in meta/, so that `drizzle-kit generate` sees these changes as made " +
				"once your schema files have them (write the column's type and a CHECK's condition as the plan does)."
		} else {
			s += " No drizzle-kit snapshot was written for these migrations: " + m.snapshotGap + ". Until the folder's last snapshot has these changes, " +
				"`drizzle-kit generate` emits them again once your schema files have them: delete what it emits for them before committing, or export again after a baseline generate."
		}
		return s
	}
	return "Run each release's files in order, each as its header says: in one transaction, or alone outside any."
}

// notes is PLAN.shepherd.md: the whole plan in order, with what to do
// between the migrations.
func (m *model) notes() string {
	p, o := m.plan(), m.o
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# %s: %s on %s (%s, %s migrations)\n\n", p.Name, p.Playbook, p.Table, o.Dialect, o.Format)
	w("Exported by `shepherd export %s --dialect %s --format %s`, from the Migration Operations guide's %q.\n\n", o.PlanFile, o.Dialect, o.Format, p.PlaybookDef().Guide)
	w("The migration files beside this note are the plan's DDL phases. The other phases are deploys, which the database cannot see, " +
		"and data changes done in short batches, which no migration should do: a migration tool would run them as one long statement in one transaction. " +
		"They happen between the migrations, in this order, and a migration must not run before the phases above it are done. " +
		"Each migration that must wait for rows (a backfill, a clean) starts with a guard that fails it while they are not ready; no guard can see a deploy.\n\n")
	w("%s\n\n", m.applyHow())
	w("`shepherd run` cannot take over this plan on a database where these migrations ran (it refuses a column or constraint it would add that is already there): " +
		"run the data phases from your own job with the statements below, or run the whole plan with `shepherd run` instead of these files.\n\n")

	w("| # | phase | what | where |\n|---|---|---|---|\n")
	byIndex := map[int]*phaseExport{}
	for _, pe := range m.phases {
		byIndex[pe.index] = pe
	}
	for i, pv := range m.all {
		if pe := byIndex[i]; pe != nil {
			w("| %d | %s | migration | %s |\n", i+1, pv.Phase.ID, codeList(m.files(pe)))
		} else {
			w("| %d | %s | %s | not a migration |\n", i+1, pv.Phase.ID, kind(pv))
		}
	}
	for i, pv := range m.all {
		ph := pv.Phase
		w("\n## %d. %s\n\n", i+1, ph.ID)
		pe := byIndex[i]
		switch {
		case pe != nil:
			w("Migration: %s.\n\n", codeList(m.files(pe)))
		default:
			w("Not a migration: %s.\n\n", kind(pv))
		}
		w("%s\n\n", p.Expand(ph.Does))
		w("Why: %s\n\n", p.Expand(ph.Why))
		if pe == nil && len(pv.Steps) > 0 {
			m.notesSteps(&b, pv)
		}
		if pe != nil && len(pe.pv.Guard) > 0 {
			w("Its first migration starts with a guard: it fails with %q while rows are not ready.\n\n", guardError(pe.pv.Guard))
		}
		w("Verify: %s\n", p.Expand(ph.Verify))
		if checks := m.checks(pv); len(checks) > 0 {
			w("\n```sql\n%s\n```\n", strings.Join(checks, "\n"))
		}
		w("\nRevert: %s\n", p.Expand(ph.Revert))
		if len(pv.Revert) > 0 && !undoNever(pv) {
			var sqls []string
			for _, st := range pv.Revert {
				sqls = append(sqls, inline(st.Statement, o.Dialect)+";")
			}
			where := "its down"
			if o.Format == Drizzle {
				where = "by hand (drizzle has no down)"
			}
			w("\nRun %s:\n\n```sql\n%s\n```\n", where, strings.Join(sqls, "\n"))
		}
		for _, n := range pv.Notes {
			// Notes about confirming with shepherd run, or about a key
			// that no exported statement uses, would mislead here.
			if n.Kind == engine.NoteConfirm || pe != nil && n.Kind == engine.NoteTableKey {
				continue
			}
			w("\nNote: %s\n", n.Text)
		}
	}
	return b.String()
}

// notesSteps writes the statements of a phase that is not a migration.
func (m *model) notesSteps(b *strings.Builder, pv engine.PhasePreview) {
	switch {
	case pv.Phase.Proof:
		fmt.Fprintf(b, "In a transaction that is rolled back, on one existing row, the UPDATE must fail:\n\n")
	case pv.Phase.MovesNotNull:
		fmt.Fprintf(b, "shepherd runs these statements at this gate only when %s is NOT NULL, before the deploy: code that no longer writes it could not insert otherwise. "+
			"No migration file holds them, because only the live table says whether they apply; if they do, make them a migration of this release. "+
			"Each statement commits by itself.", m.plan().OldColumn())
		if len(pv.Gaps) > 0 {
			fmt.Fprintf(b, " On %s they depend on the live table: %s.", m.o.Dialect, strings.Join(pv.Gaps, "; "))
		}
		fmt.Fprintf(b, "\n\n")
	case pv.Phase.Batches == phases.InBatchesIfClean && m.plan().Tighten.Constraint.Kind() == phases.UniqueConstraint: // clean
		fmt.Fprintf(b, "shepherd walks the duplicates, not the table: the first statement lists them in key order, each with the key of its group's first row (the row that keeps its values), "+
			"and the second cleans them in short batches by those keys (each batch its own transaction, a checkpoint after each), sized to take about 50 ms. "+
			"Your job can do the same: list the duplicates past the last key it cleaned, clean them in batches, and once it finds none past it, list them once more from the start "+
			"(rows written meanwhile), until that finds none:\n\n")
	default:
		fmt.Fprintf(b, "shepherd runs it in short batches on the key (each its own transaction, a checkpoint after each), sized to take about 50 ms. "+
			"Your job can run the same statements in a loop: the first finds the batch's last key; when it finds none, the last batch ends at the table's last key:\n\n")
	}
	fmt.Fprintf(b, "```sql\n")
	for _, st := range pv.Steps {
		for _, l := range comment(st.Lock, "locks: ") {
			if st.Lock != "" {
				fmt.Fprintln(b, l)
			}
		}
		fmt.Fprintln(b, inline(st.Statement, m.o.Dialect)+";")
		var ps []string
		for i, p := range st.Params {
			if !p.Fixed {
				ps = append(ps, fmt.Sprintf("<%s> (parameter %d): %s", p.Name, i+1, paramText[p.Name]))
			}
		}
		if len(ps) > 0 {
			fmt.Fprintln(b, "-- "+strings.Join(ps, "; "))
		}
	}
	fmt.Fprintf(b, "```\n\n")
}

// checks are a phase's verification queries that need no value at run
// time, with their fixed values written in.
func (m *model) checks(pv engine.PhasePreview) []string {
	var out []string
	for _, c := range pv.Checks {
		if hasRuntimeParams(c) {
			continue
		}
		out = append(out, inline(c, m.o.Dialect)+";")
	}
	return out
}

func codeList(names []string) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = "`" + n + "`"
	}
	return strings.Join(out, ", ")
}
