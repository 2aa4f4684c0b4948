package engine

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/shepherd-db/shepherd/phases"
)

// rename-column: what uses the old column. A rename copies the values into a
// new column; the indexes, constraints, views and triggers that use the old
// column stay on it, and dropping it either drops them silently (an index, a
// UNIQUE or CHECK constraint, a foreign key of the table) or fails at the
// point of no return (a view, another table's foreign key). So shepherd
// lists them at the start of a rename, in `plan --db`, and refuses to drop the
// old column while it has any that the new column lacks.

// DependentKind is what kind of schema object uses a column, as the
// dialects' column-dependents templates name it.
type DependentKind string

const (
	DependsIndex      DependentKind = "index"
	DependsUnique     DependentKind = "unique" // a unique index or UNIQUE constraint
	DependsPrimaryKey DependentKind = "primary-key"
	// DependsTableUnique is a UNIQUE constraint the database cannot drop
	// without rebuilding the table (SQLite's).
	DependsTableUnique DependentKind = "table-unique"
	DependsCheck       DependentKind = "check"
	DependsForeignKey  DependentKind = "foreign-key"
	// DependsReferencedBy is another table's foreign key to the column.
	DependsReferencedBy DependentKind = "referenced-by"
	DependsView         DependentKind = "view"
	DependsTrigger      DependentKind = "trigger"
	// DependsGenerated is a generated column computed from the column.
	DependsGenerated DependentKind = "generated"
)

// Dependent is one schema object that uses a column.
type Dependent struct {
	Kind    DependentKind
	Name    string
	On      string   // the table or view it belongs to
	Columns []string // an index's or constraint's columns, in order
	Partial bool     // an index on an expression, a prefix, or with a WHERE
	Def     string   // its definition, where the database gives it
}

// dependents reads what uses col on the plan's table, from the dialect's
// catalog (template column-dependents).
func (s *Session) dependents(ctx context.Context, col string) ([]Dependent, error) {
	d := sqlData{Schema: s.plan.Schema, Table: s.plan.Table, Column: col}
	// MySQL's catalog reads depend on the server's version.
	if err := prepare(s.d, "column-dependents", &d, s.table); err != nil {
		return nil, err
	}
	rows, err := s.query(ctx, s.db, "column-dependents", d, nil)
	if err != nil {
		return nil, fmt.Errorf("read what uses %s.%s: %w", s.plan.Table, col, s.dsn.scrub(err))
	}
	defer rows.Close()
	var out []Dependent
	for rows.Next() {
		var dep Dependent
		var cols, def *string
		var partial, match int64
		if err := rows.Scan(&dep.Kind, &dep.Name, &dep.On, &cols, &partial, &def, &match); err != nil {
			return nil, fmt.Errorf("read what uses %s.%s: %w", s.plan.Table, col, s.dsn.scrub(err))
		}
		if cols != nil && *cols != "" {
			dep.Columns = strings.Split(*cols, ",")
		}
		if def != nil {
			dep.Def = *def
		}
		dep.Partial = partial != 0
		// Text the catalog does not resolve (a view's or trigger's SQL on
		// MySQL and SQLite, a trigger function's body): it counts when it
		// names the column.
		if match != 0 && !namesColumn(dep.Def, col) {
			continue
		}
		out = append(out, dep)
	}
	return out, s.dsn.scrub(rows.Err())
}

// namesColumn reports whether SQL text names the column as a word
// (quoted or not, qualified or not).
func namesColumn(text, col string) bool {
	return wordRE(col).MatchString(text)
}

func wordRE(word string) *regexp.Regexp {
	return regexp.MustCompile(`(?i)(^|[^\p{L}\p{N}_$])` + regexp.QuoteMeta(word) + `($|[^\p{L}\p{N}_$])`)
}

// replaceWord replaces the column's name as a word in SQL text.
func replaceWord(text, old, new string) string {
	return wordRE(old).ReplaceAllStringFunc(text, func(m string) string {
		i := strings.Index(strings.ToLower(m), strings.ToLower(old))
		return m[:i] + new + m[i+len(old):]
	})
}

// normDef is a definition compared with another: case, quotes and spaces
// left out.
func normDef(def string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '"', '`', ' ', '\t', '\n':
			return -1
		}
		return r
	}, strings.ToLower(def))
}

// renameGaps lists what uses the old column and the new column lacks, each
// with what to do, in the words of a message: the new column needs an index
// like each of the old one's, the same CHECK and foreign keys; views,
// triggers, generated columns and other tables' foreign keys that use the
// old column must be changed not to. It returns what uses the old column
// too.
func (s *Session) renameGaps(ctx context.Context) (gaps []string, old []Dependent, err error) {
	p := s.plan
	old, err = s.dependents(ctx, p.RenameColumn.Column)
	if err != nil || len(old) == 0 {
		return nil, old, err
	}
	var have []Dependent
	if _, ok := s.table.Column(p.RenameColumn.To); ok {
		if have, err = s.dependents(ctx, p.RenameColumn.To); err != nil {
			return nil, nil, err
		}
	}
	mapped := func(cols []string) []string {
		out := make([]string, len(cols))
		for i, c := range cols {
			out[i] = c
			if c == p.RenameColumn.Column {
				out[i] = p.RenameColumn.To
			}
		}
		return out
	}
	hasIndex := func(cols []string, unique bool) bool {
		for _, h := range have {
			if (h.Kind == DependsIndex || h.Kind == DependsUnique || h.Kind == DependsPrimaryKey) && !h.Partial &&
				slices.Equal(h.Columns, cols) && (!unique || h.Kind != DependsIndex) {
				return true
			}
		}
		return false
	}
	hasDef := func(kind DependentKind, def string) bool {
		want := normDef(replaceWord(def, p.RenameColumn.Column, p.RenameColumn.To))
		for _, h := range have {
			if h.Kind == kind && normDef(h.Def) == want {
				return true
			}
		}
		return false
	}
	for _, dep := range old {
		switch {
		case dep.Kind == DependsTableUnique:
			gaps = append(gaps, fmt.Sprintf("a UNIQUE constraint in %s's definition covers %s (%s): the database cannot drop a column such a constraint covers without rebuilding the table; rebuild %s without it (with a unique index on %s instead), then rerun", p.Table, p.RenameColumn.Column, dep.Name, p.Table, p.RenameColumn.To))
		case dep.Kind == DependsPrimaryKey:
			gaps = append(gaps, fmt.Sprintf("the primary key (%s) uses %s: a rename cannot move a primary key; drop the old column by hand once the key is changed", strings.Join(dep.Columns, ", "), p.RenameColumn.Column))
		case (dep.Kind == DependsIndex || dep.Kind == DependsUnique) && dep.Partial:
			gaps = append(gaps, fmt.Sprintf("index %s uses %s in an expression, a prefix or a WHERE (%s): create it again on %s, then drop %s", dep.Name, p.RenameColumn.Column, oneLine(dep.Def), p.RenameColumn.To, dep.Name))
		case dep.Kind == DependsIndex || dep.Kind == DependsUnique:
			cols := mapped(dep.Columns)
			if hasIndex(cols, dep.Kind == DependsUnique) {
				continue
			}
			what := "index"
			if dep.Kind == DependsUnique {
				what = "unique index"
			}
			gaps = append(gaps, fmt.Sprintf("%s %s (%s): create one on (%s)%s, or drop %s if %s does not need it",
				what, dep.Name, strings.Join(dep.Columns, ", "), strings.Join(cols, ", "), s.suggestIndex(dep, cols), dep.Name, p.RenameColumn.To))
		case dep.Kind == DependsCheck || dep.Kind == DependsForeignKey:
			if hasDef(dep.Kind, dep.Def) {
				continue
			}
			what := "CHECK constraint"
			if dep.Kind == DependsForeignKey {
				what = "foreign key"
			}
			gaps = append(gaps, fmt.Sprintf("%s %s (%s): add it on %s%s, then drop %s",
				what, dep.Name, oneLine(dep.Def), p.RenameColumn.To, s.suggestConstraint(dep), dep.Name))
		case dep.Kind == DependsReferencedBy:
			gaps = append(gaps, fmt.Sprintf("%s's foreign key %s references %s.%s: make it reference %s.%s (which needs a unique index), then drop %s", dep.On, dep.Name, p.Table, p.RenameColumn.Column, p.Table, p.RenameColumn.To, dep.Name))
		case dep.Kind == DependsView:
			gaps = append(gaps, fmt.Sprintf("view %s uses %s: recreate it on %s (or drop it)", dep.On, p.RenameColumn.Column, p.RenameColumn.To))
		case dep.Kind == DependsTrigger && isSyncTrigger(p, dep.Name):
			continue // the plan's own: drop-old-column removes them first
		case dep.Kind == DependsTrigger:
			gaps = append(gaps, fmt.Sprintf("trigger %s on %s names %s: drop it, or recreate it without %s (a dual-write trigger ends with stop-old-writes)", dep.Name, dep.On, p.RenameColumn.Column, p.RenameColumn.Column))
		case dep.Kind == DependsGenerated:
			gaps = append(gaps, fmt.Sprintf("generated column %s is computed from %s: recreate it from %s", dep.Name, p.RenameColumn.Column, p.RenameColumn.To))
		}
	}
	return gaps, old, nil
}

// suggestIndex is, for a message, the statement that gives the new column
// an index like dep.
func (s *Session) suggestIndex(dep Dependent, cols []string) string {
	q, err := s.sql.Query("suggest-index", sqlData{Schema: s.plan.Schema, Table: s.plan.Table, Name: s.renamedName(dep), Columns: cols, Unique: dep.Kind == DependsUnique})
	if err != nil {
		return ""
	}
	return ": " + q.SQL
}

// suggestConstraint is, for a message, the statement that adds dep on the
// new column, where the dialect can add one in place.
func (s *Session) suggestConstraint(dep Dependent) string {
	if !s.sql.Has("suggest-constraint") || dep.Def == "" {
		return ""
	}
	q, err := s.sql.Query("suggest-constraint", sqlData{Schema: s.plan.Schema, Table: s.plan.Table, Name: s.renamedName(dep), Check: replaceWord(dep.Def, s.plan.RenameColumn.Column, s.plan.RenameColumn.To)})
	if err != nil {
		return ""
	}
	return ": " + q.SQL
}

// renamedName is the name suggested for dep's counterpart on the new
// column: dep's with the old column's name replaced, or with the new one
// appended, kept within an identifier's length.
func (s *Session) renamedName(dep Dependent) string {
	name := strings.ReplaceAll(dep.Name, s.plan.RenameColumn.Column, s.plan.RenameColumn.To)
	if name == dep.Name {
		name = dep.Name + "_" + s.plan.RenameColumn.To
	}
	return phases.FitIdent(name)
}

// renameWarning says, at the start of a rename and in `plan --db`, what the
// new column needs before the phase drop (drop-old-column); "" when
// nothing.
func (s *Session) renameWarning(ctx context.Context, drop string) string {
	gaps, _, err := s.renameGaps(ctx)
	if err != nil {
		return fmt.Sprintf("could not read what uses %s.%s (%v): check by hand what must be recreated on %s before %s", s.plan.Table, s.plan.RenameColumn.Column, err, s.plan.RenameColumn.To, drop)
	}
	if len(gaps) == 0 {
		return ""
	}
	return fmt.Sprintf("%s.%s is used by what %s lacks; %s refuses until each is recreated on %s or dropped:\n  - %s",
		s.plan.Table, s.plan.RenameColumn.Column, s.plan.RenameColumn.To, drop, s.plan.RenameColumn.To, strings.Join(gaps, "\n  - "))
}

// DependentsError is Phase (drop-old-column) refused because the old
// column is still used by what the new one lacks. Nothing was changed.
type DependentsError struct {
	Phase             string
	Table, Column, To string
	Gaps              []string
}

func (e *DependentsError) Error() string {
	if e.To == "" { // drop-column: no new column takes over
		return fmt.Sprintf("%s: %s.%s is still used, so dropping it would lose what uses it or fail. Nothing was changed. Do this first, then rerun with %s:\n  - %s",
			e.Phase, e.Table, e.Column, ConfirmFlag(e.Phase), strings.Join(e.Gaps, "\n  - "))
	}
	return fmt.Sprintf("%s: %s.%s is still used by what %s lacks, so dropping %s would lose it or fail at the point of no return. Nothing was changed. Do this first, then rerun with %s:\n  - %s",
		e.Phase, e.Table, e.Column, e.To, e.Column, ConfirmFlag(e.Phase), strings.Join(e.Gaps, "\n  - "))
}

// requireNoGaps is the check of drop (drop-old-column) before any DDL. It
// returns the CHECK constraints that name the old column (the new one has
// the same), which go with it.
func (s *Session) requireNoGaps(ctx context.Context, drop string) (checks []string, err error) {
	gaps, old, err := s.renameGaps(ctx)
	if err != nil {
		return nil, err
	}
	if len(gaps) > 0 {
		return nil, &DependentsError{Phase: drop, Table: s.plan.Table, Column: s.plan.RenameColumn.Column, To: s.plan.RenameColumn.To, Gaps: gaps}
	}
	for _, d := range old {
		if d.Kind == DependsCheck {
			checks = append(checks, d.Name)
		}
	}
	return checks, nil
}
