package phases

import "strings"

// Each playbook's own part of a plan, typed: a Plan carries the fields every
// playbook shares (name, table, key…) and exactly one of these, the one its
// playbook: names. A spec is read from the decoded file and checks itself
// (validate.go); the registry (playbook.go) says which reader a playbook uses.

// AddColumnSpec is an add-column plan's own part: the column it adds, its
// type, the expression that fills existing rows, and whether it ends NOT NULL.
type AddColumnSpec struct {
	Column   string
	Type     PerDialect
	Backfill PerDialect
	NotNull  bool
}

// RenameColumnSpec is a rename-column plan's own part: the column renamed,
// its new name, optionally a new type for the new column, and who keeps
// the two columns in step while both are written (sync:).
type RenameColumnSpec struct {
	Column string
	To     string
	Type   PerDialect
	Sync   string // SyncApp, or "" (the plan leaves sync: out: the same), or SyncDatabase
}

// The values of sync:. With SyncApp the application writes both columns
// during dual-write; with SyncDatabase triggers that add-column installs
// do (engine/sync_triggers.go).
const (
	SyncApp      = "app"
	SyncDatabase = "database"
)

// SyncModes lists sync:'s values, the default first.
func SyncModes() []string { return []string{SyncApp, SyncDatabase} }

// SyncByDatabase reports whether the plan has the database keep its old
// and new columns in step (sync: database).
func (p *Plan) SyncByDatabase() bool {
	return p.RenameColumn != nil && p.RenameColumn.Sync == SyncDatabase
}

// TightenSpec is a tighten-constraint plan's own part: the constraint added
// and the clean: expressions that fix violating rows first.
type TightenSpec struct {
	Constraint *Constraint
	Clean      []Assign
}

// IndexSpec is an index as a plan gives it: its name, its columns in
// order, and optionally a predicate (a partial index) and PostgreSQL's
// index method.
type IndexSpec struct {
	Name    string     `json:"name"`
	Columns []string   `json:"columns,omitempty"`
	Where   PerDialect `json:"where,omitzero"`
	Using   string     `json:"using,omitempty"`
}

// AddIndexSpec is an add-index plan's own part: the index it builds and,
// optionally, the query it is for, whose plan verify-index reads.
type AddIndexSpec struct {
	Index IndexSpec
	Query PerDialect
}

// DropIndexSpec is a drop-index plan's own part: the index it drops, by
// name (its definition is read from the catalog and recorded before the
// drop, so that rollback can build it again).
type DropIndexSpec struct {
	Name string
}

// DropColumnSpec is a drop-column plan's own part: the column it drops,
// and whether its values are archived first (key and value, in a table of
// their own) so that a rollback after the drop can restore them.
type DropColumnSpec struct {
	Column  string
	Archive bool
}

// canonicalPlan is the plan as one flat record, in the field order Hash has
// always hashed: the specs are new in shape, not in meaning, so a plan
// recorded by an earlier shepherd keeps its hash. A new playbook's fields go
// at the end, each omitted when empty, so that no existing hash moves.
type canonicalPlan struct {
	Name     string `json:"name"`
	Playbook string `json:"playbook"`
	Schema   string `json:"schema,omitempty"`
	Table    string `json:"table"`
	Key      any    `json:"key,omitempty"` // a string; a list for a composite key

	Column   string     `json:"column,omitempty"`
	Type     PerDialect `json:"type,omitzero"`
	Backfill PerDialect `json:"backfill,omitzero"`
	NotNull  bool       `json:"not_null"`
	To       string     `json:"to,omitempty"`

	Constraint *Constraint `json:"constraint,omitempty"`
	Clean      []Assign    `json:"clean,omitempty"`

	Index *IndexSpec `json:"index,omitempty"`
	Query PerDialect `json:"query,omitzero"`

	Archive bool `json:"archive,omitempty"`

	// Sync is set only for sync: database: sync: app is the default, and
	// a plan that says it means what one without it does (same hash).
	Sync string `json:"sync,omitempty"`
}

// fields flattens the plan into its canonical record.
func (p *Plan) fields() canonicalPlan {
	c := canonicalPlan{Name: p.Name, Playbook: p.Playbook, Schema: p.Schema, Table: p.Table, Key: p.keyCanonical()}
	if a := p.AddColumn; a != nil {
		c.Column, c.Type, c.Backfill, c.NotNull = a.Column, a.Type, a.Backfill, a.NotNull
	}
	if r := p.RenameColumn; r != nil {
		c.Column, c.To, c.Type = r.Column, r.To, r.Type
		if r.Sync == SyncDatabase {
			c.Sync = r.Sync
		}
	}
	if t := p.Tighten; t != nil {
		c.Constraint, c.Clean = t.Constraint, t.Clean
	}
	if a := p.AddIndex; a != nil {
		ix := a.Index
		c.Index, c.Query = &ix, a.Query
	}
	if d := p.DropIndex; d != nil {
		c.Index = &IndexSpec{Name: d.Name}
	}
	if d := p.DropColumn; d != nil {
		c.Column, c.Archive = d.Column, d.Archive
	}
	return c
}

// readAddColumn takes an add-column plan's own fields from the file.
func readAddColumn(v *validator, r raw) {
	a := &AddColumnSpec{Column: r.Column, Type: r.Type, Backfill: r.Backfill, NotNull: r.NotNull == nil || *r.NotNull}
	v.p.AddColumn = a
	a.validate(v, r)
}

// readRenameColumn takes a rename-column plan's own fields from the file.
func readRenameColumn(v *validator, r raw) {
	rc := &RenameColumnSpec{Column: r.Column, To: r.To, Type: r.Type, Sync: r.Sync}
	v.p.RenameColumn = rc
	rc.validate(v, r)
}

// readTighten takes a tighten-constraint plan's own fields from the file.
func readTighten(v *validator, r raw) {
	t := &TightenSpec{}
	if c := r.Constraint; c != nil {
		t.Constraint = &Constraint{Name: c.Name, Check: c.Check, NotNull: c.NotNull,
			Unique: c.Unique, ForeignKey: c.ForeignKey, Violating: c.Violating}
		if ref := c.References; ref != nil {
			t.Constraint.References = &Reference{Schema: ref.Schema, Table: ref.Table, Columns: ref.Columns}
		}
	}
	if r.Clean != nil {
		t.Clean = r.Clean.Set
	}
	v.p.Tighten = t
	t.validate(v, r)
}

// readAddIndex takes an add-index plan's own fields from the file.
func readAddIndex(v *validator, r raw) {
	a := &AddIndexSpec{Query: r.Query}
	if ix := r.Index; ix != nil {
		a.Index = IndexSpec{Name: ix.Name, Columns: ix.Columns, Where: ix.Where, Using: ix.Using}
	}
	v.p.AddIndex = a
	a.validate(v, r)
}

// readDropColumn takes a drop-column plan's own fields from the file.
func readDropColumn(v *validator, r raw) {
	d := &DropColumnSpec{Column: r.Column, Archive: r.Archive != nil && *r.Archive}
	v.p.DropColumn = d
	d.validate(v, r)
}

// ArchiveTable is the table drop-column's archive keeps the column's
// values in, by key: named after the table and the column, within 63
// bytes.
func (p *Plan) ArchiveTable() string {
	if p.DropColumn == nil {
		return ""
	}
	return FitIdent(p.Table + "_" + p.DropColumn.Column + "_archive")
}

// readDropIndex takes a drop-index plan's own fields from the file.
func readDropIndex(v *validator, r raw) {
	d := &DropIndexSpec{}
	if r.Index != nil {
		d.Name = r.Index.Name
	}
	v.p.DropIndex = d
	d.validate(v, r)
}

// IndexName is the index an index playbook builds or drops; "" for others.
func (p *Plan) IndexName() string {
	switch {
	case p.AddIndex != nil:
		return p.AddIndex.Index.Name
	case p.DropIndex != nil:
		return p.DropIndex.Name
	}
	return ""
}

// IndexLabel names the index a plan builds, for messages: its name, its
// columns and its predicate as this dialect reads it.
func (p *Plan) IndexLabel() string {
	if p.AddIndex == nil {
		return p.IndexName()
	}
	ix := p.AddIndex.Index
	label := ix.Name + " (" + strings.Join(ix.Columns, ", ") + ")"
	if ix.Using != "" {
		label = ix.Name + " USING " + ix.Using + " (" + strings.Join(ix.Columns, ", ") + ")"
	}
	switch w, ok := ix.Where.For(p.dialect); {
	case p.dialect == "" && !ix.Where.IsZero():
		label += " WHERE " + ix.Where.String()
	case p.dialect != "" && ok:
		label += " WHERE " + w
	}
	return label
}

// ColumnFields is what a column playbook's column: and type: say: the
// column it is about (add-column's new column, rename-column's old one)
// and the type it gives (the new column's); empty for other playbooks.
func (p *Plan) ColumnFields() (column string, typ PerDialect) {
	switch {
	case p.AddColumn != nil:
		return p.AddColumn.Column, p.AddColumn.Type
	case p.RenameColumn != nil:
		return p.RenameColumn.Column, p.RenameColumn.Type
	}
	return "", PerDialect{}
}

// OldColumn is the column the plan retires, which its last phase drops:
// rename-column's and drop-column's column:; "" for a playbook that
// retires none.
func (p *Plan) OldColumn() string {
	switch {
	case p.RenameColumn != nil:
		return p.RenameColumn.Column
	case p.DropColumn != nil:
		return p.DropColumn.Column
	}
	return ""
}
