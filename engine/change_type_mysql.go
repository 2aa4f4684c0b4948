package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/shepherd-db/shepherd/phases"
	"github.com/shepherd-db/shepherd/templates"
)

// change-column-type's swap on MySQL and MariaDB. No server changes a
// column's type in place without copying the table (ALGORITHM=COPY blocks
// writes for the whole copy), so the shadow column path runs here too; but
// DDL is not transactional, and a renamed column breaks the triggers that
// name it. The swap is therefore steps, each skipped on a rerun when the
// catalog shows it done (templates/mysql.sql, swap-prepare, swap-lock,
// swap-rename, swap-cut): first, online, what the incoming column must
// carry (NOT NULL, mirrors of the indexes, the primary key); then, under
// LOCK TABLES for the few milliseconds of metadata changes, the renames,
// the triggers of the new names, the default, and the old triggers' drop.
// Never a
// moment without triggers: a stop in between leaves triggers that name a
// missing column, which fail writes until the rerun finishes, rather than
// let one through unsynced.

// mysqlSwapData is the template data of MySQL's swap.
type mysqlSwapData struct {
	Schema, Table string
	Column        string // the column's name, which moves
	In, OutName   string // the incoming column; the name the outgoing one gets
	// NotNull: the column is NOT NULL, and so the incoming one becomes,
	// with InDefinition, its whole definition as MODIFY restates it; the
	// column becomes nullable (ColumnDefinition) in the same rebuild.
	NotNull                        bool
	InDefinition, ColumnDefinition string
	// Default is the column's default as information_schema holds it
	// (SQL), which moves to the incoming column; the outgoing one loses
	// its own, so that the insert trigger gives it the reverse conversion.
	Default string
	// PrimaryKey is the primary key's columns, with the incoming column in
	// the column's place, when the key includes it.
	PrimaryKey []string
	Indexes    []mysqlSwapIndex
	// DropInsert and DropUpdate are the triggers of the names before the
	// swap, dropped once the new ones are in.
	DropInsert, DropUpdate string
}

// mysqlSwapIndex is one secondary index whose key includes the column: its
// Mirror on the incoming column is built before the cut, then takes its
// Name, and the index itself is renamed Aside.
type mysqlSwapIndex struct {
	Name, Mirror, Aside string
	Unique              bool
	Parts               string // the mirror's key parts, as SQL
}

// mysqlSwapper is the swap on MySQL and MariaDB.
type mysqlSwapper struct{}

func (*mysqlDialect) swapper() swapper { return mysqlSwapper{} }

// readMySQLSwap reads from the live table what the swap moves, forward or
// back.
func (s *Session) readMySQLSwap(ctx context.Context, phase string, back bool) (mysqlSwapData, error) {
	p, ct := s.plan, s.plan.ChangeType
	in, out, inSuffix, outSuffix := swapNames(ct, back)
	d := mysqlSwapData{Schema: p.Schema, Table: p.Table, Column: ct.Column, In: in, OutName: out}
	d.DropInsert, d.DropUpdate = goingTriggerNames(s.plan, back)
	if err := s.refreshTable(ctx); err != nil {
		return d, fmt.Errorf("%s: %w", phase, err)
	}
	col, okCol := s.table.Column(ct.Column)
	inCol, okIn := s.table.Column(in)
	if !okCol || !okIn {
		return d, fmt.Errorf("%s: %s.%s or %s is missing (columns: %s)", phase, p.Table, ct.Column, in, columnList(s.table))
	}
	d.NotNull = col.NotNull
	d.InDefinition = mysqlColumnDef(Column{Type: inCol.Type, Attrs: inCol.Attrs}, true)
	d.ColumnDefinition = mysqlColumnDef(col, false)
	if col.Default != nil {
		d.Default = *col.Default
	}
	if slices.Contains(s.table.PrimaryKey, ct.Column) {
		for _, k := range s.table.PrimaryKey {
			if k == ct.Column {
				k = in
			}
			d.PrimaryKey = append(d.PrimaryKey, k)
		}
	}
	indexes, err := s.readMySQLSwapIndexes(ctx, inSuffix, outSuffix, in)
	if err != nil {
		return d, fmt.Errorf("%s: read the indexes on %s.%s: %w", phase, p.Table, ct.Column, err)
	}
	d.Indexes = indexes
	return d, nil
}

// readMySQLSwapIndexes reads the secondary indexes whose key includes the
// column, each with its mirror's key parts (prefix lengths kept).
func (s *Session) readMySQLSwapIndexes(ctx context.Context, inSuffix, outSuffix, in string) ([]mysqlSwapIndex, error) {
	ct := s.plan.ChangeType
	rows, err := s.query(ctx, s.db, "swap-indexes", sqlData{Schema: s.plan.Schema, Table: s.plan.Table, Column: ct.Column}, nil)
	if err != nil {
		return nil, s.dsn.scrub(err)
	}
	defer rows.Close()
	var out []mysqlSwapIndex
	var parts []string
	flush := func() {
		if n := len(out); n > 0 {
			out[n-1].Parts = strings.Join(parts, ", ")
		}
		parts = nil
	}
	var refused []string
	for rows.Next() {
		var name, kind, column string
		var unique bool
		var sub int64
		if err := rows.Scan(&name, &unique, &kind, &column, &sub); err != nil {
			return nil, s.dsn.scrub(err)
		}
		if name == "PRIMARY" {
			continue // moved by the primary key's own step
		}
		if n := len(out); n == 0 || out[n-1].Name != name {
			flush()
			if kind != "BTREE" && kind != "HASH" {
				refused = append(refused, fmt.Sprintf("the %s index %s", kind, name))
			}
			out = append(out, mysqlSwapIndex{Name: name, Unique: unique,
				Mirror: phases.FitIdent(name + inSuffix), Aside: phases.FitIdent(name + outSuffix)})
		}
		if column == ct.Column {
			column = in
		}
		part := s.d.quote(column)
		if sub > 0 {
			part += fmt.Sprintf("(%d)", sub)
		}
		parts = append(parts, part)
	}
	flush()
	if err := rows.Err(); err != nil {
		return nil, s.dsn.scrub(err)
	}
	if len(refused) > 0 {
		return nil, &phases.RefusedError{Phase: "swap", Reason: fmt.Sprintf("change-column-type cannot swap %s.%s: %s cannot be built while writes go on; nothing was changed", s.plan.Table, ct.Column, strings.Join(refused, ", "))}
	}
	return out, nil
}

// goingTriggerNames are the sync triggers' names on the side of the swap
// that goes: before it (forward), or after it (back).
func goingTriggerNames(p *phases.Plan, back bool) (insert, update string) {
	if back {
		return swappedSyncNames(p)
	}
	_, _, insert, update = syncNames(p)
	return insert, update
}

// mysqlSyncInstall is the sync triggers' install on the columns' names
// after the swap forward (or back), under the names of that side.
func (b builder) mysqlSyncInstall(back bool) (templates.Script, error) {
	d, err := b.changeTypeSync(!back)
	if err != nil {
		return nil, err
	}
	if !back {
		d.Sync.Insert, d.Sync.Update = d.Sync.InsertSwapped, d.Sync.UpdateSwapped
	}
	return b.sql.Script("sync-install", d)
}

// mysqlSwapScript is the whole swap, forward or back: the online steps,
// the lock, the triggers of the new names, the cut.
func (b builder) mysqlSwapScript(d mysqlSwapData, back bool) (templates.Script, error) {
	prepare, err := b.sql.Script("swap-prepare", d)
	if err != nil {
		return nil, err
	}
	cut, err := b.mysqlCut(d, back, true)
	return append(prepare, cut...), err
}

// mysqlCut is the swap's part under the table lock: the renames (where
// rename, else they took effect before a stop), the triggers of the new
// names, the default, the old triggers' drop.
func (b builder) mysqlCut(d mysqlSwapData, back, rename bool) (templates.Script, error) {
	parts := []string{"swap-lock", "swap-rename", "", "swap-cut"}
	if !rename {
		parts = []string{"swap-lock", "", "swap-cut"}
	}
	var script templates.Script
	for _, part := range parts {
		var st templates.Script
		var err error
		if part == "" {
			st, err = b.mysqlSyncInstall(back)
			for i := range st {
				st[i].UnderLock = true
			}
		} else {
			st, err = b.sql.Script(part, d)
		}
		if err != nil {
			return nil, err
		}
		script = append(script, st...)
	}
	return script, nil
}

// mysqlUnprepare undoes the online steps of a swap that did not happen (or
// was swapped back): the shadow is as add-shadow left it.
func (s *Session) mysqlUnprepare(ctx context.Context, b builder) (templates.Script, error) {
	ct := s.plan.ChangeType
	shadow := ct.ShadowName()
	if err := s.refreshTable(ctx); err != nil {
		return nil, err
	}
	d := mysqlSwapData{Schema: s.plan.Schema, Table: s.plan.Table, Column: ct.Column, In: shadow}
	if c, ok := s.table.Column(shadow); ok && c.NotNull {
		// The swap made the shadow NOT NULL and the column nullable.
		col, _ := s.table.Column(ct.Column)
		d.NotNull = true
		d.InDefinition = mysqlColumnDef(Column{Type: c.Type, Attrs: c.Attrs}, false)
		d.ColumnDefinition = mysqlColumnDef(col, true)
	}
	if slices.Contains(s.table.PrimaryKey, shadow) {
		for _, k := range s.table.PrimaryKey {
			if k == shadow {
				k = ct.Column
			}
			d.PrimaryKey = append(d.PrimaryKey, k)
		}
	}
	// After a stop in a cut back, between its renames and its move of the
	// default: the shadow has the column's default, and the insert trigger
	// would leave it instead of converting.
	if c, ok := s.table.Column(shadow); ok && c.Default != nil {
		d.Default = *c.Default
	}
	// A stop in the swap's cut may have left the triggers of the names
	// after it, which name columns that are not there: they go, and those
	// of the names before it are there.
	names := b.changeTypeSyncNames()
	names.Sync.Insert, names.Sync.Update = names.Sync.InsertSwapped, names.Sync.UpdateSwapped
	names.Sync.InsertSwapped, names.Sync.UpdateSwapped = "", ""
	remove, err := b.sql.Script("sync-remove", names)
	if err != nil {
		return nil, err
	}
	sync, err := b.changeTypeSync(false)
	if err != nil {
		return nil, err
	}
	install, err := b.sql.Script("sync-install", sync)
	if err != nil {
		return nil, err
	}
	undo, err := b.sql.Script("swap-unprepare", d)
	if err != nil {
		return nil, err
	}
	return append(append(remove, install...), undo...), nil
}

func (mysqlSwapper) run(ctx context.Context, s *Session, b builder, id string) error {
	done, err := s.swapped(ctx, s.db, false)
	if err != nil {
		return err
	}
	var script templates.Script
	if done {
		// A rerun after a stop in the cut: the columns are renamed; the
		// rest of the cut (default, triggers) is finished.
		script, err = s.mysqlFinishCut(ctx, b, false)
	} else {
		var d mysqlSwapData
		if d, err = s.readMySQLSwap(ctx, id, false); err == nil {
			script, err = b.mysqlSwapScript(d, false)
		}
	}
	if err != nil {
		return err
	}
	return s.runScript(ctx, id, script, s.finishIn(id, func(ctx context.Context, q querier) (string, error) {
		return mysqlSwapped(ctx, s, q, id, false)
	}))
}

// mysqlFinishCut is the cut's rest after the renames took effect: the
// default moved, the triggers of the new names in and the old ones gone.
func (s *Session) mysqlFinishCut(ctx context.Context, b builder, back bool) (templates.Script, error) {
	ct := s.plan.ChangeType
	in, out, _, _ := swapNames(ct, back)
	if err := s.refreshTable(ctx); err != nil {
		return nil, err
	}
	// The renames are done: the column is the incoming one, under its
	// name, and the outgoing one (out) still has its default.
	d := mysqlSwapData{Schema: s.plan.Schema, Table: s.plan.Table, Column: ct.Column, In: in, OutName: out}
	d.DropInsert, d.DropUpdate = goingTriggerNames(s.plan, back)
	if c, ok := s.table.Column(out); ok && c.Default != nil {
		d.Default = *c.Default
	} else if c, ok := s.table.Column(ct.Column); ok && c.Default != nil {
		d.Default = *c.Default
	}
	return b.mysqlCut(d, back, false)
}

func (mysqlSwapper) revert(ctx context.Context, s *Session, b builder, id string) error {
	done, err := s.swapped(ctx, s.db, false)
	if err != nil {
		return err
	}
	if done {
		d, err := s.readMySQLSwap(ctx, id, true)
		if err != nil {
			return err
		}
		back, err := b.mysqlSwapScript(d, true)
		if err != nil {
			return err
		}
		// Recorded below, once the shadow is as add-shadow left it: a stop
		// in between reruns only that.
		if err := s.runScript(ctx, id, back, func(context.Context, querier) error { return nil }); err != nil {
			return err
		}
	} else if backDone, err := s.swapped(ctx, s.db, true); err != nil {
		return err
	} else if !backDone {
		return fmt.Errorf("%s: %s.%s or %s is missing: the columns are not as change-column-type leaves them", id, s.plan.Table, s.plan.ChangeType.Column, s.plan.ChangeType.ShadowName())
	}
	undo, err := s.mysqlUnprepare(ctx, b)
	if err != nil {
		return err
	}
	return s.runScript(ctx, id, undo, func(ctx context.Context, q querier) error {
		detail, err := mysqlSwapped(ctx, s, q, id, true)
		if err != nil {
			return err
		}
		if !done {
			detail = "the swap had not taken effect: what it had built on " + s.plan.ChangeType.ShadowName() + " is undone"
		}
		if err := s.lock.heldIn(ctx, q); err != nil {
			return err
		}
		return s.move(ctx, q, id, phases.Revert, detail)
	})
}

func (mysqlSwapper) preview(b builder, back bool) (templates.Script, error) {
	p, ct := b.plan, b.plan.ChangeType
	in, out, inSuffix, outSuffix := swapNames(ct, back)
	b.gap("what the swap moves (NOT NULL, the indexes, the primary key, the default of " + ct.Column + ") is read from the live table; shown here for a NOT NULL primary key with one index")
	ix := p.Table + "_" + ct.Column + "_idx"
	d := mysqlSwapData{Schema: p.Schema, Table: p.Table, Column: ct.Column, In: in, OutName: out, NotNull: true,
		InDefinition: "/* the type of " + in + " */ NOT NULL", ColumnDefinition: "/* the definition of " + ct.Column + " */ NULL", PrimaryKey: []string{in},
		Indexes: []mysqlSwapIndex{{Name: ix, Mirror: phases.FitIdent(ix + inSuffix), Aside: phases.FitIdent(ix + outSuffix), Parts: b.d.quote(in)}}}
	d.DropInsert, d.DropUpdate = goingTriggerNames(p, back)
	return b.mysqlSwapScript(d, back)
}

func (mysqlSwapper) verify(ctx context.Context, s *Session, id string) (string, error) {
	return mysqlSwapped(ctx, s, s.db, id, false)
}

// columnProblem: a BEFORE INSERT trigger sees 0 for an AUTO_INCREMENT
// column (the server numbers the row after it), so no trigger can keep a
// shadow of it in step.
func (mysqlSwapper) columnProblem(c Column) string {
	if c.Auto {
		return fmt.Sprintf("%q is AUTO_INCREMENT: MySQL numbers a row after its BEFORE INSERT triggers run, so no trigger can keep a shadow column of it in step, and change-column-type does not change it yet; change it with a tool that copies the table (gh-ost, pt-online-schema-change), or by hand in a maintenance window", c.Name)
	}
	return ""
}

func (mysqlSwapper) notes(p *phases.Plan) []string {
	return []string{
		"on MySQL the swap first builds, while reads and writes go on (ALGORITHM=INPLACE, LOCK=NONE), what " + p.ChangeType.ShadowName() + " must carry: NOT NULL, a mirror of each index on " + p.ChangeType.Column + ", and the primary key where it includes it (an online rebuild of the table); then it holds LOCK TABLES … WRITE only while metadata changes: the triggers of the new names, the renames of the columns and indexes in one INSTANT ALTER, the default, the old triggers' drop",
		"MySQL's DDL is not transactional: a stop inside the swap leaves triggers that name a column that is not there, and writes of " + p.Table + " fail until the rerun finishes the swap (none goes through with the columns out of step): rerun at once",
	}
}

// blockers: a foreign key must have the same type at both ends on MySQL,
// so one to or from the column would have to change with it; and a CHECK
// that names the column would stay on the old one, where only a table
// copy could add it to the new one.
func (mysqlSwapper) blockers(ctx context.Context, s *Session) ([]string, error) {
	ct := s.plan.ChangeType
	deps, err := s.dependents(ctx, ct.Column)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, d := range deps {
		switch d.Kind {
		case DependsForeignKey, DependsReferencedBy:
			out = append(out, fmt.Sprintf("column: the foreign key %s on %s uses %s.%s, and MySQL requires a foreign key's columns to have the same type at both ends: change-column-type does not change both at once yet; drop the foreign key for the change and add it again after (tighten-constraint), or change the types by hand", d.Name, d.On, s.plan.Table, ct.Column))
		case DependsCheck:
			out = append(out, fmt.Sprintf("column: the CHECK constraint %s names %s.%s, and would stay on the old column after the swap; drop it for the change and add it again after (tighten-constraint)", d.Name, s.plan.Table, ct.Column))
		}
	}
	return out, nil
}

// leftBehind warns of what keeps using the old column; a foreign key or
// CHECK on the column is refused by blockers.
func (mysqlSwapper) leftBehind(ctx context.Context, s *Session) string {
	return s.swapLeavesBehind(ctx)
}

// mysqlSwapped: the incoming column is gone and the outgoing one is there
// under its new name; the triggers are those of the columns' names.
func mysqlSwapped(ctx context.Context, s *Session, q querier, id string, back bool) (string, error) {
	ct := s.plan.ChangeType
	if err := s.swapMovedColumns(ctx, q, id, back); err != nil {
		return "", err
	}
	if err := s.mustChangeTypeSync(ctx, q, id, true); err != nil {
		return "", err
	}
	var typ string
	if err := s.queryRow(ctx, q, "swap-column-type", sqlData{Schema: s.plan.Schema, Table: s.plan.Table, Column: ct.Column}, nil, &typ); err != nil {
		return "", fmt.Errorf("%s: read the type of %s.%s: %w", id, s.plan.Table, ct.Column, s.dsn.scrub(err))
	}
	if back {
		return fmt.Sprintf("swapped back: %s.%s is %s again; %s holds the new type's values", s.plan.Table, ct.Column, typ, ct.ShadowName()), nil
	}
	return fmt.Sprintf("%s.%s is %s, with its indexes, primary key and default; %s holds the old values", s.plan.Table, ct.Column, typ, ct.OldName()), nil
}
