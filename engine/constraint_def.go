package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/shepherd-db/shepherd/phases"
	"github.com/shepherd-db/shepherd/templates"
)

// A constraint of the plan's name is the plan's only when it says what the
// plan says: a weaker CHECK of the same name (amount > -100 for the plan's
// amount > 0) would pass the proof with a value both refuse, and be adopted
// by add-constraint's applied probe. The catalog's definition is compared
// with the plan's before the proof, and at add-constraint when the
// constraint is already there.

// requirePlansDefinition fails when the table has a constraint of the
// plan's name that is not the plan's: a CHECK with another condition (as
// the database normalises both), a UNIQUE or foreign key on other columns.
// No constraint of that name is no mismatch: what is missing is the
// caller's to say.
func (s *Session) requirePlansDefinition(ctx context.Context, phase string) error {
	c := s.plan.Tighten.Constraint
	var theirs, ours string
	switch c.Kind() {
	case phases.CheckConstraint:
		live, plan, err := s.checkDefinitions(ctx)
		if err != nil {
			return fmt.Errorf("%s: compare the definition of %s on %s with the plan's: %w", phase, c.Name, s.plan.Table, s.dsn.scrub(err))
		}
		if live == "" || sameDefinition(live, plan) {
			return nil
		}
		check, _ := c.Check.For(s.d.name())
		theirs, ours = live, fmt.Sprintf("%s (the plan's %q, as the database writes it)", plan, check)
	case phases.UniqueConstraint, phases.ForeignKeyConstraint:
		t, err := s.d.introspect(ctx, s.db, s.sql, s.plan.Schema, s.plan.Table)
		if err != nil {
			return fmt.Errorf("%s: read the constraints of %s: %w", phase, s.plan.Table, s.dsn.scrub(err))
		}
		want := c.Columns()
		var cols []string
		what := "UNIQUE"
		if c.Kind() == phases.ForeignKeyConstraint {
			what = "FOREIGN KEY"
		}
		if con, ok := t.Constraint(c.Name); ok {
			cols = con.Columns
		} else if ix, ok := t.Index(c.Name); ok && c.Kind() == phases.UniqueConstraint {
			cols = ix.Columns
			if ix.Partial {
				theirs = fmt.Sprintf("a partial UNIQUE index on (%s)", strings.Join(ix.Columns, ", "))
			}
		}
		refOK, refTable, refCols := true, "", []string(nil)
		if _, ok := t.Constraint(c.Name); ok && c.Kind() == phases.ForeignKeyConstraint {
			d := s.builder().constraintData()
			if refTable, refCols, err = s.d.foreignKeyReference(ctx, s.db, s.sql, d); err != nil {
				return fmt.Errorf("%s: read what %s references: %w", phase, c.Name, s.dsn.scrub(err))
			}
			refOK = refTable == "" || strings.EqualFold(refTable, d.RefTable) &&
				(len(refCols) == 0 || len(d.RefColumns) == 0 || sameOrder(refCols, d.RefColumns))
		}
		if theirs == "" && refOK && (len(cols) == 0 || sameColumns(cols, want)) {
			return nil // they match, or the database does not say (SQLite's table constraints)
		}
		if theirs == "" {
			theirs = fmt.Sprintf("%s (%s)", what, strings.Join(cols, ", "))
			if refTable != "" {
				theirs += fmt.Sprintf(" REFERENCES %s (%s)", refTable, strings.Join(refCols, ", "))
			}
		}
		ours = fmt.Sprintf("%s (%s)", what, strings.Join(want, ", "))
		if c.Kind() == phases.ForeignKeyConstraint {
			d := s.builder().constraintData()
			ours += fmt.Sprintf(" REFERENCES %s (%s)", d.RefTable, strings.Join(d.RefColumns, ", "))
		}
	default:
		return nil
	}
	hint := "drop that constraint (it is not this plan's) and rerun add-constraint, or keep it and give the plan's constraint another name (constraint.name, in a new plan: this one has started)"
	if ph, _ := s.pb.Phase(phase); ph.Proof {
		hint = fmt.Sprintf("roll back add-constraint (shepherd rollback drops the constraint named %s) and run again, so that add-constraint adds the plan's; or keep that constraint and give the plan's another name (constraint.name, in a new plan: this one has started)", c.Name)
	}
	return &VerifyError{Phase: phase,
		What: fmt.Sprintf("%s has a constraint named %s, but it is not the plan's: the database has %s, the plan says %s", s.plan.Table, c.Name, theirs, ours),
		Hint: hint}
}

// checkDefinitions reads the table's CHECK of the plan's name and the
// plan's check, both as the database keeps them, on a connection of its
// own (discarded: it may hold a temporary copy of the table).
func (s *Session) checkDefinitions(ctx context.Context) (live, plan string, err error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return "", "", err
	}
	defer discardConn(conn)
	d := s.builder().constraintData()
	if s.table != nil {
		d.Cols = s.table.Columns
	}
	return s.d.checkDefinitions(ctx, conn, s.sql, d)
}

// queryText runs a one-row, one-column query template: "" when it gives
// no row or NULL.
func queryText(ctx context.Context, q querier, set *templates.Set, name string, d sqlData) (string, error) {
	st, err := set.Query(name, d)
	if err != nil {
		return "", err
	}
	args, err := st.Args(nil)
	if err != nil {
		return "", err
	}
	var text sql.NullString
	if err := q.QueryRowContext(ctx, st.SQL, args...).Scan(&text); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", err
	}
	return text.String, nil
}

// runConnSteps runs a script's statements one after another on q.
func runConnSteps(ctx context.Context, q querier, script templates.Script) error {
	for _, st := range script {
		args, err := st.Args(nil)
		if err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, st.SQL, args...); err != nil {
			return err
		}
	}
	return nil
}

// checkClause finds, in a CREATE TABLE text (SQLite's, or MySQL's SHOW
// CREATE TABLE), the condition of the CHECK constraint named name:
// CONSTRAINT name CHECK ( … ), as a table constraint or on a column.
func checkClause(create, name string) (string, bool) {
	type tok struct {
		sqlToken
		at int // where it starts in create
	}
	var toks []tok
	at := 0
	for _, t := range lexSQL(create) {
		if t.kind != ' ' {
			toks = append(toks, tok{t, at})
		}
		at += len(t.text)
	}
	for i := 0; i+3 < len(toks); i++ {
		if !toks[i].is("CONSTRAINT") || !strings.EqualFold(toks[i+1].name(), name) || !toks[i+2].is("CHECK") || toks[i+3].text != "(" {
			continue
		}
		depth := 0
		for j := i + 3; j < len(toks); j++ {
			switch toks[j].text {
			case "(":
				depth++
			case ")":
				depth--
			}
			if depth == 0 {
				return strings.TrimSpace(create[toks[i+3].at+1 : toks[j].at]), true
			}
		}
	}
	return "", false
}

// sameDefinition compares two definitions token by token: spaces and
// comments aside, words in any case, parentheses around the whole
// condition aside.
func sameDefinition(a, b string) bool {
	return slices.Equal(defTokens(a), defTokens(b))
}

func defTokens(s string) []string {
	var out []string
	for _, t := range lexSQL(s) {
		switch t.kind {
		case ' ':
			continue
		case 'w':
			out = append(out, strings.ToLower(t.text))
		default:
			out = append(out, t.text)
		}
	}
	// Parentheses around the whole: (amount > 0) is amount > 0.
	for len(out) >= 2 && out[0] == "(" && out[len(out)-1] == ")" && wraps(out) {
		out = out[1 : len(out)-1]
	}
	return out
}

// wraps says whether toks' first parenthesis closes at its last token.
func wraps(toks []string) bool {
	depth := 0
	for i, t := range toks {
		switch t {
		case "(":
			depth++
		case ")":
			depth--
		}
		if depth == 0 {
			return i == len(toks)-1
		}
	}
	return false
}

// sameOrder compares two column lists in order (a foreign key's column
// pairs).
func sameOrder(a, b []string) bool {
	return slices.EqualFunc(a, b, strings.EqualFold)
}

// sameColumns compares two column lists as sets (a UNIQUE on (b, a) is
// the same constraint as one on (a, b)).
func sameColumns(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, c := range a {
		if !slices.ContainsFunc(b, func(x string) bool { return strings.EqualFold(x, c) }) {
			return false
		}
	}
	return true
}

// foreignKeyReference reads, with the "foreign-key-reference" template,
// what a foreign key references: its table and columns, one row each.
func foreignKeyReference(ctx context.Context, q querier, set *templates.Set, d sqlData) (table string, cols []string, err error) {
	st, err := set.Query("foreign-key-reference", d)
	if err != nil {
		return "", nil, err
	}
	args, _ := st.Args(nil)
	rows, err := q.QueryContext(ctx, st.SQL, args...)
	if err != nil {
		return "", nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var col string
		if err := rows.Scan(&table, &col); err != nil {
			return "", nil, err
		}
		cols = append(cols, col)
	}
	return table, cols, rows.Err()
}

// referenceClause finds, in a CREATE TABLE text, what the foreign key
// named name references: CONSTRAINT name FOREIGN KEY (…) REFERENCES t
// (cols), or on a column, CONSTRAINT name REFERENCES t (cols). cols is
// empty when the text names none (the referenced table's primary key).
func referenceClause(create, name string) (table string, cols []string, ok bool) {
	var toks []sqlToken
	for _, t := range lexSQL(create) {
		if t.kind != ' ' {
			toks = append(toks, t)
		}
	}
	for i := 0; i+2 < len(toks); i++ {
		if !toks[i].is("CONSTRAINT") || !strings.EqualFold(toks[i+1].name(), name) {
			continue
		}
		j := i + 2
		if toks[j].is("FOREIGN") {
			for j < len(toks) && !toks[j].is("REFERENCES") {
				j++
			}
		}
		if j+1 >= len(toks) || !toks[j].is("REFERENCES") {
			return "", nil, false
		}
		table = toks[j+1].name()
		if j+2 < len(toks) && toks[j+2].text == "(" {
			for k := j + 3; k < len(toks) && toks[k].text != ")"; k++ {
				if toks[k].kind == 'w' || toks[k].kind == 'q' {
					cols = append(cols, toks[k].name())
				}
			}
		}
		return table, cols, true
	}
	return "", nil, false
}
