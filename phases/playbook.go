package phases

import "strings"

// Undo says how `rollback` reverts a phase.
type Undo int

const (
	// UndoDDL runs the phase's reverse DDL (enforce drops NOT NULL,
	// add-constraint drops the constraint).
	UndoDDL Undo = iota
	// UndoDDLIfLast runs the reverse DDL only once no later phase is in
	// force: each later phase is pending, waiting or rolled back (add-column
	// drops the column only after everything that used it was undone).
	UndoDDLIfLast
	// UndoGate un-confirms a gate: the deploy it stood for was rolled back.
	UndoGate
	// UndoKeepData marks the phase rolled back and leaves the rows as they
	// are: backfilled values in a nullable column harm nothing, and cleaned
	// rows cannot be un-cleaned because shepherd never keeps row values.
	UndoKeepData
	// UndoNever is the point of no return.
	UndoNever
)

// SchemaChange is what a phase does to the table's definition, for exports
// that keep a schema snapshot or a migration per DDL phase.
type SchemaChange int

const (
	// SchemaNone: the phase changes no definition (a deploy, a data
	// change in batches, a check or a test).
	SchemaNone SchemaChange = iota
	// SchemaAddColumn adds the plan's new column (add-column's column:, rename-column's to:), nullable.
	SchemaAddColumn
	// SchemaSetNotNull makes the plan's column NOT NULL.
	SchemaSetNotNull
	// SchemaDropOldColumn drops rename's old column; NOT NULL, where the
	// old column had it, is on the new one by then.
	SchemaDropOldColumn
	// SchemaAddConstraint adds the plan's constraint.
	SchemaAddConstraint
	// SchemaAddIndex builds the plan's index.
	SchemaAddIndex
	// SchemaDropIndex drops the plan's index.
	SchemaDropIndex
	// SchemaRelax drops NOT NULL from the column the plan drops, where it
	// has it without a default.
	SchemaRelax
	// SchemaDropColumn drops the plan's column.
	SchemaDropColumn
)

// Batching says whether a phase walks the table in keyset batches.
type Batching int

const (
	// NoBatches: the phase does not walk the table.
	NoBatches Batching = iota
	// InBatches: the phase always walks the table in batches.
	InBatches
	// InBatchesIfClean: the phase walks the table only when the plan has
	// clean: expressions (else it only checks).
	InBatchesIfClean
	// InBatchesIfArchive: the phase walks the table only when the plan
	// archives the column (drop-column's archive: true).
	InBatchesIfArchive
)

// Phase is one step of a playbook. Its texts may name {table}, {column},
// {to} and {constraint}, which Plan.Expand fills in.
type Phase struct {
	ID   string
	Gate bool // a deploy the database cannot see: the operator confirms it
	// NoDeploy marks a gate kept for its place in the sequence whose deploy
	// the database does itself (sync: database's dual-write): confirming
	// it needs no deploy.
	NoDeploy bool
	// Confirm asks for explicit confirmation although the phase is not a
	// deploy: the point of no return.
	Confirm bool
	Undo    Undo
	// Schema is what the phase changes in the table's definition: a phase
	// that changes one becomes a migration on export.
	Schema SchemaChange
	// Batches says whether the phase walks the table in batches (a
	// progress bar, a pause).
	Batches Batching
	// Watched marks a phase whose progress the database reports while it
	// runs (an index build): a progress bar, without batches to pause at.
	Watched bool
	// Proof marks the test on the real database: its check writes a
	// violating row inside a transaction that is always rolled back.
	Proof bool
	// MovesNotNull marks the gate that, on arrival and only where the old
	// column is NOT NULL, moves NOT NULL to the new column first, so that
	// code that stops writing the old column can insert.
	MovesNotNull bool
	// OneReleaseAfter names the phase this one must follow by a release:
	// confirmed in the same run, or within the hour, it is too soon.
	OneReleaseAfter string

	Does   string // what the phase does
	Why    string // why it comes here, from the seed's reasoning
	Verify string // what shepherd checks on the real data afterwards
	Revert string // what rollback does
}

// Playbook is an ordered list of phases.
type Playbook struct {
	Name   string
	Guide  string // the heading of the Migration Operations guide's section this playbook encodes
	Phases []Phase
	// readSpec takes the plan fields that are the playbook's own into its
	// spec (spec.go), checks them, and refuses the other playbooks'.
	readSpec func(v *validator, r raw)
	// tailor, when set, adapts the phases to a plan's spec (PlaybookDef).
	tailor func(p *Plan, pb *Playbook)
	// Syncs marks a playbook that takes sync: (the database keeps its old
	// and new columns in step).
	Syncs bool
}

// PlaybookNames lists the playbooks in the order shepherd documents them.
func PlaybookNames() []string {
	return []string{AddColumn, RenameColumn, TightenConstraint, AddIndex, DropIndex, DropColumn, ChangeColumnType}
}

// Playbooks returns the three playbooks by name. They are built fresh on each
// call so that no caller can change another's.
func Playbooks() map[string]*Playbook {
	return map[string]*Playbook{
		AddColumn: {
			Name: AddColumn, readSpec: readAddColumn, Guide: "Add Nullable Column",
			Phases: []Phase{
				{ID: "add-column", Undo: UndoDDLIfLast, Schema: SchemaAddColumn,
					Does:   "Adds {column} to {table} as a nullable column.",
					Why:    "Add the column as nullable or with a safe default: the code running now does not know the column, and its inserts must keep working.",
					Verify: "{column} exists and is nullable.",
					Revert: "Drops {column}, once every later phase is pending or rolled back (values the backfill wrote go with it). Refuses while a row holds a value the backfill expression would not give it again (the application wrote it), naming the rows, unless rollback --drop-data."},
				{ID: "deploy-readers", Gate: true, Undo: UndoGate,
					Does:   "Gate: deploy code that can read rows with and without {column}.",
					Why:    "Deploy code that can read old and new rows: until the backfill is done, most rows have NULL in {column}.",
					Verify: "You confirm the deploy; the database cannot see it.",
					Revert: "Un-confirms the gate (the readers' deploy was rolled back)."},
				{ID: "backfill", Batches: InBatches,
					Undo:   UndoKeepData,
					Does:   "Fills {column} for existing rows, in short keyset batches on the key, with a checkpoint after each batch.",
					Why:    "Backfill existing rows, in batches small enough that no lock is held long and the application's writes go on.",
					Verify: "No row that existed when the backfill started is left NULL.",
					Revert: "Marks the backfill rolled back; the values stay (they harm nothing in a nullable column)."},
				{ID: "switch-writes", Gate: true, Undo: UndoGate, Batches: InBatches,
					Does:   "Gate: deploy code that writes {column} on every insert and update. Then shepherd fills rows the old code wrote after the backfill.",
					Why:    "Switch writes to populate the column: until every writer fills it, new rows arrive with NULL.",
					Verify: "After the catch-up, no row has NULL in {column}.",
					Revert: "Un-confirms the gate (the writers' deploy was rolled back)."},
				{ID: "enforce", Undo: UndoDDL, Schema: SchemaSetNotNull,
					Does:   "Makes {column} NOT NULL, in the dialect's least-locking way.",
					Why:    "Enforce NOT NULL in a later migration, once every writer fills the column: earlier, inserts from old code would fail.",
					Verify: "NOT NULL is in force on {column}.",
					Revert: "Drops NOT NULL from {column}."},
			},
		},
		RenameColumn: {
			Name: RenameColumn, readSpec: readRenameColumn, Guide: "Rename Column",
			Syncs: true, tailor: tailorRenameSync,
			Phases: []Phase{
				{ID: "add-column", Undo: UndoDDLIfLast, Schema: SchemaAddColumn,
					Does:   "Adds {to} to {table} as a nullable column of {column}'s type.",
					Why:    "Add the new column: a rename in place would break every running replica that still uses {column}.",
					Verify: "{to} exists and is nullable.",
					Revert: "Drops {to}, once every later phase is pending or rolled back (values copied into it go with it). Refuses while a row's {to} holds a value {column} does not have, naming the rows, unless rollback --drop-data."},
				{ID: "dual-write", Gate: true, Undo: UndoGate,
					Does:   "Gate: deploy code that writes both {column} and {to}.",
					Why:    "Write to both old and new columns, so that rows written from now on are right in both.",
					Verify: "You confirm the deploy; the database cannot see it.",
					Revert: "Un-confirms the gate."},
				{ID: "backfill", Undo: UndoKeepData, Batches: InBatches,
					Does:   "Copies {column} into {to} for rows where they differ, in short keyset batches.",
					Why:    "Backfill old rows into the new column: rows written before dual-write have only {column}.",
					Verify: "No row's {to} differs from its {column}.",
					Revert: "Marks the backfill rolled back; the copied values stay."},
				{ID: "switch-reads", Gate: true, Undo: UndoGate,
					Does:   "Gate: deploy code that reads {to}. shepherd refuses while any row's {column} and {to} differ.",
					Why:    "Switch reads to the new column only once it holds the same data as the old one.",
					Verify: "Every row's {to} equals its {column}.",
					Revert: "Un-confirms the gate; copies {to} into {column} wherever they differ (a write of code that wrote only {to}), so code that reads {column} reads it."},
				{ID: "stop-old-writes", Gate: true, Undo: UndoGate, MovesNotNull: true,
					Does:   "Gate: deploy code that no longer writes {column}. If {column} is NOT NULL, shepherd first moves NOT NULL to {to}, so inserts that leave {column} out keep working.",
					Why:    "Stop writing the old column; it is dropped one release later, once no running code reads or writes it.",
					Verify: "You confirm the deploy; the database cannot see it.",
					Revert: "Un-confirms the gate; copies {to} into {column} wherever they differ (code that stopped writing {column} wrote only {to}), in batches, and moves NOT NULL back to {column} if it moved."},
				{ID: "drop-old-column", Confirm: true, Undo: UndoNever, Schema: SchemaDropOldColumn,
					OneReleaseAfter: "stop-old-writes",
					Does:            "Drops {column}. This is the point of no return.",
					Why:             "Drop the old column in a later release: a replica still running the previous release may use it.",
					Verify:          "{column} is gone and {to} holds the data.",
					Revert:          "None: a dropped column cannot be brought back."},
			},
		},
		TightenConstraint: {
			Name: TightenConstraint, readSpec: readTighten, Guide: "Tighten Constraint",
			Phases: []Phase{
				{ID: "validate-in-app", Gate: true, Undo: UndoGate,
					Does:   "Gate: deploy code that validates {constraint} at the application boundary.",
					Why:    "Add validation at the application boundary first, so no new violating rows arrive while the old ones are cleaned.",
					Verify: "You confirm the deploy; shepherd shows how many rows violate {constraint} now.",
					Revert: "Un-confirms the gate."},
				{ID: "clean", Undo: UndoKeepData, Batches: InBatchesIfClean,
					Does:   "Fixes the rows that violate {constraint}, with the plan's clean: expressions, in short keyset batches.",
					Why:    "Backfill or clean existing rows: the constraint cannot be added while any row breaks it.",
					Verify: "No row violates {constraint}.",
					Revert: "Marks clean rolled back; cleaned rows stay cleaned (shepherd never keeps row values)."},
				{ID: "add-constraint", Undo: UndoDDL, Schema: SchemaAddConstraint,
					Does:   "Adds {constraint} in the dialect's least-locking way.",
					Why:    "Add the database constraint once no row breaks it.",
					Verify: "{constraint} is in force on {table}.",
					Revert: "Drops {constraint}."},
				{ID: "verify-failure-path", Undo: UndoKeepData, Proof: true,
					Does:   "Writes a violating value inside a transaction and rolls it back: the database must reject it.",
					Why:    "Keep a real database test for the failure path: only the real database proves the constraint holds.",
					Verify: "The violating write was rejected by {constraint}.",
					Revert: "Marks it rolled back; it changed nothing."},
			},
		},
		AddIndex:   addIndexPlaybook(),
		DropIndex:  dropIndexPlaybook(),
		DropColumn: dropColumnPlaybook(),

		ChangeColumnType: changeColumnTypePlaybook(),
	}
}

// addIndexPlaybook builds an index without blocking writes, then proves it
// is valid and, given the query it is for, that the planner uses it.
func addIndexPlaybook() *Playbook {
	return &Playbook{
		Name: AddIndex, readSpec: readAddIndex, Guide: "Backward-Compatible Changes",
		Phases: []Phase{
			{ID: "create-index", Undo: UndoDDL, Schema: SchemaAddIndex, Watched: true,
				Does:   "Builds {index} on {table} in the dialect's least-locking way: reads and writes go on while it builds, where the dialect allows.",
				Why:    "Split risky schema changes into multiple deploys: an index built the plain way stops every write to the table for as long as the build takes, and code that needs the index ships only once it is there.",
				Verify: "{index} exists, is valid and is ready.",
				Revert: "Drops {index}, without blocking writes where the dialect can."},
			{ID: "verify-index", Undo: UndoKeepData,
				Does:   "Checks {index} again on the live database and, with query:, reads the database's own plan (EXPLAIN) for that query.",
				Why:    "Use real database tests: only the real database proves the index is valid and that its planner uses it for the query it was built for.",
				Verify: "{index} is valid and ready; with query:, the query's plan uses it, or the phase fails naming what the planner chose instead.",
				Revert: "Marks it rolled back; it changed nothing."},
		},
	}
}

// dropIndexPlaybook drops an index once no running code relies on it,
// recording its definition so that rollback can build it again.
func dropIndexPlaybook() *Playbook {
	return &Playbook{
		Name: DropIndex, readSpec: readDropIndex, Guide: "Backward-Compatible Changes",
		Phases: []Phase{
			{ID: "stop-using", Gate: true, Undo: UndoGate,
				Does:   "Gate: deploy code that no longer relies on {index}: none of its queries needs it any more.",
				Why:    "Split risky schema changes into multiple deploys: dropping an index that running code still relies on turns its queries into full scans of {table}, all at once, under load.",
				Verify: "You confirm the deploy; where the database counts index use (PostgreSQL, MySQL with performance_schema), shepherd shows how often {index} was used since the gate was reached.",
				Revert: "Un-confirms the gate."},
			{ID: "drop-index", Undo: UndoDDL, Schema: SchemaDropIndex,
				Does:   "Records {index}'s definition, then drops it in the dialect's least-locking way.",
				Why:    "Drop the index once no running code relies on it: until then it costs every write to {table} and nothing more.",
				Verify: "{index} is gone, and its definition is recorded for rollback.",
				Revert: "Builds {index} again from its recorded definition, without blocking writes where the dialect can."},
		},
	}
}

// dropColumnPlaybook is the contract half of expand/contract: stop using
// the column, then drop it one release later. With archive: true its
// values are kept first, so that the drop can be rolled back.
func dropColumnPlaybook() *Playbook {
	return &Playbook{
		Name: DropColumn, readSpec: readDropColumn, Guide: "Rename Column",
		tailor: func(p *Plan, pb *Playbook) {
			if p.DropColumn == nil || !p.DropColumn.Archive {
				return
			}
			for i := range pb.Phases {
				if pb.Phases[i].ID == "drop-column" {
					pb.Phases[i].Undo = UndoDDL
					pb.Phases[i].Does = "Drops {column}; its values are archived, so a rollback can bring them back."
					pb.Phases[i].Revert = "Adds {column} again (nullable, of its type) and restores every row's value from the archive, in batches."
				}
			}
		},
		Phases: []Phase{
			{ID: "relax", Undo: UndoDDL, Schema: SchemaRelax,
				Does:   "If {column} is NOT NULL without a default, drops NOT NULL from it; otherwise does nothing.",
				Why:    "Stop writing the old column: code that no longer writes {column} could not insert while it is NOT NULL without a default.",
				Verify: "{column} takes inserts that leave it out.",
				Revert: "Makes {column} NOT NULL again, if relax dropped it (refused while rows hold NULL in it)."},
			{ID: "stop-using", Gate: true, Undo: UndoGate,
				Does:   "Gate: deploy code that neither reads nor writes {column} (what ORMs call ignoring a column).",
				Why:    "Stop writing the old column, and stop reading it: a replica still running code that uses {column} fails once it is gone.",
				Verify: "You confirm the deploy; the database cannot see it.",
				Revert: "Un-confirms the gate."},
			{ID: "archive", Undo: UndoKeepData, Batches: InBatchesIfArchive,
				Does:   "With archive: true, copies each row's key and {column} into {archive}, in short keyset batches; without it, does nothing.",
				Why:    "Keep what the drop would lose: with the values archived, the drop is no longer a point of no return.",
				Verify: "Every row's {column} is in {archive}.",
				Revert: "Marks the archive rolled back; {archive} stays (drop it by hand once it is not needed)."},
			{ID: "drop-column", Confirm: true, Undo: UndoNever, Schema: SchemaDropColumn,
				OneReleaseAfter: "stop-using",
				Does:            "Drops {column}. Without an archive, this is the point of no return.",
				Why:             "Drop the old column in a later release: a replica still running the previous release may use it.",
				Verify:          "{column} is gone.",
				Revert:          "None: a dropped column cannot be brought back without an archive."},
		},
	}
}

// tailorRenameSync words rename-column's phases for sync: database, where
// triggers installed with the new column do the dual write. The phase ids
// stay (they are the contract): dual-write is still a gate, but confirming
// it needs no deploy.
func tailorRenameSync(p *Plan, pb *Playbook) {
	if !p.SyncByDatabase() {
		return
	}
	for i := range pb.Phases {
		ph := &pb.Phases[i]
		switch ph.ID {
		case "add-column":
			ph.Does = "Adds {to} to {table} as a nullable column of {column}'s type, and installs triggers that keep {column} and {to} in step (sync: database): a write of {column} only sets {to}, a write of {to} only sets {column}, a write of both keeps both. Each costs a write one more column assignment per row written, in the writer's own statement (on SQLite, one more UPDATE of the row)."
			ph.Verify = "{to} exists and is nullable, and the triggers are installed."
			ph.Revert = "Drops the triggers and {to}, once every later phase is pending or rolled back (values copied into it go with it). Refuses while a row's {to} holds a value {column} does not have, naming the rows, unless rollback --drop-data."
		case "dual-write":
			ph.Does = "Gate, for information: the database does the dual write (sync: database), so confirming it needs no deploy. Code that writes only {column}, only {to}, or both may run from now on."
			ph.Why = "Write to both old and new columns, so that rows written from now on are right in both: the triggers installed with {to} do it for every writer, including the ones nobody remembered."
			ph.Verify = "Nothing to deploy: the triggers do the dual write."
			ph.NoDeploy = true
		case "drop-old-column":
			ph.Does = "Drops the triggers that kept {column} and {to} in step, then {column}. This is the point of no return."
			ph.Why = "Drop the old column in a later release: a replica still running the previous release may use it. The triggers stay until this drop: until then a straggling replica of old code may still write {column}, and a rollback of stop-old-writes must find {column} right; SQLite and MySQL also refuse, or break, dropping a column a trigger uses."
			ph.Verify = "{column} and the triggers are gone and {to} holds the data."
		}
	}
}

// Batched reports whether the phase walks the table in batches under plan p.
func (ph Phase) Batched(p *Plan) bool {
	switch ph.Batches {
	case InBatches:
		return true
	case InBatchesIfClean:
		return p.Tighten != nil && len(p.Tighten.Clean) > 0
	case InBatchesIfArchive:
		return p.DropColumn != nil && p.DropColumn.Archive
	}
	return false
}

// NewColumn is the column the plan adds: add-column's column:,
// rename-column's to:; "" for a playbook that adds none.
func (p *Plan) NewColumn() string {
	switch {
	case p.AddColumn != nil:
		return p.AddColumn.Column
	case p.RenameColumn != nil:
		return p.RenameColumn.To
	case p.ChangeType != nil:
		return p.ChangeType.ShadowName()
	}
	return ""
}

// PlaybookDef returns the plan's playbook, as the plan shapes it (a
// drop-column that archives can be rolled back past its drop).
func (p *Plan) PlaybookDef() *Playbook {
	pb := Playbooks()[p.Playbook]
	if pb != nil && pb.tailor != nil {
		pb.tailor(p, pb)
	}
	return pb
}

// ConstraintLabel names what tighten-constraint adds, for messages.
func (p *Plan) ConstraintLabel() string {
	if p.Tighten == nil || p.Tighten.Constraint == nil {
		return ""
	}
	c := p.Tighten.Constraint
	switch c.Kind() {
	case NotNullConstraint:
		return "NOT NULL on " + c.NotNull
	case UniqueConstraint:
		return c.Name + " (UNIQUE " + strings.Join(c.Unique, ", ") + ")"
	case ForeignKeyConstraint:
		if c.References == nil {
			return c.Name + " (FOREIGN KEY " + strings.Join(c.ForeignKey, ", ") + ")"
		}
		ref := c.References.Table
		if c.References.Schema != "" {
			ref = c.References.Schema + "." + ref
		}
		if len(c.References.Columns) > 0 {
			ref += " (" + strings.Join(c.References.Columns, ", ") + ")"
		}
		return c.Name + " (FOREIGN KEY " + strings.Join(c.ForeignKey, ", ") + " REFERENCES " + ref + ")"
	}
	if v, ok := c.Check.For(p.dialect); ok {
		return c.Name + " (CHECK " + v + ")"
	}
	return c.Name + " (CHECK " + c.Check.String() + ")"
}

// Expand fills a phase text's placeholders from the plan.
func (p *Plan) Expand(text string) string {
	text = strings.ReplaceAll(text, "{swap-how}", p.swapHow())
	if p.dialect == MySQL {
		text = strings.ReplaceAll(text, "{fails-how}", "shepherd names the batch's key range and the server's error.")
	}
	text = strings.ReplaceAll(text, "{fails-how}", "shepherd counts the rows it fails on and names some by key.")
	f := p.fields()
	return strings.NewReplacer(
		"{table}", p.Table,
		"{column}", f.Column,
		"{to}", f.To,
		"{constraint}", p.ConstraintLabel(),
		"{index}", p.IndexLabel(),
		"{archive}", p.ArchiveTable(),
		"{shadow}", p.changeTypeText("shadow"),
		"{old}", p.changeTypeText("old"),
		"{type}", p.changeTypeText("type"),
		"{using}", p.changeTypeText("using"),
	).Replace(text)
}

// ---------- change-column-type ----------

// changeColumnTypePlaybook changes a column's type through a shadow column
// of the new type: the guide's Rename Column, where the rename is a swap
// of names at the end instead of a switch of the code's reads.
func changeColumnTypePlaybook() *Playbook {
	return &Playbook{
		Name: ChangeColumnType, readSpec: readChangeType, Guide: "Rename Column",
		Syncs: true,
		Phases: []Phase{
			{ID: "add-shadow", Undo: UndoDDLIfLast, Schema: SchemaAddColumn,
				Does:   "Adds {shadow} to {table}, nullable, of the new type {type}, and triggers that keep the two columns in step (sync: database): a write of {column} alone sets {shadow} to {using}; a write of {shadow} alone sets {column} back (reverse:, else a cast to {column}'s type). Each costs a write one more assignment per row written, in the writer's own statement.",
				Why:    "Add the new column: changing {column}'s type in place rewrites the table under an exclusive lock, and breaks every running replica that reads {column} as its old type.",
				Verify: "{shadow} exists and is nullable.",
				Revert: "Drops the triggers and {shadow}, once every later phase is pending or rolled back (the values converted into it go with it)."},
			{ID: "backfill", Undo: UndoKeepData, Batches: InBatches,
				Does:   "Fills {shadow} with {using} for rows where it differs, in short keyset batches with a checkpoint after each. A batch the conversion fails on stops the phase, keeping nothing of it: {fails-how}",
				Why:    "Backfill old rows into the new column, in batches small enough that no lock is held long and the application's writes go on.",
				Verify: "Every row's {shadow} is {using}; a row whose conversion fails, or gives NULL for a value, fails the phase.",
				Revert: "Marks the backfill rolled back; the converted values stay in {shadow} (they harm nothing in a column no code uses yet)."},
			{ID: "deploy-readers", Gate: true, Undo: UndoGate,
				Does:   "Gate: deploy code that reads {column} as its old type and as {type} alike (and prepares its statements again where the database says their result type changed).",
				Why:    "Deploy code that can read old and new rows: after the swap {column} is of the new type, and a replica that cannot read it fails.",
				Verify: "You confirm the deploy; the database cannot see it.",
				Revert: "Un-confirms the gate."},
			{ID: "swap", Undo: UndoDDL,
				Does:   "{swap-how}",
				Why:    "Switch reads to the new column once it holds the same data as the old one: the swap is that switch, for every reader at once, and it comes after the readers' deploy.",
				Verify: "{column} is of type {type}, holds the primary key, NOT NULL and default {old} had, and every foreign key that references it is valid.",
				Revert: "Swaps back the same way: {column} becomes {shadow} again and {old} becomes {column}, with its default, NOT NULL, primary key and foreign keys."},
			{ID: "stop-old-writes", Gate: true, Undo: UndoGate,
				Does:   "Gate: deploy code that no longer writes {column} as its old type nor uses {old}: the previous release is gone everywhere.",
				Why:    "Stop writing the old column; it is dropped one release later, once no running code reads or writes it.",
				Verify: "You confirm the deploy; the database cannot see it.",
				Revert: "Un-confirms the gate."},
			{ID: "drop-old-column", Confirm: true, Undo: UndoNever, Schema: SchemaDropOldColumn,
				OneReleaseAfter: "stop-old-writes",
				Does:            "Drops the triggers that kept the columns in step, then {old} with its indexes. This is the point of no return.",
				Why:             "Drop the old column in a later release: a replica still running the previous release may use it.",
				Verify:          "{old} and the triggers are gone and {column}, of type {type}, holds the data.",
				Revert:          "None: a dropped column cannot be brought back."},
		},
	}
}

// swapHow is what the swap does on the plan's dialect: each database moves
// a column's name and what it carries its own way.
func (p *Plan) swapHow() string {
	switch p.dialect {
	case MySQL:
		return "Builds on {shadow}, while reads and writes go on (ALGORITHM=INPLACE, LOCK=NONE), a copy of each index on {column}, then in one online rebuild NOT NULL and the primary key. Then, under LOCK TABLES for metadata changes only (milliseconds), renames {column} to {old} and {shadow} to {column} with their indexes in one INSTANT ALTER, moves the default, and rebinds the triggers to the new names."
	case SQLite:
		return "Rebuilds {table} in one transaction, writes waiting while every row is copied: {column} takes {shadow}'s type and values and keeps its constraints, default and indexes; the old values go to {old}; the triggers are made again on the new names."
	}
	return "Builds on {shadow}, without blocking writes, what the swap moves onto it: a copy of each index on {column}, and for a primary key a unique index and a validated NOT NULL check. Then, in one short transaction under the lock timeout, renames {column} to {old} and {shadow} to {column}, and moves the default, NOT NULL, the primary key and the foreign keys that reference it, and rebinds the triggers to the new names; the foreign keys are validated after it, without blocking writes."
}

// changeTypeText is one of change-column-type's phase texts' values: the
// shadow and old column's names, the new type and the conversion, as this
// dialect reads them (every dialect's without one).
func (p *Plan) changeTypeText(what string) string {
	c := p.ChangeType
	if c == nil {
		return ""
	}
	pick := func(e PerDialect) string {
		if v, ok := e.For(p.dialect); ok && p.dialect != "" {
			return v
		}
		return e.String()
	}
	switch what {
	case "shadow":
		return c.ShadowName()
	case "old":
		return c.OldName()
	case "type":
		return pick(c.Type)
	}
	if !c.Using.IsZero() {
		return pick(c.Using)
	}
	return "a cast of " + c.Column + " to " + pick(c.Type)
}
