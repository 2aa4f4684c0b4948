package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/shepherd-db/shepherd/templates"
)

// What checkSchema asks of a plan's constraint on the live table: that a
// foreign key's parent can hold it (columns, unique key, comparable
// types), and that the database takes the plan's CHECK as a constraint.

// checkForeignKey checks a foreign key against the live schema: the
// referenced table and columns exist (by default its primary key), they are
// its primary key or a unique key (so that a row has one parent), and each
// pair of columns has types the database can compare. It resolves the
// referenced columns for the session.
func (s *Session) checkForeignKey(ctx context.Context, t *Table) []string {
	c := s.plan.Tighten.Constraint
	ref := c.References
	schema := ref.Schema
	if schema == "" {
		schema = s.plan.Schema
	} else if !supportsSchema(s.d) {
		return []string{fmt.Sprintf("constraint.references.schema: %s has no schemas; remove schema: from references", s.d.name())}
	}
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	parent := t
	if ref.Table != t.Name || schema != s.plan.Schema {
		var err error
		parent, err = s.d.introspect(ctx, s.db, s.sql, schema, ref.Table)
		if errors.Is(err, errNoTable) {
			tables, _ := s.listTables(ctx, schema)
			return []string{fmt.Sprintf("constraint.references.table: %s has no table %q (tables: %s)", where(schema), ref.Table, listOrNone(tables))}
		}
		if err != nil {
			return []string{fmt.Sprintf("constraint.references.table: read the schema of %s: %v", ref.Table, s.dsn.scrub(err))}
		}
	}
	refCols := ref.Columns
	if len(refCols) == 0 {
		refCols = parent.PrimaryKey
		if len(refCols) == 0 {
			add("constraint.references: %s has no primary key, so give the referenced columns: references: {table: %s, columns: [...]} (its unique keys: %s)", ref.Table, ref.Table, listOrNone(parent.uniqueKeySets()))
			return problems
		}
		if len(refCols) != len(c.ForeignKey) {
			add("constraint.references: the primary key of %s is (%s), %d columns for %d in foreign_key (%s); give one referencing column for each", ref.Table, strings.Join(refCols, ", "), len(refCols), len(c.ForeignKey), strings.Join(c.ForeignKey, ", "))
			return problems
		}
	}
	for _, col := range refCols {
		if _, ok := parent.Column(col); !ok {
			add("constraint.references.columns: %s has no column %q (columns: %s)", ref.Table, col, strings.Join(parent.ColumnNames(), ", "))
		}
	}
	if len(problems) > 0 {
		return problems
	}
	if !parent.isUniqueKey(refCols) {
		add("constraint.references.columns: (%s) is not the primary key or a unique key of %s, so a row of %s could have more than one parent; reference one of its unique keys (%s), or make (%s) unique first (a tighten-constraint plan with unique: does)",
			strings.Join(refCols, ", "), ref.Table, t.Name, listOrNone(parent.uniqueKeySets()), strings.Join(refCols, ", "))
	}
	for i, col := range c.ForeignKey {
		child, ok := t.Column(col)
		if !ok || i >= len(refCols) {
			continue // reported with the table's columns
		}
		pc, _ := parent.Column(refCols[i])
		if why := foreignKeyTypes(s.d, child, pc); why != "" {
			add("constraint.foreign_key: %s.%s is %s but %s.%s is %s: %s", t.Name, col, child.Type, ref.Table, pc.Name, pc.Type, why)
		}
	}
	if len(problems) == 0 {
		s.refColumns = refCols
	}
	return problems
}

// isUniqueKey reports whether cols, in this order, are the table's primary
// key or the columns of a unique constraint or of a valid, whole (not
// partial) unique index: what a foreign key can reference on every dialect.
func (t *Table) isUniqueKey(cols []string) bool {
	for _, key := range t.uniqueKeyLists() {
		if slices.Equal(key, cols) {
			return true
		}
	}
	return false
}

func (t *Table) uniqueKeyLists() [][]string {
	var keys [][]string
	if len(t.PrimaryKey) > 0 {
		keys = append(keys, t.PrimaryKey)
	}
	for _, ix := range t.Indexes {
		if ix.Unique && ix.Valid && !ix.Partial && len(ix.Columns) > 0 {
			keys = append(keys, ix.Columns)
		}
	}
	for _, c := range t.Constraints {
		if c.Kind == CatalogUnique && len(c.Columns) > 0 {
			keys = append(keys, c.Columns)
		}
	}
	return keys
}

// uniqueKeySets lists the unique keys for messages, each as (a, b).
func (t *Table) uniqueKeySets() []string {
	var out []string
	for _, key := range t.uniqueKeyLists() {
		k := "(" + strings.Join(key, ", ") + ")"
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

// probeCheck asks the database to take the plan's CHECK as a constraint,
// which compiling it as an expression does not prove (a subquery compiles
// in a SELECT and is refused in a CHECK): it is added to an empty
// temporary copy of the table, which is thrown away (templates'
// try-check). It returns the problem for the plan, or an error when the
// database could not be asked (a lock wait, a lost connection).
func (s *Session) probeCheck(ctx context.Context, t *Table) (string, error) {
	d := s.builder().constraintData()
	d.Table, d.Cols = t.Name, t.Columns
	if t.Schema != "" {
		d.Schema = t.Schema
	}
	script, err := s.sql.Script("try-check", d)
	if err != nil {
		return "", err
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return "", s.dsn.scrub(err)
	}
	// The copy belongs to this connection: it is discarded with it.
	defer discardConn(conn)
	var tx *sql.Tx
	defer func() {
		if tx != nil {
			tx.Rollback() // always: the copy is never committed
		}
	}()
	for _, st := range script {
		var q querier = conn
		if st.Mode == templates.InTx {
			if tx == nil {
				if tx, err = conn.BeginTx(ctx, nil); err != nil {
					return "", s.dsn.scrub(err)
				}
			}
			q = tx
		}
		args, _ := st.Args(nil)
		if _, err := q.ExecContext(ctx, st.SQL, args...); err != nil {
			switch s.d.classify(err).kind {
			case failLockTimeout, failConnection:
				return "", fmt.Errorf("constraint.check: could not try %q as a CHECK on an empty temporary copy of %s: %w; rerun", d.Check, t.Name, s.dsn.scrub(err))
			case failPermission:
				return "", fmt.Errorf("constraint.check: shepherd tries %q as a CHECK on an empty temporary copy of %s before it changes anything, and the database does not let this user create one: %w; grant it the right to create temporary tables", d.Check, t.Name, s.dsn.scrub(err))
			}
			problem := fmt.Sprintf("constraint.check: the database refuses %q as a CHECK constraint of %s: %v", d.Check, t.Name, s.dsn.scrub(err))
			if strings.Contains(strings.ToLower(d.Check), "select") {
				problem += "; a CHECK sees one row at a time: to require a matching row in another table, use a foreign key (constraint: {name: …, foreign_key: [column], references: {table: …}})"
			}
			return problem, nil
		}
	}
	return "", nil
}
