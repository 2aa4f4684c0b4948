package engine

import (
	"fmt"
	"strings"

	"github.com/shepherd-db/shepherd/phases"
	"github.com/shepherd-db/shepherd/templates"
)

// builder renders the scripts of a plan's phases. The same builder serves
// `run` (with the live table) and `plan` (live is nil): what is previewed is
// what runs.
type builder struct {
	plan *phases.Plan
	d    dialect
	sql  *templates.Set
	live *Table // nil when previewing without a database
	// seen is the live table when there is one, kept when a phase is
	// previewed as the plan gives it (its column is not there yet): what
	// the dialect expects of the table does not depend on that.
	seen  *Table
	key   string
	keys  []string // a composite key's columns (compositekey.go)
	rowid string   // what batches walk instead of the key (rowidwalk.go)
	// refColumns are the columns a foreign key references, resolved from
	// the live schema where the plan leaves them to the primary key.
	refColumns []string
	// export renders for migration files (ExportPreview); gaps, when set,
	// collects what an offline rendering needs from the live table.
	export bool
	gaps   *[]string
	// notes, when set, collects what the dialect expects this database to
	// do with a statement (previews with the live table).
	notes *[]string
	// shadow is how add-column's backfill runs on the live table
	// (shadow.go); the zero value, a fill in place, previewing without one.
	shadow shadowChoice
}

// gap records that the offline SQL stands in for what only the live table
// gives.
func (b builder) gap(what string) {
	if b.gaps != nil && b.live == nil {
		*b.gaps = append(*b.gaps, what)
	}
}

func (s *Session) builder() builder {
	return builder{plan: s.plan, d: s.d, sql: s.sql, live: s.table, seen: s.table, key: s.key, keys: s.keys, rowid: s.rowid, refColumns: s.refColumns, shadow: s.shadow}
}

// base is the data every template gets.
func (b builder) base() sqlData {
	return sqlData{Schema: b.plan.Schema, Table: b.plan.Table, Key: b.key, Keys: b.keys, Rowid: b.rowid}
}

func (b builder) script(op string, data sqlData) (templates.Script, error) {
	live := b.live
	if live == nil && b.export {
		live = b.planColumnTable(op, data.Column)
	}
	if err := prepare(b.d, op, &data, live); err != nil {
		return nil, err
	}
	if data.Offline != "" {
		b.gap(data.Offline)
	}
	if b.notes != nil {
		if note := expect(b.d, op, b.seen); note != "" {
			*b.notes = append(*b.notes, note)
		}
	}
	return b.sql.Script(op, data)
}

// planColumnTable is, for migration files, what the plan itself says of a
// column it adds, as a table of that one column: enough for MySQL's MODIFY,
// which restates the column's definition, and the plan gave that
// definition (its type, nothing else). SQLite's rebuild needs the whole
// table, which no plan gives, so there it is nil.
func (b builder) planColumnTable(op, col string) *Table {
	if !restatesColumn(b.d, op) {
		return nil
	}
	p := b.plan
	added := p.NewColumn()
	_, types := p.ColumnFields()
	typ, ok := types.For(b.d.name())
	if added == "" || col != added || !ok {
		return nil
	}
	return &Table{Schema: p.Schema, Name: p.Table, Columns: []Column{{Name: col, Type: typ}}}
}

// newColumn is the column add-column adds, and its type on this dialect,
// as the plan's playbook says.
func (b builder) newColumn() (name, typ string, err error) {
	return unitOf(b.plan.Playbook).newColumn(b)
}

func (b builder) addColumn() (templates.Script, error) {
	col, typ, err := b.newColumn()
	if err != nil {
		return nil, err
	}
	d := b.base()
	d.Column, d.Type = col, typ
	script, err := b.script("add-column", d)
	if err != nil {
		return nil, err
	}
	// sync: database: the triggers come with the column, in its
	// transaction where the dialect's DDL is transactional.
	sync, err := b.syncScript("sync-install")
	return append(script, sync...), err
}

func (b builder) dropColumn(col string, checks ...string) (templates.Script, error) {
	d := b.base()
	d.Column, d.DropChecks = col, checks
	return b.script("drop-column", d)
}

func (b builder) setNotNull(col string, set bool) (templates.Script, error) {
	d := b.base()
	d.Column = col
	d.CheckName = notNullCheckName(b.plan.Table, col)
	op := "set-not-null"
	if !set {
		op = "drop-not-null"
	}
	return b.script(op, d)
}

// notNullCheckName names PostgreSQL's temporary check, kept within 63 bytes.
func notNullCheckName(table, col string) string {
	return phases.FitIdent("shepherd_nn_" + table + "_" + col)
}

// constraintData is the data of the plan's constraint.
func (b builder) constraintData() sqlData {
	d := b.base()
	c := b.plan.Tighten.Constraint
	d.Kind, d.Name, d.Columns = string(c.Kind()), c.Name, c.Columns()
	d.Check, _ = c.Check.For(b.d.name())
	if c.Kind() == phases.NotNullConstraint {
		d.Column = c.NotNull
	}
	if ref := c.References; c.Kind() == phases.ForeignKeyConstraint {
		d.RefSchema, d.RefTable, d.RefColumns = ref.Schema, ref.Table, ref.Columns
		if d.RefSchema == "" {
			d.RefSchema = b.plan.Schema
		}
		if len(b.refColumns) > 0 {
			d.RefColumns = b.refColumns
		}
		if len(d.RefColumns) == 0 {
			// Previewing without a database: "id" stands for the primary
			// key, as it does for the plan's own key.
			b.gap(fmt.Sprintf("references.columns: the primary key of %s, which only the database holds (or give references: {table: %s, columns: [...]} in the plan)", ref.Table, ref.Table))
			d.RefColumns = []string{"id"}
		}
		d.SelfRef = d.RefTable == b.plan.Table && d.RefSchema == b.plan.Schema
	}
	if b.seen.partitioned() && c.Kind() == phases.UniqueConstraint {
		d.Partitions = b.seen.Partition.indexes(c.Name)
	}
	return d
}

// constraintOps names the scripts that add and drop each kind of
// constraint (not_null goes through setNotNull).
var constraintOps = map[phases.ConstraintKind][2]string{
	phases.CheckConstraint:      {"add-check", "drop-check"},
	phases.UniqueConstraint:     {"add-unique", "drop-unique"},
	phases.ForeignKeyConstraint: {"add-foreign-key", "drop-foreign-key"},
}

func (b builder) addConstraint() (templates.Script, error) {
	c := b.plan.Tighten.Constraint
	if c.Kind() == phases.NotNullConstraint {
		return b.setNotNull(c.NotNull, true)
	}
	return b.script(partitionedOp(constraintOps[c.Kind()][0], b.seen), b.constraintData())
}

func (b builder) dropConstraint() (templates.Script, error) {
	c := b.plan.Tighten.Constraint
	if c.Kind() == phases.NotNullConstraint {
		return b.setNotNull(c.NotNull, false)
	}
	return b.script(partitionedOp(constraintOps[c.Kind()][1], b.seen), b.constraintData())
}

// fillJob is add-column's backfill (and switch-writes' catch-up): rows where
// the new column is NULL get the plan's expression.
func (b builder) fillJob(phase string) batchJob {
	d := b.base()
	d.Column = b.plan.AddColumn.Column
	d.Expr, _ = b.plan.AddColumn.Backfill.For(b.d.name())
	d.Keep = b.kept(d.Column)
	return batchJob{phase: phase, update: "fill-batch", data: d,
		fix: "fix the rows in that range, or change the plan's backfill: expression (it may change until backfill or switch-writes is done), then rerun to resume"}
}

// catchUpJob is switch-writes' catch-up: the backfill's fill, over the
// rows still NULL only (nullwalk.go), first past where the backfill's
// walk ended.
func (b builder) catchUpJob(phase string) batchJob {
	job := b.fillJob(phase)
	job.nulls = true
	job.data.FromLo = true
	job.after = "backfill"
	return job
}

// carryJob copies rename's new column back into the old one where they
// differ (rolling back stop-old-writes or switch-reads, carry.go): the copy
// of the backfill, the other way.
func (b builder) carryJob(phase string) batchJob {
	d := b.base()
	d.Column, d.To, d.Text = b.plan.RenameColumn.To, b.plan.RenameColumn.Column, b.holdsText()
	d.Keep = b.kept(d.To)
	d.SyncOff = b.plan.SyncByDatabase()
	return batchJob{phase: phase, update: "copy-batch", data: d}
}

// copyJob is rename-column's backfill: the old column copied into the new
// one where they differ.
func (b builder) copyJob(phase string) batchJob {
	d := b.base()
	d.Column, d.To, d.Text = b.plan.RenameColumn.Column, b.plan.RenameColumn.To, b.holdsText()
	d.Keep = b.kept(d.To)
	d.SyncOff = b.plan.SyncByDatabase()
	return batchJob{phase: phase, update: "copy-batch", data: d}
}

// holdsText reports whether the plan's column holds text (as the live
// table says, else as the plan's type: does, else it is assumed to): a
// comparison of its values must then see every character.
func (b builder) holdsText() bool {
	col, types := b.plan.ColumnFields()
	typ, ok := types.For(b.d.name())
	if b.live != nil {
		if c, found := b.live.Column(col); found {
			typ, ok = c.Type, true
		}
	}
	t := strings.ToLower(typ)
	return !ok || strings.Contains(t, "char") || strings.Contains(t, "text") || strings.HasPrefix(t, "enum")
}

// cleanJob applies the plan's clean: expressions to violating rows: for a
// UNIQUE, it walks the duplicates (dupwalk.go), else the whole table.
func (b builder) cleanJob(phase string) batchJob {
	d := b.constraintData()
	d.Set = b.assigned(b.plan.Tighten.Clean)
	var sets []string
	for _, a := range d.Set {
		sets = append(sets, a.Column)
	}
	d.Keep = b.kept(sets...)
	job := batchJob{phase: phase, update: "clean-batch", data: d,
		fix: "fix the rows in that range, or change the plan's clean: expressions (they may change until clean is done), then rerun to resume"}
	if d.Kind == "unique" {
		job.update, job.dups = "clean-duplicates", true
	}
	return job
}

// assigned is a plan's column: expression pairs (clean:,
// constraint.violating:) as this dialect's expressions.
func (b builder) assigned(as []phases.Assign) []setExpr {
	var set []setExpr
	for _, a := range as {
		e, _ := a.Expr.For(b.d.name())
		set = append(set, setExpr{Column: a.Column, Expr: e})
	}
	return set
}

// cond returns the data for count-where: which rows to count.
func (b builder) cond(kind string) sqlData {
	var d sqlData
	switch kind {
	case "null", "unfilled", "null-expr", "unreproduced":
		d = b.base()
		d.Column = b.plan.AddColumn.Column
		d.Expr, _ = b.plan.AddColumn.Backfill.For(b.d.name())
		d.Type, _ = b.plan.AddColumn.Type.For(b.d.name())
		d.Text = b.holdsText()
	case "diff", "new-only":
		d = b.base()
		d.Column, d.To, d.Text = b.plan.RenameColumn.Column, b.plan.RenameColumn.To, b.holdsText()
	default:
		d = b.constraintData()
	}
	d.Cond = kind
	return d
}

// batchPreview renders a batch job's statements for display: the bound
// query and the update of one range.
func (b builder) batchPreview(job batchJob) (templates.Script, error) {
	d := job.data
	d.HasLo = true
	find, lock := "upper-bound", "reads the key index only"
	if job.nulls {
		find, lock = "null-keys", fmt.Sprintf("a plain read, not once a batch: first of the rows past the backfill's last key, then of every row from the start once the walk reaches the end, each time for up to %d rows where the column is NULL", nullChunk)
	}
	if job.dups {
		find, lock = "duplicate-rows", fmt.Sprintf("a plain read of every row (a sort of the table by the constraint's columns), not once a batch: once for up to %d duplicates, and once more from the start when the walk reaches the end", dupChunk)
	}
	ub, err := b.sql.Query(find, d)
	if err != nil {
		return nil, err
	}
	if job.dups {
		d = duplicatesShown(d)
	}
	upd, err := b.sql.Script(job.update, d)
	if err != nil {
		return nil, err
	}
	for _, col := range d.Keep {
		if b.notes != nil {
			*b.notes = append(*b.notes, fmt.Sprintf("%s is declared ON UPDATE: the batch sets it to its own value, or the database would rewrite it in every row the batch changes (the application's last-modified time is kept)", col))
		}
	}
	return append(templates.Script{{Statement: ub, Lock: lock, Mode: templates.Own}}, upd...), nil
}
