package engine

import (
	"slices"
	"strconv"
	"strings"

	"github.com/shepherd-db/shepherd/phases"
)

// The proof's values: the writes that break the plan's constraint, and
// the values an inserted row needs, all constants of shepherd's own.

// requiredColumns are the columns an insert into t must give: NOT NULL,
// without a default, not generated or filled by the database.
func requiredColumns(t *Table) []Column {
	var out []Column
	for _, c := range t.Columns {
		if c.NotNull && c.Default == nil && !c.Generated && !c.Auto {
			out = append(out, c)
		}
	}
	return out
}

// insertTries are rows that break only the constraint, for a table with
// too few rows to write to: every column an insert must give has a value
// of its type (or the plan's constraint.violating value), and the
// constraint's own columns break it. A unique constraint needs two rows
// with the same values. missing lists the columns shepherd has no value
// for. parent is the table a foreign key references, when it could be
// read.
func (b builder) insertTries(parent *Table) (tries []violatingWrite, missing []missingValue) {
	c := b.plan.Tighten.Constraint
	violating := map[string]string{}
	for _, a := range c.Violating {
		violating[a.Column], _ = a.Expr.For(b.d.name())
	}
	// row gives the columns an insert must give, and cols besides, values:
	// the plan's where it gives one, else one of the column's type.
	row := func(seed int, cols []string) []setExpr {
		var set []setExpr
		seen := map[string]bool{}
		add := func(col Column) {
			if seen[col.Name] {
				return
			}
			seen[col.Name] = true
			if v, ok := violating[col.Name]; ok {
				set = append(set, setExpr{Column: col.Name, Expr: v})
			} else if v, ok := fillValue(col.Type, seed); ok {
				set = append(set, setExpr{Column: col.Name, Expr: v})
			} else if m := (missingValue{col.Name, col.Type}); !slices.Contains(missing, m) {
				missing = append(missing, m)
			}
		}
		for _, col := range requiredColumns(b.live) {
			add(col)
		}
		for _, name := range cols {
			if col, ok := b.live.Column(name); ok {
				add(col)
			}
		}
		for _, a := range c.Violating {
			if !seen[a.Column] {
				seen[a.Column] = true
				set = append(set, setExpr{Column: a.Column, Expr: violating[a.Column]})
			}
		}
		return set
	}
	with := withValue
	switch c.Kind() {
	case phases.NotNullConstraint:
		base := row(1, nil)
		satisfying := base
		if col, ok := b.live.Column(c.NotNull); ok {
			if v, ok := fillValue(col.Type, 1); ok {
				satisfying = with(base, c.NotNull, v)
			}
		}
		tries = []violatingWrite{{insert: [][]setExpr{with(base, c.NotNull, "NULL")}, satisfying: []satisfyingRow{{row: satisfying}}}}
	case phases.UniqueConstraint:
		// Two rows, equal in the constraint's columns, different in the
		// others; another seed where the one row there clashes with them
		// on another key. The second row as it was built, before it took
		// the first's values, is its satisfying twin.
		for _, seed := range []int{1, 3, 5} {
			first, apart := row(seed, c.Unique), row(seed+1, c.Unique)
			second := apart
			for _, col := range c.Unique {
				for _, e := range first {
					if e.Column == col {
						second = with(second, col, e.Expr)
					}
				}
			}
			tries = append(tries, violatingWrite{insert: [][]setExpr{first, second}, satisfying: []satisfyingRow{{row: apart}}})
		}
	case phases.ForeignKeyConstraint:
		// The referencing columns the plan gives no value take one that no
		// parent has (past the greatest), where shepherd can derive one.
		absent := map[string]string{}
		for _, w := range b.orphanCandidates() {
			for _, e := range w.set {
				absent[e.Column] = e.Expr
			}
		}
		r := row(1, c.ForeignKey)
		for _, col := range c.ForeignKey {
			if _, given := violating[col]; given {
				continue
			}
			if e, ok := absent[col]; ok {
				r = with(r, col, e)
			} else if len(c.Violating) == 0 {
				missing = append(missing, missingValue{col, "a value no row of " + c.References.Table + " has"})
			}
		}
		tries = []violatingWrite{{insert: [][]setExpr{r}, satisfying: b.referringRows(r, parent)}}
	default:
		base := row(1, nil)
		if len(c.Violating) > 0 {
			tries = []violatingWrite{{insert: [][]setExpr{base}}}
			break
		}
		for _, w := range b.checkCandidates() {
			r := base
			for _, e := range w.set {
				r = with(r, e.Column, e.Expr)
			}
			tries = append(tries, violatingWrite{insert: [][]setExpr{r}, satisfying: []satisfyingRow{{row: base}}})
		}
	}
	return tries, missing
}

// missingValue is a column of an inserted row that shepherd has no value
// for, and what it needs: a value of its type, or one no parent has.
type missingValue struct{ column, need string }

// fillValue is a value of a column's type for an inserted row: constants
// of shepherd's own, never input; seed makes rows differ. false when
// shepherd has none for the type.
func fillValue(typ string, seed int) (string, bool) {
	t := strings.ToLower(strings.TrimSpace(typ))
	n := strconv.Itoa(seed)
	switch {
	case strings.HasPrefix(t, "enum("):
		// MySQL: the first value of the list.
		if i := strings.IndexByte(t, '\''); i >= 0 {
			if j := strings.IndexByte(typ[i+1:], '\''); j >= 0 {
				return typ[i : i+j+2], true
			}
		}
		return "", false
	case containsAny(t, "[]", "interval", "point", "range", "bytea", "blob", "binary", "bit", "geometry", "year", "set("):
		return "", false
	case containsAny(t, "bool"):
		return "true", true
	case containsAny(t, "int", "serial", "num", "dec", "real", "float", "double", "money"):
		return n, true
	case containsAny(t, "timestamp", "datetime"):
		return "'2000-01-0" + n + " 00:00:00'", true
	case containsAny(t, "date"):
		return "'2000-01-0" + n + "'", true
	case containsAny(t, "time"):
		return "'00:00:0" + n + "'", true
	case containsAny(t, "uuid"):
		return "'00000000-0000-4000-8000-00000000000" + n + "'", true
	case containsAny(t, "json"):
		return "'{}'", true
	case containsAny(t, "char", "text", "clob", "string"):
		return "'" + n + "'", true
	case t == "":
		return n, true // SQLite: a column without a type takes any value
	}
	return "", false
}

// orphanCandidates are writes that break a foreign key: every referencing
// column set to a value that no row of the referenced table has in the
// referenced column (past the greatest there), which no parent row can
// match. Only integer and text columns have such a value shepherd can
// derive; for others the plan gives one as constraint.violating.
func (b builder) orphanCandidates() []violatingWrite {
	if b.live == nil {
		return nil
	}
	d := b.constraintData()
	var set []setExpr
	for i, col := range d.Columns {
		c, ok := b.live.Column(col)
		if !ok || i >= len(d.RefColumns) {
			return nil
		}
		class := keyClass(c.Type)
		if class == "" {
			return nil
		}
		ad := sqlData{RefSchema: d.RefSchema, RefTable: d.RefTable, Column: d.RefColumns[i], Cond: class}
		st, err := b.sql.Query("absent-key", ad)
		if err != nil {
			return nil
		}
		set = append(set, setExpr{Column: col, Expr: st.SQL})
	}
	return []violatingWrite{{set: set}}
}

// referringRows are ways to write row with its referencing columns
// satisfying the foreign key, in the order to try them: NULL in those
// that may be NULL (a foreign key holds for a row with a NULL in any of
// its columns); else the key of the referenced table's first row; and,
// for a referenced table without a row, the same after inserting one
// (parentRow).
func (b builder) referringRows(row []setExpr, parent *Table) []satisfyingRow {
	d := b.constraintData()
	nulls := row
	for _, col := range d.Columns {
		if c, ok := b.live.Column(col); ok && !c.NotNull {
			nulls = withValue(nulls, col, "NULL")
		}
	}
	if !slices.Equal(nulls, row) {
		return []satisfyingRow{{row: nulls}}
	}
	if len(d.RefColumns) != len(d.Columns) {
		return nil
	}
	// The first row of the referenced table by its key: every column's
	// value from the same row.
	referring := row
	for i, col := range d.Columns {
		pd := d
		pd.Column = d.RefColumns[i]
		st, err := b.sql.Query("parent-key", pd)
		if err != nil {
			return nil
		}
		referring = withValue(referring, col, st.SQL)
	}
	out := []satisfyingRow{{row: referring}}
	if p := b.parentRow(parent); p != nil {
		out = append(out, satisfyingRow{parent: p, row: referring})
	}
	return out
}

// parentRow is a row to insert into the referenced table (parent, nil
// when it could not be read) for the satisfying row to refer to: its
// referenced columns take a value no row there has, the other columns an
// insert must give one of their type. nil when shepherd has no value for
// one of them.
func (b builder) parentRow(parent *Table) []setExpr {
	if parent == nil {
		return nil
	}
	absent := map[string]string{}
	if w := b.orphanCandidates(); len(w) > 0 {
		d := b.constraintData()
		for i, e := range w[0].set {
			absent[d.RefColumns[i]] = e.Expr
		}
	}
	var row []setExpr
	for _, rc := range b.constraintData().RefColumns {
		e, ok := absent[rc]
		if !ok {
			return nil
		}
		row = append(row, setExpr{Column: rc, Expr: e})
	}
	for _, col := range requiredColumns(parent) {
		if _, ok := absent[col.Name]; ok {
			continue
		}
		v, ok := fillValue(col.Type, 1)
		if !ok {
			return nil
		}
		row = append(row, setExpr{Column: col.Name, Expr: v})
	}
	return row
}

// withValue returns set with col's value replaced (or added).
func withValue(set []setExpr, col, expr string) []setExpr {
	out := append([]setExpr(nil), set...)
	for i := range out {
		if out[i].Column == col {
			out[i].Expr = expr
			return out
		}
	}
	return append(out, setExpr{Column: col, Expr: expr})
}

// keyClass says how shepherd can derive a value absent from a key column:
// int (past the greatest) or text (the greatest with a character
// appended), or "" when it cannot.
func keyClass(typ string) string {
	t := strings.ToLower(typ)
	switch {
	case containsAny(t, "int", "serial", "num", "dec"):
		return "int"
	case containsAny(t, "char", "text", "clob", "string"):
		return "text"
	}
	return ""
}

// checkCandidates guesses writes that break a CHECK: for each column the
// check names, values that commonly fall outside a range or a list, and,
// for a number, the numbers of the check and their neighbours. The proof
// keeps those the database says violate the check, its boundary first
// (boundaryFirst), and tries each inside a savepoint; the first the
// database rejects is the proof.
func (b builder) checkCandidates() []violatingWrite {
	check, _ := b.plan.Tighten.Constraint.Check.For(b.d.name())
	var out []violatingWrite
	seen := map[string]bool{}
	for _, t := range lexSQL(check) {
		if t.kind != 'w' && t.kind != 'q' {
			continue
		}
		col, ok := b.live.Column(t.name())
		if !ok || seen[col.Name] || col.Generated {
			continue
		}
		seen[col.Name] = true
		values := candidateValues(col.Type)
		if keyClass(col.Type) == "int" || containsAny(strings.ToLower(col.Type), "real", "float", "double", "money") {
			// The numbers of the condition and their neighbours: its
			// boundary (see boundaryFirst).
			for _, v := range boundaryCandidates(check) {
				if !slices.Contains(values, v) {
					values = append(values, v)
				}
			}
		}
		for _, v := range values {
			out = append(out, violatingWrite{set: []setExpr{{Column: col.Name, Expr: v}}})
		}
	}
	return out
}

// candidateValues are constants of shepherd's own, never input.
func candidateValues(typ string) []string {
	t := strings.ToLower(typ)
	switch {
	case containsAny(t, "int", "num", "dec", "real", "float", "double", "serial", "money"):
		return []string{"-1", "0", "-1000000000", "1000000000", "NULL"}
	case containsAny(t, "date", "time"):
		return []string{"'1900-01-01'", "'9999-12-31'", "NULL"}
	case containsAny(t, "bool"):
		return []string{"false", "true", "NULL"}
	}
	return []string{"''", "'shepherd-invalid-value'", "' '", "-1", "0", "NULL"}
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
