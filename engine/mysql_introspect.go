package engine

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strings"

	"github.com/shepherd-db/shepherd/templates"
)

// MySQL and MariaDB introspection (information_schema, as templates/mysql.sql
// reads it) and what an ALTER needs from the live table.

func (d *mysqlDialect) introspect(ctx context.Context, q querier, set *templates.Set, schema, table string) (*Table, error) {
	data := sqlData{Schema: schema, Table: table, MySQL: d.ddl()}
	t := &Table{Schema: schema, Name: table}
	run := func(name string, scan func(*sql.Rows) error) error {
		return eachRow(ctx, q, set, name, data, scan)
	}
	isTable := false
	err := run("table-objects", func(r *sql.Rows) error {
		var o SchemaObject
		var text sql.NullString
		if err := r.Scan(&o.Type, &o.Name, &text); err != nil {
			return err
		}
		o.SQL = text.String
		switch o.Type {
		case "table":
			isTable = true
		case "trigger":
			t.Objects = append(t.Objects, o)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !isTable {
		return nil, errNoTable
	}
	err = run("table-columns", func(r *sql.Rows) error {
		var c Column
		var notNull int
		var dflt, charset, collation, check sql.NullString
		var extra, comment string
		if err := r.Scan(&c.Name, &c.Type, &notNull, &dflt, &extra, &charset, &collation, &comment, &check); err != nil {
			return err
		}
		c.NotNull = notNull == 1
		lower := strings.ToLower(extra)
		c.Generated = strings.Contains(lower, "virtual generated") || strings.Contains(lower, "stored generated") || strings.Contains(lower, "persistent generated")
		c.Auto = strings.Contains(lower, "auto_increment")
		c.Default = d.columnDefault(dflt, extra)
		if charset.Valid && collation.Valid {
			// Stated explicitly, so that MODIFY and a renamed copy keep them.
			c.Type += " CHARACTER SET " + charset.String + " COLLATE " + collation.String
		}
		c.Attrs = columnAttrs(extra, comment, check)
		c.OnUpdate = onUpdate.MatchString(extra)
		t.Columns = append(t.Columns, c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := run("table-update-triggers", func(r *sql.Rows) error { return t.addUpdateTrigger(r) }); err != nil {
		return nil, err
	}
	err = run("table-stats", func(r *sql.Rows) error {
		var format sql.NullString
		if err := r.Scan(&format, &t.Rows, &t.Bytes); err != nil {
			return err
		}
		t.RowFormat = strings.ToUpper(format.String)
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = run("table-indexes", func(r *sql.Rows) error {
		var name, origin, kind string
		var unique, partial int
		var col sql.NullString
		if err := r.Scan(&name, &unique, &origin, &partial, &col, &kind); err != nil {
			return err
		}
		if n := len(t.Indexes); n == 0 || t.Indexes[n-1].Name != name {
			t.Indexes = append(t.Indexes, Index{Name: name, Unique: unique == 1, Valid: true, Kind: strings.ToUpper(kind)})
		}
		ix := &t.Indexes[len(t.Indexes)-1]
		ix.Partial = ix.Partial || partial == 1 // a prefix index does not hold whole values
		if col.Valid {
			ix.Columns = append(ix.Columns, col.String)
		} else {
			ix.Partial = true // a functional index cannot serve as a plain column key
		}
		if origin == "pk" && col.Valid {
			t.PrimaryKey = append(t.PrimaryKey, col.String)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = run("table-constraints", func(r *sql.Rows) error {
		var c Constraint
		var kind string
		var enforced int
		if err := r.Scan(&c.Name, &kind, &enforced); err != nil {
			return err
		}
		switch kind {
		case "CHECK":
			c.Kind = CatalogCheck
		case "UNIQUE":
			c.Kind = CatalogUnique
		case "FOREIGN KEY":
			c.Kind = CatalogForeignKey
		default:
			return nil
		}
		c.Validated = enforced == 1
		t.Constraints = append(t.Constraints, c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = run("constraint-columns", func(r *sql.Rows) error {
		var name, col string
		if err := r.Scan(&name, &col); err != nil {
			return err
		}
		for i := range t.Constraints {
			if t.Constraints[i].Name == name && t.Constraints[i].Kind != CatalogCheck {
				t.Constraints[i].Columns = append(t.Constraints[i].Columns, col)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if t.ForeignKeysOn, err = foreignKeysOn(ctx, q, set); err != nil {
		return nil, err
	}
	return t, nil
}

// columnDefault turns information_schema's COLUMN_DEFAULT into the SQL a
// DEFAULT clause takes, nil for no default (or DEFAULT NULL).
func (d *mysqlDialect) columnDefault(raw sql.NullString, extra string) *string {
	if !raw.Valid {
		return nil
	}
	v := raw.String
	if d.srv != nil && d.srv.mariadb {
		// MariaDB 10.2.7+ gives SQL: quoted literals, expressions, NULL.
		if strings.EqualFold(v, "NULL") {
			return nil
		}
		return &v
	}
	// MySQL gives the bare value, or the expression when EXTRA says
	// DEFAULT_GENERATED.
	switch {
	case strings.Contains(strings.ToUpper(extra), "DEFAULT_GENERATED"):
		if !currentTimestamp.MatchString(v) {
			v = "(" + v + ")"
		}
	case strings.HasPrefix(v, "b'") || strings.HasPrefix(v, "0x"):
	default:
		v = sqlString(v)
	}
	return &v
}

var (
	currentTimestamp = regexp.MustCompile(`(?i)^current_timestamp(\(\d*\))?$`)
	onUpdate         = regexp.MustCompile(`(?i)\bon update (\S+)`)
)

// columnAttrs is what a MODIFY must repeat after a column's nullability and
// default: ON UPDATE, AUTO_INCREMENT, INVISIBLE, COMMENT and (MariaDB) its
// column-level CHECK, which MODIFY would otherwise drop.
func columnAttrs(extra, comment string, check sql.NullString) string {
	var attrs []string
	if m := onUpdate.FindStringSubmatch(extra); m != nil {
		attrs = append(attrs, "ON UPDATE "+m[1])
	}
	upper := strings.ToUpper(extra)
	if strings.Contains(upper, "AUTO_INCREMENT") {
		attrs = append(attrs, "AUTO_INCREMENT")
	}
	if strings.Contains(upper, "INVISIBLE") {
		attrs = append(attrs, "INVISIBLE")
	}
	if comment != "" {
		attrs = append(attrs, "COMMENT "+sqlString(comment))
	}
	if check.Valid && check.String != "" {
		attrs = append(attrs, "CHECK ("+check.String+")")
	}
	return strings.Join(attrs, " ")
}

// sqlString quotes a string literal for MySQL's default sql_mode.
func sqlString(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", "''") + "'"
}

// mysqlColumnDef is a column's definition for MODIFY, with the nullability
// given and everything else as it is.
func mysqlColumnDef(c Column, notNull bool) string {
	parts := []string{c.Type, "NULL"}
	if notNull {
		parts[1] = "NOT NULL"
	}
	if c.Default != nil {
		parts = append(parts, "DEFAULT "+*c.Default)
	}
	if c.Attrs != "" {
		parts = append(parts, c.Attrs)
	}
	return strings.Join(parts, " ")
}

// prepare gives the DDL templates the server's algorithms and, for MODIFY,
// the column's whole definition from the live table.
func (d *mysqlDialect) prepare(op string, data *sqlData, live *Table) error {
	m := d.ddl()
	data.MySQL = m
	switch op {
	case "drop-column":
		// DROP COLUMN would shrink an index on several columns to the
		// others (a UNIQUE one then means something else, or fails): the
		// indexes on the column are dropped whole, in the same ALTER, as
		// PostgreSQL does (rename's drop-old-column checked that the new
		// column has its own).
		data.DropIndexes = indexesOn(live, data.Column, func(ix Index) bool { return ix.Name != "PRIMARY" })
	case "set-not-null", "drop-not-null":
		null := "NOT NULL"
		if op == "drop-not-null" {
			null = "NULL"
		}
		if live == nil {
			m.Definition = fmt.Sprintf("/* the type, CHARACTER SET, COLLATE, DEFAULT, ON UPDATE and COMMENT of %s, as information_schema holds them */ %s", data.Column, null)
			data.Offline = fmt.Sprintf("MODIFY restates the whole live definition of %s.%s (type, character set, collation, default, comment), which only the database holds", data.Table, data.Column)
			return nil
		}
		c, ok := live.Column(data.Column)
		if !ok {
			return fmt.Errorf("%s has no column %q", data.Table, data.Column)
		}
		if c.Generated {
			return fmt.Errorf("%s.%s is a generated column: MODIFY would have to restate its expression; change its nullability by hand", data.Table, data.Column)
		}
		m.Definition = mysqlColumnDef(c, op == "set-not-null")
	case "add-check":
		if d.srv != nil && !d.srv.checks() {
			return fmt.Errorf("%s parses CHECK constraints but does not enforce them (MySQL 8.0.16+ and MariaDB 10.2.1+ do): the constraint would prove nothing", d.srv.name())
		}
	}
	return nil
}

// rebuilds says whether an ALTER rebuilds the table when it is not INSTANT:
// MODIFY and ADD or DROP COLUMN do; adding or dropping an index does not.
func rebuilds(op string) bool {
	switch op {
	case "add-column", "drop-column", "set-not-null", "drop-not-null":
		return true
	}
	return false
}

// expect says what this server is expected to run for op on the live
// table, when that is not the first form: a table with a FULLTEXT index or
// ROW_FORMAT=COMPRESSED has no INSTANT ADD or DROP COLUMN, and one with a
// FULLTEXT or SPATIAL index cannot be rebuilt with LOCK=NONE. It is what the
// servers document and do; the run tries the least-locking form first all
// the same, and goes by what the server answers.
func (d *mysqlDialect) expect(op string, live *Table) string {
	if !rebuilds(op) || d.srv == nil || live == nil {
		return ""
	}
	m := d.ddl()
	var fulltext, spatial []string
	for _, ix := range live.Indexes {
		switch ix.Kind {
		case "FULLTEXT":
			fulltext = append(fulltext, ix.Name)
		case "SPATIAL":
			spatial = append(spatial, ix.Name)
		}
	}
	compressed := live.RowFormat == "COMPRESSED"
	first := m.Online
	if op == "add-column" {
		first = m.AddColumn
	} else if op == "drop-column" {
		first = m.DropColumn
	}
	var why, refused []string
	if compressed {
		why = append(why, "ROW_FORMAT=COMPRESSED")
	}
	if len(fulltext) > 0 {
		why = append(why, "FULLTEXT index "+strings.Join(fulltext, ", "))
	}
	if len(spatial) > 0 {
		why = append(why, "SPATIAL index "+strings.Join(spatial, ", "))
	}
	if first == "ALGORITHM=INSTANT" && (compressed || len(fulltext) > 0) {
		refused = append(refused, "ALGORITHM=INSTANT")
		first = online
	}
	if first == online && len(fulltext)+len(spatial) > 0 {
		refused = append(refused, "LOCK=NONE")
		return fmt.Sprintf("on %s (%s), %s is expected to refuse %s for this ALTER: it needs LOCK=SHARED, so it runs only with --allow-lock shared, and writes to %s wait while it runs (%s)",
			live.Name, strings.Join(why, ", "), d.srv.name(), strings.Join(refused, " and "), live.Name, live.sizeText())
	}
	if len(refused) > 0 {
		return fmt.Sprintf("on %s (%s), %s is expected to refuse ALGORITHM=INSTANT for this ALTER: it runs ALGORITHM=INPLACE, LOCK=NONE, which rebuilds the table while reads and writes go on (%s)",
			live.Name, strings.Join(why, ", "), d.srv.name(), live.sizeText())
	}
	return ""
}
