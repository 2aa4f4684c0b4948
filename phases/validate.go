package phases

import (
	"fmt"
	"slices"
	"strings"
)

// The checks of a plan's fields after decoding: each problem found is a
// PlanError naming the field, what is wrong and what to write instead.

type validator struct {
	p    *Plan
	errs PlanErrors
}

func (v *validator) add(field, problem, fix string) {
	v.errs = append(v.errs, &PlanError{File: v.p.File, Line: v.p.lines[field], Field: field, Problem: problem, Fix: fix})
}

func (v *validator) required(field, val, fix string) bool {
	if strings.TrimSpace(val) == "" {
		v.add(field, "is missing", fix)
		return false
	}
	return true
}

func (v *validator) ident(field, val, what string) {
	if val == "" {
		return
	}
	if err := CheckIdent(val); err != nil {
		v.add(field, fmt.Sprintf("%q %v", val, err), "give the "+what+"'s name as the database knows it, such as "+exampleFor(what))
	}
}

func exampleFor(what string) string {
	switch what {
	case "table":
		return "users"
	case "constraint":
		return "orders_amount_positive"
	case "schema":
		return "public"
	case "index":
		return "orders_user_idx"
	}
	return "email"
}

// expr checks an expression field: one value of one row (CheckScalar),
// as a column's value and a CHECK's condition both are.
func (v *validator) expr(field string, e PerDialect, example string) {
	for _, s := range e.Values() {
		if err := CheckScalar(s); err != nil {
			v.add(field, fmt.Sprintf("%q %v", s, err), "give one SQL expression, such as "+example)
		}
	}
}

// playbookChoice lists the playbooks as a choice: "a, b or c".
func playbookChoice() string { return joinWords(PlaybookNames(), " or ") }

// forbid reports fields that the playbook does not use: a plan that carries
// them was probably written for another playbook.
func (v *validator) forbid(field string, set bool) {
	if set {
		v.add(field, fmt.Sprintf("is not used by the %s playbook", v.p.Playbook), "remove it, or choose the playbook that uses it")
	}
}

func (v *validator) validate(r raw) {
	p := v.p
	if v.required("name", p.Name, "give the plan a name such as users-email") && !planNameRE.MatchString(p.Name) {
		v.add("name", fmt.Sprintf("%q is not a valid plan name", p.Name), "use lower-case letters, digits, '-' and '_', starting with a letter or digit, such as users-email")
	}
	if v.required("playbook", p.Playbook, "set playbook: to "+playbookChoice()) {
		if _, ok := Playbooks()[p.Playbook]; !ok {
			v.add("playbook", fmt.Sprintf("%q is not a playbook", p.Playbook), "use "+playbookChoice())
		}
	}
	v.ident("schema", p.Schema, "schema")
	if v.required("table", p.Table, "set table: to the table to change") {
		v.ident("table", p.Table, "table")
	}
	v.ident("key", p.Key, "column")
	v.columnList("key", p.Keys)
	v.replicas(p.Replicas)
	if p.Playbook != ChangeColumnType {
		v.forbidChangeType(r)
	}
	for _, d := range []struct {
		field string
		val   PerDialect
	}{{"type", r.Type}, {"backfill", r.Backfill}} {
		for k := range d.val.By {
			if !KnownDialect(k) {
				v.add(d.field, fmt.Sprintf("%q is not a dialect", k), "use postgres, mysql or sqlite")
			}
		}
	}
	for _, t := range r.Type.Values() {
		if err := CheckType(t); err != nil {
			v.add("type", fmt.Sprintf("%q %v", t, err), "give a column type such as text or varchar(255)")
		}
	}

	if pb, ok := Playbooks()[p.Playbook]; ok && pb.readSpec != nil {
		pb.readSpec(v, r)
		if r.Sync != "" && !pb.Syncs {
			v.add("sync", fmt.Sprintf("is not used by the %s playbook: only rename-column keeps two columns in step", p.Playbook), "remove it, or use playbook: rename-column")
		}
	}
}

// sync checks sync:'s value: one of SyncModes.
func (v *validator) sync(val string) {
	if val != "" && !slices.Contains(SyncModes(), val) {
		v.add("sync", fmt.Sprintf("%q is not a sync mode", val), "use app (the application writes both columns; the default) or database (triggers keep them in step)")
	}
}

// validate checks an add-column plan's own fields.
func (p *AddColumnSpec) validate(v *validator, r raw) {
	if v.required("column", p.Column, "set column: to the name of the column to add") {
		v.ident("column", p.Column, "column")
	}
	if p.Type.IsZero() {
		v.add("type", "is missing", "set type: to the new column's type, such as text, or per dialect: {postgres: text, mysql: varchar(255), sqlite: text}")
	}
	if p.Backfill.IsZero() {
		v.add("backfill", "is missing", "set backfill: to an SQL expression over the row that gives the new column's value, such as lower(username) || '@example.com'")
	}
	v.expr("backfill", p.Backfill, "lower(username) || '@example.com'")
	for _, e := range p.Backfill.Values() {
		if looksLikeIdent(e) && strings.EqualFold(strings.Trim(strings.TrimSpace(e), "\"`"), p.Column) {
			v.add("backfill", fmt.Sprintf("%q is the column being added, so every row would stay NULL", e), "give an expression over the existing columns, such as lower(username) || '@example.com'")
		}
	}
	v.forbid("to", r.To != "")
	v.forbid("constraint", r.Constraint != nil)
	v.forbid("clean", r.Clean != nil)
	v.forbidIndex(r)
}

// validate checks a rename-column plan's own fields.
func (p *RenameColumnSpec) validate(v *validator, r raw) {
	if v.required("column", p.Column, "set column: to the column to rename") {
		v.ident("column", p.Column, "column")
	}
	if v.required("to", p.To, "set to: to the column's new name") {
		v.ident("to", p.To, "column")
	}
	if p.Column != "" && p.Column == p.To {
		v.add("to", fmt.Sprintf("is the same as column (%q)", p.To), "give the new name")
	}
	v.forbid("backfill", !r.Backfill.IsZero())
	v.forbid("not_null", r.NotNull != nil)
	v.forbid("constraint", r.Constraint != nil)
	v.forbid("clean", r.Clean != nil)
	v.forbidIndex(r)
	v.sync(r.Sync)
}

// validate checks a tighten-constraint plan's own fields.
func (t *TightenSpec) validate(v *validator, r raw) {
	v.forbid("column", r.Column != "")
	v.forbid("type", !r.Type.IsZero())
	v.forbid("backfill", !r.Backfill.IsZero())
	v.forbid("not_null", r.NotNull != nil)
	v.forbid("to", r.To != "")
	v.forbidIndex(r)
	t.validateConstraint(v)
}

// validate checks a drop-index plan's own fields.
func (d *DropIndexSpec) validate(v *validator, r raw) {
	v.forbidColumnFields(r)
	v.forbid("archive", r.Archive != nil)
	v.forbid("query", !r.Query.IsZero())
	if r.Index == nil {
		v.add("index", "is missing", "set index: to the index to drop, such as {name: orders_user_idx}")
		return
	}
	if v.required("index.name", d.Name, "name the index to drop, such as orders_user_idx") {
		v.ident("index.name", d.Name, "index")
	}
	// Its definition is the catalog's, recorded before the drop: a plan
	// that restates it could only disagree.
	v.forbid("index.columns", r.Index.Columns != nil)
	v.forbid("index.where", !r.Index.Where.IsZero())
	v.forbid("index.using", r.Index.Using != "")
}

// forbidColumnFields refuses the column and constraint playbooks' fields.
func (v *validator) forbidColumnFields(r raw) {
	v.forbid("column", r.Column != "")
	v.forbidTypeFields(r)
}

// forbidTypeFields refuses the column and constraint playbooks' fields but
// column:, which drop-column uses too.
func (v *validator) forbidTypeFields(r raw) {
	v.forbid("type", !r.Type.IsZero())
	v.forbid("backfill", !r.Backfill.IsZero())
	v.forbid("not_null", r.NotNull != nil)
	v.forbid("to", r.To != "")
	v.forbid("constraint", r.Constraint != nil)
	v.forbid("clean", r.Clean != nil)
}

// forbidIndex refuses the index and drop-column playbooks' own fields in a
// plan of another playbook.
func (v *validator) forbidIndex(r raw) {
	v.forbid("index", r.Index != nil)
	v.forbid("query", !r.Query.IsZero())
	v.forbid("archive", r.Archive != nil)
}

// validate checks a drop-column plan's own fields.
func (d *DropColumnSpec) validate(v *validator, r raw) {
	if v.required("column", d.Column, "set column: to the column to drop") {
		v.ident("column", d.Column, "column")
	}
	v.forbidTypeFields(r)
	v.forbid("index", r.Index != nil)
	v.forbid("query", !r.Query.IsZero())
}

// validate checks an add-index plan's own fields.
func (a *AddIndexSpec) validate(v *validator, r raw) {
	v.forbidColumnFields(r)
	v.forbid("archive", r.Archive != nil)
	if r.Index == nil {
		v.add("index", "is missing", `set index: to the index to build, such as {name: orders_user_idx, columns: [user_id]}`)
		return
	}
	ix := a.Index
	if v.required("index.name", ix.Name, "name the index, such as orders_user_idx") {
		v.ident("index.name", ix.Name, "index")
	}
	if len(ix.Columns) == 0 {
		v.add("index.columns", "is missing", "list the columns the index is on, in order, such as [user_id] or [tenant_id, created_at]")
	}
	v.columnList("index.columns", ix.Columns)
	v.expr("index.where", ix.Where, `"deleted_at IS NULL"`)
	if ix.Using != "" && !slices.Contains(IndexMethods(), ix.Using) {
		v.add("index.using", fmt.Sprintf("%q is not an index method", ix.Using), "use one of "+strings.Join(IndexMethods(), ", ")+" (PostgreSQL's), or leave using: out for the default (btree)")
	}
	for _, q := range a.Query.Values() {
		if err := CheckQuery(q); err != nil {
			v.add("query", fmt.Sprintf("%q %v", q, err), `give the SELECT the index is for, such as "SELECT * FROM orders WHERE user_id = 42"`)
		}
	}
}

func (t *TightenSpec) validateConstraint(v *validator) {
	p := v.p
	c := t.Constraint
	if c == nil {
		v.add("constraint", "is missing", `set constraint: to {name: orders_amount_positive, check: "amount > 0"}, {not_null: COLUMN}, {name: users_email_key, unique: [email]} or {name: orders_user_fk, foreign_key: [user_id], references: {table: users}}`)
		return
	}
	kinds := 0
	if !c.Check.IsZero() {
		kinds++
	}
	if c.NotNull != "" {
		kinds++
	}
	if len(c.Unique) > 0 {
		kinds++
	}
	if len(c.ForeignKey) > 0 {
		kinds++
	}
	if kinds != 1 {
		v.add("constraint", "must give exactly one of check, not_null, unique and foreign_key", "split it into one plan per constraint")
		return
	}
	if c.References != nil && c.Kind() != ForeignKeyConstraint {
		v.add("constraint.references", "is only for a foreign key", "add foreign_key: [COLUMN...] with the columns that reference it, or remove references:")
	}
	v.ident("constraint.name", c.Name, "constraint")
	switch c.Kind() {
	case CheckConstraint:
		v.required("constraint.name", c.Name, "name the constraint, such as orders_amount_positive")
		v.expr("constraint.check", c.Check, `"amount > 0"`)
		for _, e := range c.Check.Values() {
			if looksLikeIdent(e) {
				v.add("constraint.check", fmt.Sprintf("%q is a column name, not a condition", e), fmt.Sprintf("give a condition such as \"amount > 0\"; to forbid NULLs use not_null: %s", strings.Trim(e, "\"`")))
			}
		}
	case NotNullConstraint:
		v.ident("constraint.not_null", c.NotNull, "column")
	case UniqueConstraint:
		v.required("constraint.name", c.Name, "name the constraint, such as users_email_key")
		v.columnList("constraint.unique", c.Unique)
	case ForeignKeyConstraint:
		v.required("constraint.name", c.Name, "name the constraint, such as orders_user_fk")
		v.columnList("constraint.foreign_key", c.ForeignKey)
		ref := c.References
		if ref == nil {
			v.add("constraint.references", "is missing", "say what the foreign key references, such as references: {table: users} (its primary key) or references: {table: users, columns: [id]}")
			break
		}
		v.ident("constraint.references.schema", ref.Schema, "schema")
		if strings.TrimSpace(ref.Table) == "" {
			v.errs = append(v.errs, &PlanError{File: p.File, Line: p.lines["constraint.references"], Field: "constraint.references.table",
				Problem: "is missing", Fix: "name the referenced table, such as references: {table: users}"})
		}
		v.ident("constraint.references.table", ref.Table, "table")
		if ref.Columns != nil {
			if len(ref.Columns) == 0 {
				v.add("constraint.references.columns", "is an empty list", "list the referenced columns, such as [id], or leave columns: out to reference the primary key")
			}
			v.columnList("constraint.references.columns", ref.Columns)
			if len(ref.Columns) > 0 && len(ref.Columns) != len(c.ForeignKey) {
				v.add("constraint.references.columns", fmt.Sprintf("names %d columns (%s) for %d in foreign_key (%s)", len(ref.Columns), strings.Join(ref.Columns, ", "), len(c.ForeignKey), strings.Join(c.ForeignKey, ", ")),
					"give one referenced column for each foreign_key column, in the same order")
			}
		}
	}
	for _, a := range c.Violating {
		v.ident("constraint.violating", a.Column, "column")
		v.expr("constraint.violating."+a.Column, a.Expr, "-1")
	}
	for _, a := range t.Clean {
		v.ident("clean.set", a.Column, "column")
		v.expr("clean.set."+a.Column, a.Expr, "abs(amount)")
	}
}

// columnList checks a list of column names: each a valid name, none twice.
func (v *validator) columnList(field string, cols []string) {
	seen := map[string]bool{}
	for _, col := range cols {
		v.ident(field, col, "column")
		if seen[col] {
			v.add(field, fmt.Sprintf("names %q twice", col), "list each column once")
		}
		seen[col] = true
	}
}

// ---------- change-column-type ----------

// validate checks a change-column-type plan's own fields.
func (c *ChangeColumnTypeSpec) validate(v *validator, r raw) {
	if v.required("column", c.Column, "set column: to the column whose type changes") {
		v.ident("column", c.Column, "column")
		// Both names the playbook makes from the column must fit the
		// database's identifier limit, or PostgreSQL would cut them
		// (and two plans' shadows could share a name).
		if n := len(c.ShadowName()); n > MaxIdentLen && CheckIdent(c.Column) == nil {
			v.add("column", fmt.Sprintf("%q is too long for its shadow column %q (%d bytes; at most %d)", c.Column, c.ShadowName(), n, MaxIdentLen),
				fmt.Sprintf("change-column-type names the shadow column %s<column>%s: the column's name may have at most %d bytes", "", shadowSuffix, MaxIdentLen-len(shadowSuffix)))
		}
	}
	if c.Type.IsZero() {
		v.add("type", "is missing", "set type: to the column's new type, such as bigint, or per dialect: {postgres: bigint, mysql: bigint, sqlite: integer}")
	}
	v.expr("using", c.Using, `"payload::jsonb"`)
	v.expr("reverse", c.Reverse, `"payload::text"`)
	for _, f := range []struct {
		field string
		e     PerDialect
	}{{"using", c.Using}, {"reverse", c.Reverse}} {
		for _, e := range f.e.Values() {
			if looksLikeIdent(e) && strings.EqualFold(strings.Trim(strings.TrimSpace(e), "\"`"), c.ShadowName()) {
				v.add(f.field, fmt.Sprintf("%q is the shadow column itself", e), "give an expression over the row's columns, such as CAST("+c.Column+" AS bigint)")
			}
		}
	}
	switch c.Sync {
	case "", SyncDatabase:
	case SyncApp:
		v.add("sync", "app is not a mode of change-column-type: the swap renames the shadow column into the column's name, so application code that wrote the shadow by name would fail there; triggers keep the two in step", "remove sync:, or write sync: database (the default)")
	default:
		v.sync(c.Sync)
	}
	v.forbid("backfill", !r.Backfill.IsZero())
	v.forbid("not_null", r.NotNull != nil)
	v.forbid("to", r.To != "")
	v.forbid("constraint", r.Constraint != nil)
	v.forbid("clean", r.Clean != nil)
	v.forbidIndex(r)
}

// forbidChangeType refuses change-column-type's own fields in a plan of
// another playbook.
func (v *validator) forbidChangeType(r raw) {
	v.forbid("using", !r.Using.IsZero())
	v.forbid("reverse", !r.Reverse.IsZero())
}
